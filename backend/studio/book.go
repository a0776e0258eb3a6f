package studio

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/viettts-studio/studio/backend/audio"
	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/narration"
	"github.com/viettts-studio/studio/backend/store"
)

// Book is the project (or one chapter of it, chapterID ≠ 0) as the audio side sees it: chapters
// of segments, each loading its render. A segment that is not rendered yet is queued in the
// interactive lane when its audio is asked for, and its Source waits for it, so playback can start
// while the rest is still being synthesized.
func (s *Studio) Book(ctx context.Context, projectID, chapterID int64) (*audio.Book, error) {
	projects, err := s.projectsOf(ctx, projectID)
	if err != nil {
		return nil, err
	}
	chapters, err := s.store.Chapters(ctx, projectID)
	if err != nil {
		return nil, err
	}
	b := &audio.Book{Title: projects[0].Title}
	for _, c := range chapters {
		if chapterID != 0 && c.ID != chapterID {
			continue
		}
		segs, err := s.store.Segments(ctx, store.SegmentQuery{ChapterID: c.ID})
		if err != nil {
			return nil, err
		}
		ac := audio.Chapter{Title: c.Title}
		for _, g := range segs {
			ac.Segments = append(ac.Segments, audio.Segment{
				ID: strconv.FormatInt(g.ID, 10), Text: g.Source, Break: breakOf(g.Spans),
				Audio: audio.SourceFunc(func(ctx context.Context) ([]float32, error) { return s.SegmentAudio(ctx, projectID, g.ID) }),
			})
		}
		b.Chapters = append(b.Chapters, ac)
	}
	if chapterID != 0 && len(b.Chapters) == 0 {
		return nil, fmt.Errorf("chapter %d is not in project %d: %w", chapterID, projectID, store.ErrNotFound)
	}
	b.Normalize()
	return b, nil
}

// breakOf reads the pause the segmenter put after a segment from its stored metadata.
func breakOf(spans json.RawMessage) audio.Break {
	var m segmentMeta
	if json.Unmarshal(spans, &m) != nil {
		return audio.BreakSentence
	}
	return narration.AudioBreak(m.Pause)
}

// SegmentAudio returns a segment's samples, rendering it first (in the interactive lane) when it
// has no audio yet and waiting for it. It fails with the segment's reason when it failed or was
// canceled.
func (s *Studio) SegmentAudio(ctx context.Context, projectID, segmentID int64) ([]float32, error) {
	sub := s.bus.Subscribe()
	defer sub.Close()
	queued := false
	for {
		g, err := s.store.Segment(ctx, segmentID)
		if err != nil {
			return nil, err
		}
		switch g.State {
		case store.StateDone:
			r, ok, err := s.store.RenderOf(ctx, g.RenderHash)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("segment %d has no render: render it again", segmentID)
			}
			return s.cache.Load(r.Path)
		case store.StateFailed:
			return nil, fmt.Errorf("segment %d failed: %s", segmentID, g.Error)
		case store.StateCanceled, store.StateNew, store.StatePaused:
			if queued {
				return nil, fmt.Errorf("segment %d is %s: resume or render it", segmentID, g.State)
			}
			if _, err := s.Scheduler().RenderNow(ctx, projectID, segmentID); err != nil {
				return nil, err
			}
			queued = true
			continue
		}
		if err := waitSegment(ctx, sub, segmentID); err != nil {
			return nil, err
		}
	}
}

// waitSegment waits for an event about the segment (or any job progress, which may be its).
func waitSegment(ctx context.Context, sub *events.Subscription, segmentID int64) error {
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		switch e := ev.(type) {
		case events.SegmentDone:
			if e.SegmentID == segmentID {
				return nil
			}
		case events.SegmentFailed:
			if e.SegmentID == segmentID {
				return nil
			}
		case events.JobProgress:
			return nil
		}
	}
}
