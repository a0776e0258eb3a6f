package document

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
)

// ODT (OpenDocument Text). content.xml is streamed: text:h gives headings with their outline
// level, text:list nesting gives list items, tables come cell by cell, and a text:note's body
// is taken out of the running text and queued to follow its paragraph. meta.xml gives the title
// and author; paragraphs styled Title, Subtitle, Author or Date are metadata, not text.

func parseODT(ctx context.Context, z *archive, lim Limits) (*Document, error) {
	// A password-protected ODF file keeps its zip, but its parts are encrypted; the manifest
	// says so.
	if manifest, err := z.open("META-INF/manifest.xml"); err == nil && bytes.Contains(manifest, []byte("encryption-data")) {
		return nil, fail(ErrEncrypted, adviceEncrypted, "the document is protected by a password")
	} else if err != nil && err != errNoEntry {
		return nil, err
	}
	var meta struct {
		Meta struct {
			Title   string `xml:"title"`
			Creator string `xml:"creator"`
			Initial string `xml:"initial-creator"`
		} `xml:"meta"`
	}
	if err := z.unmarshalPart("meta.xml", &meta); err != nil && err != errNoEntry {
		return nil, err
	}
	data, err := z.stream("content.xml")
	if err == errNoEntry {
		return nil, missing("content.xml (it is not an OpenDocument file)")
	}
	if err != nil {
		return nil, err
	}
	defer data.Close()
	b := newBuilder(lim.MaxTextBytes)
	w := &odtWalker{b: b, parents: map[string]string{}}
	x := newXMLReader(data, "content.xml", lim)
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
	doc := &Document{}
	title := meta.Meta.Title
	if title == "" {
		title = w.title
	}
	author := meta.Meta.Initial
	if author == "" {
		author = meta.Meta.Creator
	}
	if w.author != "" {
		author = w.author
	}
	doc.Author = flat(clean(author))
	doc.Chapters, doc.Title = b.chapters(title, author)
	return doc, nil
}

type odtWalker struct {
	b       *builder
	parents map[string]string // automatic style name → parent style name

	// Text goes to the innermost open buffer: a note body, else the paragraph.
	para    strings.Builder
	inPara  bool
	pStyle  string
	heading int

	listDepth int
	inItem    int

	note      *strings.Builder
	noteLabel string
	inCite    bool
	skip      int // depth inside elements whose text is not read (annotations, tracked changes)

	tables    tableCells
	noteCount int

	title, author string
}

func (w *odtWalker) out() *strings.Builder {
	if w.note != nil {
		return w.note
	}
	return &w.para
}

func (w *odtWalker) token(t xml.Token) {
	switch v := t.(type) {
	case xml.StartElement:
		if w.skip > 0 {
			w.skip++
			return
		}
		switch v.Name.Local {
		case "annotation", "tracked-changes", "sequence-decls", "index-title-template",
			// Generated indexes: their entries repeat the headings that follow.
			"table-of-content", "alphabetical-index", "illustration-index", "table-index",
			"object-index", "user-index", "bibliography":
			w.skip = 1
		case "style":
			if p := attr(v, "parent-style-name"); p != "" {
				w.parents[attr(v, "name")] = p
			}
		case "p", "h":
			if w.note != nil {
				if w.note.Len() > 0 {
					w.note.WriteByte(' ')
				}
				return
			}
			w.inPara = true
			w.para.Reset()
			w.pStyle = attr(v, "style-name")
			w.heading = 0
			if v.Name.Local == "h" {
				w.heading = 1
				if n, err := strconv.Atoi(attr(v, "outline-level")); err == nil && n > 0 && n < 11 {
					w.heading = n
				}
			}
		case "s":
			n := 1
			if c, err := strconv.Atoi(attr(v, "c")); err == nil && c > 0 {
				n = min(c, 8)
			}
			w.out().WriteString(strings.Repeat(" ", n))
		case "tab":
			w.out().WriteByte(' ')
		case "line-break":
			w.out().WriteByte('\n')
		case "list":
			w.listDepth++
		case "list-item", "list-header":
			w.inItem++
		case "note":
			w.note = &strings.Builder{}
			w.noteLabel = ""
		case "note-citation":
			w.inCite = true
		case "table":
			w.tables.openTable(w.b)
		case "table-row":
			w.tables.openRow()
		case "table-cell":
			w.tables.openCell()
		}
	case xml.CharData:
		if w.skip > 0 {
			return
		}
		if w.inCite {
			w.noteLabel += string(v)
			return
		}
		if w.note != nil || w.inPara {
			w.out().Write(bytes.ReplaceAll(v, []byte("\n"), []byte(" ")))
		}
	case xml.EndElement:
		if w.skip > 0 {
			w.skip--
			return
		}
		switch v.Name.Local {
		case "note-citation":
			w.inCite = false
		case "note":
			text := w.note.String()
			w.note = nil
			w.noteCount++
			label := strings.TrimSpace(w.noteLabel)
			if label == "" {
				label = strconv.Itoa(w.noteCount)
			}
			w.b.note(label, text)
		case "p", "h":
			if w.note != nil {
				return
			}
			w.endParagraph()
		case "list":
			w.listDepth--
		case "list-item", "list-header":
			w.inItem--
		case "table-cell":
			w.tables.closeCell(w.b)
		case "table":
			w.tables.closeTable()
		}
	}
}

// styleName returns the named style a paragraph uses, looking through automatic styles.
func (w *odtWalker) styleName(s string) string {
	for i := 0; i < 10; i++ {
		p, ok := w.parents[s]
		if !ok {
			break
		}
		s = p
	}
	return strings.ToLower(strings.ReplaceAll(s, "_20_", ""))
}

func (w *odtWalker) endParagraph() {
	w.inPara = false
	text := w.para.String()
	w.para.Reset()
	if w.tables.addParagraph(text) {
		return
	}
	switch w.styleName(w.pStyle) {
	case "title":
		if w.title == "" {
			w.title = text
		}
		return
	case "author":
		w.author = text
		return
	case "subtitle", "date":
		return
	}
	switch {
	case w.heading > 0:
		w.b.add(Block{Kind: Heading, Text: text, Level: w.heading})
	case w.inItem > 0:
		w.b.add(Block{Kind: ListItem, Text: text, Level: max(1, w.listDepth)})
	default:
		w.b.add(Block{Kind: Paragraph, Text: text})
	}
}
