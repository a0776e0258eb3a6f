package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
)

// State is the state of a segment or a job (see the package doc for the diagrams).
type State string

// States of segments and jobs. StateNew is for segments only: not yet asked for.
const (
	StateNew      State = "new"
	StateQueued   State = "queued"
	StateRunning  State = "running"
	StatePaused   State = "paused"
	StateDone     State = "done"
	StateFailed   State = "failed"
	StateCanceled State = "canceled"
)

// Finished reports whether a job in state st has stopped for good (done, failed or canceled).
func (st State) Finished() bool {
	return st == StateDone || st == StateFailed || st == StateCanceled
}

// Priorities of jobs. Higher runs first.
const (
	PriorityBulk        = 0
	PriorityInteractive = 100
)

// Errors callers branch on.
var (
	// ErrLeaseLost: the segment was canceled, edited, recovered or claimed again since this
	// worker claimed it; its result must be discarded.
	ErrLeaseLost = errors.New("lease lost: the segment changed since it was claimed")
	// ErrJobFinished: the command needs an unfinished job.
	ErrJobFinished = errors.New("the job has already finished")
	// ErrWrongState: the command does not apply to the segment's state.
	ErrWrongState = errors.New("the command does not apply in this state")
)

// JobSpec asks for segments to be rendered: all segments of a project, of one chapter, or the
// listed segments.
type JobSpec struct {
	ProjectID int64
	// ChapterID limits the job to one chapter of the project.
	ChapterID int64
	// SegmentIDs limits the job to these segments (they must belong to the project).
	SegmentIDs []int64
	// Priority: PriorityBulk or PriorityInteractive (or any other order).
	Priority int
}

// Job is a stored job with counts of its segments.
type Job struct {
	ID        int64
	ProjectID int64
	ChapterID int64
	State     State
	Priority  int
	Position  int64
	Created   time.Time
	Counts
}

// Counts are the segments a job owns, by state.
type Counts struct {
	Total, Queued, Running, Paused, Done, Failed, Canceled int
	// AudioSeconds is the duration of the job's done segments.
	AudioSeconds float64
}

// Remaining is how many segments still have to run.
func (c Counts) Remaining() int { return c.Queued + c.Running + c.Paused }

// EnqueueJob creates a job for spec. The job takes every segment in its scope that no unfinished
// job owns; those not done are queued. An interactive job (a preview, a re-render after an edit)
// also takes queued and paused segments from other jobs. A job with nothing to render is done at
// once.
func (s *Store) EnqueueJob(ctx context.Context, spec JobSpec) (Job, error) {
	var j Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = s.EnqueueJobTx(ctx, tx, spec)
		return err
	})
	return j, err
}

