// Package audio turns synthesized segments into a book's sound: it assembles the segments of each
// chapter with pauses and optional silence trimming, measures loudness (ITU-R BS.1770-4), brings it
// to a target with a true-peak limiter, and writes subtitles with sentence timings. Sub-packages
// encode files (export) and play through the sound card (player).
//
// A book never sits whole in memory: assembly streams one segment at a time from its Source, so the
// peak memory of an export is one segment plus small filter states, whatever the book's length.
package audio

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/inference"
)

// Rate is the sample rate of assembled audio: the rate renders come in (VietTTS's vocoder).
const Rate = inference.SampleRate

// Source yields the audio of one segment.
type Source interface {
	// PCM returns the segment's audio: mono float32 samples in [-1, 1] at Rate. It may block until
	// the segment is synthesized, and must return an error wrapping ctx.Err() once ctx is done.
	// It is called once per pass (an export reads every segment twice: measure, then write), so it
	// should load from disk rather than hold the samples.
	PCM(ctx context.Context) ([]float32, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) ([]float32, error)

// PCM calls f.
func (f SourceFunc) PCM(ctx context.Context) ([]float32, error) { return f(ctx) }

// Break is what follows a segment; it decides the length of the pause after it.
type Break int

const (
	// BreakSentence: the segment ends a sentence (the zero value).
	BreakSentence Break = iota
	// BreakClause: the segment ends inside a sentence (a long sentence split for synthesis).
	BreakClause
	// BreakParagraph: the segment ends a paragraph.
	BreakParagraph
)

func (b Break) String() string {
	switch b {
	case BreakSentence:
		return "sentence"
	case BreakClause:
		return "clause"
	case BreakParagraph:
		return "paragraph"
	}
	return fmt.Sprintf("break(%d)", int(b))
}

// Segment is one synthesized piece of a chapter, in reading order.
type Segment struct {
	// ID names the segment in position events and logs (the store's segment id).
	ID string
	// Text is what the segment says, shown in subtitles (NFC-normalized by Normalize).
	Text string
	// Break is what follows; the last segment of a chapter is always followed by the chapter pause.
	Break Break
	// Audio loads the segment's samples.
	Audio Source
}

// Chapter is a titled run of segments.
type Chapter struct {
	Title    string
	Segments []Segment
}

// Book is what gets exported: metadata and chapters.
type Book struct {
	Title    string
	Author   string
	Narrator string
	// Cover is a JPEG or PNG image (may be nil).
	Cover    []byte
	Chapters []Chapter
}

// Normalize NFC-normalizes every text of the book in place (titles, names, segment texts): text
// that reaches tags and subtitles must be NFC, whatever form the caller had.
func (b *Book) Normalize() {
	b.Title, b.Author, b.Narrator = norm.NFC.String(b.Title), norm.NFC.String(b.Author), norm.NFC.String(b.Narrator)
	for i := range b.Chapters {
		c := &b.Chapters[i]
		c.Title = norm.NFC.String(c.Title)
		for j := range c.Segments {
			c.Segments[j].Text = norm.NFC.String(c.Segments[j].Text)
		}
	}
}

// Segments is the number of segments in the book.
func (b *Book) Segments() int {
	n := 0
	for _, c := range b.Chapters {
		n += len(c.Segments)
	}
	return n
}

// Pauses are the silences assembly inserts. The zero value of a field means its default.
type Pauses struct {
	Clause    time.Duration // after a segment that ends inside a sentence; default 150 ms
	Sentence  time.Duration // after a sentence; default 400 ms
	Paragraph time.Duration // after a paragraph; default 900 ms
	Chapter   time.Duration // after the last segment of a chapter; default 2 s
	Head      time.Duration // before the first segment of a chapter; default 500 ms
}

// DefaultPauses are the pauses used when a setting is left zero.
var DefaultPauses = Pauses{
	Clause:    150 * time.Millisecond,
	Sentence:  400 * time.Millisecond,
	Paragraph: 900 * time.Millisecond,
	Chapter:   2 * time.Second,
	Head:      500 * time.Millisecond,
}

func (p Pauses) withDefaults() Pauses {
	d := DefaultPauses
	pick := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return max(v, 0) // a negative setting means "no pause"
	}
	return Pauses{
		Clause:    pick(p.Clause, d.Clause),
		Sentence:  pick(p.Sentence, d.Sentence),
		Paragraph: pick(p.Paragraph, d.Paragraph),
		Chapter:   pick(p.Chapter, d.Chapter),
		Head:      pick(p.Head, d.Head),
	}
}

// After is the pause after a segment with break b (defaults applied to zero settings).
func (p Pauses) After(b Break, lastInChapter bool) time.Duration {
	return p.withDefaults().after(b, lastInChapter)
}

// HeadPause is the silence before a chapter's first segment (default applied).
func (p Pauses) HeadPause() time.Duration { return p.withDefaults().Head }

// after is the pause after a segment.
func (p Pauses) after(b Break, lastInChapter bool) time.Duration {
	switch {
	case lastInChapter:
		return p.Chapter
	case b == BreakClause:
		return p.Clause
	case b == BreakParagraph:
		return p.Paragraph
	}
	return p.Sentence
}

// Samples converts a duration to a number of samples at Rate.
func Samples(d time.Duration) int64 { return int64(d.Seconds()*Rate + 0.5) }

// Duration converts a number of samples at Rate to a duration.
func Duration(n int64) time.Duration { return time.Duration(float64(n) / Rate * float64(time.Second)) }
