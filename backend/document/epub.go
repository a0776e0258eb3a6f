package document

import (
	"context"
	"path"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// EPUB 2 and 3: META-INF/container.xml names the package (OPF); its spine gives the reading
// order of the XHTML files; the table of contents (the EPUB 3 nav document, else the EPUB 2
// NCX) cuts the chapters and titles them. Without a usable table of contents, headings cut.

type opfPackage struct {
	Metadata struct {
		Title   []string `xml:"title"`
		Creator []string `xml:"creator"`
	} `xml:"metadata"`
	Manifest struct {
		Item []struct {
			ID         string `xml:"id,attr"`
			Href       string `xml:"href,attr"`
			MediaType  string `xml:"media-type,attr"`
			Properties string `xml:"properties,attr"`
		} `xml:"item"`
	} `xml:"manifest"`
	Spine struct {
		Toc     string `xml:"toc,attr"`
		ItemRef []struct {
			IDRef  string `xml:"idref,attr"`
			Linear string `xml:"linear,attr"`
		} `xml:"itemref"`
	} `xml:"spine"`
}

type ncxPoint struct {
	Label   string `xml:"navLabel>text"`
	Content struct {
		Src string `xml:"src,attr"`
	} `xml:"content"`
	Kids []ncxPoint `xml:"navPoint"`
}

type tocEntry struct{ title, target string } // target: archive path + optional "#id"

func parseEPUB(ctx context.Context, z *archive, lim Limits) (*Document, error) {
	if err := epubDRM(z); err != nil {
		return nil, err
	}
	var container struct {
		Rootfile []struct {
			FullPath  string `xml:"full-path,attr"`
			MediaType string `xml:"media-type,attr"`
		} `xml:"rootfiles>rootfile"`
	}
	if err := z.unmarshalPart("META-INF/container.xml", &container); err != nil {
		if err == errNoEntry {
			return nil, missing("META-INF/container.xml (it is not an EPUB)")
		}
		return nil, err
	}
	opfPath := ""
	for _, r := range container.Rootfile {
		if r.MediaType == "" || r.MediaType == "application/oebps-package+xml" {
			opfPath = r.FullPath
			break
		}
	}
	var opf opfPackage
	if err := z.unmarshalPart(opfPath, &opf); err != nil {
		if err == errNoEntry {
			return nil, missing("package file " + opfPath)
		}
		return nil, err
	}
	byID := map[string]string{}
	navPath, ncxPath := "", ""
	for _, it := range opf.Manifest.Item {
		p := resolveHref(opfPath, it.Href)
		byID[it.ID] = p
		if strings.Contains(" "+it.Properties+" ", " nav ") {
			navPath = p
		}
		if it.ID == opf.Spine.Toc || (ncxPath == "" && it.MediaType == "application/x-dtbncx+xml") {
			ncxPath = p
		}
	}
	var toc []tocEntry
	var err error
	if navPath != "" {
		toc, err = epubNav(z, navPath, lim)
	}
	if err == nil && len(toc) == 0 && ncxPath != "" {
		toc, err = epubNCX(z, ncxPath)
	}
	if err != nil {
		return nil, err
	}
	// Two passes over the spine: the first finds the notes of every file, so that a reference
	// can be read before its note's file; the second reads the text. Each page is unpacked and
	// parsed in each pass and dropped after it, so memory holds one page's tree at a time (trees
	// take ten to thirty times their markup).
	var pages []string
	for _, ref := range opf.Spine.ItemRef {
		p, ok := byID[ref.IDRef]
		if ok && ref.Linear != "no" && p != navPath && z.has(p) {
			pages = append(pages, p) // a broken spine entry loses one file, not the book
		}
	}
	b := newBuilder(lim.MaxTextBytes)
	h := newHTMLWalker(b, lim)
	for _, p := range pages {
		root, err := epubPage(ctx, z, p, lim)
		if err != nil {
			return nil, err
		}
		h.collectNotes(root, p)
	}
	marks := map[string]map[string]string{} // file → "#id" or "" → title
	for _, e := range toc {
		file, frag, _ := strings.Cut(e.target, "#")
		if marks[file] == nil {
			marks[file] = map[string]string{}
		}
		key := ""
		if frag != "" {
			key = "#" + frag
		}
		if _, dup := marks[file][key]; !dup {
			marks[file][key] = e.title
		}
	}
	for _, p := range pages {
		root, err := epubPage(ctx, z, p, lim)
		if err != nil {
			return nil, err
		}
		h.walkDocument(ctx, root, p, marks[p])
		if err := h.err(ctx); err != nil {
			return nil, err
		}
	}
	doc := &Document{}
	title := ""
	if len(opf.Metadata.Title) > 0 {
		title = opf.Metadata.Title[0]
	}
	if len(opf.Metadata.Creator) > 0 {
		doc.Author = flat(clean(opf.Metadata.Creator[0]))
	}
	if h.author != "" && doc.Author == "" {
		doc.Author = flat(clean(h.author))
	}
	if title == "" {
		title = h.metaTitle
	}
	doc.Chapters, doc.Title = b.chapters(title, doc.Author)
	// A TOC entry is titled by the TOC; the chapter's own heading (or a paragraph styled like
	// one) repeats it.
	for i := range doc.Chapters {
		c := &doc.Chapters[i]
		if len(c.Blocks) > 0 && flat(c.Blocks[0].Text) == c.Title {
			c.Blocks = c.Blocks[1:]
		}
	}
	return doc, nil
}

// epubDRM refuses an EPUB whose text is encrypted (Adobe, Readium LCP, Apple and other DRM).
// META-INF/encryption.xml also lists obfuscated fonts, which are harmless: only encrypted
// content documents count.
func epubDRM(z *archive) error {
	var enc struct {
		Data []struct {
			Method struct {
				Algorithm string `xml:"Algorithm,attr"`
			} `xml:"EncryptionMethod"`
			Ref struct {
				URI string `xml:"URI,attr"`
			} `xml:"CipherData>CipherReference"`
		} `xml:"EncryptedData"`
	}
	if err := z.unmarshalPart("META-INF/encryption.xml", &enc); err != nil {
		if err == errNoEntry {
			return nil
		}
		return err
	}
	for _, d := range enc.Data {
		uri := strings.ToLower(d.Ref.URI)
		font := strings.Contains(d.Method.Algorithm, "idpf.org/2008/embedding") || strings.Contains(d.Method.Algorithm, "ns.adobe.com/pdf/enc#RC")
		if !font && (strings.HasSuffix(uri, ".xhtml") || strings.HasSuffix(uri, ".html") || strings.HasSuffix(uri, ".htm") || strings.HasSuffix(uri, ".xml")) {
			return fail(ErrEncrypted, "import a DRM-free copy of the book (many shops offer one), or the book's text in another format",
				"the EPUB is protected by DRM: its text (%s) is encrypted", d.Ref.URI)
		}
	}
	return nil
}

// epubPage unpacks and parses one XHTML file of the spine.
func epubPage(ctx context.Context, z *archive, p string, lim Limits) (*html.Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := z.open(p)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > lim.MaxMarkupBytes {
		return nil, markupTooLarge(p, int64(len(data)), lim)
	}
	return parseHTML(data)
}

// epubNav reads the top level of the EPUB 3 navigation document's toc. When the top level is a
// single entry (the book's title) over the chapters, its children are the chapters.
func epubNav(z *archive, navPath string, lim Limits) ([]tocEntry, error) {
	data, err := z.open(navPath)
	if err == errNoEntry {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	root, err := parseHTML(data)
	if err != nil {
		return nil, err
	}
	var nav *html.Node
	var find func(n *html.Node, depth int)
	find = func(n *html.Node, depth int) {
		if nav != nil || depth > lim.MaxDepth {
			return
		}
		if n.DataAtom == atom.Nav && strings.Contains(attrOf(n, "type"), "toc") {
			nav = n
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c, depth+1)
		}
	}
	find(root, 0)
	if nav == nil {
		return nil, nil
	}
	var ol *html.Node
	for c := nav.FirstChild; c != nil; c = c.NextSibling {
		if c.DataAtom == atom.Ol || c.DataAtom == atom.Ul {
			ol = c
			break
		}
	}
	entries := func(ol *html.Node) (out []tocEntry, kids []*html.Node) {
		for li := ol.FirstChild; li != nil; li = li.NextSibling {
			if li.DataAtom != atom.Li {
				continue
			}
			var e tocEntry
			var sub *html.Node
			for c := li.FirstChild; c != nil; c = c.NextSibling {
				switch c.DataAtom {
				case atom.A, atom.Span:
					e.title = flat(clean(textOf(c, lim.MaxDepth)))
					if href := attrOf(c, "href"); href != "" {
						e.target = resolveTarget(navPath, href)
					}
				case atom.Ol, atom.Ul:
					sub = c
				}
			}
			if e.target != "" {
				out = append(out, e)
			}
			kids = append(kids, sub)
		}
		return out, kids
	}
	if ol == nil {
		return nil, nil
	}
	out, kids := entries(ol)
	if len(kids) == 1 && kids[0] != nil {
		if sub, _ := entries(kids[0]); len(sub) > 1 {
			return sub, nil
		}
	}
	return out, nil
}

// epubNCX reads the top level of an EPUB 2 NCX navMap, with the same single-root rule.
func epubNCX(z *archive, ncxPath string) ([]tocEntry, error) {
	var ncx struct {
		Points []ncxPoint `xml:"navMap>navPoint"`
	}
	if err := z.unmarshalPart(ncxPath, &ncx); err != nil {
		if err == errNoEntry {
			return nil, nil
		}
		return nil, err
	}
	points := ncx.Points
	if len(points) == 1 && len(points[0].Kids) > 1 {
		points = points[0].Kids
	}
	var out []tocEntry
	for _, p := range points {
		if p.Content.Src != "" {
			out = append(out, tocEntry{title: flat(clean(p.Label)), target: resolveTarget(ncxPath, p.Content.Src)})
		}
	}
	return out, nil
}

// resolveTarget resolves "chapter.xhtml#id" against the file that holds the link.
func resolveTarget(base, href string) string {
	file, frag, _ := strings.Cut(href, "#")
	p := base
	if file != "" {
		p = resolveHref(base, file)
	}
	if frag != "" {
		return p + "#" + frag
	}
	return p
}

func cleanPath(p string) string { return path.Clean(p) }