// EnqueueJobTx is EnqueueJob inside tx.
func (s *Store) EnqueueJobTx(ctx context.Context, tx *sql.Tx, spec JobSpec) (Job, error) {
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM projects WHERE id = ?`, spec.ProjectID).Scan(&exists); err != nil {
		return Job{}, err
	}
	if exists == 0 {
		return Job{}, fmt.Errorf("queueing project %d: %w", spec.ProjectID, ErrNotFound)
	}
	var chapter any
	if spec.ChapterID != 0 {
		chapter = spec.ChapterID
	}
	var pos int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(position), 0) + 1 FROM jobs`).Scan(&pos); err != nil {
		return Job{}, err
	}
	now := s.millis()
	res, err := tx.ExecContext(ctx, `INSERT INTO jobs (project_id, chapter_id, state, priority, position, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		spec.ProjectID, chapter, StateQueued, spec.Priority, pos, now)
	if err != nil {
		return Job{}, fmt.Errorf("queueing project %d: %w", spec.ProjectID, err)
	}
	id, _ := res.LastInsertId()

	// The scope, as a temporary list of segment ids.
	scope := `SELECT s.id FROM segments s JOIN chapters c ON c.id = s.chapter_id WHERE c.project_id = ?`
	args := []any{spec.ProjectID}
	if spec.ChapterID != 0 {
		scope += ` AND s.chapter_id = ?`
		args = append(args, spec.ChapterID)
	}
	if spec.SegmentIDs != nil {
		scope += ` AND s.id IN (SELECT value FROM json_each(?))`
		ids, _ := jsonInts(spec.SegmentIDs)
		args = append(args, ids)
	}
	// Which segments may be taken: not owned by an unfinished job; an interactive job also
	// takes queued and paused ones (not running ones: their result is on its way).
	free := `(s2.job_id IS NULL OR (SELECT state FROM jobs WHERE id = s2.job_id) IN ('done', 'failed', 'canceled'))`
	if spec.Priority >= PriorityInteractive {
		free = `(` + free + ` OR s2.state IN ('queued', 'paused'))`
	}
	take := `SELECT s2.id FROM segments s2 WHERE s2.id IN (` + scope + `) AND s2.state != 'running' AND ` + free
	// Remember the jobs that lose segments, to refresh their counts.
	losers, err := queryInts(ctx, tx, `SELECT DISTINCT s2.job_id FROM segments s2 WHERE s2.job_id IS NOT NULL AND s2.id IN (`+take+`)`, args...)
	if err != nil {
		return Job{}, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE segments SET job_id = ?,
			state = CASE WHEN state = 'done' THEN 'done' ELSE 'queued' END,
			attempts = CASE WHEN state = 'done' THEN attempts ELSE 0 END,
			error = CASE WHEN state = 'done' THEN error ELSE '' END,
			not_before = 0, lease = ''
		WHERE id IN (`+take+`)`, append([]any{id}, args...)...)
	if err != nil {
		return Job{}, fmt.Errorf("queueing the segments of project %d: %w", spec.ProjectID, err)
	}
	for _, l := range losers {
		if _, err := s.refreshJob(ctx, tx, l); err != nil {
			return Job{}, err
		}
	}
	if _, err := s.refreshJob(ctx, tx, id); err != nil {
		return Job{}, err
	}
	return s.jobTx(ctx, tx, id)
}

// refreshJob recomputes a job's state from its segments and returns its counts. Paused and
// canceled jobs keep their state.
func (s *Store) refreshJob(ctx context.Context, tx *sql.Tx, id int64) (Job, error) {
	j, err := s.jobTx(ctx, tx, id)
	if err != nil {
		return j, err
	}
	next := j.State
	switch {
	case j.State == StatePaused || j.State == StateCanceled:
	case j.Remaining() > 0:
		if j.Running > 0 {
			next = StateRunning
		} else if j.State.Finished() {
			next = StateQueued
		}
	case j.Failed > 0:
		next = StateFailed
	default:
		next = StateDone
	}
	if next != j.State {
		if _, err := s.txExec(ctx, tx, qSetJobState, next, id); err != nil {
			return j, err
		}
		j.State = next
	}
	return j, nil
}

const jobColumns = `j.id, j.project_id, coalesce(j.chapter_id, 0), j.state, j.priority, j.position, j.created_at,
	j.n_total, j.n_queued, j.n_running, j.n_paused, j.n_done, j.n_failed, j.n_canceled, j.audio_seconds`

func scanJob(sc interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var created int64
	err := sc.Scan(&j.ID, &j.ProjectID, &j.ChapterID, &j.State, &j.Priority, &j.Position, &created,
		&j.Total, &j.Queued, &j.Running, &j.Paused, &j.Done, &j.Failed, &j.Canceled, &j.AudioSeconds)
	j.Created = time.UnixMilli(created)
	return j, err
}

const jobQuery = `SELECT ` + jobColumns + ` FROM jobs j WHERE j.id = ?`

func (s *Store) jobTx(ctx context.Context, tx *sql.Tx, id int64) (Job, error) {
	return jobResult(id)(scanJob(s.txQueryRow(ctx, tx, jobQuery, id)))
}

func jobResult(id int64) func(Job, error) (Job, error) {
	return func(j Job, err error) (Job, error) {
		if errors.Is(err, sql.ErrNoRows) {
			return j, fmt.Errorf("job %d: %w", id, ErrNotFound)
		}
		return j, err
	}
}

// Job returns one job with its counts.
func (s *Store) Job(ctx context.Context, id int64) (Job, error) {
	return jobResult(id)(scanJob(s.readRow(ctx, jobQuery, id)))
}

