package scheduler

import (
	"context"
	"math/rand/v2"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/store"
)

// NewTake renders a segment again with a fresh random seed (store.NewTake: never one the segment
// was tried with; the current take stays in its takes), interrupts a synthesis of the old seed,
// and queues the segment in the interactive lane. It returns the new seed and the job.
func (s *Scheduler) NewTake(ctx context.Context, segmentID int64) (uint64, store.Job, error) {
	seed, rs, err := s.st.NewTake(ctx, segmentID, rand.Uint64)
	s.interrupt(rs)
	if err != nil {
		return 0, store.Job{}, err
	}
	proj, err := s.projectOf(ctx, segmentID)
	if err != nil {
		return seed, store.Job{}, err
	}
	j, err := s.RenderNow(ctx, proj, segmentID)
	return seed, j, err
}

// UseTake goes back to an earlier take of a segment. Its render is normally still in the cache:
// the segment is done at once with exactly that audio, no synthesis runs, and UseTake returns
// true. When the render is gone (dropped as damaged, or made by another model), the take is
// rendered again in the interactive lane, with the same seed and so the same audio. A synthesis of
// another take is interrupted.
func (s *Scheduler) UseTake(ctx context.Context, segmentID int64, seed uint64) (bool, error) {
	g, err := s.st.Segment(ctx, segmentID)
	if err != nil {
		return false, err
	}
	hash := ""
	if key, _, ok := s.cached(ctx, g, seed); ok {
		hash = string(key)
	}
	done, rs, err := s.st.UseTake(ctx, segmentID, seed, hash)
	s.interrupt(rs)
	if err != nil {
		return false, err
	}
	if !done {
		proj, err := s.projectOf(ctx, segmentID)
		if err != nil {
			return false, err
		}
		_, err = s.RenderNow(ctx, proj, segmentID)
		return false, err
	}
	after, err := s.st.Segment(ctx, segmentID)
	if err != nil {
		return true, err
	}
	s.publish(events.SegmentDone{SegmentID: segmentID, JobID: after.JobID, RenderKey: after.RenderHash, Seconds: after.Seconds, CacheHit: true})
	if after.JobID != 0 {
		if j, err := s.st.Job(ctx, after.JobID); err == nil {
			s.progress(j)
		}
	}
	s.wake()
	return true, nil
}

// Takes returns a segment's takes (store.Takes).
func (s *Scheduler) Takes(ctx context.Context, segmentID int64) (store.Takes, error) {
	return s.st.Takes(ctx, segmentID)
}
