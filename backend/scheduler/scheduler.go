// Package scheduler turns queued segments into renders. It claims one segment at a time from the
// store, and only when a pool instance is free, so every instance stays busy on one book and the
// durable backlog never turns into an in-memory one. It writes each result to the render cache and
// completes the segment with the lease it was claimed with; it retries transient failures with
// backoff, lets the pool rebuild dead instances, and reaches a running synthesis through its
// context when the user cancels or edits the segment. Every command the GUI or the CLI gives
// (queue, pause, resume, cancel, retry, reorder, edit) goes through the Scheduler so the loop
// wakes at once.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/render"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference"
)

// Config configures a Scheduler.
type Config struct {
	Store *store.Store
	Pool  *inference.Pool
	Cache *render.Cache
	// Bus receives job, segment and (through PoolEvents) instance events; nil publishes nothing.
	Bus *events.Bus
	// ModelID and Pipeline go into every render key: a new model or pipeline renders afresh.
	ModelID  string
	Pipeline string
	// MaxAttempts is how many tries a segment gets before a transient or instance failure fails
	// it for good. Default 3.
	MaxAttempts int
	// Backoff is the wait before retry n (n ≥ 1) after a transient failure. Default 1s·2^(n-1),
	// at most 30s. Retries after an instance died are not delayed.
	Backoff func(n int) time.Duration
	// PollInterval bounds how long the loop sleeps without a wake-up (commands wake it at once).
	// Default 5s.
	PollInterval time.Duration
	// SpaceCheck is how often, while the render cache's disk is full, a test write checks whether
	// space was freed. Default 10s.
	SpaceCheck time.Duration
	Logger     *slog.Logger
}

// Scheduler runs the queue. Run starts it; Stop stops it.
type Scheduler struct {
	cfg  Config
	st   *store.Store
	log  *slog.Logger
	poke chan struct{}

	mu         sync.Mutex
	running    bool
	stopLoop   context.CancelFunc
	loopDone   chan struct{}
	workCtx    context.Context
	cancelWork context.CancelFunc
	work       sync.WaitGroup
	inflight   map[int64]inflight // by segment id
	rate       throughput
	loopErr    error
	active     int       // unfinished jobs, for the ETA
	activeAt   time.Time // when active was read
	// full is set while a disk is full (the render cache's or the database's): what failed, the
	// folder on that disk, and how much a test write there must fit before rendering starts again.
	full     error
	fullDir  string
	fullSize int64
}

type inflight struct {
	lease  string
	cancel context.CancelFunc
}

// New returns a scheduler; Run starts it.
func New(cfg Config) *Scheduler {
	if cfg.MaxAttempts < 1 {
		cfg.MaxAttempts = 3
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return min(time.Second<<(n-1), 30*time.Second) }
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	if cfg.SpaceCheck <= 0 {
		cfg.SpaceCheck = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{cfg: cfg, st: cfg.Store, log: log, poke: make(chan struct{}, 1), inflight: map[int64]inflight{}}
}

// PoolEvents returns a pool OnEvent hook that publishes instance states on bus.
func PoolEvents(bus *events.Bus) func(inference.PoolEvent) {
	return func(ev inference.PoolEvent) {
		e := events.InstanceState{Instance: ev.Instance, State: string(ev.State), Size: ev.Size, Reason: ev.Reason.Text}
		if ev.Err != nil {
			e.Err = ev.Err.Error()
		}
		bus.Publish(e)
	}
}

// Run recovers from an interrupted run (store.Recover: rows left running go back to the queue,
// render rows are checked against their files, temporary files are removed), starts the pool and
// the dispatch loop, and returns. It fails when recovery finds the database damaged.
func (s *Scheduler) Run(ctx context.Context) (store.Recovery, error) {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return store.Recovery{}, errors.New("scheduler is already running")
	}
	s.mu.Unlock()
	if _, err := s.cfg.Cache.CleanTemp(); err != nil {
		return store.Recovery{}, fmt.Errorf("cleaning the render cache: %w", err)
	}
	rec, err := s.st.Recover(ctx, func(r store.Render) error {
		return s.cfg.Cache.Verify(render.Entry{Name: r.Path, Bytes: r.Bytes, SHA256: r.SHA256})
	})
	if err != nil {
		return rec, err
	}
	s.cfg.Pool.Start()
	s.mu.Lock()
	defer s.mu.Unlock()
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.workCtx, s.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	s.stopLoop, s.loopDone, s.running = stop, make(chan struct{}), true
	go s.loop(loopCtx)
	return rec, nil
}

