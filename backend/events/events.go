// Package events carries what the backend tells the GUI and the CLI while work runs: typed events
// for jobs (progress, ETA), segments (done, failed with a reason) and synthesis instances (state,
// pool size), on a Bus that subscribers read at their own pace.
//
// Events that only restate a current value (job progress, an instance's state) are coalesced per
// stream: at most one per Bus interval (100 ms by default, about ten a second), and the latest
// value always arrives. Events that report something that happened (a segment done or failed, the
// pool shrinking) are never dropped or merged.
package events

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Event is one message on the bus.
type Event interface {
	// Stream names the sequence the event belongs to ("job:12"); coalescing is per stream.
	Stream() string
	// Coalesce is true when a newer event of the same stream makes this one obsolete.
	Coalesce() bool
}

// JobProgress is the state of one job.
type JobProgress struct {
	JobID int64
	State string
	// Done, Failed, Canceled and Total count the job's segments.
	Done, Failed, Canceled, Total int
	// AudioSeconds is the duration of the audio rendered so far.
	AudioSeconds float64
	// ETA is the estimated time to finish the queued segments at the measured throughput;
	// ETAKnown is false until there is a measurement.
	ETA      time.Duration
	ETAKnown bool
}

func (e JobProgress) Stream() string { return fmt.Sprintf("job:%d", e.JobID) }
func (e JobProgress) Coalesce() bool { return true }

// SegmentDone reports a rendered segment.
type SegmentDone struct {
	SegmentID, JobID int64
	RenderKey        string
	Seconds          float64
	// CacheHit is true when the render already existed and no synthesis ran.
	CacheHit bool
}

func (e SegmentDone) Stream() string { return fmt.Sprintf("segment:%d", e.SegmentID) }
func (e SegmentDone) Coalesce() bool { return false }

// SegmentFailed reports a failed try of a segment.
type SegmentFailed struct {
	SegmentID, JobID int64
	// Reason says what happened and what to do.
	Reason string
	// Class is the recovery class ("bad input", "transient", "instance dead", "out of memory").
	Class string
	// WillRetry is true when the segment was queued again.
	WillRetry bool
}

func (e SegmentFailed) Stream() string { return fmt.Sprintf("segment:%d", e.SegmentID) }
func (e SegmentFailed) Coalesce() bool { return false }

// InstanceState is the state of one synthesis instance, or (Instance -1) a change of the pool's
// effective size.
type InstanceState struct {
	Instance int
	State    string
	Size     int
	Reason   string
	Err      string
}

func (e InstanceState) Stream() string {
	if e.Instance < 0 {
		return "pool"
	}
	return fmt.Sprintf("instance:%d", e.Instance)
}

// Coalesce: an instance's loading/idle/busy flips are coalesced; failures, rebuilds and changes
// of the pool are not.
func (e InstanceState) Coalesce() bool {
	return e.Instance >= 0 && (e.State == "loading" || e.State == "idle" || e.State == "busy")
}

// StorageState says whether rendering is held because the disk of the render cache is full: the
// scheduler stops starting segments, puts back the one it could not save (its attempt not counted),
// and starts again by itself once a test write fits.
type StorageState struct {
	Full bool
	// Dir is the render cache's folder, where space must be freed.
	Dir string
	// Err is what failed, when Full.
	Err string
}

func (e StorageState) Stream() string { return "storage" }
func (e StorageState) Coalesce() bool { return false }

// ErrClosed is returned by Next once the subscription or the bus is closed and drained.
var ErrClosed = errors.New("event subscription is closed")

// DefaultInterval is the coalescing interval: about ten events a second per stream.
const DefaultInterval = 100 * time.Millisecond

// MaxQueue is the most events one subscription holds; beyond it the oldest are dropped and
// counted (a subscriber that stops reading must not make the backend run out of memory).
const MaxQueue = 10000

// Bus delivers events to subscribers. Publish never blocks. The zero value is not usable; use
// NewBus. Close releases its timers.
type Bus struct {
	interval time.Duration

	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	streams map[string]*stream
	closed  bool
}

type stream struct {
	last    time.Time
	pending Event
	timer   *time.Timer
}

// NewBus returns a bus that coalesces to one event per stream per interval (DefaultInterval when
// interval ≤ 0).
func NewBus(interval time.Duration) *Bus {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Bus{interval: interval, subs: map[*Subscription]struct{}{}, streams: map[string]*stream{}}
}

// Publish sends ev to every subscriber, now or (for a coalesced stream) within one interval.
// Publishing on a closed bus does nothing.
func (b *Bus) Publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	if !ev.Coalesce() {
		b.deliverLocked(ev)
		return
	}
	key := ev.Stream()
	st := b.streams[key]
	if st == nil {
		st = &stream{}
		b.streams[key] = st
	}
	now := time.Now()
	if st.timer == nil && now.Sub(st.last) >= b.interval {
		st.last = now
		b.deliverLocked(ev)
		return
	}
	st.pending = ev
	if st.timer == nil {
		st.timer = time.AfterFunc(st.last.Add(b.interval).Sub(now), func() { b.flush(key) })
	}
}

func (b *Bus) flush(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.streams[key]
	if b.closed || st == nil || st.pending == nil {
		return
	}
	ev := st.pending
	st.pending, st.timer, st.last = nil, nil, time.Now()
	b.deliverLocked(ev)
}

func (b *Bus) deliverLocked(ev Event) {
	for s := range b.subs {
		s.push(ev)
	}
}

// Subscribe returns a subscription that receives every event published from now on.
func (b *Bus) Subscribe() *Subscription {
	s := &Subscription{b: b, notify: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.closed = true
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Close delivers the pending coalesced events, stops the timers and closes every subscription;
// subscribers still drain what they were sent.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for _, st := range b.streams {
		if st.timer != nil {
			st.timer.Stop()
		}
		if st.pending != nil {
			b.deliverLocked(st.pending)
		}
	}
	b.closed = true
	b.streams = nil
	for s := range b.subs {
		s.close()
	}
	b.subs = nil
}

// Subscription is one reader's queue of events.
type Subscription struct {
	b       *Bus
	notify  chan struct{}
	mu      sync.Mutex
	queue   []Event
	dropped int
	closed  bool
}

func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	if len(s.queue) >= MaxQueue {
		s.queue = s.queue[1:]
		s.dropped++
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *Subscription) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting until one arrives, ctx ends, or the subscription is closed
// and drained (ErrClosed).
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ev := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return ev, nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		select {
		case <-s.notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Dropped is the number of events dropped because the queue was full.
func (s *Subscription) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Close unsubscribes. Events already queued can still be read.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	delete(s.b.subs, s)
	s.b.mu.Unlock()
	s.close()
}
