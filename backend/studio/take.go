package studio

import (
	"context"
	"fmt"

	"github.com/viettts-studio/studio/backend/store"
)

// Takes is where a sentence stands among its takes, as the document view shows it ("take 2 of
// 3"). Takes are numbered, not named by seed: a 64-bit seed does not survive a JavaScript number.
type Takes struct {
	SegmentID int64 `json:"segmentId"`
	// Count is how many takes the sentence has (1 until a new take is made).
	Count int `json:"count"`
	// Current is the position of the take it reads with now, from 0.
	Current int `json:"current"`
}

func takesView(t store.Takes) Takes {
	return Takes{SegmentID: t.SegmentID, Count: len(t.Seeds), Current: t.Index()}
}

// Takes returns a sentence's takes.
func (s *Studio) Takes(ctx context.Context, segmentID int64) (Takes, error) {
	t, err := s.Scheduler().Takes(ctx, segmentID)
	if err != nil {
		return Takes{}, err
	}
	return takesView(t), nil
}

// NewTake renders a sentence again with a new random seed, ahead of bulk work, keeping its other
// takes (store.MaxTakes at most); a synthesis of the take it replaces is interrupted.
func (s *Studio) NewTake(ctx context.Context, segmentID int64) (Takes, error) {
	seed, j, err := s.Scheduler().NewTake(ctx, segmentID)
	if err != nil && seed != 0 {
		return Takes{}, fmt.Errorf("the new take of sentence %d is ready, but queueing it failed: %w (play the sentence to render it)", segmentID, err)
	}
	if err != nil {
		return Takes{}, err
	}
	s.log.Info("new take", "segment", segmentID, "job", j.ID)
	return s.Takes(ctx, segmentID)
}

// UseTake goes back to the take at position index (from 0) of a sentence. Its audio is normally
// still rendered, so the sentence is done at once with exactly that audio; otherwise it is
// rendered again with the same seed, ahead of bulk work.
func (s *Studio) UseTake(ctx context.Context, segmentID int64, index int) (Takes, error) {
	t, err := s.Scheduler().Takes(ctx, segmentID)
	if err != nil {
		return Takes{}, err
	}
	if index < 0 || index >= len(t.Seeds) {
		return Takes{}, fmt.Errorf("sentence %d has %d takes, there is no take %d: choose one from 1 to %d", segmentID, len(t.Seeds), index+1, len(t.Seeds))
	}
	done, err := s.Scheduler().UseTake(ctx, segmentID, t.Seeds[index])
	if err != nil {
		return Takes{}, err
	}
	s.log.Info("take chosen", "segment", segmentID, "take", index+1, "of", len(t.Seeds), "rendered", done)
	return s.Takes(ctx, segmentID)
}
