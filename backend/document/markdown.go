package document

import (
	"context"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// Markdown, read the way pandoc reads it: CommonMark with pipe tables, footnotes ([^1]) and
// smart punctuation (straight quotes become curly, "--" a dash, "..." an ellipsis), and a YAML
// title block (title:, author:) or a "% title" line at the top.

var markdown = goldmark.New(goldmark.WithExtensions(
	extension.GFM,
	extension.Footnote,
	extension.NewTypographer(extension.WithTypographicSubstitutions(map[extension.TypographicPunctuation]string{
		extension.LeftSingleQuote:  "‘",
		extension.RightSingleQuote: "’",
		extension.LeftDoubleQuote:  "“",
		extension.RightDoubleQuote: "”",
		extension.EnDash:           "–",
		extension.EmDash:           "—",
		extension.Ellipsis:         "…",
		extension.LeftAngleQuote:   "<<",
		extension.RightAngleQuote:  ">>",
		extension.Apostrophe:       "’",
	})),
))

func parseMarkdown(ctx context.Context, src []byte, lim Limits) (*Document, error) {
	src, title, author := frontMatter(src)
	root := markdown.Parser().Parse(text.NewReader(src))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := &mdWalker{b: newBuilder(lim.MaxTextBytes), src: src, notes: map[int]string{}, maxDepth: lim.MaxDepth}
	// Footnote bodies first, so references can queue them.
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if fn, ok := n.(*east.Footnote); ok && entering {
			var sb strings.Builder
			m.inline(fn, &sb, 0)
			m.notes[fn.Index] = sb.String()
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	m.block(ctx, root, 0, 0)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.deep {
		return nil, fail(ErrUnsafe, adviceUnsafe, "the Markdown nests blocks more than %d deep", lim.MaxDepth)
	}
	if err := m.b.err(); err != nil {
		return nil, err
	}
	doc := &Document{Author: flat(clean(author))}
	doc.Chapters, doc.Title = m.b.chapters(title, author)
	return doc, nil
}

// frontMatter removes a YAML block (--- ... --- or ...) or pandoc "%" lines from the top and
// returns the title and first author it names.
func frontMatter(src []byte) (rest []byte, title, author string) {
	s := string(src)
	if strings.HasPrefix(s, "% ") {
		lines := strings.SplitN(s, "\n", 4)
		title = strings.TrimPrefix(lines[0], "% ")
		n := len(lines[0]) + 1
		if len(lines) > 1 && strings.HasPrefix(lines[1], "% ") {
			author = strings.TrimPrefix(lines[1], "% ")
			n += len(lines[1]) + 1
		}
		return src[min(n, len(src)):], title, author
	}
	if !strings.HasPrefix(s, "---\n") && !strings.HasPrefix(s, "---\r\n") {
		return src, "", ""
	}
	lines := strings.Split(s, "\n")
	end := -1
	for i := 1; i < len(lines) && i < 500; i++ {
		l := strings.TrimRight(lines[i], "\r ")
		if l == "---" || l == "..." {
			end = i
			break
		}
	}
	if end < 0 {
		return src, "", ""
	}
	inAuthor := false
	for _, l := range lines[1:end] {
		l = strings.TrimRight(l, "\r")
		key, val, ok := strings.Cut(l, ":")
		if ok && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "-") {
			inAuthor = false
			val = unquoteYAML(val)
			switch strings.TrimSpace(key) {
			case "title":
				title = val
			case "author":
				author, inAuthor = val, val == ""
			}
			continue
		}
		if inAuthor && author == "" {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "- "); ok {
				author = unquoteYAML(v)
			}
		}
	}
	n := 0
	for _, l := range lines[:end+1] {
		n += len(l) + 1
	}
	return src[min(n, len(src)):], title, author
}

func unquoteYAML(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		if u, err := strconv.Unquote(`"` + strings.ReplaceAll(v[1:len(v)-1], `"`, `\"`) + `"`); err == nil {
			return u
		}
		return v[1 : len(v)-1]
	}
	return v
}

type mdWalker struct {
	b        *builder
	src      []byte
	notes    map[int]string
	maxDepth int
	deep     bool
	table    int
	row, col int
}

func (m *mdWalker) block(ctx context.Context, n ast.Node, list, depth int) {
	if depth > m.maxDepth {
		m.deep = true
		return
	}
	if ctx.Err() != nil || m.b.tooBig {
		return
	}
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch v := c.(type) {
		case *ast.Heading:
			m.emit(c, Heading, v.Level)
		case *ast.Paragraph, *ast.TextBlock:
			if list > 0 {
				m.emit(c, ListItem, list)
			} else {
				m.emit(c, Paragraph, 0)
			}
		case *ast.List:
			m.block(ctx, c, list+1, depth+1)
		case *ast.ListItem, *ast.Blockquote, *ast.Document:
			m.block(ctx, c, list, depth+1)
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			var sb strings.Builder
			lines := c.Lines()
			for i := 0; i < lines.Len(); i++ {
				seg := lines.At(i)
				sb.Write(seg.Value(m.src))
			}
			m.b.add(Block{Kind: Paragraph, Text: sb.String()})
		case *east.Table:
			m.table, m.row = m.b.newTable(), 0
			m.block(ctx, c, list, depth+1)
		case *east.TableHeader, *east.TableRow:
			m.row++
			m.col = 0
			for cell := c.FirstChild(); cell != nil; cell = cell.NextSibling() {
				m.col++
				var sb strings.Builder
				m.inline(cell, &sb, depth+1)
				m.b.add(Block{Kind: TableCell, Text: sb.String(), Cell: &CellPos{Table: m.table, Row: m.row, Col: m.col}})
			}
		case *east.FootnoteList, *ast.HTMLBlock, *ast.ThematicBreak:
		default:
			m.block(ctx, c, list, depth+1)
		}
	}
}

// emit adds the inline text of n as one block.
func (m *mdWalker) emit(n ast.Node, kind BlockKind, level int) {
	var sb strings.Builder
	m.inline(n, &sb, 0)
	m.b.add(Block{Kind: kind, Text: sb.String(), Level: level})
}

// inline writes the text of n's inline content to sb; footnote links queue their note.
func (m *mdWalker) inline(n ast.Node, sb *strings.Builder, depth int) {
	if depth > m.maxDepth {
		m.deep = true
		return
	}
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch v := c.(type) {
		case *ast.Text:
			sb.Write(v.Segment.Value(m.src))
			if v.HardLineBreak() {
				sb.WriteByte('\n')
			} else if v.SoftLineBreak() {
				sb.WriteByte(' ')
			}
		case *ast.String:
			sb.Write(v.Value)
		case *ast.AutoLink:
			sb.Write(v.Label(m.src))
		case *ast.RawHTML:
		case *east.FootnoteLink:
			if t, ok := m.notes[v.Index]; ok {
				m.b.note(strconv.Itoa(v.Index), t)
			}
		case *east.FootnoteBacklink:
		case *ast.Paragraph, *ast.TextBlock:
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			m.inline(c, sb, depth+1)
		default:
			m.inline(c, sb, depth+1)
		}
	}
}
