package document

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func parseString(t *testing.T, name, text string) *Document {
	t.Helper()
	doc, err := Parse(t.Context(), strings.NewReader(text), int64(len(text)), name, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestPlainTextChapterPatternsCutChapters(t *testing.T) {
	for _, c := range []struct {
		line string
		want int
	}{
		{"Chương I", 2}, {"CHƯƠNG 2", 2}, {"Chương 3: Trở về", 2}, {"Chương mười hai", 2},
		{"Hồi thứ năm", 2}, {"Chapter 7 - The End", 2}, {"Phần một", 1}, {"PHẦN II", 1},
		{"Quyển 2", 1}, {"Lời mở đầu", 2}, {"Vĩ thanh", 2},
		{"Chương trình học năm nay rất nặng.", 0}, {"Phần lớn người dân đồng ý.", 0},
		{"Phần năm nay chúng tôi làm", 0}, {"Chương", 0},
	} {
		if got := headingLevel(c.line); got != c.want {
			t.Errorf("headingLevel(%q) = %d, want %d", c.line, got, c.want)
		}
	}
	doc := parseString(t, "truyen.txt", "Truyện ngắn\n\nCHƯƠNG I\nNgày xưa có một cô bé.\n\nChương II: Lên đường\nCô bé đi xa.\n- mang theo gạo\n- mang theo nước\n")
	if len(doc.Chapters) != 2 || doc.Chapters[0].Title != "CHƯƠNG I" || doc.Chapters[1].Title != "Chương II: Lên đường" {
		t.Fatalf("chapters %q", chapterTitles(doc))
	}
	if doc.Title != "Truyện ngắn" {
		t.Errorf("title %q, want the first line", doc.Title)
	}
	if doc := parseString(t, "khong-ten.txt", "Một đoạn văn không có chương."); doc.Title != "khong-ten" {
		t.Errorf("title %q, want the file name", doc.Title)
	}
	blocks := doc.Chapters[1].Blocks
	if len(blocks) != 3 || blocks[1].Kind != ListItem || blocks[1].Text != "mang theo gạo" {
		t.Errorf("chapter 2 blocks: %s", blockList(blocks))
	}
}

func TestPlainTextParagraphsSurviveHardWrapsAndOneLinePerParagraph(t *testing.T) {
	wrapped := "Sương còn phủ trắng mặt sông khi bà Tư gánh hàng\nra bến, còn thằng cháu thì ngủ say.\nSáng hôm ấy trời lạnh.\n\nĐoạn hai bắt đầu ở đây."
	doc := parseString(t, "a.txt", wrapped)
	got := blockList(doc.Chapters[0].Blocks)
	want := "  paragraph: Sương còn phủ trắng mặt sông khi bà Tư gánh hàng ra bến, còn thằng cháu thì ngủ say.\n" +
		"  paragraph: Sáng hôm ấy trời lạnh.\n  paragraph: Đoạn hai bắt đầu ở đây.\n"
	if got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

func TestSubtitlesKeepCueTimings(t *testing.T) {
	srt := "1\r\n00:00:01,500 --> 00:00:03,000\r\nXin <b>chào</b>\r\ncác bạn\r\n\r\n2\r\n01:02:03,004 --> 01:02:04,000\r\nTạm biệt.\r\n"
	doc := parseString(t, "phim.srt", srt)
	bs := doc.Chapters[0].Blocks
	if len(bs) != 2 || bs[0].Kind != Cue || bs[0].Text != "Xin chào\ncác bạn" {
		t.Fatalf("cues: %s", blockList(bs))
	}
	if bs[0].Cue.Start != 1500*time.Millisecond || bs[0].Cue.End != 3*time.Second {
		t.Errorf("cue 1 timing %v", *bs[0].Cue)
	}
	if want := time.Hour + 2*time.Minute + 3*time.Second + 4*time.Millisecond; bs[1].Cue.Start != want {
		t.Errorf("cue 2 starts at %v, want %v", bs[1].Cue.Start, want)
	}
	vtt := "WEBVTT - phim\n\nNOTE ghi chú\n\ncue-1\n00:01.000 --> 00:02.250 align:start\nMột câu.\n\n00:00:03.000 --> 00:00:04.000\nHai câu.\n"
	doc = parseString(t, "phim.vtt", vtt)
	bs = doc.Chapters[0].Blocks
	if len(bs) != 2 || bs[0].Text != "Một câu." || bs[0].Cue.End != 2250*time.Millisecond || bs[1].Cue.Start != 3*time.Second {
		t.Fatalf("vtt cues: %s", blockList(bs))
	}
	_, err := Parse(t.Context(), bytes.NewReader([]byte("không phải phụ đề")), 24, "x.srt", Options{})
	if err == nil || !strings.Contains(err.Error(), "no subtitle cue") {
		t.Errorf("a file without cues gives %v", err)
	}
}

func TestEveryTextLeavesTheImporterInNFC(t *testing.T) {
	nfd := "Chương 1\n\nTie\u0302\u0301ng Vie\u0323\u0302t co\u0301 da\u0302\u0301u."
	for _, name := range []string{"a.txt", "a.md", "a.html"} {
		doc := parseString(t, name, nfd)
		if got := doc.Text(); !strings.Contains(got, "Tiếng Việt có dấu.") {
			t.Errorf("%s: text not composed: %q", name, got)
		}
	}
}

func TestFormatIsSniffedWithoutAnExtension(t *testing.T) {
	for _, c := range []struct {
		head string
		want Format
	}{
		{"%PDF-1.7", FormatPDF},
		{"PK\x03\x04....mimetypeapplication/epub+zip", FormatEPUB},
		{"PK\x03\x04....mimetypeapplication/vnd.oasis.opendocument.text", FormatODT},
		{"PK\x03\x04....[Content_Types].xml", FormatDOCX},
		{"WEBVTT\n", FormatVTT},
		{"<!DOCTYPE html><html>", FormatHTML},
		{"Xin chào", FormatText},
	} {
		if got := sniff([]byte(c.head)); got != c.want {
			t.Errorf("sniff(%q) = %q, want %q", c.head, got, c.want)
		}
	}
}

func TestTablesOfContentsAreNotReadAsChapters(t *testing.T) {
	doc := parseString(t, "sach.txt", "Sách hay\n\nMỤC LỤC\nChương 1: Mở đầu ........ 3\nChương 2: Kết thúc\t\t12\nLời cuối . . . . . 20\n\nChương 1: Mở đầu\nNgày xưa.\n\nChương 2: Kết thúc\nHết chuyện.\n")
	if got := chapterTitles(doc); len(got) != 2 || got[0] != "Chương 1: Mở đầu" || got[1] != "Chương 2: Kết thúc" {
		t.Fatalf("chapters %q", got)
	}
	if doc.Title != "Sách hay" {
		t.Errorf("title %q", doc.Title)
	}
	tocDocx := makeZip(t, zipEntry{"word/document.xml", []byte(`<w:document xmlns:w="w"><w:body>
<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/></w:docPartObj></w:sdtPr><w:sdtContent>
<w:p><w:pPr><w:pStyle w:val="TOCHeading"/></w:pPr><w:r><w:t>Mục lục</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="TOC1"/></w:pPr><w:r><w:t>Chương 1</w:t></w:r><w:r><w:tab/><w:t>1</w:t></w:r></w:p></w:sdtContent></w:sdt>
<w:p><w:pPr><w:pStyle w:val="Contents2"/></w:pPr><w:r><w:t>Chương 2 (kiểu LibreOffice)</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Chương 1</w:t></w:r></w:p><w:p><w:r><w:t>Nội dung.</w:t></w:r></w:p>
</w:body></w:document>`)}, zipEntry{"word/styles.xml", []byte(`<w:styles xmlns:w="w">
<w:style w:styleId="Heading1"><w:name w:val="heading 1"/></w:style><w:style w:styleId="TOC1"><w:name w:val="toc 1"/></w:style>
<w:style w:styleId="TOCHeading"><w:name w:val="TOC Heading"/><w:basedOn w:val="Heading1"/></w:style>
<w:style w:styleId="Contents2"><w:name w:val="Contents 2"/></w:style></w:styles>`)})
	doc = parseString(t, "toc.docx", string(tocDocx))
	if got := doc.Text(); got != "Chương 1\nNội dung.\n" {
		t.Errorf("DOCX with a table of contents reads %q", got)
	}
	tocODT := makeZip(t, zipEntry{"content.xml", []byte(`<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text>
<text:table-of-content><text:index-body><text:index-title><text:p>Mục lục</text:p></text:index-title><text:p>Chương 1<text:tab/>1</text:p></text:index-body></text:table-of-content>
<text:h text:outline-level="1">Chương 1</text:h><text:p>Nội dung.</text:p></office:text></office:body></office:document-content>`)})
	doc = parseString(t, "toc.odt", string(tocODT))
	if got := doc.Text(); got != "Chương 1\nNội dung.\n" {
		t.Errorf("ODT with a table of contents reads %q", got)
	}
}

func TestDOCXTextBoxesAreReadOnceAndKeepTheirParagraphWhole(t *testing.T) {
	box := `<w:p><w:r><w:t>Chữ trong hộp.</w:t></w:r></w:p>`
	body := `<w:document xmlns:w="w" xmlns:mc="mc" xmlns:wps="wps"><w:body><w:p><w:r><w:t xml:space="preserve">Trước hộp, </w:t></w:r>
<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:txbx><w:txbxContent>` + box + `</w:txbxContent></wps:txbx></w:drawing></mc:Choice>
<mc:Fallback><w:pict><w:txbxContent>` + box + `</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r>
<w:r><w:t>sau hộp.</w:t></w:r></w:p></w:body></w:document>`
	doc := parseString(t, "box.docx", string(docxWith(t, body)))
	want := "  paragraph: Chữ trong hộp.\n  paragraph: Trước hộp, sau hộp.\n"
	if got := blockList(doc.Chapters[0].Blocks); got != want {
		t.Errorf("got\n%swant\n%s", got, want)
	}
}

func TestChapterPatternsCutDocumentsWithoutHeadingStyles(t *testing.T) {
	p := func(text string) string { return `<w:p><w:r><w:t>` + text + `</w:t></w:r></w:p>` }
	body := `<w:document xmlns:w="w"><w:body>` + p("CHƯƠNG I") + p("Ngày xưa.") + p("CHƯƠNG II: Về quê") + p("Hết.") + `</w:body></w:document>`
	doc := parseString(t, "flat.docx", string(docxWith(t, body)))
	if got := chapterTitles(doc); len(got) != 2 || got[0] != "CHƯƠNG I" || got[1] != "CHƯƠNG II: Về quê" {
		t.Errorf("chapters %q", got)
	}
	doc = parseString(t, "flat.html", "<p>Chương 1</p><p>Một.</p><p>Chương 2</p><p>Hai.</p>")
	if got := chapterTitles(doc); len(got) != 2 {
		t.Errorf("HTML chapters %q", got)
	}
}
