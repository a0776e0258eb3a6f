package document

import (
	"bytes"
	"context"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTML and XHTML, also the chapters of an EPUB. Block elements (p, div, li, h1-h6, td,
// blockquote, pre) end blocks; inline elements join into them. Footnotes are found by their
// semantics (role="doc-endnote", epub:type="footnote", pandoc's section.footnotes) and read
// after the paragraph that refers to them; their original place is skipped. Scripts, styles,
// navigation and forms are not text.

func parseHTMLDocument(ctx context.Context, data []byte, lim Limits) (*Document, error) {
	root, err := parseHTML(data)
	if err != nil {
		return nil, err
	}
	h := newHTMLWalker(newBuilder(lim.MaxTextBytes), lim)
	h.collectNotes(root, "")
	h.walkDocument(ctx, root, "", nil)
	if err := h.err(ctx); err != nil {
		return nil, err
	}
	doc := &Document{Author: flat(clean(h.author))}
	title := h.metaTitle
	if title == "" {
		title = h.headTitle
	}
	doc.Chapters, doc.Title = h.b.chapters(title, h.author)
	if doc.Title == "" {
		doc.Title = flat(clean(h.headTitle))
	}
	return doc, nil
}

func parseHTML(data []byte) (*html.Node, error) {
	root, err := html.Parse(bytes.NewReader(data))
	if err != nil && strings.Contains(err.Error(), "exceeds") {
		return nil, fail(ErrUnsafe, adviceUnsafe, "the markup nests elements too deep (%v)", err)
	}
	if err != nil {
		return nil, fail(ErrMalformed, adviceMalformed, "the HTML cannot be parsed (%v)", err)
	}
	return root, nil
}

type htmlWalker struct {
	b   *builder
	lim Limits

	notes     map[string]string // note id (file#id for EPUB) → text
	noteCount int

	buf       strings.Builder
	kind      BlockKind
	level     int
	listDepth int

	inCell   bool
	table    int
	row, col int

	marks map[string]string // "#id" within the current file → chapter title from the TOC
	steps int
	deep  bool

	metaTitle, headTitle, author string
}

func newHTMLWalker(b *builder, lim Limits) *htmlWalker {
	return &htmlWalker{b: b, lim: lim, notes: map[string]string{}, kind: Paragraph}
}

func (h *htmlWalker) err(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if h.deep {
		return fail(ErrUnsafe, adviceUnsafe, "the markup nests elements more than %d deep", h.lim.MaxDepth)
	}
	return h.b.err()
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key || (a.Namespace != "" && a.Key == key) || strings.HasSuffix(a.Key, ":"+key) {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, c string) bool {
	for _, f := range strings.Fields(attrOf(n, "class")) {
		if f == c {
			return true
		}
	}
	return false
}

// isNote reports whether n is the body of one footnote or endnote.
func isNote(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	role := attrOf(n, "role")
	et := attrOf(n, "type") // epub:type
	if role == "doc-endnote" || role == "doc-footnote" || strings.Contains(et, "footnote") && n.DataAtom != atom.Section ||
		strings.Contains(et, "endnote") && n.DataAtom != atom.Section && n.DataAtom != atom.Ol || strings.Contains(et, "rearnote") {
		return attrOf(n, "id") != ""
	}
	// pandoc before 2.10: <section class="footnotes"><ol><li id="fn1">.
	if n.DataAtom == atom.Li && n.Parent != nil && n.Parent.Parent != nil && isNoteContainer(n.Parent.Parent) {
		return attrOf(n, "id") != ""
	}
	return false
}

// isNoteContainer reports whether n holds the footnotes of a document or chapter.
func isNoteContainer(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	role, et := attrOf(n, "role"), attrOf(n, "type")
	return role == "doc-endnotes" || role == "doc-footnotes" || et == "footnotes" || et == "endnotes" ||
		et == "rearnotes" || hasClass(n, "footnotes") || hasClass(n, "endnotes")
}

// collectNotes records the text of every note under n, keyed by file+"#"+id.
func (h *htmlWalker) collectNotes(n *html.Node, file string) {
	var visit func(n *html.Node, depth int)
	visit = func(n *html.Node, depth int) {
		if depth > h.lim.MaxDepth {
			h.deep = true
			return
		}
		if isNote(n) {
			var sb strings.Builder
			noteText(n, &sb, 0, h.lim.MaxDepth)
			h.notes[file+"#"+attrOf(n, "id")] = sb.String()
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c, depth+1)
		}
	}
	visit(n, 0)
}

// isNoteLabel reports whether a link's text is only a note label: "1", "[2]", "*", "↩".
func isNoteLabel(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 8 {
		return s == ""
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9') && !strings.ContainsRune("[]()*†‡§↩︎^", r) && !(r >= 'a' && r <= 'z' && len(s) <= 3) {
			return false
		}
	}
	return true
}

// noteText gathers the text of a note without its back-link.
func noteText(n *html.Node, sb *strings.Builder, depth, maxDepth int) {
	if depth > maxDepth {
		return
	}
	switch n.Type {
	case html.TextNode:
		sb.WriteString(strings.ReplaceAll(n.Data, "\n", " "))
		return
	case html.ElementNode:
		if n.DataAtom == atom.A && (attrOf(n, "role") == "doc-backlink" || hasClass(n, "footnote-back") ||
			strings.Contains(attrOf(n, "type"), "backlink") || isNoteLabel(textOf(n, maxDepth))) {
			// The way back to the text, or the note's own number linking back (LibreOffice).
			return
		}
		if n.DataAtom == atom.P || n.DataAtom == atom.Div || n.DataAtom == atom.Br {
			sb.WriteByte(' ')
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		noteText(c, sb, depth+1, maxDepth)
	}
}

// walkDocument walks a parsed page; file is its path in an EPUB ("" for a lone HTML file) and
// marks the TOC cuts that fall in it.
func (h *htmlWalker) walkDocument(ctx context.Context, root *html.Node, file string, marks map[string]string) {
	h.marks = marks
	if t, ok := marks[""]; ok {
		h.b.mark(t)
	}
	h.walk(ctx, root, file, 0)
	h.flush()
}

func (h *htmlWalker) flush() {
	if h.inCell {
		return
	}
	text := h.buf.String()
	h.buf.Reset()
	if strings.TrimSpace(text) == "" {
		h.b.flushNotes()
		return
	}
	h.b.add(Block{Kind: h.kind, Text: text, Level: h.level})
}

func (h *htmlWalker) walk(ctx context.Context, n *html.Node, file string, depth int) {
	if depth > h.lim.MaxDepth {
		h.deep = true
		return
	}
	h.steps++
	if h.steps%4096 == 0 && (ctx.Err() != nil || h.b.tooBig) {
		return
	}
	switch n.Type {
	case html.TextNode:
		// Line ends in HTML source are spaces; only <br> breaks a line.
		h.buf.WriteString(strings.ReplaceAll(n.Data, "\n", " "))
		return
	case html.DocumentNode:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			h.walk(ctx, c, file, depth+1)
		}
		return
	case html.ElementNode:
	default:
		return
	}
	if id := attrOf(n, "id"); id != "" && h.marks != nil {
		if t, ok := h.marks["#"+id]; ok {
			h.flush()
			h.b.mark(t)
		}
	}
	switch n.DataAtom {
	case atom.Head:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.DataAtom == atom.Title {
				h.headTitle = textOf(c, h.lim.MaxDepth)
			}
			if c.DataAtom == atom.Meta && strings.EqualFold(attrOf(c, "name"), "author") {
				h.author = attrOf(c, "content")
			}
		}
		return
	case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Nav, atom.Form, atom.Button,
		atom.Select, atom.Textarea, atom.Svg, atom.Math, atom.Iframe, atom.Object, atom.Audio, atom.Video:
		return
	case atom.Header:
		if attrOf(n, "id") == "title-block-header" {
			h.readTitleBlock(n)
			return
		}
	case atom.Hr:
		h.flush()
		return
	case atom.Br:
		h.buf.WriteByte('\n')
		return
	case atom.Img:
		return
	case atom.A:
		if ref := h.noteRef(n, file); ref != "" {
			if text, ok := h.notes[ref]; ok {
				h.noteCount++
				label := flat(textOf(n, h.lim.MaxDepth))
				if label == "" {
					label = strconv.Itoa(h.noteCount)
				}
				h.b.note(label, text)
				return
			}
		}
	}
	if isNote(n) || isNoteContainer(n) {
		return
	}
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		if hasClass(n, "title") && h.metaTitle == "" {
			h.flush()
			h.metaTitle = textOf(n, h.lim.MaxDepth)
			return
		}
		h.block(ctx, n, file, depth, Heading, int(n.Data[1]-'0'))
	case atom.P, atom.Div, atom.Blockquote, atom.Pre, atom.Section, atom.Article, atom.Main, atom.Aside,
		atom.Dd, atom.Dt, atom.Figcaption, atom.Caption, atom.Address, atom.Body, atom.Html, atom.Figure,
		atom.Footer, atom.Header, atom.Dl:
		if h.kind == ListItem && h.listDepth > 0 && (n.DataAtom == atom.P || n.DataAtom == atom.Div) {
			// Paragraphs inside a list item stay list text.
			h.block(ctx, n, file, depth, ListItem, h.listDepth)
			return
		}
		if n.DataAtom == atom.P && (hasClass(n, "author") || hasClass(n, "date") || hasClass(n, "subtitle")) && !h.inCell {
			if hasClass(n, "author") {
				h.author = textOf(n, h.lim.MaxDepth)
			}
			return
		}
		h.block(ctx, n, file, depth, Paragraph, 0)
	case atom.Ul, atom.Ol, atom.Menu:
		h.flush()
		h.listDepth++
		h.children(ctx, n, file, depth)
		h.listDepth--
		h.flush()
	case atom.Li:
		h.block(ctx, n, file, depth, ListItem, max(1, h.listDepth))
	case atom.Table:
		if h.inCell {
			h.children(ctx, n, file, depth)
			return
		}
		h.flush()
		h.table, h.row = h.b.newTable(), 0
		h.children(ctx, n, file, depth)
	case atom.Tr:
		if !h.inCell {
			h.row++
			h.col = 0
		}
		h.children(ctx, n, file, depth)
	case atom.Td, atom.Th:
		if h.inCell {
			h.buf.WriteByte(' ')
			h.children(ctx, n, file, depth)
			return
		}
		h.flush()
		h.col++
		h.inCell = true
		h.children(ctx, n, file, depth)
		h.inCell = false
		text := h.buf.String()
		h.buf.Reset()
		h.b.add(Block{Kind: TableCell, Text: text, Cell: &CellPos{Table: h.table, Row: h.row, Col: h.col}})
	default:
		h.children(ctx, n, file, depth)
	}
}

