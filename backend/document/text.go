package document

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// parsePlainText reads decoded plain text. Paragraphs end at blank lines, and also at line ends
// that close a sentence when the next line starts a new one (files with one paragraph per line
// and files hard-wrapped at a fixed width both read right). Lines that match a chapter pattern
// ("Chương 2", "PHẦN MỘT") are headings; lines opening with a bullet or a number are list items.
// A short line opening the file before the first heading is the title.
func parsePlainText(ctx context.Context, text string) (*Document, error) {
	b := newBuilder(0)
	addLines(ctx, b, strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n"), nil)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A short first line before the first chapter heading is the book's title.
	title := ""
	if bs := b.blocks; len(bs) > 1 && bs[0].Kind == Paragraph && bs[1].Kind == Heading &&
		utf8.RuneCountInString(bs[0].Text) <= 100 && !lineEndsSentence(bs[0].Text) {
		title = bs[0].Text
	}
	doc := &Document{}
	doc.Chapters, doc.Title = b.chapters(title, "")
	return doc, nil
}

// addLines turns lines of plain text into blocks; the PDF importer shares it. outline maps the
// flattened text of known headings (a PDF's bookmarks) to their level.
func addLines(ctx context.Context, b *builder, lines []string, outline map[string]int) {
	var para []string
	kind, level := Paragraph, 0
	// A line much shorter than the longest ends its paragraph (a heading, the last line of a
	// paragraph without final punctuation) when the next line starts a sentence.
	longest := 0
	for _, l := range lines {
		longest = max(longest, utf8.RuneCountInString(strings.TrimSpace(l)))
	}
	flush := func() {
		if len(para) > 0 {
			text := b.inlineNotes(strings.Join(para, " "))
			b.add(Block{Kind: kind, Text: text, Level: level})
		}
		para, kind, level = para[:0], Paragraph, 0
	}
	for i, line := range lines {
		if i%4096 == 0 && ctx.Err() != nil {
			return
		}
		line = strings.TrimRight(strings.ReplaceAll(line, "\r", ""), " \t\f\u00a0")
		t := strings.TrimSpace(line)
		if t == "" {
			flush()
			continue
		}
		if l, ok := outline[flat(t)]; ok {
			flush()
			b.add(Block{Kind: Heading, Text: t, Level: l})
			continue
		}
		if last := t[len(t)-1]; (strings.IndexByte("0123456789ivxlcIVXLC", last) >= 0 &&
			(dotLeaderRe.MatchString(t) || tocLineRe.MatchString(t) && headingLevel(tocLineRe.ReplaceAllString(t, "")) > 0)) ||
			(len(t) < 24 && tocTitleRe.MatchString(t)) {
			// A table of contents ("Chương 1: Mở đầu ........ 3"): the chapters follow.
			flush()
			continue
		}
		if l := headingLevel(t); l > 0 {
			flush()
			b.add(Block{Kind: Heading, Text: t, Level: l})
			continue
		}
		if m := listItemRe.FindString(line); m != "" {
			flush()
			kind, level = ListItem, 1+indentOf(line)/2
			para = append(para, strings.TrimSpace(line[len(m):]))
			continue
		}
		if len(para) > 0 && startsSentence(t) {
			prev := noteMarkRe.ReplaceAllString(para[len(para)-1], "")
			if lineEndsSentence(prev) || utf8.RuneCountInString(prev)*10 < longest*6 {
				flush()
			}
		}
		para = append(para, t)
	}
	flush()
}

func indentOf(line string) int {
	n := 0
	for _, r := range line {
		switch r {
		case ' ':
			n++
		case '\t':
			n += 4
		default:
			return min(n, 16)
		}
	}
	return min(n, 16)
}

// startsSentence reports whether a line opens a sentence: an upper-case letter, a digit, a quote
// or a dash.
func startsSentence(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r) || unicode.IsDigit(r) || strings.ContainsRune("\"“«‘'-–—(", r)
}

