package document

import (
	"github.com/viettts-studio/studio/inference/bytesize"

	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/klippa-app/go-pdfium"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/responses"
	"github.com/klippa-app/go-pdfium/webassembly"
)

// PDF: the text layer, read with PDFium compiled to WebAssembly (pure Go through wazero, no
// cgo), which decodes Vietnamese right where simpler Go readers garble it. The text of each page
// goes through the plain-text rules (paragraphs, chapter patterns, list items); a line that is
// the title of a bookmark (the PDF's outline) is a heading of the bookmark's depth; the document's
// Title and Author come from its information dictionary.
//
// Compiling the PDFium module takes seconds, so one pool is started on the first PDF and shared
// by every import of the process (ShutdownPDF ends it). Its instances are bounded, so parallel
// imports of PDFs wait for each other rather than multiply memory.

// MaxPDFBytes is the largest PDF read: PDFium needs the whole file in its memory.
const MaxPDFBytes = 128 << 20

var pdfPool struct {
	mu   sync.Mutex
	pool pdfium.Pool
}

func pdfInstance(ctx context.Context) (pdfium.Pdfium, error) {
	pdfPool.mu.Lock()
	if pdfPool.pool == nil {
		start := time.Now()
		p, err := webassembly.Init(webassembly.Config{MinIdle: 1, MaxIdle: 1, MaxTotal: 2, Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			pdfPool.mu.Unlock()
			return nil, err
		}
		pdfPool.pool = p
		slog.Info("pdf reader started", "took", time.Since(start).Round(time.Millisecond))
	}
	p := pdfPool.pool
	pdfPool.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
	}
	return p.GetInstanceWithContext(ctx)
}

// ShutdownPDF stops the shared PDF reader, if one was started. Imports after it start a new one.
func ShutdownPDF() error {
	pdfPool.mu.Lock()
	defer pdfPool.mu.Unlock()
	if pdfPool.pool == nil {
		return nil
	}
	err := pdfPool.pool.Close()
	pdfPool.pool = nil
	return err
}

func parsePDF(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Document, error) {
	if size > MaxPDFBytes {
		return nil, fail(ErrTooLarge, "split the PDF (for example with qpdf --split-pages) and import the parts",
			"the PDF is %s, above the %s limit", bytesize.Format(size), bytesize.Format(MaxPDFBytes))
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && err != io.EOF {
		return nil, err
	}
	if !strings.HasPrefix(string(data[:min(len(data), 1024)]), "%PDF-") && !strings.Contains(string(data[:min(len(data), 1024)]), "%PDF-") {
		return nil, fail(ErrMalformed, adviceMalformed, "the file does not start like a PDF")
	}
	inst, err := pdfInstance(ctx)
	if err != nil {
		return nil, fail(ErrUnsupported, "try again; if it keeps failing, convert the PDF to text with another program", "the PDF reader did not start (%v)", err)
	}
	defer inst.Close()
	opened, err := inst.OpenDocument(&requests.OpenDocument{File: &data})
	if err != nil {
		switch {
		case errors.Is(err, pdfiumerrors.ErrPassword) || errors.Is(err, pdfiumerrors.ErrSecurity):
			return nil, fail(ErrEncrypted, adviceEncrypted, "the PDF is protected by a password")
		default:
			return nil, fail(ErrMalformed, adviceMalformed, "PDFium cannot open it (%v)", err)
		}
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: opened.Document})
	count, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: opened.Document})
	if err != nil {
		return nil, fail(ErrMalformed, adviceMalformed, "PDFium cannot count its pages (%v)", err)
	}
	if count.PageCount > lim.MaxPages {
		return nil, fail(ErrTooLarge, adviceTooLarge, "the PDF has %d pages, above the %d-page limit", count.PageCount, lim.MaxPages)
	}
	meta := func(tag string) string {
		m, err := inst.FPDF_GetMetaText(&requests.FPDF_GetMetaText{Document: opened.Document, Tag: tag})
		if err != nil {
			return ""
		}
		return m.Value
	}
	var lines []string
	var total int64
	b := newBuilder(lim.MaxTextBytes)
	notes := map[string]Block{}
	b.marked = notes
	for i := 0; i < count.PageCount; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pt, err := inst.GetPageText(&requests.GetPageText{Page: requests.Page{ByIndex: &requests.PageByIndex{Document: opened.Document, Index: i}}})
		if err != nil {
			return nil, fail(ErrMalformed, adviceMalformed, "page %d cannot be read (%v)", i+1, err)
		}
		total += int64(len(pt.Text))
		if total > lim.MaxTextBytes {
			return nil, fail(ErrTooLarge, adviceTooLarge, "the PDF holds more than %s of text", bytesize.Format(lim.MaxTextBytes))
		}
		text := strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0002", "", "\ufffe", "").Replace(nfc(pt.Text))
		lines = append(lines, pageFootnotes(dropPageNumbers(strings.Split(text, "\n")), i+1, notes)...)
	}
	addLines(ctx, b, lines, pdfOutline(inst, opened.Document))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	doc := &Document{Author: flat(clean(meta("Author")))}
	doc.Chapters, doc.Title = b.chapters(meta("Title"), doc.Author)
	return doc, nil
}

