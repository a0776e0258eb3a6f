package document

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// DOCX (Office Open XML). The body of word/document.xml is streamed: paragraphs become blocks,
// their style decides heading or list item, tables come cell by cell in reading order, and a
// footnote or endnote reference queues the note's text to follow the paragraph. Core properties
// give the title and author; paragraphs styled Title, Subtitle, Author or Date are that metadata,
// not text. A table of contents (a content control of that gallery, or TOC/Contents styles) is
// skipped: its entries are the chapter titles that follow.

var headingStyleRe = regexp.MustCompile(`(?i)^(?:heading|überschrift|titre|titolo|título|kop)\s*([1-9])$`)

type docxStyle struct {
	name    string
	outline int // heading level from w:outlineLvl, 0 if none
	list    bool
	basedOn string
}

func parseDOCX(ctx context.Context, z *archive, lim Limits) (*Document, error) {
	main := "word/document.xml"
	var rels struct {
		Rel []struct {
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := z.unmarshalPart("_rels/.rels", &rels); err == nil {
		for _, r := range rels.Rel {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				main = strings.TrimPrefix(path.Clean("/"+r.Target), "/")
			}
		}
	} else if err != errNoEntry {
		return nil, err
	}
	if !z.has(main) {
		return nil, missing(main + " (it is not a Word document)")
	}
	dir := path.Dir(main)
	styles, err := docxStyles(z, path.Join(dir, "styles.xml"))
	if err != nil {
		return nil, err
	}
	notes := map[string]string{}
	for _, part := range []string{"footnotes.xml", "endnotes.xml"} {
		if err := docxNotes(z, path.Join(dir, part), notes, part[:3]); err != nil {
			return nil, err
		}
	}
	doc := &Document{}
	var core struct {
		Title   string `xml:"title"`
		Creator string `xml:"creator"`
	}
	if err := z.unmarshalPart("docProps/core.xml", &core); err != nil && err != errNoEntry {
		return nil, err
	}
	data, err := z.stream(main)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	b := newBuilder(lim.MaxTextBytes)
	w := &docxWalker{b: b, styles: styles, notes: notes}
	x := newXMLReader(data, main, lim)
	for i := 0; ; i++ {
		if i%8192 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t, err := x.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		w.token(t)
		if err := b.err(); err != nil {
			return nil, err
		}
	}
	title, author := core.Title, core.Creator
	if title == "" {
		title = w.title
	}
	if w.author != "" {
		author = w.author
	}
	doc.Author = flat(clean(author))
	doc.Chapters, doc.Title = b.chapters(title, author)
	return doc, nil
}

func docxStyles(z *archive, name string) (map[string]docxStyle, error) {
	var st struct {
		Style []struct {
			ID      string `xml:"styleId,attr"`
			Name    val    `xml:"name"`
			BasedOn val    `xml:"basedOn"`
			PPr     struct {
				Outline *val `xml:"outlineLvl"`
				NumPr   *struct {
					NumID val `xml:"numId"`
				} `xml:"numPr"`
			} `xml:"pPr"`
		} `xml:"style"`
	}
	out := map[string]docxStyle{}
	if err := z.unmarshalPart(name, &st); err != nil {
		if err == errNoEntry {
			return out, nil
		}
		return nil, err
	}
	for _, s := range st.Style {
		ds := docxStyle{name: s.Name.Val, basedOn: s.BasedOn.Val}
		if m := headingStyleRe.FindStringSubmatch(s.Name.Val); m != nil {
			ds.outline, _ = strconv.Atoi(m[1])
		} else if s.PPr.Outline != nil {
			if n, err := strconv.Atoi(s.PPr.Outline.Val); err == nil && n < 9 {
				ds.outline = n + 1
			}
		}
		ds.list = s.PPr.NumPr != nil && s.PPr.NumPr.NumID.Val != "0"
		out[s.ID] = ds
	}
	return out, nil
}

type val struct {
	Val string `xml:"val,attr"`
}

// docxNotes reads footnotes.xml or endnotes.xml into notes, keyed "foo:ID" or "end:ID".
func docxNotes(z *archive, name string, notes map[string]string, prefix string) error {
	data, err := z.open(name)
	if err == errNoEntry {
		return nil
	}
	if err != nil {
		return err
	}
	x := newXMLReader(bytes.NewReader(data), name, z.lim)
	var id string
	var text strings.Builder
	skip := false
	for {
		t, err := x.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch v := t.(type) {
		case xml.StartElement:
			switch v.Name.Local {
			case "footnote", "endnote":
				id, skip = attr(v, "id"), attr(v, "type") != "" && attr(v, "type") != "normal"
				text.Reset()
			case "p":
				text.WriteByte(' ')
			case "tab", "br":
				text.WriteByte(' ')
			}
		case xml.CharData:
			if x.inText(v) {
				text.Write(bytes.ReplaceAll(v, []byte("\n"), []byte(" ")))
			}
		case xml.EndElement:
			if v.Name.Local == "footnote" || v.Name.Local == "endnote" {
				if !skip {
					notes[prefix+":"+id] = text.String()
				}
			}
		}
		x.track(t)
	}
}

// track and inText let a token loop know whether character data sits in a w:t run (and not in
// field instructions or deleted text).
func (x *xmlReader) track(t xml.Token) {
	switch v := t.(type) {
	case xml.StartElement:
		x.stack = append(x.stack, v.Name.Local)
	case xml.EndElement:
		if len(x.stack) > 0 {
			x.stack = x.stack[:len(x.stack)-1]
		}
	}
}

func (x *xmlReader) inText(xml.CharData) bool {
	return len(x.stack) > 0 && x.stack[len(x.stack)-1] == "t"
}

// docxWalker turns the token stream of the document body into blocks.
type docxWalker struct {
	b      *builder
	styles map[string]docxStyle
	notes  map[string]string
	stack  []string

	para      strings.Builder
	pStyle    string
	numbered  bool
	listLevel int

	tables tableCells

	noteCount     int
	title, author string

	sdtDepth int // content controls open
	tocSdt   int // depth of the content control holding a table of contents, 0 if none

	inPara bool
	outer  []docxPara // paragraphs interrupted by a text box
	skip   int        // depth inside an mc:Fallback
}

// docxPara is the state of a paragraph interrupted by a nested one.
type docxPara struct {
	text, style string
	numbered    bool
	level       int
}

func (w *docxWalker) token(t xml.Token) {
	if w.skip > 0 {
		switch t.(type) {
		case xml.StartElement:
			w.skip++
		case xml.EndElement:
			w.skip--
		}
		return
	}
	switch v := t.(type) {
	case xml.StartElement:
		if v.Name.Local == "Fallback" {
			// mc:AlternateContent repeats a text box for old readers: read the mc:Choice only.
			w.skip = 1
			return
		}
		w.stack = append(w.stack, v.Name.Local)
		switch v.Name.Local {
		case "p":
			if w.inPara {
				// A paragraph inside a paragraph (a text box): it becomes a block of its own,
				// and the outer paragraph goes on after it.
				w.outer = append(w.outer, docxPara{w.para.String(), w.pStyle, w.numbered, w.listLevel})
			}
			w.inPara = true
			w.para.Reset()
			w.pStyle, w.numbered, w.listLevel = "", false, 0
		case "pStyle":
			if w.parent(1) == "pPr" {
				w.pStyle = attr(v, "val")
			}
		case "numPr":
			w.numbered = true
		case "ilvl":
			if n, err := strconv.Atoi(attr(v, "val")); err == nil && n >= 0 && n < 10 {
				w.listLevel = n
			}
		case "numId":
			if attr(v, "val") == "0" {
				w.numbered = false
			}
		case "tab", "br", "cr":
			if w.parent(1) == "r" {
				w.para.WriteByte(' ')
			}
		case "noBreakHyphen":
			w.para.WriteByte('-')
		case "footnoteReference", "endnoteReference":
			prefix := "foo"
			if v.Name.Local == "endnoteReference" {
				prefix = "end"
			}
			if text, ok := w.notes[prefix+":"+attr(v, "id")]; ok {
				w.noteCount++
				w.b.note(strconv.Itoa(w.noteCount), text)
			}
		case "sdt":
			w.sdtDepth++
		case "docPartGallery":
			if strings.Contains(strings.ToLower(attr(v, "val")), "table of contents") && w.tocSdt == 0 {
				w.tocSdt = w.sdtDepth
			}
		case "tbl":
			w.tables.openTable(w.b)
		case "tr":
			w.tables.openRow()
		case "tc":
			w.tables.openCell()
		}
	case xml.CharData:
		if len(w.stack) > 0 && w.stack[len(w.stack)-1] == "t" && w.parent(1) == "r" {
			w.para.Write(bytes.ReplaceAll(v, []byte("\n"), []byte(" ")))
		}
	case xml.EndElement:
		switch v.Name.Local {
		case "p":
			w.endParagraph()
			w.inPara = false
			if n := len(w.outer); n > 0 {
				o := w.outer[n-1]
				w.outer = w.outer[:n-1]
				w.para.WriteString(o.text)
				w.pStyle, w.numbered, w.listLevel, w.inPara = o.style, o.numbered, o.level, true
			}
		case "tc":
			w.tables.closeCell(w.b)
		case "tbl":
			w.tables.closeTable()
		case "sdt":
			if w.sdtDepth == w.tocSdt {
				w.tocSdt = 0
			}
			w.sdtDepth--
		}
		if len(w.stack) > 0 {
			w.stack = w.stack[:len(w.stack)-1]
		}
	}
}

// parent returns the name of the element n levels above the current one (0 is the current).
func (w *docxWalker) parent(n int) string {
	if i := len(w.stack) - 1 - n; i >= 0 {
		return w.stack[i]
	}
	return ""
}

func (w *docxWalker) endParagraph() {
	text := w.para.String()
	w.para.Reset()
	if w.tables.addParagraph(text) {
		return
	}
	if w.tocSdt > 0 {
		return // a table of contents: the chapters themselves follow
	}
	st := w.styleOf(w.pStyle)
	name := strings.ToLower(strings.ReplaceAll(st.name, " ", ""))
	switch {
	case strings.HasPrefix(name, "toc") || strings.HasPrefix(name, "contents"):
		// "TOC Heading", "toc 1", LibreOffice's "Contents Heading", "Contents 1".
		return
	case name == "title":
		if w.title == "" {
			w.title = text
		}
		return
	case name == "author":
		w.author = text
		return
	case name == "subtitle" || name == "date":
		return
	case st.outline > 0:
		w.b.add(Block{Kind: Heading, Text: text, Level: st.outline})
	case w.numbered || st.list:
		w.b.add(Block{Kind: ListItem, Text: text, Level: w.listLevel + 1})
	default:
		w.b.add(Block{Kind: Paragraph, Text: text})
	}
}

// styleOf resolves a paragraph style id, following basedOn for the heading level.
func (w *docxWalker) styleOf(id string) docxStyle {
	st := w.styles[id]
	if st.name == "" {
		st.name = id
		if m := headingStyleRe.FindStringSubmatch(id); m != nil {
			st.outline, _ = strconv.Atoi(m[1])
		}
	}
	base := st
	for i := 0; i < 10 && st.outline == 0 && base.basedOn != ""; i++ {
		base = w.styles[base.basedOn]
		st.outline = base.outline
	}
	return st
}
