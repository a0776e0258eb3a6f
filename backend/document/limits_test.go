package document

import (
	"github.com/viettts-studio/studio/inference/bytesize"

	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var atLimits = flag.Bool("document.limits", false, "run the import memory test at the default size limits (about a minute, 500 MB)")

// TestImportsAtTheSizeLimitsStayUnder500MB imports the largest file each limit lets through and
// measures the heap peak. It is heavy, so it runs only with -document.limits:
//
//	go test -run TestImportsAtTheSizeLimits -document.limits -v ./backend/document/
func TestImportsAtTheSizeLimitsStayUnder500MB(t *testing.T) {
	if !*atLimits {
		t.Skip("heavy: run with -document.limits")
	}
	book := bookMarkdown(t, defaultMaxMarkupBytes-(256<<10))
	if len(book) > defaultMaxMarkupBytes {
		book = book[:defaultMaxMarkupBytes]
	}
	para := `<p><b>Một</b> <i>câu</i> <span class="x">văn</span> tiếng Việt.</p>` + "\n"
	page := "<html><body>" + strings.Repeat(para, (defaultMaxMarkupBytes-(64<<10))/len(para)) + "</body></html>"
	wpara := `<w:p><w:pPr><w:pStyle w:val="Normal"/></w:pPr><w:r><w:rPr><w:b/></w:rPr><w:t>Một câu văn tiếng Việt khá dài để làm đầy tài liệu lớn.</w:t></w:r></w:p>`
	docx := makeZip(t, zipEntry{"word/document.xml", []byte(`<w:document xmlns:w="w"><w:body>` +
		strings.Repeat(wpara, (defaultMaxUnpackedBytes-(1<<20))/len(wpara)) + `</w:body></w:document>`)})
	epub := makeZip(t,
		zipEntry{"META-INF/container.xml", []byte(`<container><rootfiles><rootfile full-path="c.opf"/></rootfiles></container>`)},
		zipEntry{"c.opf", []byte(`<package><metadata><title>T</title></metadata><manifest><item id="a" href="a.xhtml"/><item id="b" href="b.xhtml"/></manifest><spine><itemref idref="a"/><itemref idref="b"/></spine></package>`)},
		zipEntry{"a.xhtml", []byte(page)}, zipEntry{"b.xhtml", []byte(page)})
	text := strings.Repeat(book, 1+defaultMaxTextBytes/len(book))
	text = text[:defaultMaxTextBytes-(1<<10)]
	for _, c := range []struct {
		name string
		data []byte
		opts Options
	}{
		{"book.txt", []byte(text), Options{}},
		{"book.md", []byte(book), Options{}},
		{"page.html", []byte(page), Options{}},
		// Repetitive text compresses beyond the bomb ratio; a real document of this size would not.
		{"big.docx", docx, Options{Limits: Limits{MaxRatio: 1 << 20}}},
		{"two-pages.epub", epub, Options{Limits: Limits{MaxRatio: 1 << 20}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), c.name)
			if err := os.WriteFile(p, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			peak, err := importBounded(t, p, c.opts)
			t.Logf("%s of input: %v, peak heap %s", bytesize.Format(int64(len(c.data))), err, bytesize.Format(int64(peak)))
			if peak > memoryBound {
				t.Errorf("peak heap %s, above %s", bytesize.Format(int64(peak)), bytesize.Format(memoryBound))
			}
		})
	}
}
