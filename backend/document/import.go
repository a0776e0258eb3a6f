package document

import (
	"github.com/viettts-studio/studio/inference/bytesize"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Limits bound what one import may read and build. The zero value of a field means its default.
type Limits struct {
	// MaxFileBytes is the largest file Import opens: 256 MiB by default. Above it Import fails
	// with ErrTooLarge before reading anything.
	MaxFileBytes int64
	// MaxTextBytes is the most text (UTF-8 bytes after decoding) one document may yield, and the
	// largest plain-text or subtitle file read: 32 MiB by default, about 15 novels. The whole
	// text is kept in memory, a few times over while it is cut into blocks (a 16 MiB text file
	// peaks at about 140 MiB of heap).
	MaxTextBytes int64
	// MaxMarkupBytes is the largest Markdown or HTML file, and the largest XHTML file of an
	// EPUB: 8 MiB by default (a long novel is 1-5 MiB). These are parsed into trees that take
	// up to thirty times their size (a 12 MiB HTML page of short tags peaks at about 370 MiB).
	MaxMarkupBytes int64
	// MaxUnpackedBytes is the most bytes read out of an archive (DOCX, ODT, EPUB) in total:
	// 256 MiB by default. Archive entries that are not text (images, fonts) are never read.
	MaxUnpackedBytes int64
	// MaxRatio is the largest compression ratio allowed for an archive entry bigger than 1 MiB
	// unpacked: 200 by default. Real documents compress text about 3-10 times; zip bombs, a
	// thousand times and more.
	MaxRatio int64
	// MaxDepth is the deepest element nesting accepted in XML and HTML: 256 by default.
	MaxDepth int
	// MaxPages is the most PDF pages read: 20000 by default.
	MaxPages int
}

const (
	defaultMaxFileBytes     = 256 << 20
	defaultMaxTextBytes     = 32 << 20
	defaultMaxMarkupBytes   = 8 << 20
	defaultMaxUnpackedBytes = 256 << 20
	defaultMaxRatio         = 200
	defaultMaxDepth         = 256
	defaultMaxPages         = 20000
)

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = defaultMaxFileBytes
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = defaultMaxTextBytes
	}
	if l.MaxMarkupBytes <= 0 {
		l.MaxMarkupBytes = defaultMaxMarkupBytes
	}
	if l.MaxUnpackedBytes <= 0 {
		l.MaxUnpackedBytes = defaultMaxUnpackedBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = defaultMaxRatio
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxPages <= 0 {
		l.MaxPages = defaultMaxPages
	}
	return l
}

// Options tune an import. The zero value detects everything.
type Options struct {
	// Format overrides detection from the file name and content.
	Format Format
	// Encoding overrides detection of a plain-text or subtitle file's character encoding; see
	// ParseEncoding for the accepted names.
	Encoding Encoding
	Limits   Limits
}

// Import reads the file at path. The format comes from opts.Format, else the file's extension,
// else its content. Errors wrap one of the package's sentinels and name the file.
func Import(ctx context.Context, path string, opts Options) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open document: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open document: %w", err)
	}
	if st.IsDir() {
		return nil, &Error{Path: path, Kind: ErrUnsupported, Detail: "it is a folder", Advice: "choose a file"}
	}
	doc, err := parse(ctx, f, st.Size(), filepath.Base(path), opts)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Path == "" {
			e.Path = path
		}
		return nil, err
	}
	return doc, nil
}

// Parse reads a document from r, which holds size bytes; name is the file name, used for the
// format and as a fallback title.
func Parse(ctx context.Context, r io.ReaderAt, size int64, name string, opts Options) (*Document, error) {
	return parse(ctx, r, size, name, opts)
}

