package document

import (
	"testing"
)

// A hand-made EPUB 2 whose NCX has one root entry (the book) over chapters that start in the
// middle of files, one file holding two chapters, and a note in another file.
func TestEPUBChaptersFollowTheTOCIntoTheMiddleOfFiles(t *testing.T) {
	epub := makeZip(t,
		zipEntry{"mimetype", []byte("application/epub+zip")},
		zipEntry{"META-INF/container.xml", []byte(`<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OPS/book.opf" media-type="application/oebps-package+xml"/></rootfiles></container>`)},
		zipEntry{"OPS/book.opf", []byte(`<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="2.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Truyện ngắn</dc:title><dc:creator>Nam Cao</dc:creator></metadata>
<manifest><item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/><item id="p1" href="Text/part%201.xhtml" media-type="application/xhtml+xml"/><item id="p2" href="Text/notes.xhtml" media-type="application/xhtml+xml"/><item id="ad" href="Text/ad.xhtml" media-type="application/xhtml+xml"/></manifest>
<spine toc="ncx"><itemref idref="p1"/><itemref idref="ad" linear="no"/><itemref idref="p2"/></spine></package>`)},
		zipEntry{"OPS/toc.ncx", []byte(`<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap><navPoint id="b"><navLabel><text>Truyện ngắn</text></navLabel><content src="Text/part%201.xhtml"/>
<navPoint id="c1"><navLabel><text>Lão Hạc</text></navLabel><content src="Text/part%201.xhtml#c1"/></navPoint>
<navPoint id="c2"><navLabel><text>Chí Phèo</text></navLabel><content src="Text/part%201.xhtml#c2"/></navPoint>
<navPoint id="n"><navLabel><text>Ghi chú</text></navLabel><content src="Text/notes.xhtml"/></navPoint></navPoint></navMap></ncx>`)},
		zipEntry{"OPS/Text/part 1.xhtml", []byte(`<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body>
<p>Lời nhà xuất bản.</p><h2 id="c1">Lão Hạc</h2><p>Lão Hạc có con chó vàng.<a href="notes.xhtml#n1" epub:type="noteref">*</a></p>
<div id="c2"><h2>Chí Phèo</h2><p>Hắn vừa đi vừa chửi.</p></div></body></html>`)},
		zipEntry{"OPS/Text/notes.xhtml", []byte(`<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><h2>Ghi chú</h2><aside epub:type="footnote" id="n1"><p>Cậu Vàng là tên con chó.</p></aside><p>Hết.</p></body></html>`)},
		zipEntry{"OPS/Text/ad.xhtml", []byte(`<html><body><p>Quảng cáo.</p></body></html>`)},
	)
	doc := parseString(t, "truyen.epub", string(epub))
	if doc.Title != "Truyện ngắn" || doc.Author != "Nam Cao" {
		t.Errorf("title %q by %q", doc.Title, doc.Author)
	}
	want := []string{"", "Lão Hạc", "Chí Phèo", "Ghi chú"}
	if got := chapterTitles(doc); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("chapters %q, want %q", got, want)
	}
	if got := blockList(doc.Chapters[0].Blocks); got != "  paragraph: Lời nhà xuất bản.\n" {
		t.Errorf("front matter: %s", got)
	}
	if got, want := blockList(doc.Chapters[1].Blocks), "  paragraph: Lão Hạc có con chó vàng.\n  footnote: Cậu Vàng là tên con chó.\n"; got != want {
		t.Errorf("chapter 1:\n%swant\n%s", got, want)
	}
	if got := blockList(doc.Chapters[2].Blocks); got != "  paragraph: Hắn vừa đi vừa chửi.\n" {
		t.Errorf("chapter 2: %s", got)
	}
	if got := blockList(doc.Chapters[3].Blocks); got != "  paragraph: Hết.\n" {
		t.Errorf("notes chapter (note read where it is referred to, not here): %s", got)
	}
}