// Stop stops claiming, lets running segments finish until ctx ends, then interrupts the rest
// (they go back to the queue) and waits for them. The pool is not closed.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return nil
	}
	s.running = false
	s.stopLoop()
	done := s.loopDone
	s.mu.Unlock()
	<-done
	finished := make(chan struct{})
	go func() { s.work.Wait(); close(finished) }()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		err = fmt.Errorf("stopping the scheduler: running segments were interrupted and queued again: %w", ctx.Err())
		s.cancelWork()
		<-finished
	}
	s.cancelWork()
	return err
}

// wake makes the loop look for work now.
func (s *Scheduler) wake() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.loopDone)
	for {
		if !s.waitForSpace(ctx) {
			return
		}
		lease, err := s.cfg.Pool.Acquire(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("scheduler stopped: no synthesis instance", "err", err)
				s.mu.Lock()
				s.loopErr = err
				s.mu.Unlock()
			}
			return
		}
		c, ok, wakeAt, err := s.st.ClaimNext(ctx)
		if err != nil && ctx.Err() == nil {
			if store.IsFull(err) {
				s.hold(err, s.st.Dir(), dbWriteProbe)
			} else {
				s.log.Error("claiming a segment", "err", err)
			}
		}
		if !ok {
			lease.Release()
			if !s.sleep(ctx, wakeAt, err != nil) {
				return
			}
			continue
		}
		s.start(lease, c)
	}
}

// holdForSpace puts back a segment whose render did not fit on the disk (its attempt not counted:
// nothing is wrong with it) and holds rendering until space is freed (waitForSpace). The audio is
// dropped: keeping it in memory until then could take gigabytes.
func (s *Scheduler) holdForSpace(c store.Claim, err error, size int64) {
	if j, rerr := s.st.Requeue(context.Background(), c.Segment.ID, c.Lease); rerr == nil {
		s.progress(j)
	} else if !errors.Is(rerr, store.ErrLeaseLost) {
		s.log.Error("putting back a segment whose render did not fit", "segment", c.Segment.ID, "err", rerr)
	}
	s.hold(err, s.cfg.Cache.Dir(), 2*size)
}

// dbWriteProbe is what a test write in the database's folder must fit before rendering starts
// again after the database's disk was full: room for the write-ahead log to grow.
const dbWriteProbe = 4 << 20

// hold holds rendering because the disk of dir is full (err says what failed) until a test write
// of size bytes fits there (waitForSpace); the first hold tells the window.
func (s *Scheduler) hold(err error, dir string, size int64) {
	s.mu.Lock()
	first := s.full == nil
	if first || dir == s.fullDir {
		s.full, s.fullDir, s.fullSize = err, dir, max(s.fullSize, size)
	}
	s.mu.Unlock()
	if first {
		s.log.Error("a disk is full: rendering is held until space is freed", "dir", dir, "err", err)
		s.publish(events.StorageState{Full: true, Dir: dir, Err: err.Error()})
	}
}

// waitForSpace holds the loop while a disk is full: every SpaceCheck (or at a wake-up: a command,
// a segment settled) it tries a test write on that disk (twice the render that did not fit, or
// room for the database's log), and returns once one succeeds. It returns false when ctx ends
// first.
func (s *Scheduler) waitForSpace(ctx context.Context) bool {
	for {
		s.mu.Lock()
		full, dir, size := s.full, s.fullDir, s.fullSize
		s.mu.Unlock()
		if full == nil {
			return true
		}
		t := time.NewTimer(s.cfg.SpaceCheck)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-s.poke:
		case <-t.C:
		}
		t.Stop()
		if err := render.ProbeDir(dir, size); err != nil {
			continue
		}
		s.mu.Lock()
		s.full, s.fullDir, s.fullSize = nil, "", 0
		s.mu.Unlock()
		s.log.Info("there is space on the disk again: rendering resumes", "dir", dir)
		s.publish(events.StorageState{Full: false, Dir: dir})
	}
}

// StorageFull reports whether rendering is held by a full disk, and what failed.
func (s *Scheduler) StorageFull() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full == nil {
		return false, ""
	}
	return true, s.full.Error()
}

