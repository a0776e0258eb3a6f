package studio

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/backend/store"
)

// Reading is how a project or one chapter is read, as the document view shows it.
type Reading struct {
	// Voice is the voice every segment reads with, or "" when they differ.
	Voice string `json:"voice"`
	// Speed is the speed every segment reads at, or 0 when they differ.
	Speed float64 `json:"speed"`
	// Voices counts the segments by voice.
	Voices map[string]int `json:"voices"`
	// Segments is how many segments there are.
	Segments int `json:"segments"`
	// Parts counts the segments by voice and speed together, so the window can say how many a
	// change would render again.
	Parts []ReadingPart `json:"parts"`
}

// ReadingPart is how many segments read with one voice at one speed.
type ReadingPart struct {
	Voice    string  `json:"voice"`
	Speed    float64 `json:"speed"`
	Segments int     `json:"segments"`
}

// Readings returns how the project is read as a whole (key 0) and chapter by chapter (keyed by
// chapter id).
func (s *Studio) Readings(ctx context.Context, projectID int64) (map[int64]Reading, error) {
	counts, err := s.store.Readings(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := map[int64]Reading{}
	speeds := map[int64]map[float64]bool{}
	add := func(key int64, rc store.ReadingCount) {
		r := out[key]
		if r.Voices == nil {
			r.Voices = map[string]int{}
			speeds[key] = map[float64]bool{}
		}
		r.Voices[rc.Voice] += rc.Segments
		r.Segments += rc.Segments
		i := slices.IndexFunc(r.Parts, func(p ReadingPart) bool { return p.Voice == rc.Voice && p.Speed == rc.Speed })
		if i < 0 {
			r.Parts = append(r.Parts, ReadingPart{Voice: rc.Voice, Speed: rc.Speed})
			i = len(r.Parts) - 1
		}
		r.Parts[i].Segments += rc.Segments
		speeds[key][rc.Speed] = true
		out[key] = r
	}
	for _, rc := range counts {
		add(0, rc)
		add(rc.ChapterID, rc)
	}
	for key, r := range out {
		if len(r.Voices) == 1 {
			for v := range r.Voices {
				r.Voice = v
			}
		}
		if len(speeds[key]) == 1 {
			for sp := range speeds[key] {
				r.Speed = sp
			}
		}
		out[key] = r
	}
	return out, nil
}

// SetReading changes the voice (r.Voice "" keeps each segment's) and the speed (r.Speed 0 keeps
// each segment's) of a project (r.ChapterID 0) or of one of its chapters, and re-renders exactly the segments that read
// differently now, in the interactive lane; the others keep their audio. It returns the ids of
// the segments it re-renders. A segment being synthesized with the old voice loses its lease in
// the same transaction and its synthesis is interrupted; a result that still comes is discarded
// (store fencing).
func (s *Studio) SetReading(ctx context.Context, r store.Reading) ([]int64, error) {
	r.Voice = norm.NFC.String(strings.TrimSpace(r.Voice))
	if r.Voice != "" {
		if err := s.knownVoice(r.Voice); err != nil {
			return nil, err
		}
	}
	changed, _, err := s.Scheduler().SetReading(ctx, r)
	if err != nil && len(changed) > 0 {
		return changed, fmt.Errorf("the voice changed, but queueing %d segments again failed: %w (queue the document again from the queue)", len(changed), err)
	}
	if err != nil || len(changed) == 0 {
		return nil, err
	}
	s.log.Info("reading changed", "project", r.ProjectID, "chapter", r.ChapterID, "voice", r.Voice, "speed", r.Speed, "segments", len(changed))
	return changed, nil
}
