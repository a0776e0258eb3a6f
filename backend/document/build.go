package document

import (
	"github.com/viettts-studio/studio/inference/bytesize"

	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// nfc normalizes s to NFC; every string entering the model goes through it or through clean.
func nfc(s string) string { return norm.NFC.String(s) }

// clean makes s a block text: valid UTF-8, NFC, without control or invisible characters, runs
// of white space collapsed to one space (a "\n" survives, with the spaces around it removed),
// trimmed.
func clean(s string) string {
	s = nfc(strings.ToValidUTF8(s, "\uFFFD"))
	var b strings.Builder
	b.Grow(len(s))
	space, newline := false, false
	for _, r := range s {
		switch {
		case r == '\n' || r == '\u2028' || r == '\u2029':
			newline = true
		case unicode.IsSpace(r) || r == '\u00A0':
			space = true
		case r == '\u00AD' || r == '\u200B' || r == '\uFEFF' || r == '\u200E' || r == '\u200F' || r == '\u2060':
			// soft hyphen, zero-width and direction marks: invisible, and noise for the reader.
		case unicode.IsControl(r):
			space = true
		default:
			if b.Len() > 0 {
				if newline {
					b.WriteByte('\n')
				} else if space {
					b.WriteByte(' ')
				}
			}
			space, newline = false, false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// flat joins the lines of a cleaned text with spaces: for titles and comparisons.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// builder collects the blocks of a document in reading order, with headings still in the flow;
// chapters() then cuts them into chapters. Footnotes referenced by a block are queued and
// emitted right after it.
type builder struct {
	blocks  []rawBlock
	pending []Block // footnotes waiting for the end of the current block
	tables  int
	size    int64
	limit   int64
	tooBig  bool
	marked  map[string]Block // footnotes by mark key, for text whose marks are inline (PDF)
}

// rawBlock is a block before chapters are cut: headings keep their absolute level, and a
// chapter mark (from a table of contents) may force a cut with a given title.
type rawBlock struct {
	Block
	chapterMark bool // cut a chapter here, titled Text
}

func newBuilder(limit int64) *builder { return &builder{limit: limit} }

// add appends a block if its text is not empty, followed by any footnotes it referenced.
func (b *builder) add(bl Block) {
	bl.Text = clean(bl.Text)
	if bl.Text != "" || bl.Kind == TableCell {
		b.size += int64(len(bl.Text))
		if b.limit > 0 && b.size > b.limit {
			b.tooBig = true
			return
		}
		b.blocks = append(b.blocks, rawBlock{Block: bl})
	}
	b.flushNotes()
}

// note queues a footnote to follow the block being built.
func (b *builder) note(label, text string) {
	text = clean(text)
	if text == "" {
		return
	}
	b.pending = append(b.pending, Block{Kind: Footnote, Text: text, Note: clean(label)})
}

func (b *builder) flushNotes() {
	for _, n := range b.pending {
		b.size += int64(len(n.Text))
		b.blocks = append(b.blocks, rawBlock{Block: n})
	}
	b.pending = b.pending[:0]
}

// mark cuts a chapter at this point with the given title (a table-of-contents entry).
func (b *builder) mark(title string) {
	b.flushNotes()
	b.blocks = append(b.blocks, rawBlock{Block: Block{Kind: Heading, Text: clean(title)}, chapterMark: true})
}

// newTable starts a table and returns its number within the document; chapters() renumbers
// tables per chapter.
func (b *builder) newTable() int {
	b.tables++
	return b.tables
}

func (b *builder) err() error {
	if b.tooBig {
		return fail(ErrTooLarge, adviceTooLarge, "the document holds more than %s of text", bytesize.Format(b.limit))
	}
	return nil
}

// chapters cuts the collected blocks into chapters. With table-of-contents marks, the marks cut
// and headings stay inside. Otherwise the cut is at the highest heading level, except that a
// lone top heading opening the document is its title. Blocks before the first cut whose text is
// only the title or the author are dropped (title pages).
func (b *builder) chapters(title, author string) (chs []Chapter, docTitle string) {
	b.flushNotes()
	docTitle = flat(clean(title))
	blocks := b.blocks
	hasMarks := false
	for _, bl := range blocks {
		if bl.chapterMark {
			hasMarks = true
			break
		}
	}
	if !hasMarks && !hasHeadings(blocks) {
		// No structure (a DOCX typed without heading styles, a flat HTML page): paragraphs that
		// read like chapter headings ("Chương 2", "PHẦN MỘT") become headings, as in plain text.
		for i := range blocks {
			if blocks[i].Kind == Paragraph {
				if l := headingLevel(blocks[i].Text); l > 0 {
					blocks[i].Kind, blocks[i].Level = Heading, l
				}
			}
		}
	}
	cutLevel := 0
	if !hasMarks {
		count := map[int]int{}
		levels := []int{}
		for _, bl := range blocks {
			if bl.Kind == Heading {
				if count[bl.Level] == 0 {
					levels = append(levels, bl.Level)
				}
				count[bl.Level]++
			}
		}
		sortInts(levels)
		if len(levels) > 0 {
			cutLevel = levels[0]
			if count[cutLevel] == 1 && len(levels) > 1 && firstHeadingOpens(blocks, cutLevel) {
				// "# Book title" followed by "## Chapter" headings.
				for i, bl := range blocks {
					if bl.Kind == Heading && bl.Level == cutLevel {
						if docTitle == "" {
							docTitle = flat(bl.Text)
						}
						blocks = append(blocks[:i:i], blocks[i+1:]...)
						break
					}
				}
				cutLevel = levels[1]
			}
		}
	}
	isCut := func(bl rawBlock) bool {
		if hasMarks {
			return bl.chapterMark
		}
		return bl.Kind == Heading && bl.Level == cutLevel && cutLevel > 0
	}
	var cur *Chapter
	tableMap := map[int]int{}
	preamble := true
	for _, bl := range blocks {
		if isCut(bl) {
			chs = append(chs, Chapter{Title: flat(bl.Text)})
			cur = &chs[len(chs)-1]
			tableMap = map[int]int{}
			preamble = false
			continue
		}
		if bl.chapterMark {
			continue
		}
		if preamble && isTitlePage(flat(bl.Text), docTitle, flat(clean(author))) {
			continue
		}
		if cur == nil {
			chs = append(chs, Chapter{})
			cur = &chs[len(chs)-1]
		}
		out := bl.Block
		if out.Kind == Heading {
			out.Level = out.Level - cutLevel
			if out.Level < 1 || hasMarks {
				out.Level = max(1, bl.Level-1)
			}
		}
		if out.Cell != nil {
			c := *out.Cell
			n, ok := tableMap[c.Table]
			if !ok {
				n = len(tableMap) + 1
				tableMap[c.Table] = n
			}
			c.Table = n
			out.Cell = &c
		}
		cur.Blocks = append(cur.Blocks, out)
	}
	// Drop chapters left empty (a TOC entry with nothing under it) unless they have a title.
	// Drop a title page listed in the TOC: a chapter titled like the book, or holding nothing
	// but the title and the author.
	kept := chs[:0]
	for _, c := range chs {
		if (c.Title == docTitle || len(c.Blocks) > 0) && onlyTitlePage(c.Blocks, docTitle, flat(clean(author))) && c.Title != "" {
			continue
		}
		if len(c.Blocks) > 0 || c.Title != "" {
			if c.Blocks == nil {
				c.Blocks = []Block{}
			}
			kept = append(kept, c)
		}
	}
	return kept, docTitle
}

func onlyTitlePage(bs []Block, title, author string) bool {
	for _, b := range bs {
		if !isTitlePage(flat(b.Text), title, author) {
			return false
		}
	}
	return true
}

// isTitlePage reports whether a block before the first chapter only repeats the title and the
// author (a title page, or the first lines of a PDF).
func isTitlePage(text, title, author string) bool {
	if text == "" || (title == "" && author == "") {
		return false
	}
	for _, s := range []string{title, author} {
		if s != "" {
			text = strings.Replace(text, s, "", 1)
		}
	}
	return strings.TrimSpace(text) == ""
}

func hasHeadings(blocks []rawBlock) bool {
	for _, bl := range blocks {
		if bl.Kind == Heading {
			return true
		}
	}
	return false
}

func firstHeadingOpens(blocks []rawBlock, level int) bool {
	for _, bl := range blocks {
		if bl.Kind == Heading {
			return bl.Level == level
		}
	}
	return false
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// Chapter headings in plain text (and in PDF text): "Chương I", "CHƯƠNG 2: Tên", "Phần một",
// "Chapter 3", "Hồi thứ năm", "Quyển 2"... A line is a heading only if it is short.
var (
	numberWord = `(?:[0-9]+|[ivxlcdm]+|thứ\s+\p{L}+|một|hai|ba|bốn|tư|năm|sáu|bảy|tám|chín|mười(?:\s+\p{L}+)?|hai\s+mươi(?:\s+\p{L}+)?|cuối|one|two|three|four|five|six|seven|eight|nine|ten)`
	partRe     = regexp.MustCompile(`(?i)^(?:phần|quyển|tập|part|book)\s+` + numberWord + `\b\s*(?:[:.\-–—]\s*.*)?$`)
	chapterRe  = regexp.MustCompile(`(?i)^(?:chương|hồi|chapter)\s+` + numberWord + `\b\s*(?:[:.\-–—]\s*.*)?$`)
	namedRe    = regexp.MustCompile(`(?i)^(?:lời\s+(?:mở\s+đầu|nói\s+đầu|tựa|giới\s+thiệu|bạt|cuối\s+sách|kết)|mở\s+đầu|vĩ\s+thanh|phần\s+kết|kết\s+luận|phụ\s+lục|prologue|epilogue|preface|introduction)\s*[:.]?$`)
)

// headingWords are the first words of every heading pattern.
var headingWords = map[string]bool{"phần": true, "quyển": true, "tập": true, "part": true, "book": true,
	"chương": true, "hồi": true, "chapter": true, "lời": true, "mở": true, "vĩ": true, "kết": true,
	"phụ": true, "prologue": true, "epilogue": true, "preface": true, "introduction": true}

// headingLevel says whether a plain-text line is a chapter heading, and its level: 1 for parts
// and volumes, 2 for chapters.
func headingLevel(line string) int {
	if len(line) > 400 || utf8.RuneCountInString(line) > 100 {
		return 0
	}
	// Most lines are not headings: look at the first word before running the patterns.
	first, _, _ := strings.Cut(line, " ")
	if !headingWords[strings.ToLower(strings.TrimRight(first, ":."))] {
		return 0
	}
	l := strings.ToLower(line)
	switch {
	case partRe.MatchString(l):
		return 1
	case chapterRe.MatchString(l), namedRe.MatchString(l):
		return 2
	}
	return 0
}

// listItemRe matches a bullet or number opening a list item in plain text.
var listItemRe = regexp.MustCompile(`^\s*(?:[-*+•◦▪–]|\(?[0-9]{1,3}[.)]|\(?[a-zđ][.)])\s+`)

// lineEndsSentence reports whether a line of plain text ends a paragraph for sure.
func lineEndsSentence(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(strings.TrimSpace(s))
	return strings.ContainsRune(".!?…:;\"”»)’", r)
}

// tableCells follows the tables of a word-processor body (docx, odt) as its XML streams by: it
// numbers each top-level table, counts rows and cells, and gathers the paragraphs of a cell into
// one TableCell block. A table nested in a cell is read as part of that cell.
type tableCells struct {
	depth    int
	table    int
	row, col int
	cell     strings.Builder
}

func (t *tableCells) openTable(b *builder) {
	t.depth++
	if t.depth == 1 {
		t.table, t.row = b.newTable(), 0
	}
}

func (t *tableCells) closeTable() { t.depth-- }

func (t *tableCells) openRow() {
	if t.depth == 1 {
		t.row++
		t.col = 0
	}
}

func (t *tableCells) openCell() {
	if t.depth == 1 {
		t.col++
		t.cell.Reset()
	}
}

func (t *tableCells) closeCell(b *builder) {
	if t.depth == 1 {
		b.add(Block{Kind: TableCell, Text: t.cell.String(), Cell: &CellPos{Table: t.table, Row: t.row, Col: t.col}})
	}
}

// addParagraph puts a finished paragraph into the current cell; it returns false outside tables.
func (t *tableCells) addParagraph(text string) bool {
	if t.depth == 0 {
		return false
	}
	if t.cell.Len() > 0 {
		t.cell.WriteByte(' ')
	}
	t.cell.WriteString(text)
	return true
}