// Jobs lists jobs in queue order (priority, then position); unfinished only when active is true.
func (s *Store) Jobs(ctx context.Context, active bool) ([]Job, error) {
	where := ""
	if active {
		where = `WHERE j.state IN ('queued', 'running', 'paused')`
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs j `+where+` ORDER BY j.priority DESC, j.position`)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// Claim is a segment checked out for synthesis, fenced by Lease.
type Claim struct {
	Segment Segment
	Lease   string
}

// ClaimNext claims the next segment to synthesize (see "Order of work" in the package doc). ok is
// false when nothing is ready; then wake is the earliest time a segment waiting for a retry
// becomes ready (zero when none waits).
func (s *Store) ClaimNext(ctx context.Context) (c Claim, ok bool, wake time.Time, err error) {
	err = s.write(ctx, func(tx *sql.Tx) error {
		c, ok, wake, err = s.ClaimNextTx(ctx, tx)
		return err
	})
	return c, ok, wake, err
}

// ClaimNextTx is ClaimNext inside tx.
func (s *Store) ClaimNextTx(ctx context.Context, tx *sql.Tx) (Claim, bool, time.Time, error) {
	now := s.millis()
	var jobID int64
	err := s.txQueryRow(ctx, tx, qClaimJob, now).Scan(&jobID)
	if errors.Is(err, sql.ErrNoRows) {
		var next sql.NullInt64
		err := s.txQueryRow(ctx, tx, qClaimWake).Scan(&next)
		if err != nil {
			return Claim{}, false, time.Time{}, fmt.Errorf("claiming a segment: %w", err)
		}
		var wake time.Time
		if next.Valid && next.Int64 > 0 {
			wake = time.UnixMilli(next.Int64)
		}
		return Claim{}, false, wake, nil
	}
	if err != nil {
		return Claim{}, false, time.Time{}, fmt.Errorf("claiming a segment: %w", err)
	}
	g, err := scanSegment(s.txQueryRow(ctx, tx, qClaimSegment, jobID, now))
	if err != nil {
		return Claim{}, false, time.Time{}, fmt.Errorf("claiming a segment of job %d: %w", jobID, err)
	}
	lease := newLease()
	if _, err := s.txExec(ctx, tx, qMarkRunning, lease, g.ID); err != nil {
		return Claim{}, false, time.Time{}, err
	}
	if _, err := s.txExec(ctx, tx, qMarkServed, jobID); err != nil {
		return Claim{}, false, time.Time{}, err
	}
	g.State = StateRunning
	return Claim{Segment: g, Lease: lease}, true, time.Time{}, nil
}

func newLease() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Render is one row of the render index: a file in the render cache.
type Render struct {
	Hash    string
	Path    string // relative to the render cache directory
	Seconds float64
	Tokens  int
	Bytes   int64
	SHA256  string
}

// Complete records the render of a claimed segment and marks it done, in one transaction, and
// returns the segment's job. It fails with ErrLeaseLost when lease is no longer the segment's.
func (s *Store) Complete(ctx context.Context, segmentID int64, lease string, r Render) (Job, error) {
	var j Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = s.CompleteTx(ctx, tx, segmentID, lease, r)
		return err
	})
	return j, err
}

// CompleteTx is Complete inside tx.
func (s *Store) CompleteTx(ctx context.Context, tx *sql.Tx, segmentID int64, lease string, r Render) (Job, error) {
	_, err := s.txExec(ctx, tx, qInsertRender, r.Hash, r.Path, r.Seconds, r.Tokens, r.Bytes, r.SHA256, s.millis())
	if err != nil {
		return Job{}, fmt.Errorf("recording render %s: %w", r.Hash, err)
	}
	return s.settle(ctx, tx, segmentID, lease, qComplete, r.Hash, r.Seconds)
}

// settle runs query (one of the settle statements) on a running segment whose lease matches,
// which clears the lease, and refreshes the job.
func (s *Store) settle(ctx context.Context, tx *sql.Tx, segmentID int64, lease, query string, args ...any) (Job, error) {
	var jobID sql.NullInt64
	err := s.txQueryRow(ctx, tx, query, append(args, segmentID, lease)...).Scan(&jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("segment %d: %w", segmentID, ErrLeaseLost)
	}
	if err != nil {
		return Job{}, fmt.Errorf("updating segment %d: %w", segmentID, err)
	}
	if !jobID.Valid {
		return Job{}, nil
	}
	return s.refreshJob(ctx, tx, jobID.Int64)
}

// Fail marks a claimed segment failed for good with a reason the user can act on.
func (s *Store) Fail(ctx context.Context, segmentID int64, lease, reason string) (Job, error) {
	var j Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = s.FailTx(ctx, tx, segmentID, lease, reason)
		return err
	})
	return j, err
}

// FailTx is Fail inside tx.
func (s *Store) FailTx(ctx context.Context, tx *sql.Tx, segmentID int64, lease, reason string) (Job, error) {
	return s.settle(ctx, tx, segmentID, lease, qFail, reason)
}

// RetryLater puts a claimed segment back in the queue, not to be claimed before notBefore, and
// counts the failed attempt.
func (s *Store) RetryLater(ctx context.Context, segmentID int64, lease string, notBefore time.Time, reason string) (Job, error) {
	var j Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = s.RetryLaterTx(ctx, tx, segmentID, lease, notBefore, reason)
		return err
	})
	return j, err
}

// RetryLaterTx is RetryLater inside tx.
func (s *Store) RetryLaterTx(ctx context.Context, tx *sql.Tx, segmentID int64, lease string, notBefore time.Time, reason string) (Job, error) {
	return s.settle(ctx, tx, segmentID, lease, qRetryLater, reason, notBefore.UnixMilli())
}

// Requeue puts a claimed segment back in the queue without counting an attempt (the scheduler
// is stopping).
func (s *Store) Requeue(ctx context.Context, segmentID int64, lease string) (Job, error) {
	var j Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = s.RequeueTx(ctx, tx, segmentID, lease)
		return err
	})
	return j, err
}

// RequeueTx is Requeue inside tx.
func (s *Store) RequeueTx(ctx context.Context, tx *sql.Tx, segmentID int64, lease string) (Job, error) {
	return s.settle(ctx, tx, segmentID, lease, qRequeue)
}

// Running is a running segment that a command took away from its worker; the scheduler cancels
// the synthesis.
type Running struct {
	SegmentID int64
	Lease     string
}

// PauseJob stops a job from being claimed; segments already running finish. Pausing a paused job
// does nothing; a finished job gives ErrJobFinished.
func (s *Store) PauseJob(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.PauseJobTx(ctx, tx, id) })
}

// PauseJobTx is PauseJob inside tx.
func (s *Store) PauseJobTx(ctx context.Context, tx *sql.Tx, id int64) error {
	st, err := s.jobState(ctx, tx, id)
	if err != nil {
		return err
	}
	if st.Finished() {
		return fmt.Errorf("pausing job %d (%s): %w", id, st, ErrJobFinished)
	}
	_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'paused' WHERE id = ?`, id)
	return err
}