func parse(ctx context.Context, r io.ReaderAt, size int64, name string, opts Options) (*Document, error) {
	lim := opts.Limits.withDefaults()
	opts.Limits = lim
	if size > lim.MaxFileBytes {
		return nil, fail(ErrTooLarge, adviceTooLarge, "the file is %s, above the %s limit", bytesize.Format(size), bytesize.Format(lim.MaxFileBytes))
	}
	format := opts.Format
	if format == "" {
		format = formatFromName(name)
	}
	if format == "" {
		head := make([]byte, 512)
		n, _ := r.ReadAt(head, 0)
		format = sniff(head[:n])
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		doc *Document
		err error
	)
	switch format {
	case FormatDOCX, FormatODT, FormatEPUB:
		var z *archive
		z, err = openArchive(r, size, lim)
		if err != nil {
			return nil, err
		}
		switch format {
		case FormatDOCX:
			doc, err = parseDOCX(ctx, z, lim)
		case FormatODT:
			doc, err = parseODT(ctx, z, lim)
		default:
			doc, err = parseEPUB(ctx, z, lim)
		}
	case FormatPDF:
		doc, err = parsePDF(ctx, r, size, lim)
	case FormatText, FormatMarkdown, FormatHTML, FormatSRT, FormatVTT:
		if size > lim.MaxTextBytes {
			return nil, fail(ErrTooLarge, adviceTooLarge, "the file is %s, above the %s limit for text files", bytesize.Format(size), bytesize.Format(lim.MaxTextBytes))
		}
		if (format == FormatMarkdown || format == FormatHTML) && size > lim.MaxMarkupBytes {
			return nil, markupTooLarge(name, size, lim)
		}
		raw := make([]byte, size)
		if _, err := r.ReadAt(raw, 0); err != nil && err != io.EOF {
			return nil, fmt.Errorf("read document: %w", err)
		}
		doc, err = parseTextual(ctx, format, raw, opts)
	default:
		return nil, fail(ErrUnsupported, "convert it to one of: txt, md, html, docx, odt, epub, pdf, srt, vtt",
			"cannot tell the format of %q", name)
	}
	if err != nil {
		return nil, err
	}
	doc.Format = format
	if doc.Title == "" {
		doc.Title = nfc(strings.TrimSuffix(name, filepath.Ext(name)))
	}
	if len(doc.Chapters) == 0 {
		return nil, fail(ErrEmpty, "if it is a scan, run it through OCR first; otherwise check that the file is the right one", "no text found")
	}
	return doc, nil
}

// parseTextual decodes and parses the formats that are text on disk.
func parseTextual(ctx context.Context, format Format, raw []byte, opts Options) (*Document, error) {
	switch format {
	case FormatHTML:
		// HTML declares its own encoding; x/net/html wants UTF-8, which decodeText gives.
		text, enc, err := decodeText(raw, opts.Encoding)
		if err != nil {
			return nil, err
		}
		doc, err := parseHTMLDocument(ctx, []byte(text), opts.Limits)
		if err == nil {
			doc.Encoding = enc
		}
		return doc, err
	default:
		text, enc, err := decodeText(raw, opts.Encoding)
		if err != nil {
			return nil, err
		}
		var doc *Document
		switch format {
		case FormatMarkdown:
			doc, err = parseMarkdown(ctx, []byte(text), opts.Limits)
		case FormatSRT, FormatVTT:
			doc, err = parseSubtitles(ctx, text, format)
		default:
			doc, err = parsePlainText(ctx, text)
		}
		if err == nil {
			doc.Encoding = enc
		}
		return doc, err
	}
}

func markupTooLarge(name string, size int64, lim Limits) error {
	return fail(ErrTooLarge, "split it into smaller files, or save it as plain text (.txt), which may be larger",
		"%s is %s of markup, above the %s limit for Markdown and HTML", name, bytesize.Format(size), bytesize.Format(lim.MaxMarkupBytes))
}

func formatFromName(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".txt", ".text":
		return FormatText
	case ".md", ".markdown":
		return FormatMarkdown
	case ".html", ".htm", ".xhtml":
		return FormatHTML
	case ".docx":
		return FormatDOCX
	case ".odt":
		return FormatODT
	case ".epub":
		return FormatEPUB
	case ".pdf":
		return FormatPDF
	case ".srt":
		return FormatSRT
	case ".vtt":
		return FormatVTT
	}
	return ""
}

// sniff guesses a format from the first bytes of a file without a known extension.
func sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return FormatPDF
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		s := string(head)
		switch {
		case strings.Contains(s, "application/epub+zip"):
			return FormatEPUB
		case strings.Contains(s, "application/vnd.oasis.opendocument.text"):
			return FormatODT
		case strings.Contains(s, "word/") || strings.Contains(s, "[Content_Types].xml"):
			return FormatDOCX
		}
		return ""
	case bytes.HasPrefix(bytes.TrimLeft(head, "\ufeff"), []byte("WEBVTT")):
		return FormatVTT
	}
	t := strings.ToLower(string(head))
	if strings.Contains(t, "<html") || strings.Contains(t, "<!doctype html") {
		return FormatHTML
	}
	return FormatText
}