// Tables of contents in plain text: tocLineRe matches the page number ending an entry (after dot
// leaders, a tab or a wide gap; such a line is an entry when the rest is a chapter heading);
// dotLeaderRe matches dot leaders before a page number, which only entries have; tocTitleRe
// matches the title of the table.
var (
	tocLineRe   = regexp.MustCompile(`(?:\s*(?:\.\s*){3,}|\s*…+|\t+| {2,})\s*[0-9ivxlcIVXLC]{1,6}$`)
	dotLeaderRe = regexp.MustCompile(`\S\s*(?:\.\s*){4,}[0-9ivxlcIVXLC]{1,6}$`)
	tocTitleRe  = regexp.MustCompile(`(?i)^(?:mục\s+lục|table\s+of\s+contents|contents)$`)
)

// Footnote marks found in PDF text are replaced by noteMark(key) while lines are read; the note
// texts wait in builder.marked until the paragraph holding the mark is complete.
var noteMarkRe = regexp.MustCompile("\uE000([^\uE001]*)\uE001")

func noteMark(key string) string { return "\uE000" + key + "\uE001" }

// inlineNotes queues the notes whose marks text holds, and returns text without the marks.
func (b *builder) inlineNotes(text string) string {
	if !strings.ContainsRune(text, '\uE000') {
		return text
	}
	for _, m := range noteMarkRe.FindAllStringSubmatch(text, -1) {
		if n, ok := b.marked[m[1]]; ok {
			b.note(n.Note, n.Text)
		}
	}
	return noteMarkRe.ReplaceAllString(text, "")
}

// Subtitles.

var (
	srtTime = regexp.MustCompile(`^\s*(\d{1,3}:)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*-->\s*(\d{1,3}:)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})`)
	tagRe   = regexp.MustCompile(`<[^>]{0,200}>`)
)

// parseSubtitles reads SRT and WebVTT: each cue becomes a Cue block with its timing, its lines
// joined by "\n", styling tags removed. VTT headers, NOTE, STYLE and REGION blocks are skipped.
func parseSubtitles(ctx context.Context, text string, format Format) (*Document, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	b := newBuilder(0)
	blocks := strings.Split(text, "\n\n")
	cues := 0
	for i, blk := range blocks {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		lines := strings.Split(strings.Trim(blk, "\n"), "\n")
		if len(lines) == 0 {
			continue
		}
		first := strings.TrimSpace(lines[0])
		if format == FormatVTT && (strings.HasPrefix(first, "WEBVTT") || strings.HasPrefix(first, "NOTE") ||
			strings.HasPrefix(first, "STYLE") || strings.HasPrefix(first, "REGION")) {
			continue
		}
		at := -1
		for j := 0; j < len(lines) && j < 2; j++ {
			if srtTime.MatchString(lines[j]) {
				at = j
				break
			}
		}
		if at < 0 {
			continue
		}
		m := srtTime.FindStringSubmatch(lines[at])
		start, end := cueTime(m[1:5]), cueTime(m[5:9])
		if end < start {
			return nil, fail(ErrMalformed, adviceMalformed, "cue %d ends (%s) before it starts (%s)", cues+1, end, start)
		}
		body := make([]string, 0, len(lines)-at-1)
		for _, l := range lines[at+1:] {
			l = strings.TrimSpace(tagRe.ReplaceAllString(l, ""))
			l = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&nbsp;", " ").Replace(l)
			if l != "" {
				body = append(body, l)
			}
		}
		cues++
		b.add(Block{Kind: Cue, Text: strings.Join(body, "\n"), Cue: &CueTimes{Start: start, End: end}})
	}
	if cues == 0 {
		return nil, fail(ErrMalformed, "check that the file is a subtitle file with lines like 00:00:01,000 --> 00:00:03,000",
			"no subtitle cue found")
	}
	doc := &Document{}
	doc.Chapters, doc.Title = b.chapters("", "")
	return doc, nil
}

func cueTime(p []string) time.Duration {
	h := 0
	if p[0] != "" {
		h, _ = strconv.Atoi(strings.TrimSuffix(p[0], ":"))
	}
	m, _ := strconv.Atoi(p[1])
	s, _ := strconv.Atoi(p[2])
	frac := p[3]
	for len(frac) < 3 {
		frac += "0"
	}
	ms, _ := strconv.Atoi(frac)
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second +
		time.Duration(ms)*time.Millisecond
}