// ResumeJob lets a paused job be claimed again. Resuming an unpaused unfinished job does nothing;
// a finished job gives ErrJobFinished.
func (s *Store) ResumeJob(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.ResumeJobTx(ctx, tx, id) })
}

// ResumeJobTx is ResumeJob inside tx.
func (s *Store) ResumeJobTx(ctx context.Context, tx *sql.Tx, id int64) error {
	st, err := s.jobState(ctx, tx, id)
	if err != nil {
		return err
	}
	if st.Finished() {
		return fmt.Errorf("resuming job %d (%s): %w", id, st, ErrJobFinished)
	}
	if st != StatePaused {
		return nil
	}
	if _, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued' WHERE id = ?`, id); err != nil {
		return err
	}
	_, err = s.refreshJob(ctx, tx, id)
	return err
}

// CancelJob cancels a job and its unfinished segments and returns the running ones, whose
// synthesis the caller should interrupt (their leases are already void). Canceling a canceled job
// does nothing; a done or failed job gives ErrJobFinished.
func (s *Store) CancelJob(ctx context.Context, id int64) ([]Running, error) {
	var out []Running
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.CancelJobTx(ctx, tx, id)
		return err
	})
	return out, err
}

// CancelJobTx is CancelJob inside tx.
func (s *Store) CancelJobTx(ctx context.Context, tx *sql.Tx, id int64) ([]Running, error) {
	st, err := s.jobState(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if st == StateCanceled {
		return nil, nil
	}
	if st.Finished() {
		return nil, fmt.Errorf("canceling job %d (%s): %w", id, st, ErrJobFinished)
	}
	running, err := s.runningOf(ctx, tx, `job_id = ?`, id)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segments SET state = 'canceled', lease = '' WHERE job_id = ? AND state IN ('queued', 'paused', 'running')`, id); err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'canceled' WHERE id = ?`, id)
	return running, err
}

