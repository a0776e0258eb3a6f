// Package narration turns an imported document into what the app narrates: per chapter, the
// segments of synthesis with their source text, spoken form, word spans and the pause after each.
// It is the one place that joins the importer, the normalizer and the segmenter, so the GUI, the
// `inspect` and `convert` commands all read a document the same way.
package narration

import (
	"github.com/viettts-studio/studio/backend/audio"
	"github.com/viettts-studio/studio/backend/document"
	"github.com/viettts-studio/studio/backend/textnorm"
	"github.com/viettts-studio/studio/backend/textnorm/segment"
)

// Chapter is one chapter of the narration.
type Chapter struct {
	Title    string    `json:"title"`
	Segments []Segment `json:"segments"`
}

// Segment is one unit of synthesis, with where it comes from.
type Segment struct {
	// Source is the segment's text as it stands in the document (NFC), and Src where it stands in
	// its block's text (the chapter title's, for Block -1).
	Source string        `json:"source"`
	Src    textnorm.Span `json:"src"`
	// Spoken is what the model reads.
	Spoken string `json:"spoken"`
	// Words are the spoken words; their spans index Source.
	Words []textnorm.Word `json:"words"`
	// Tokens is the length of Spoken in text tokens.
	Tokens int `json:"tokens"`
	// Pause is the silence after the segment.
	Pause segment.Pause `json:"pause"`
	// Block is the index of the block in its chapter (-1 for the chapter's title), and Kind its
	// kind, so the GUI can lay segments out as the document was.
	Block int                `json:"block"`
	Kind  document.BlockKind `json:"kind"`
	// Cue is the subtitle timing of the block, for srt and vtt sources.
	Cue *document.CueTimes `json:"cue,omitempty"`
}

// AudioBreak is the assembly break that follows a segment with pause p.
func AudioBreak(p segment.Pause) audio.Break {
	switch p {
	case segment.PauseClause:
		return audio.BreakClause
	case segment.PauseParagraph, segment.PauseChapter:
		return audio.BreakParagraph
	}
	return audio.BreakSentence
}

// Options tune Plan.
type Options struct {
	// ReadTitles reads each chapter's title aloud before its text, as audiobooks do.
	ReadTitles bool
	Segment    segment.Options
}

// Plan normalizes and segments every block of doc. tok measures text the way the model's
// tokenizer does; nil uses the segmenter's approximation. Blocks with nothing to say (only
// punctuation, emoji) produce no segment.
func Plan(doc *document.Document, n *textnorm.Normalizer, tok segment.TokenCounter, opts Options) []Chapter {
	out := make([]Chapter, 0, len(doc.Chapters))
	for _, ch := range doc.Chapters {
		c := Chapter{Title: ch.Title}
		if opts.ReadTitles && ch.Title != "" {
			c.Segments = appendBlock(c.Segments, n, tok, opts.Segment, ch.Title, -1, document.Heading, nil, segment.PauseParagraph)
		}
		for i, b := range ch.Blocks {
			last := segment.PauseParagraph
			if b.Kind == document.TableCell || b.Kind == document.Cue {
				last = segment.PauseSentence
			}
			c.Segments = appendBlock(c.Segments, n, tok, opts.Segment, b.Text, i, b.Kind, b.Cue, last)
		}
		if k := len(c.Segments); k > 0 {
			c.Segments[k-1].Pause = segment.PauseChapter
		}
		out = append(out, c)
	}
	return out
}

func appendBlock(out []Segment, n *textnorm.Normalizer, tok segment.TokenCounter, so segment.Options,
	text string, block int, kind document.BlockKind, cue *document.CueTimes, last segment.Pause) []Segment {
	r := n.Normalize(text)
	so.Last = last
	for _, s := range segment.Split(r, tok, so) {
		if s.Spoken == "" || !speakable(s.Words) {
			continue
		}
		words := make([]textnorm.Word, len(s.Words))
		for i, w := range s.Words {
			w.Src = rebase(w.Src, s.Src)
			words[i] = w
		}
		out = append(out, Segment{
			Source: r.Source[s.Src.Start:s.Src.End], Src: s.Src, Spoken: s.Spoken, Words: words, Tokens: s.Tokens,
			Pause: s.Pause, Block: block, Kind: kind, Cue: cue,
		})
	}
	return out
}

// rebase makes a span relative to the segment's own source; words the normalizer added (empty
// spans) stay empty at the start.
func rebase(w, seg textnorm.Span) textnorm.Span {
	if w.End <= w.Start {
		return textnorm.Span{}
	}
	return textnorm.Span{Start: w.Start - seg.Start, End: w.End - seg.Start}
}

func speakable(words []textnorm.Word) bool {
	for _, w := range words {
		if !w.Punct {
			return true
		}
	}
	return false
}