// sleep waits for a wake-up, the wake time, or the poll interval; false when ctx ended.
func (s *Scheduler) sleep(ctx context.Context, wakeAt time.Time, failed bool) bool {
	d := s.cfg.PollInterval
	if !wakeAt.IsZero() {
		d = min(d, max(time.Until(wakeAt), time.Millisecond))
	}
	if failed {
		d = min(d, time.Second)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.poke:
		return true
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Err is the error that stopped the loop on its own (no instance could be built), or nil.
func (s *Scheduler) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loopErr
}

func (s *Scheduler) start(lease *inference.Lease, c store.Claim) {
	ctx, cancel := context.WithCancel(s.workCtx)
	s.mu.Lock()
	s.inflight[c.Segment.ID] = inflight{lease: c.Lease, cancel: cancel}
	s.work.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.work.Done()
		defer s.wake()
		defer func() {
			s.mu.Lock()
			if f, ok := s.inflight[c.Segment.ID]; ok && f.lease == c.Lease {
				delete(s.inflight, c.Segment.ID)
			}
			s.mu.Unlock()
			cancel()
		}()
		s.process(ctx, lease, c)
	}()
}

// interrupt cancels the synthesis of segments whose leases a command voided.
func (s *Scheduler) interrupt(rs []store.Running) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		if f, ok := s.inflight[r.SegmentID]; ok && f.lease == r.Lease {
			f.cancel()
		}
	}
}

// cached returns the render key of segment g read with seed, and its render when the cache holds
// it intact (a hit: no synthesis needed).
func (s *Scheduler) cached(ctx context.Context, g store.Segment, seed uint64) (render.Key, store.Render, bool) {
	key := render.KeyOf(render.Inputs{Model: s.cfg.ModelID, Voice: g.Voice, Text: g.Spoken, Speed: g.Speed, Seed: seed, Pipeline: s.cfg.Pipeline})
	r, ok, err := s.st.RenderOf(ctx, string(key))
	if err != nil || !ok || s.cfg.Cache.Verify(render.Entry{Name: r.Path, Bytes: r.Bytes, SHA256: r.SHA256}) != nil {
		return key, store.Render{}, false
	}
	return key, r, true
}

// process renders one claimed segment and settles it in the store.
func (s *Scheduler) process(ctx context.Context, lease *inference.Lease, c store.Claim) {
	g := c.Segment
	key, r, ok := s.cached(ctx, g, g.Seed)
	if ok {
		lease.Release()
		s.complete(ctx, c, r, true)
		return
	}
	started := time.Now()
	audio, err := lease.Synthesize(ctx, inference.Request{
		ID: fmt.Sprintf("seg-%d", g.ID), Text: g.Spoken, Voice: g.Voice, Speed: g.Speed, Seed: g.Seed,
	})
	lease.Release()
	if err != nil {
		s.failed(c, err, ctx.Err() != nil)
		return
	}
	e, err := s.cfg.Cache.Put(key, audio.Samples)
	if errors.Is(err, render.ErrNoSpace) {
		s.holdForSpace(c, err, render.EncodedSize(len(audio.Samples)))
		return
	}
	if err != nil {
		s.failed(c, inference.Errorf(inference.ClassTransient, "%w", err), false)
		return
	}
	s.log.Debug("segment synthesized", "segment", g.ID, "seconds", e.Seconds, "took", time.Since(started))
	s.complete(ctx, c, store.Render{Hash: string(key), Path: e.Name, Seconds: e.Seconds, Tokens: audio.Tokens, Bytes: e.Bytes, SHA256: e.SHA256}, false)
}

func (s *Scheduler) complete(ctx context.Context, c store.Claim, r store.Render, hit bool) {
	// Completing must not be cut short by an interruption that came after the audio was made. When
	// the database's disk is full the render is safe in the cache: rendering is held and the
	// completion tried again until it is written, or the scheduler stops (then the next start's
	// recovery finds the segment running and queues it again; its render is a cache hit).
	j, err := s.st.Complete(context.WithoutCancel(ctx), c.Segment.ID, c.Lease, r)
	for store.IsFull(err) {
		s.hold(err, s.st.Dir(), dbWriteProbe)
		t := time.NewTimer(s.cfg.SpaceCheck)
		select {
		case <-s.workCtx.Done():
			t.Stop()
			s.log.Warn("stopping with a finished segment not yet recorded: the next start queues it again", "segment", c.Segment.ID)
			return
		case <-t.C:
		}
		j, err = s.st.Complete(context.WithoutCancel(ctx), c.Segment.ID, c.Lease, r)
	}
	if errors.Is(err, store.ErrLeaseLost) {
		s.log.Debug("result discarded: the segment changed while it was rendered", "segment", c.Segment.ID)
		return
	}
	if err != nil {
		s.log.Error("recording a finished segment", "segment", c.Segment.ID, "err", err)
		return
	}
	s.mu.Lock()
	s.rate.add(time.Now())
	s.mu.Unlock()
	s.publish(events.SegmentDone{SegmentID: c.Segment.ID, JobID: j.ID, RenderKey: r.Hash, Seconds: r.Seconds, CacheHit: hit})
	s.progress(j)
}