// RetryJob queues a job's failed and canceled segments again, and the job with them.
func (s *Store) RetryJob(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.RetryJobTx(ctx, tx, id) })
}

// RetryJobTx is RetryJob inside tx.
func (s *Store) RetryJobTx(ctx context.Context, tx *sql.Tx, id int64) error {
	if _, err := s.jobState(ctx, tx, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segments SET state = 'queued', attempts = 0, error = '', not_before = 0
		WHERE job_id = ? AND state IN ('failed', 'canceled')`, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued' WHERE id = ? AND state IN ('failed', 'canceled', 'done')`, id); err != nil {
		return err
	}
	_, err := s.refreshJob(ctx, tx, id)
	return err
}

// SetJobPriority moves a job to another priority lane.
func (s *Store) SetJobPriority(ctx context.Context, id int64, priority int) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.SetJobPriorityTx(ctx, tx, id, priority) })
}

// SetJobPriorityTx is SetJobPriority inside tx.
func (s *Store) SetJobPriorityTx(ctx context.Context, tx *sql.Tx, id int64, priority int) error {
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET priority = ? WHERE id = ?`, priority, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	return nil
}

// MoveJob puts job id just before job before in the queue order (before 0: at the end). Order
// decides among jobs of the same priority that have been served equally (see the package doc).
func (s *Store) MoveJob(ctx context.Context, id, before int64) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.MoveJobTx(ctx, tx, id, before) })
}

// MoveJobTx is MoveJob inside tx.
func (s *Store) MoveJobTx(ctx context.Context, tx *sql.Tx, id, before int64) error {
	ids, err := queryInts(ctx, tx, `SELECT id FROM jobs ORDER BY position`)
	if err != nil {
		return err
	}
	i := slices.Index(ids, id)
	if i < 0 {
		return fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	ids = slices.Delete(ids, i, i+1)
	at := len(ids)
	if before != 0 {
		if at = slices.Index(ids, before); at < 0 {
			return fmt.Errorf("job %d: %w", before, ErrNotFound)
		}
	}
	ids = slices.Insert(ids, at, id)
	for p, jid := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET position = ? WHERE id = ? AND position != ?`, p+1, jid, p+1); err != nil {
			return err
		}
	}
	return nil
}

// PauseSegment keeps a queued segment from being claimed.
func (s *Store) PauseSegment(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.PauseSegmentTx(ctx, tx, id) })
}

// PauseSegmentTx is PauseSegment inside tx.
func (s *Store) PauseSegmentTx(ctx context.Context, tx *sql.Tx, id int64) error {
	return s.segmentCommandTx(ctx, tx, id, "pausing", []State{StateQueued}, `state = 'paused'`, true)
}

// ResumeSegment queues a paused segment again.
func (s *Store) ResumeSegment(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.ResumeSegmentTx(ctx, tx, id) })
}

// ResumeSegmentTx is ResumeSegment inside tx.
func (s *Store) ResumeSegmentTx(ctx context.Context, tx *sql.Tx, id int64) error {
	return s.segmentCommandTx(ctx, tx, id, "resuming", []State{StatePaused}, `state = 'queued'`, true)
}

// RetrySegment queues a failed or canceled segment again (reopening its job).
func (s *Store) RetrySegment(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *sql.Tx) error { return s.RetrySegmentTx(ctx, tx, id) })
}

// RetrySegmentTx is RetrySegment inside tx.
func (s *Store) RetrySegmentTx(ctx context.Context, tx *sql.Tx, id int64) error {
	return s.segmentCommandTx(ctx, tx, id, "retrying", []State{StateFailed, StateCanceled}, `state = 'queued', attempts = 0, error = '', not_before = 0`, true)
}

// CancelSegment cancels a queued, paused or running segment; it returns the running one's lease
// holder for the caller to interrupt.
func (s *Store) CancelSegment(ctx context.Context, id int64) ([]Running, error) {
	var out []Running
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.CancelSegmentTx(ctx, tx, id)
		return err
	})
	return out, err
}

