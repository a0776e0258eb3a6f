package document

import "testing"

func TestHTMLFootnotesOfEveryCommonMarkupFollowTheirParagraph(t *testing.T) {
	for name, page := range map[string]string{
		"pandoc": `<p>Câu một.<a href="#fn1" class="footnote-ref" role="doc-noteref"><sup>1</sup></a></p><p>Câu hai.</p>
<section class="footnotes" role="doc-endnotes"><hr><ol><li id="fn1"><p>Ghi chú.<a href="#fnref1" class="footnote-back" role="doc-backlink">↩︎</a></p></li></ol></section>`,
		"LibreOffice EPUB": `<p><span>Câu một.</span><sup id="calledF1"><a epub:type="noteref" href="#dataF1">1</a></sup></p><p>Câu hai.</p>
<aside epub:type="footnote" id="dataF1"><p><span><sup><a href="#calledF1">1</a></sup> </span><span>Ghi chú.</span></p></aside>`,
		"old pandoc": `<p>Câu một.<a href="#fn1" class="footnote-ref" id="fnref1"><sup>1</sup></a></p><p>Câu hai.</p>
<div class="footnotes"><ol><li id="fn1"><p>Ghi chú.<a href="#fnref1">↩</a></p></li></ol></div>`,
	} {
		t.Run(name, func(t *testing.T) {
			doc := parseString(t, "a.html", "<html><body>"+page+"</body></html>")
			want := "  paragraph: Câu một.\n  footnote: Ghi chú.\n  paragraph: Câu hai.\n"
			if got := blockList(doc.Chapters[0].Blocks); got != want {
				t.Errorf("got\n%swant\n%s", got, want)
			}
			if n := doc.Chapters[0].Blocks[1].Note; n != "1" {
				t.Errorf("note label %q, want 1", n)
			}
		})
	}
}

func TestHTMLListsTablesAndBreaks(t *testing.T) {
	doc := parseString(t, "a.html", `<title>Tên sách</title><h1>Chương 1</h1><ul><li>một<ul><li>hai</li></ul></li></ul>
<table><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td><p>x</p><p>y</p></td><td>z</td></tr></tbody></table>
<p>dòng một<br>dòng hai</p><script>bỏ qua</script><h1>Chương 2</h1><p>Hết.</p>`)
	if doc.Title != "Tên sách" || len(doc.Chapters) != 2 {
		t.Fatalf("title %q, chapters %q", doc.Title, chapterTitles(doc))
	}
	want := "  list_item level 1: một\n  list_item level 2: hai\n" +
		"  table_cell table 1 row 1 col 1: A\n  table_cell table 1 row 1 col 2: B\n" +
		"  table_cell table 1 row 2 col 1: x y\n  table_cell table 1 row 2 col 2: z\n" +
		"  paragraph: dòng một\ndòng hai\n"
	if got := blockList(doc.Chapters[0].Blocks); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}
