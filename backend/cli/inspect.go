package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/viettts-studio/studio/backend/narration"
	"strings"
	"time"

	"github.com/viettts-studio/studio/backend/document"
	"github.com/viettts-studio/studio/backend/textnorm"
	"github.com/viettts-studio/studio/backend/textnorm/segment"
	"github.com/viettts-studio/studio/inference/tokenizer"
)

// inspectReport is what `inspect --json` prints: the imported document, and for every chapter
// title and block the segments the narration will be made of.
type inspectReport struct {
	File     string            `json:"file"`
	Title    string            `json:"title"`
	Author   string            `json:"author,omitempty"`
	Format   document.Format   `json:"format"`
	Encoding document.Encoding `json:"encoding,omitempty"`
	Chapters []inspectChapter  `json:"chapters"`
}

type inspectChapter struct {
	Title string `json:"title"`
	// TitleSegments read the title aloud.
	TitleSegments []inspectSegment `json:"title_segments,omitempty"`
	Blocks        []inspectBlock   `json:"blocks"`
}

type inspectBlock struct {
	document.Block
	// Segments cut the block.
	Segments []inspectSegment `json:"segments"`
}

// inspectSegment is a segment as the app narrates it; Src indexes its block's Text (the title's,
// for title segments) and word spans index Source.
type inspectSegment = narration.Segment

func inspectCommand() Command {
	const synopsis = "[flags] FILE"
	return Command{
		Name:    "inspect",
		Summary: "import a document and show its chapters, segments and spoken forms",
		Usage:   synopsis,
		Run: func(ctx context.Context, env *Env, args []string) int {
			fs := newFlags(env, "inspect", synopsis)
			asJSON := fs.Bool("json", false, "print JSON: title, chapters, blocks, segments with source text, spoken form, spans and pause marks")
			enc := fs.String("encoding", "", "the text encoding of a .txt/.md/.srt file: utf-8, utf-16le, utf-16be, windows-1258, tcvn3 (ABC), vni (default: detect)")
			format := fs.String("format", "", "read the file as this format (txt md html docx odt epub pdf srt vtt) whatever its name")
			tokFile := fs.String("tokenizer", "", "the model's multilingual.tiktoken file for exact segment lengths (default: an estimate)")
			maxTokens := fs.Int("max-tokens", 30, "segment length limit in text tokens")
			if err := parseInterspersed(fs, args); err != nil {
				return parseExit(err)
			}
			if fs.NArg() != 1 {
				fs.Usage()
				return 2
			}
			opts := document.Options{Format: document.Format(strings.TrimPrefix(strings.ToLower(*format), "."))}
			if opts.Format != "" && !knownFormat(opts.Format) {
				fmt.Fprintf(env.Stderr, "inspect: unknown format %q: use one of %v\n", *format, document.Formats)
				return 2
			}
			e, ok := document.ParseEncoding(*enc)
			if !ok {
				fmt.Fprintf(env.Stderr, "inspect: unknown encoding %q: use one of %v\n", *enc, document.Encodings)
				return 2
			}
			opts.Encoding = e
			var tok segment.TokenCounter = segment.Approx{}
			if *tokFile != "" {
				t, err := tokenizer.Load(*tokFile)
				if err != nil {
					fmt.Fprintf(env.Stderr, "inspect: %v\n", err)
					return 1
				}
				tok = t
			}
			path := fs.Arg(0)
			doc, err := document.Import(ctx, path, opts)
			if err != nil {
				fmt.Fprintf(env.Stderr, "inspect: %v\n", err)
				if errors.Is(err, document.ErrNotText) {
					fmt.Fprintln(env.Stderr, "inspect: if the file is text in a legacy encoding, name it with --encoding")
				}
				return 1
			}
			rep := inspect(path, doc, tok, *maxTokens)
			out := bufio.NewWriter(env.Stdout)
			defer out.Flush()
			if *asJSON {
				writeJSON(out, rep)
				return 0
			}
			printInspect(out, rep)
			return 0
		},
	}
}

func knownFormat(f document.Format) bool {
	for _, k := range document.Formats {
		if k == f {
			return true
		}
	}
	return false
}

// inspect reads doc the way the app narrates it (narration.Plan: every block normalized and
// segmented, chapter titles read first, the last segment of a chapter ending with a chapter pause)
// and lays the segments out under the blocks they come from.
func inspect(path string, doc *document.Document, tok segment.TokenCounter, maxTokens int) inspectReport {
	plan := narration.Plan(doc, textnorm.New(textnorm.Options{}), tok,
		narration.Options{ReadTitles: true, Segment: segment.Options{MaxTokens: maxTokens}})
	rep := inspectReport{File: path, Title: doc.Title, Author: doc.Author, Format: doc.Format, Encoding: doc.Encoding}
	for i, c := range doc.Chapters {
		ic := inspectChapter{Title: c.Title, Blocks: make([]inspectBlock, len(c.Blocks))}
		for j, b := range c.Blocks {
			ic.Blocks[j].Block = b
		}
		for _, s := range plan[i].Segments {
			if s.Block < 0 {
				ic.TitleSegments = append(ic.TitleSegments, s)
			} else {
				ic.Blocks[s.Block].Segments = append(ic.Blocks[s.Block].Segments, s)
			}
		}
		rep.Chapters = append(rep.Chapters, ic)
	}
	return rep
}

func printInspect(w *bufio.Writer, rep inspectReport) {
	fmt.Fprintf(w, "%s\n", rep.Title)
	if rep.Author != "" {
		fmt.Fprintf(w, "by %s\n", rep.Author)
	}
	fmt.Fprintf(w, "format %s", rep.Format)
	if rep.Encoding != "" {
		fmt.Fprintf(w, ", encoding %s", rep.Encoding)
	}
	segs := 0
	for _, c := range rep.Chapters {
		for _, b := range c.Blocks {
			segs += len(b.Segments)
		}
	}
	fmt.Fprintf(w, ", %d chapters, %d segments\n", len(rep.Chapters), segs)
	for i, c := range rep.Chapters {
		title := c.Title
		if title == "" {
			title = "(untitled)"
		}
		fmt.Fprintf(w, "\n== %d. %s\n", i+1, title)
		for _, b := range c.Blocks {
			if b.Cue != nil {
				fmt.Fprintf(w, "  %-10s %s → %s\n", "", cueClock(b.Cue.Start), cueClock(b.Cue.End))
			}
			for _, s := range b.Segments {
				fmt.Fprintf(w, "  %-10s %s\n", b.Kind, s.Source)
				fmt.Fprintf(w, "  %-10s → %s  [%d tokens, %s]\n", "", s.Spoken, s.Tokens, s.Pause)
			}
		}
	}
}

// cueClock writes a cue time as subtitles do: 00:01:02.500.
func cueClock(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