// CancelSegmentTx is CancelSegment inside tx.
func (s *Store) CancelSegmentTx(ctx context.Context, tx *sql.Tx, id int64) ([]Running, error) {
	out, err := s.runningOf(ctx, tx, `id = ?`, id)
	if err != nil {
		return nil, err
	}
	return out, s.segmentCommandTx(ctx, tx, id, "canceling", []State{StateQueued, StatePaused, StateRunning}, `state = 'canceled', lease = ''`, false)
}

// EditSegment replaces a segment's spoken form (NFC-normalized) and marks it for re-render: it
// becomes new, leaves its job, and a running synthesis of the old text is returned for the
// caller to interrupt. Queue it again with an (interactive) job.
func (s *Store) EditSegment(ctx context.Context, id int64, spoken string) ([]Running, error) {
	var out []Running
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.EditSegmentTx(ctx, tx, id, spoken)
		return err
	})
	return out, err
}

// EditSegmentTx is EditSegment inside tx.
func (s *Store) EditSegmentTx(ctx context.Context, tx *sql.Tx, id int64, spoken string) ([]Running, error) {
	out, err := s.runningOf(ctx, tx, `id = ?`, id)
	if err != nil {
		return nil, err
	}
	var jobID sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT job_id FROM segments WHERE id = ?`, id).Scan(&jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("editing segment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if _, err = tx.ExecContext(ctx, `UPDATE segments SET spoken_text = ?, state = 'new', job_id = NULL, lease = '',
		render_hash = '', seconds = 0, error = '', attempts = 0, not_before = 0 WHERE id = ?`, nfc(spoken), id); err != nil {
		return nil, err
	}
	if jobID.Valid {
		if _, err = s.refreshJob(ctx, tx, jobID.Int64); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) segmentCommandTx(ctx context.Context, tx *sql.Tx, id int64, verb string, from []State, set string, needsJob bool) error {
	var st State
	var jobID sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT state, job_id FROM segments WHERE id = ?`, id).Scan(&st, &jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s segment %d: %w", verb, id, ErrNotFound)
	}
	if err != nil {
		return err
	}
	if !slices.Contains(from, st) {
		return fmt.Errorf("%s segment %d (%s): %w", verb, id, st, ErrWrongState)
	}
	if !jobID.Valid && needsJob {
		return fmt.Errorf("%s segment %d: it belongs to no job; queue it first: %w", verb, id, ErrWrongState)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE segments SET `+set+` WHERE id = ?`, id); err != nil {
		return err
	}
	if !jobID.Valid {
		return nil
	}
	if verb == "retrying" {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued' WHERE id = ? AND state IN ('done', 'failed', 'canceled')`, jobID.Int64); err != nil {
			return err
		}
	}
	_, err = s.refreshJob(ctx, tx, jobID.Int64)
	return err
}