func (h *htmlWalker) children(ctx context.Context, n *html.Node, file string, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		h.walk(ctx, c, file, depth+1)
	}
}

// block walks a block element: what came before ends, its own text becomes one block of kind.
func (h *htmlWalker) block(ctx context.Context, n *html.Node, file string, depth int, kind BlockKind, level int) {
	if h.inCell {
		h.buf.WriteByte(' ')
		h.children(ctx, n, file, depth)
		h.buf.WriteByte(' ')
		return
	}
	h.flush()
	saveKind, saveLevel := h.kind, h.level
	h.kind, h.level = kind, level
	h.children(ctx, n, file, depth)
	h.flush()
	h.kind, h.level = saveKind, saveLevel
}

// noteRef returns the note key a link points to, or "".
func (h *htmlWalker) noteRef(n *html.Node, file string) string {
	href := attrOf(n, "href")
	i := strings.IndexByte(href, '#')
	if i < 0 {
		return ""
	}
	target, frag := href[:i], href[i+1:]
	if target != "" && file != "" {
		target = resolveHref(file, target)
	} else {
		target = file
	}
	key := target + "#" + frag
	if _, ok := h.notes[key]; ok {
		return key
	}
	return ""
}

// readTitleBlock reads pandoc's <header id="title-block-header">: title, author, date.
func (h *htmlWalker) readTitleBlock(n *html.Node) {
	var visit func(n *html.Node, depth int)
	visit = func(n *html.Node, depth int) {
		if depth > h.lim.MaxDepth {
			return
		}
		if n.Type == html.ElementNode {
			switch {
			case hasClass(n, "title"):
				h.metaTitle = textOf(n, h.lim.MaxDepth)
				return
			case hasClass(n, "author"):
				h.author = textOf(n, h.lim.MaxDepth)
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c, depth+1)
		}
	}
	visit(n, 0)
}

// textOf returns the text content of n.
func textOf(n *html.Node, maxDepth int) string {
	var sb strings.Builder
	var visit func(n *html.Node, depth int)
	visit = func(n *html.Node, depth int) {
		if depth > maxDepth {
			return
		}
		if n.Type == html.TextNode {
			sb.WriteString(strings.ReplaceAll(n.Data, "\n", " "))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c, depth+1)
		}
	}
	visit(n, 0)
	return sb.String()
}

// resolveHref resolves a relative, URL-encoded href against the archive path of the file that
// holds it.
func resolveHref(base, href string) string {
	if u, err := url.Parse(href); err == nil {
		href = u.Path
	}
	if strings.HasPrefix(href, "/") {
		return strings.TrimPrefix(cleanPath(href), "/")
	}
	dir := ""
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		dir = base[:i+1]
	}
	return strings.TrimPrefix(cleanPath("/"+dir+href), "/")
}
