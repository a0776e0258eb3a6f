package scheduler

import (
	"context"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/store"
)

// The commands below are what the GUI and the CLI call. Each changes the store in one
// transaction, interrupts a running synthesis whose segment it took away, publishes the job's new
// state and wakes the dispatch loop.

// CreateProject stores an imported document (see store.NewProject).
func (s *Scheduler) CreateProject(ctx context.Context, p store.NewProject) (store.Project, error) {
	return s.st.CreateProject(ctx, p)
}

// Enqueue queues a job: a whole project, one chapter, or some segments (store.JobSpec).
func (s *Scheduler) Enqueue(ctx context.Context, spec store.JobSpec) (store.Job, error) {
	j, err := s.st.EnqueueJob(ctx, spec)
	if err == nil {
		s.progress(j)
		s.wake()
	}
	return j, err
}

// RenderNow queues segments in the interactive lane, ahead of all bulk work (play this sentence,
// re-render after an edit).
func (s *Scheduler) RenderNow(ctx context.Context, projectID int64, segmentIDs ...int64) (store.Job, error) {
	return s.Enqueue(ctx, store.JobSpec{ProjectID: projectID, SegmentIDs: segmentIDs, Priority: store.PriorityInteractive})
}

// EditSegment changes a segment's spoken form, interrupts a synthesis of the old text, and, when
// rerender is true, queues the segment in the interactive lane; the job is returned (zero when
// rerender is false).
func (s *Scheduler) EditSegment(ctx context.Context, segmentID int64, spoken string, rerender bool) (store.Job, error) {
	rs, err := s.st.EditSegment(ctx, segmentID, spoken)
	s.interrupt(rs)
	if err != nil || !rerender {
		return store.Job{}, err
	}
	proj, err := s.projectOf(ctx, segmentID)
	if err != nil {
		return store.Job{}, err
	}
	return s.RenderNow(ctx, proj, segmentID)
}

// SetReading changes how a project or one chapter is read (store.SetReading: voice and speed),
// interrupts syntheses of the old reading, and queues the segments that read differently now in
// the interactive lane. It returns their ids and the job (zero when nothing changed).
func (s *Scheduler) SetReading(ctx context.Context, r store.Reading) ([]int64, store.Job, error) {
	ids, rs, err := s.st.SetReading(ctx, r)
	s.interrupt(rs)
	if err != nil || len(ids) == 0 {
		return ids, store.Job{}, err
	}
	j, err := s.RenderNow(ctx, r.ProjectID, ids...)
	return ids, j, err
}

func (s *Scheduler) projectOf(ctx context.Context, segmentID int64) (int64, error) {
	g, err := s.st.Segment(ctx, segmentID)
	if err != nil {
		return 0, err
	}
	return s.st.ChapterProject(ctx, g.ChapterID)
}

// PauseJob pauses a job; its running segments finish.
func (s *Scheduler) PauseJob(ctx context.Context, id int64) error {
	return s.after(ctx, id, s.st.PauseJob(ctx, id))
}

// ResumeJob resumes a paused job.
func (s *Scheduler) ResumeJob(ctx context.Context, id int64) error {
	return s.after(ctx, id, s.st.ResumeJob(ctx, id))
}

// CancelJob cancels a job and interrupts its running segments.
func (s *Scheduler) CancelJob(ctx context.Context, id int64) error {
	rs, err := s.st.CancelJob(ctx, id)
	s.interrupt(rs)
	return s.after(ctx, id, err)
}

// RetryJob queues a job's failed and canceled segments again.
func (s *Scheduler) RetryJob(ctx context.Context, id int64) error {
	return s.after(ctx, id, s.st.RetryJob(ctx, id))
}

// SetJobPriority moves a job to another lane (store.PriorityBulk, store.PriorityInteractive).
func (s *Scheduler) SetJobPriority(ctx context.Context, id int64, priority int) error {
	return s.after(ctx, id, s.st.SetJobPriority(ctx, id, priority))
}

// MoveJob puts a job before another in the queue (before 0: at the end).
func (s *Scheduler) MoveJob(ctx context.Context, id, before int64) error {
	return s.after(ctx, id, s.st.MoveJob(ctx, id, before))
}

// PauseSegment keeps a queued segment from running.
func (s *Scheduler) PauseSegment(ctx context.Context, id int64) error {
	return s.afterSegment(ctx, id, s.st.PauseSegment(ctx, id))
}

// ResumeSegment queues a paused segment again.
func (s *Scheduler) ResumeSegment(ctx context.Context, id int64) error {
	return s.afterSegment(ctx, id, s.st.ResumeSegment(ctx, id))
}

// CancelSegment cancels a segment, interrupting it if it runs.
func (s *Scheduler) CancelSegment(ctx context.Context, id int64) error {
	rs, err := s.st.CancelSegment(ctx, id)
	s.interrupt(rs)
	return s.afterSegment(ctx, id, err)
}

// RetrySegment queues a failed or canceled segment again.
func (s *Scheduler) RetrySegment(ctx context.Context, id int64) error {
	return s.afterSegment(ctx, id, s.st.RetrySegment(ctx, id))
}

// Jobs lists jobs in queue order (unfinished only when active).
func (s *Scheduler) Jobs(ctx context.Context, active bool) ([]store.Job, error) {
	return s.st.Jobs(ctx, active)
}

// Segments lists segments with their states.
func (s *Scheduler) Segments(ctx context.Context, q store.SegmentQuery) ([]store.Segment, error) {
	return s.st.Segments(ctx, q)
}

// Subscribe returns a subscription to the scheduler's events (nil when it has no bus).
func (s *Scheduler) Subscribe() *events.Subscription {
	if s.cfg.Bus == nil {
		return nil
	}
	return s.cfg.Bus.Subscribe()
}

func (s *Scheduler) after(ctx context.Context, jobID int64, err error) error {
	if err != nil {
		return err
	}
	if j, jerr := s.st.Job(ctx, jobID); jerr == nil {
		s.progress(j)
	}
	s.wake()
	return nil
}

func (s *Scheduler) afterSegment(ctx context.Context, segmentID int64, err error) error {
	if err != nil {
		return err
	}
	if g, gerr := s.st.Segment(ctx, segmentID); gerr == nil && g.JobID != 0 {
		return s.after(ctx, g.JobID, nil)
	}
	s.wake()
	return nil
}