func (s *Store) runningOf(ctx context.Context, tx *sql.Tx, where string, arg any) ([]Running, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, lease FROM segments WHERE state = 'running' AND `+where, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Running
	for rows.Next() {
		var r Running
		if err := rows.Scan(&r.SegmentID, &r.Lease); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Store) jobState(ctx context.Context, tx *sql.Tx, id int64) (State, error) {
	var st State
	err := tx.QueryRowContext(ctx, `SELECT state FROM jobs WHERE id = ?`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	return st, err
}

// RenderOf returns the render row with hash, or ok false.
func (s *Store) RenderOf(ctx context.Context, hash string) (Render, bool, error) {
	var r Render
	err := s.readRow(ctx, `SELECT hash, path, seconds, tokens, bytes, sha256 FROM renders WHERE hash = ?`, hash).
		Scan(&r.Hash, &r.Path, &r.Seconds, &r.Tokens, &r.Bytes, &r.SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("reading render %s: %w", hash, err)
	}
	return r, true, nil
}

// Renders lists every render row.
func (s *Store) Renders(ctx context.Context) ([]Render, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT hash, path, seconds, tokens, bytes, sha256 FROM renders ORDER BY hash`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Render
	for rows.Next() {
		var r Render
		if err := rows.Scan(&r.Hash, &r.Path, &r.Seconds, &r.Tokens, &r.Bytes, &r.SHA256); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Recovery is what Recover found and repaired.
type Recovery struct {
	// Requeued is how many segments a dead process left running.
	Requeued int
	// BadRenders are render rows whose file was missing or corrupt (dropped; their segments
	// are queued again).
	BadRenders []string
	// Unrendered is how many done segments had no valid render and were queued again.
	Unrendered int
	// CountersRepaired is true when the job counters did not match the segments and were
	// recounted.
	CountersRepaired bool
}

// Recover makes the database consistent after a crash. It must run before any claim, while no
// other process uses the database (the app holds a single-instance lock): SQLite's integrity
// check; segments left running go back to queued with attempts + 1; every render row is checked
// with verify (file present, right hash) and dropped when it fails; done segments without a
// valid render are queued again (or made new when no unfinished job owns them); job counters are
// checked against the segments (and recounted if they differ); job states are recomputed.
func (s *Store) Recover(ctx context.Context, verify func(Render) error) (Recovery, error) {
	var rec Recovery
	if err := s.IntegrityCheck(ctx); err != nil {
		return rec, err
	}
	if err := s.CheckCounters(ctx); err != nil {
		s.log.Warn("job counters repaired", "err", err)
		rec.CountersRepaired = true
	}
	renders, err := s.Renders(ctx)
	if err != nil {
		return rec, err
	}
	var bad []string
	for _, r := range renders {
		if err := verify(r); err != nil {
			s.log.Warn("render dropped", "hash", r.Hash, "err", err)
			bad = append(bad, r.Hash)
		}
	}
	rec.BadRenders = bad
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE segments SET state = 'queued', lease = '', attempts = attempts + 1 WHERE state = 'running'`)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		rec.Requeued = int(n)
		if rec.CountersRepaired {
			if err := recountTx(ctx, tx); err != nil {
				return err
			}
		}
		if len(bad) > 0 {
			ids, _ := jsonStrings(bad)
			if _, err := tx.ExecContext(ctx, `DELETE FROM renders WHERE hash IN (SELECT value FROM json_each(?))`, ids); err != nil {
				return err
			}
		}
		res, err = tx.ExecContext(ctx, `UPDATE segments SET render_hash = '', seconds = 0,
				state = CASE WHEN job_id IS NOT NULL AND (SELECT state FROM jobs WHERE id = job_id) NOT IN ('done', 'failed', 'canceled') THEN 'queued' ELSE 'new' END
			WHERE state = 'done' AND render_hash NOT IN (SELECT hash FROM renders)`)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		rec.Unrendered = int(n)
		// A finished job that lost a render gets the segment back to do.
		if n > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE segments SET state = 'queued' WHERE state = 'new' AND job_id IS NOT NULL AND render_hash = ''
				AND (SELECT state FROM jobs WHERE id = job_id) = 'done'`); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued' WHERE state = 'done'
				AND EXISTS (SELECT 1 FROM segments WHERE job_id = jobs.id AND state = 'queued')`); err != nil {
				return err
			}
		}
		ids, err := queryInts(ctx, tx, `SELECT id FROM jobs WHERE state IN ('queued', 'running')`)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'queued' WHERE id = ?`, id); err != nil {
				return err
			}
			if _, err := s.refreshJob(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rec, fmt.Errorf("recovering %s: %w", s.path, err)
	}
	if rec.Requeued > 0 || len(rec.BadRenders) > 0 || rec.Unrendered > 0 {
		s.log.Info("recovered after an interrupted run", "requeued", rec.Requeued, "bad_renders", len(rec.BadRenders), "unrendered", rec.Unrendered)
	}
	return rec, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryInts(ctx context.Context, q queryer, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

const recount = `WITH c AS (
		SELECT job_id, count(*) AS total, sum(state = 'queued') AS q, sum(state = 'running') AS r,
			sum(state = 'paused') AS p, sum(state = 'done') AS d, sum(state = 'failed') AS f,
			sum(state = 'canceled') AS x, coalesce(sum(iif(state = 'done', seconds, 0)), 0) AS secs
		FROM segments WHERE job_id IS NOT NULL GROUP BY job_id)`

// CheckCounters compares the job counters the triggers keep with a count of the segments, and
// returns an error naming the jobs that differ.
func (s *Store) CheckCounters(ctx context.Context) error {
	ids, err := queryInts(ctx, s.r, recount+` SELECT j.id FROM jobs j LEFT JOIN c ON c.job_id = j.id
		WHERE j.n_total != coalesce(c.total, 0) OR j.n_queued != coalesce(c.q, 0) OR j.n_running != coalesce(c.r, 0)
			OR j.n_paused != coalesce(c.p, 0) OR j.n_done != coalesce(c.d, 0) OR j.n_failed != coalesce(c.f, 0)
			OR j.n_canceled != coalesce(c.x, 0) OR abs(j.audio_seconds - coalesce(c.secs, 0)) > 1e-6`)
	if err != nil {
		return fmt.Errorf("checking job counters: %w", err)
	}
	if len(ids) > 0 {
		return fmt.Errorf("the counters of jobs %v do not match their segments", ids)
	}
	return nil
}

// recountTx sets every job's counters from its segments.
func recountTx(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, recount+` UPDATE jobs SET
		n_total = coalesce((SELECT total FROM c WHERE c.job_id = jobs.id), 0),
		n_queued = coalesce((SELECT q FROM c WHERE c.job_id = jobs.id), 0),
		n_running = coalesce((SELECT r FROM c WHERE c.job_id = jobs.id), 0),
		n_paused = coalesce((SELECT p FROM c WHERE c.job_id = jobs.id), 0),
		n_done = coalesce((SELECT d FROM c WHERE c.job_id = jobs.id), 0),
		n_failed = coalesce((SELECT f FROM c WHERE c.job_id = jobs.id), 0),
		n_canceled = coalesce((SELECT x FROM c WHERE c.job_id = jobs.id), 0),
		audio_seconds = coalesce((SELECT secs FROM c WHERE c.job_id = jobs.id), 0)`)
	return err
}

// ActiveJobs counts the jobs that can still be claimed from (queued or running).
func (s *Store) ActiveJobs(ctx context.Context) (int, error) {
	var n int
	err := s.readRow(ctx, `SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')`).Scan(&n)
	return n, err
}

// The statements run for every segment, prepared once at Open.
const (
	qClaimJob = `SELECT j.id FROM jobs j WHERE j.n_queued > 0 AND j.state IN ('queued', 'running')
		AND EXISTS (SELECT 1 FROM segments s WHERE s.job_id = j.id AND s.state = 'queued' AND s.not_before <= ?)
		ORDER BY j.priority DESC, j.served, j.position LIMIT 1`
	qClaimWake = `SELECT min(s.not_before) FROM jobs j JOIN segments s ON s.job_id = j.id
		WHERE j.n_queued > 0 AND j.state IN ('queued', 'running') AND s.state = 'queued'`
	qClaimSegment = `SELECT ` + segmentColumns + ` FROM segments s
		WHERE s.job_id = ? AND s.state = 'queued' AND s.not_before <= ? ORDER BY s.id LIMIT 1`
	qMarkRunning  = `UPDATE segments SET state = 'running', lease = ? WHERE id = ?`
	qMarkServed   = `UPDATE jobs SET state = 'running', served = (SELECT max(served) FROM jobs) + 1 WHERE id = ?`
	qInsertRender = `INSERT INTO renders (hash, path, seconds, tokens, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hash) DO UPDATE SET path = excluded.path, seconds = excluded.seconds, tokens = excluded.tokens,
			bytes = excluded.bytes, sha256 = excluded.sha256`
	settleWhere  = ` WHERE id = ? AND state = 'running' AND lease = ? AND lease != '' RETURNING job_id`
	qComplete    = `UPDATE segments SET state = 'done', render_hash = ?, seconds = ?, error = '', lease = ''` + settleWhere
	qFail        = `UPDATE segments SET state = 'failed', attempts = attempts + 1, error = ?, lease = ''` + settleWhere
	qRetryLater  = `UPDATE segments SET state = 'queued', attempts = attempts + 1, error = ?, not_before = ?, lease = ''` + settleWhere
	qRequeue     = `UPDATE segments SET state = 'queued', lease = ''` + settleWhere
	qSetJobState = `UPDATE jobs SET state = ? WHERE id = ?`
)

var hotStatements = []string{qClaimJob, qClaimWake, qClaimSegment, qMarkRunning, qMarkServed, qInsertRender,
	qComplete, qFail, qRetryLater, qRequeue, qSetJobState, jobQuery}