// pageNumberRe matches a line that is only a page number: "12", "- 12 -", "Trang 12", "12/30".
var pageNumberRe = regexp.MustCompile(`(?i)^\s*(?:[-–—]\s*)?(?:trang\s+|page\s+)?[0-9]{1,4}(?:\s*/\s*[0-9]{1,4})?(?:\s*[-–—])?\s*$`)

// dropPageNumbers removes a page number from the first and the last line of a page.
func dropPageNumbers(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > 0 && pageNumberRe.MatchString(lines[len(lines)-1]) {
		lines = lines[:len(lines)-1]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	if len(lines) > 0 && pageNumberRe.MatchString(lines[0]) {
		lines = lines[1:]
	}
	return lines
}

// pdfMarkRe finds a footnote mark in PDF text: one to three digits glued to the end of a word or
// of its punctuation ("đáp.1", "bồi2"), as superscripts come out of the text layer.
var pdfMarkRe = regexp.MustCompile(`([\p{L}.,;:!?…”’)\]])([0-9]{1,3})(\s|$)`)

// pageFootnotes finds the footnotes at the bottom of a PDF page: from the first line that starts
// with the number of a mark seen higher on the page (alone, or followed by its text), every line
// is note text. The notes go to
// notes, keyed by page and number, and the marks in the text become noteMark keys, so that each
// note is read after the paragraph that refers to it. A page without such pairs is unchanged.
func pageFootnotes(lines []string, page int, notes map[string]Block) []string {
	marks := map[string]int{} // number → line of its first mark
	for i, l := range lines {
		for _, m := range pdfMarkRe.FindAllStringSubmatch(l, -1) {
			if _, ok := marks[m[2]]; !ok {
				marks[m[2]] = i
			}
		}
	}
	if len(marks) == 0 {
		return lines
	}
	start := -1
	for i, l := range lines {
		num, _, _ := strings.Cut(strings.TrimSpace(l), " ")
		if at, seen := marks[num]; seen && at < i {
			start = i
			break
		}
	}
	if start < 0 {
		return lines
	}
	var cur string
	for _, l := range lines[start:] {
		t := strings.TrimSpace(l)
		num, rest, _ := strings.Cut(t, " ")
		if _, isMark := marks[num]; isMark {
			cur = fmt.Sprintf("p%d:%s", page, num)
			notes[cur] = Block{Kind: Footnote, Note: num, Text: strings.TrimSpace(rest)}
			continue
		}
		if cur != "" && t != "" {
			n := notes[cur]
			n.Text += " " + t
			notes[cur] = n
		}
	}
	body := lines[:start]
	for i, l := range body {
		body[i] = pdfMarkRe.ReplaceAllStringFunc(l, func(m string) string {
			sub := pdfMarkRe.FindStringSubmatch(m)
			key := fmt.Sprintf("p%d:%s", page, sub[2])
			if _, ok := notes[key]; !ok {
				return m
			}
			return sub[1] + noteMark(key) + sub[3]
		})
	}
	return body
}

// pdfOutline returns the bookmark titles of a PDF by their flattened text, with their depth (1
// for the top level). A single top-level bookmark over the others (the book's title) is skipped.
func pdfOutline(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT) map[string]int {
	bm, err := inst.GetBookmarks(&requests.GetBookmarks{Document: doc})
	if err != nil || len(bm.Bookmarks) == 0 {
		return nil
	}
	marks := bm.Bookmarks
	if len(marks) == 1 && len(marks[0].Children) > 0 {
		marks = marks[0].Children
	}
	out := map[string]int{}
	var visit func(bs []responses.GetBookmarksBookmark, depth int)
	visit = func(bs []responses.GetBookmarksBookmark, depth int) {
		if depth > 6 || len(out) > 10000 {
			return
		}
		for _, b := range bs {
			if t := flat(clean(b.Title)); t != "" {
				if _, seen := out[t]; !seen {
					out[t] = depth
				}
			}
			visit(b.Children, depth+1)
		}
	}
	visit(marks, 1)
	return out
}
