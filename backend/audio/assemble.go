package audio

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Trim removes quiet lead-in and tail from each segment before the pauses are added, so pauses are
// what the settings say and not the settings plus whatever silence the vocoder produced.
type Trim struct {
	Enabled bool
	// ThresholdDB is the level (dBFS, RMS over 10 ms) below which audio counts as silence;
	// 0 means -45.
	ThresholdDB float64
	// Keep is how much of the quiet edge to keep on each side so consonants are not clipped;
	// 0 means 30 ms.
	Keep time.Duration
}

// Settings control assembly.
type Settings struct {
	Pauses Pauses
	Trim   Trim
}

// SegmentSpan is where one segment's audio sits in the assembled book (samples at Rate). The pause
// that follows is not part of the span.
type SegmentSpan struct {
	ID      string
	Text    string
	Chapter int
	Start   int64
	End     int64
}

// ChapterSpan is where a chapter sits in the assembled book (samples at Rate), from its head
// silence to the end of its closing pause.
type ChapterSpan struct {
	Title string
	Start int64
	End   int64
}

// Timeline is the layout of an assembled book.
type Timeline struct {
	Chapters []ChapterSpan
	Segments []SegmentSpan
	// Length is the total number of samples.
	Length int64
}

// Seconds is the book's duration.
func (t Timeline) Seconds() float64 { return float64(t.Length) / Rate }

// Emit receives assembled audio in order: samples at Rate belonging to chapter (0-based). The slice
// is only valid during the call.
type Emit func(chapter int, samples []float32) error

var zeros = make([]float32, 4096)

// Assemble streams the book through emit: for every chapter its head silence, then each segment
// (trimmed if asked) followed by its pause. It holds one segment at a time and returns the timeline.
// A segment that cannot be loaded stops assembly with an error naming it.
func Assemble(ctx context.Context, book *Book, s Settings, emit Emit) (Timeline, error) {
	p := s.Pauses.withDefaults()
	var tl Timeline
	var pos int64
	silence := func(ch int, n int64) error {
		for n > 0 {
			k := min(n, int64(len(zeros)))
			if err := emit(ch, zeros[:k]); err != nil {
				return err
			}
			n -= k
			pos += k
		}
		return nil
	}
	for ci, c := range book.Chapters {
		span := ChapterSpan{Title: c.Title, Start: pos}
		if err := silence(ci, Samples(p.Head)); err != nil {
			return tl, err
		}
		for si, seg := range c.Segments {
			if err := ctx.Err(); err != nil {
				return tl, err
			}
			pcm, err := seg.Audio.PCM(ctx)
			if err != nil {
				return tl, fmt.Errorf("segment %q (chapter %d %q, segment %d): %w", seg.ID, ci+1, c.Title, si+1, err)
			}
			if s.Trim.Enabled {
				pcm = trim(pcm, s.Trim)
			}
			tl.Segments = append(tl.Segments, SegmentSpan{ID: seg.ID, Text: seg.Text, Chapter: ci, Start: pos, End: pos + int64(len(pcm))})
			if len(pcm) > 0 {
				if err := emit(ci, pcm); err != nil {
					return tl, err
				}
			}
			pos += int64(len(pcm))
			if err := silence(ci, Samples(p.after(seg.Break, si == len(c.Segments)-1))); err != nil {
				return tl, err
			}
		}
		if len(c.Segments) == 0 {
			if err := silence(ci, Samples(p.Chapter)); err != nil {
				return tl, err
			}
		}
		span.End = pos
		tl.Chapters = append(tl.Chapters, span)
	}
	tl.Length = pos
	return tl, nil
}

// TrimSegment applies t to one segment's samples (a sub-slice; nothing is copied). With trimming
// disabled it returns pcm unchanged.
func TrimSegment(pcm []float32, t Trim) []float32 {
	if !t.Enabled {
		return pcm
	}
	return trim(pcm, t)
}

// trim cuts the quiet edges of a segment, keeping t.Keep of each quiet edge.
func trim(pcm []float32, t Trim) []float32 {
	th := t.ThresholdDB
	if th == 0 {
		th = -45
	}
	keep := t.Keep
	if keep == 0 {
		keep = 30 * time.Millisecond
	}
	win := Rate / 100 // 10 ms
	limit := math.Pow(10, th/20)
	limit2 := limit * limit * float64(win)
	loud := func(i int) bool { // is window starting at i above threshold?
		var e float64
		for _, v := range pcm[i:min(i+win, len(pcm))] {
			e += float64(v) * float64(v)
		}
		return e > limit2
	}
	start := -1
	for i := 0; i < len(pcm); i += win {
		if loud(i) {
			start = i
			break
		}
	}
	if start < 0 {
		return pcm[:0] // all silence
	}
	end := len(pcm)
	for i := (len(pcm) - 1) / win * win; i >= start; i -= win {
		if loud(i) {
			end = min(i+win, len(pcm))
			break
		}
	}
	k := int(Samples(keep))
	return pcm[max(start-k, 0):min(end+k, len(pcm))]
}