// failed settles a segment whose synthesis failed: interrupted segments go back to the queue (when
// their lease still holds), bad input fails at once, other failures retry until MaxAttempts.
func (s *Scheduler) failed(c store.Claim, err error, interrupted bool) {
	ctx := context.Background()
	g := c.Segment
	class := inference.Classify(err)
	if interrupted {
		j, rerr := s.st.Requeue(ctx, g.ID, c.Lease)
		if rerr == nil {
			s.progress(j)
		} else if !errors.Is(rerr, store.ErrLeaseLost) {
			s.log.Error("requeueing an interrupted segment", "segment", g.ID, "err", rerr)
		}
		return
	}
	if class == inference.ClassCanceled {
		class = inference.ClassTransient // the engine gave up on its own: not our cancellation
	}
	attempt := g.Attempts + 1
	reason := err.Error()
	var j store.Job
	var serr error
	retry := class != inference.ClassBadInput && attempt < s.cfg.MaxAttempts
	switch {
	case !retry:
		if class != inference.ClassBadInput {
			reason = fmt.Sprintf("%s (gave up after %d attempts; retry the segment, or check the model with doctor)", reason, attempt)
		}
		j, serr = s.st.Fail(ctx, g.ID, c.Lease, reason)
	case class == inference.ClassTransient:
		j, serr = s.st.RetryLater(ctx, g.ID, c.Lease, time.Now().Add(s.cfg.Backoff(attempt)), reason)
	default: // the instance died: another one (or its rebuild) takes the segment at once
		j, serr = s.st.RetryLater(ctx, g.ID, c.Lease, time.Time{}, reason)
	}
	if errors.Is(serr, store.ErrLeaseLost) {
		return
	}
	if serr != nil {
		s.log.Error("recording a failed segment", "segment", g.ID, "err", serr)
		return
	}
	s.log.Warn("segment failed", "segment", g, "class", class, "attempt", attempt, "retry", retry, "err", err)
	s.publish(events.SegmentFailed{SegmentID: g.ID, JobID: j.ID, Reason: reason, Class: class.String(), WillRetry: retry})
	s.progress(j)
}

func (s *Scheduler) publish(ev events.Event) {
	if s.cfg.Bus != nil {
		s.cfg.Bus.Publish(ev)
	}
}

// progress publishes a job's counts with an ETA from the measured throughput, shared between the
// unfinished jobs (round robin gives each an equal share).
func (s *Scheduler) progress(j store.Job) {
	if s.cfg.Bus == nil || j.ID == 0 {
		return
	}
	ev := events.JobProgress{JobID: j.ID, State: string(j.State), Done: j.Done, Failed: j.Failed, Canceled: j.Canceled,
		Total: j.Total, AudioSeconds: j.AudioSeconds}
	s.mu.Lock()
	perSecond := s.rate.perSecond()
	s.mu.Unlock()
	if perSecond > 0 && j.Remaining() > 0 {
		active := s.activeJobs()
		ev.ETA = time.Duration(float64(j.Remaining()) * float64(active) / perSecond * float64(time.Second))
		ev.ETAKnown = true
	}
	s.cfg.Bus.Publish(ev)
}

// activeJobs is the number of unfinished jobs, read from the store at most every 200 ms (it only
// feeds the ETA).
func (s *Scheduler) activeJobs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.activeAt) > 200*time.Millisecond {
		if n, err := s.st.ActiveJobs(context.Background()); err == nil {
			s.active, s.activeAt = max(n, 1), time.Now()
		}
	}
	return max(s.active, 1)
}

// throughput measures completions per second over the last few completions.
type throughput struct {
	times [32]time.Time
	n     int
}

func (t *throughput) add(at time.Time) {
	t.times[t.n%len(t.times)] = at
	t.n++
}

func (t *throughput) perSecond() float64 {
	k := min(t.n, len(t.times))
	if k < 2 {
		return 0
	}
	last := t.times[(t.n-1)%len(t.times)]
	first := t.times[(t.n-k)%len(t.times)]
	span := last.Sub(first).Seconds()
	if span <= 0 {
		return 0
	}
	return float64(k-1) / span
}
