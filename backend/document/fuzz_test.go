package document

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fuzz targets, one per importer. Each checks what must hold for any input: no panic, an error
// that wraps one of the package's sentinels, or a document whose text is valid NFC UTF-8. Their
// seed corpora run with every `go test`; `go test -fuzz FuzzDOCX` explores further.

// fuzzLimits keep a fuzzed input from spending the fuzzer's time on legitimate large work.
var fuzzLimits = Limits{MaxTextBytes: 1 << 20, MaxUnpackedBytes: 8 << 20, MaxDepth: 64, MaxPages: 20}

func checkParse(t *testing.T, data []byte, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	doc, err := Parse(ctx, bytes.NewReader(data), int64(len(data)), name, Options{Limits: fuzzLimits})
	if err != nil {
		sentinels := []error{ErrUnsupported, ErrMalformed, ErrTooLarge, ErrUnsafe, ErrEncrypted, ErrNotText, ErrEmpty}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	check := func(what, s string) {
		if !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
			t.Fatalf("%s is not valid NFC UTF-8: %q", what, s)
		}
	}
	check("title", doc.Title)
	for _, c := range doc.Chapters {
		check("chapter title", c.Title)
		for _, b := range c.Blocks {
			check("block", b.Text)
			if b.Text != clean(b.Text) {
				t.Fatalf("block text is not clean: %q", b.Text)
			}
		}
	}
}

func FuzzText(f *testing.F) {
	f.Add([]byte(vietnamese))
	f.Add([]byte("CHƯƠNG I\nMở đầu\n\n- một\n- hai\n\nPhần hai: Kết"))
	f.Add(utf16Bytes("Xin chào Việt Nam", false, false))
	f.Add([]byte{0xEF, 0xBB, 0xBF, 'a'})
	f.Add([]byte("Vi\x65\xe4t Nam"))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "f.txt") })
}

func FuzzMarkdown(f *testing.F) {
	f.Add([]byte("---\ntitle: \"Sách\"\nauthor:\n  - Tôi\n---\n# Chương 1\n\nCâu[^1].\n\n[^1]: Chú thích.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"))
	f.Add([]byte("% Tên\n% Tác giả\n\n> > - [x] việc *làm* `mã`\n\n```\ncode\n```\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "f.md") })
}

func FuzzHTML(f *testing.F) {
	f.Add([]byte(`<html><head><title>T</title></head><body><h1>Chương 1</h1><p>Câu<a href="#fn1" role="doc-noteref">1</a>.</p><table><tr><td>a</td><td>b<table><tr><td>c</td></tr></table></td></tr></table><section role="doc-endnotes"><ol><li id="fn1"><p>Ghi chú <a href="#r" role="doc-backlink">↩</a></p></li></ol></section></body></html>`))
	f.Add([]byte(`<ul><li>một<ul><li>hai</li></ul></li></ul><br><hr><script>x</script>`))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "f.html") })
}

func FuzzSubtitles(f *testing.F) {
	f.Add([]byte("1\n00:00:01,000 --> 00:00:02,500\nXin <i>chào</i>\n\n2\n00:00:03,000 --> 00:00:04,000\nTạm biệt\n"), true)
	f.Add([]byte("WEBVTT\n\nNOTE x\n\n00:01.000 --> 00:02.000 align:start\nMột\nHai\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, srt bool) {
		name := "f.vtt"
		if srt {
			name = "f.srt"
		}
		checkParse(t, data, name)
	})
}

func FuzzDOCX(f *testing.F) {
	f.Add(docxWith(f, minimalDocument))
	f.Add(makeZip(f, zipEntry{"word/document.xml", []byte(`<w:document xmlns:w="w"><w:body><w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Chương 1</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>ô</w:t><w:footnoteReference w:id="2"/></w:r></w:p></w:tc></w:tr></w:tbl></w:body></w:document>`)},
		zipEntry{"word/footnotes.xml", []byte(`<w:footnotes xmlns:w="w"><w:footnote w:id="2"><w:p><w:r><w:t>ghi chú</w:t></w:r></w:p></w:footnote></w:footnotes>`)},
		zipEntry{"word/styles.xml", []byte(`<w:styles xmlns:w="w"><w:style w:styleId="Heading1"><w:name w:val="heading 1"/></w:style></w:styles>`)}))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "f.docx") })
}

func FuzzODT(f *testing.F) {
	f.Add(makeZip(f, zipEntry{"content.xml", []byte(`<office:document-content xmlns:office="o" xmlns:text="t" xmlns:table="tb"><office:body><office:text><text:h text:outline-level="1">Chương 1</text:h><text:p>Câu<text:note><text:note-citation>1</text:note-citation><text:note-body><text:p>Ghi</text:p></text:note-body></text:note>.<text:s text:c="3"/>x</text:p><text:list><text:list-item><text:p>một</text:p></text:list-item></text:list><table:table><table:table-row><table:table-cell><text:p>ô</text:p></table:table-cell></table:table-row></table:table></office:text></office:body></office:document-content>`)},
		zipEntry{"meta.xml", []byte(`<office:document-meta xmlns:office="o" xmlns:dc="d"><office:meta><dc:title>Tên</dc:title></office:meta></office:document-meta>`)}))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "f.odt") })
}

func FuzzEPUB(f *testing.F) {
	f.Add(makeZip(f,
		zipEntry{"META-INF/container.xml", []byte(`<container><rootfiles><rootfile full-path="OEBPS/c.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`)},
		zipEntry{"OEBPS/c.opf", []byte(`<package><metadata><title>Sách</title><creator>Tôi</creator></metadata><manifest><item id="n" href="toc.ncx" media-type="application/x-dtbncx+xml"/><item id="a" href="text/a.xhtml" media-type="application/xhtml+xml"/></manifest><spine toc="n"><itemref idref="a"/></spine></package>`)},
		zipEntry{"OEBPS/toc.ncx", []byte(`<ncx><navMap><navPoint><navLabel><text>Chương 1</text></navLabel><content src="text/a.xhtml#c1"/></navPoint></navMap></ncx>`)},
		zipEntry{"OEBPS/text/a.xhtml", []byte(`<html><body><p>Mở</p><h1 id="c1">Chương 1</h1><p>Câu.</p></body></html>`)}))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "f.epub") })
}

func FuzzPDF(f *testing.F) {
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj 4 0 obj<</Length 44>>stream\nBT /F1 12 Tf 20 100 Td (Chuong 1 xin chao) Tj ET\nendstream endobj 5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"))
	f.Fuzz(func(t *testing.T, data []byte) { checkParse(t, data, "f.pdf") })
}
