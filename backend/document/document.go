// Package document imports the files a narrator brings (plain text in any Vietnamese encoding,
// Markdown, HTML, DOCX, ODT, EPUB, PDF, SRT and VTT) into one model: a Document made of chapters,
// each a list of blocks (paragraphs, headings, list items, table cells, footnotes, subtitle cues).
//
// Every string that leaves this package is NFC-normalized Vietnamese text with collapsed
// whitespace. Every importer treats its input as hostile: the bytes it reads, the entries it
// opens in an archive, the depth of the markup it walks and the time it spends are all bounded
// (see Limits), and a file it refuses gives an error that wraps one of the sentinels below and
// says what the user can do about it.
//
// The model is stable: the store persists it as JSON with the field names given in the struct
// tags, so a field may be added but never renamed or given a new meaning.
package document

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Format names an input format. Its value is the usual file extension without the dot.
type Format string

// The formats Import reads.
const (
	FormatText     Format = "txt"
	FormatMarkdown Format = "md"
	FormatHTML     Format = "html"
	FormatDOCX     Format = "docx"
	FormatODT      Format = "odt"
	FormatEPUB     Format = "epub"
	FormatPDF      Format = "pdf"
	FormatSRT      Format = "srt"
	FormatVTT      Format = "vtt"
)

// Formats lists every format Import reads, in the order the user interface offers them.
var Formats = []Format{FormatText, FormatMarkdown, FormatHTML, FormatDOCX, FormatODT, FormatEPUB,
	FormatPDF, FormatSRT, FormatVTT}

// Document is one imported file.
type Document struct {
	// Title comes from the file's metadata (OPF, core properties, <title>, front matter) or,
	// failing that, from its first top-level heading or its file name.
	Title  string `json:"title"`
	Author string `json:"author,omitempty"`
	Format Format `json:"format"`
	// Encoding is the character encoding a plain-text or subtitle file was read in (one of the
	// Encoding constants); empty for formats that define their own.
	Encoding Encoding  `json:"encoding,omitempty"`
	Chapters []Chapter `json:"chapters"`
}

// Chapter is a run of blocks under one title. A document without any chapter structure is one
// chapter with an empty Title, and so is text before the first chapter heading (title pages,
// text that only repeats the title and the author, are dropped).
type Chapter struct {
	Title  string  `json:"title"`
	Blocks []Block `json:"blocks"`
}

// BlockKind says what a block is, so the narration can pause and the GUI can render accordingly.
type BlockKind string

// The block kinds.
const (
	// Paragraph is running text.
	Paragraph BlockKind = "paragraph"
	// Heading is a heading inside a chapter (the chapter's own heading is its Title, not a block).
	// Level is its depth, 1 for the highest heading below the chapter level.
	Heading BlockKind = "heading"
	// ListItem is one item of a bulleted or numbered list, without its bullet or number. Level is
	// its nesting depth, 1 for a top-level item.
	ListItem BlockKind = "list_item"
	// TableCell is the text of one table cell; Cell says where it sits. Cells come in reading
	// order: row by row, left to right.
	TableCell BlockKind = "table_cell"
	// Footnote is the text of a footnote or endnote. It follows the block that refers to it,
	// which is where a narrator would read it; the reference mark itself is dropped from the
	// text. Note holds the label the source used ("1", "a", "*").
	Footnote BlockKind = "footnote"
	// Cue is one subtitle cue of an SRT or VTT file; Cue holds its timing.
	Cue BlockKind = "cue"
)

// Block is the unit of imported text.
type Block struct {
	Kind BlockKind `json:"kind"`
	// Text is NFC-normalized, with runs of white space collapsed to one space and no leading or
	// trailing space. Line breaks inside a block (a subtitle cue, a <br> in HTML) become "\n".
	Text  string    `json:"text"`
	Level int       `json:"level,omitempty"`
	Cell  *CellPos  `json:"cell,omitempty"`
	Note  string    `json:"note,omitempty"`
	Cue   *CueTimes `json:"cue,omitempty"`
}

// CellPos places a TableCell: Table counts the tables of the chapter from 1, Row and Col count
// from 1 within it.
type CellPos struct {
	Table int `json:"table"`
	Row   int `json:"row"`
	Col   int `json:"col"`
}

// CueTimes is the timing of a subtitle cue, from the start of the media.
// In JSON they are integers in nanoseconds (Go's time.Duration).
type CueTimes struct {
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end"`
}

// LogValue makes a Document log as a short summary rather than its whole text.
func (d *Document) LogValue() slog.Value {
	blocks, runes := 0, 0
	for _, c := range d.Chapters {
		blocks += len(c.Blocks)
		for _, b := range c.Blocks {
			runes += len([]rune(b.Text))
		}
	}
	return slog.GroupValue(slog.String("title", d.Title), slog.String("format", string(d.Format)),
		slog.Int("chapters", len(d.Chapters)), slog.Int("blocks", blocks), slog.Int("chars", runes))
}

// Text returns the document's text, one block per line, chapters separated by a blank line. It
// is what a plain-text export or a comparison between formats needs.
func (d *Document) Text() string {
	var b strings.Builder
	for i, c := range d.Chapters {
		if i > 0 {
			b.WriteString("\n")
		}
		if c.Title != "" {
			b.WriteString(c.Title)
			b.WriteString("\n")
		}
		for _, bl := range c.Blocks {
			b.WriteString(bl.Text)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// Sentinel errors. Import wraps one of them in an error whose message says what happened and
// what to do; callers branch with errors.Is.
var (
	// ErrUnsupported: the file is not in a format this package reads.
	ErrUnsupported = errors.New("unsupported document format")
	// ErrMalformed: the file claims a format but its content is broken (truncated archive,
	// invalid XML, missing parts).
	ErrMalformed = errors.New("malformed document")
	// ErrTooLarge: the file, or what it expands to, is above a limit in Limits.
	ErrTooLarge = errors.New("document too large")
	// ErrUnsafe: the file is built to attack a reader (zip bomb, path-traversal entry names,
	// nesting or entity tricks).
	ErrUnsafe = errors.New("unsafe document")
	// ErrEncrypted: the file is password-protected.
	ErrEncrypted = errors.New("encrypted document")
	// ErrNotText: a plain-text file holds binary data or an encoding no candidate decodes.
	ErrNotText = errors.New("not a text file")
	// ErrEmpty: the file holds no readable text (a scanned PDF without a text layer, an empty file).
	ErrEmpty = errors.New("document has no text")
)

// Error is the error Import returns: it names the file and the sentinel, and carries advice.
type Error struct {
	Path   string // file name as given to Import, or "" for Parse
	Kind   error  // one of the sentinels
	Detail string // what happened
	Advice string // what the user can do
}

// Error reads "path: sentinel: detail (advice)".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Advice != "" {
		b.WriteString(" (")
		b.WriteString(e.Advice)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap lets errors.Is match the sentinel.
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, advice string, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...), Advice: advice}
}

// Advice texts shared by several importers.
const (
	adviceMalformed = "the file is damaged or not what its name says: open it in the program that made it and save it again"
	adviceUnsafe    = "the file looks built to crash readers; if you trust it, open it in its own program and save a copy"
	adviceTooLarge  = "split the document into smaller files and import them one by one"
	adviceEncrypted = "remove the password (open it and save or print to a new file without protection) and import again"
)
