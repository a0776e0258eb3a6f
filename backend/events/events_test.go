package events

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func next(t *testing.T, s *Subscription) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ev, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("next event: %v", err)
	}
	return ev
}

func TestSegmentEventsAreNeverMergedOrDropped(t *testing.T) {
	b := NewBus(time.Hour)
	defer b.Close()
	s := b.Subscribe()
	for i := range 100 {
		b.Publish(SegmentDone{SegmentID: int64(i)})
	}
	for i := range 100 {
		if ev := next(t, s).(SegmentDone); ev.SegmentID != int64(i) {
			t.Fatalf("event %d is segment %d", i, ev.SegmentID)
		}
	}
}

func TestJobProgressIsCoalescedAndTheLatestArrives(t *testing.T) {
	b := NewBus(50 * time.Millisecond)
	defer b.Close()
	s := b.Subscribe()
	start := time.Now()
	for i := 1; i <= 1000; i++ {
		b.Publish(JobProgress{JobID: 1, Done: i, Total: 1000})
		b.Publish(JobProgress{JobID: 2, Done: i, Total: 1000})
	}
	published := time.Since(start)
	got := map[int64][]int{}
	for got[1] == nil || got[1][len(got[1])-1] != 1000 || got[2] == nil || got[2][len(got[2])-1] != 1000 {
		ev := next(t, s).(JobProgress)
		got[ev.JobID] = append(got[ev.JobID], ev.Done)
	}
	// One at once, then at most one per interval while publishing, then the last one.
	limit := 2 + int(published/(50*time.Millisecond)) + 1
	for job, dones := range got {
		if len(dones) > limit {
			t.Errorf("job %d: %d events for %v of publishing, want at most %d", job, len(dones), published, limit)
		}
		if dones[0] != 1 {
			t.Errorf("job %d: first event %d, want 1 (delivered at once)", job, dones[0])
		}
	}
}

func TestPoolResizeIsNotCoalesced(t *testing.T) {
	b := NewBus(time.Hour)
	defer b.Close()
	s := b.Subscribe()
	b.Publish(InstanceState{Instance: 0, State: "busy"})
	b.Publish(InstanceState{Instance: 0, State: "idle"}) // coalesced: waits an hour
	b.Publish(InstanceState{Instance: -1, State: "retired", Size: 1, Reason: "out of memory"})
	if ev := next(t, s).(InstanceState); ev.State != "busy" {
		t.Fatalf("first %+v", ev)
	}
	if ev := next(t, s).(InstanceState); ev.Instance != -1 || ev.Size != 1 {
		t.Fatalf("second %+v", ev)
	}
}

func TestCloseFlushesPendingAndEndsSubscriptions(t *testing.T) {
	b := NewBus(time.Hour)
	s := b.Subscribe()
	b.Publish(JobProgress{JobID: 1, Done: 1})
	b.Publish(JobProgress{JobID: 1, Done: 2})
	b.Close()
	b.Publish(JobProgress{JobID: 1, Done: 3}) // after close: dropped
	if ev := next(t, s).(JobProgress); ev.Done != 1 {
		t.Fatalf("%+v", ev)
	}
	if ev := next(t, s).(JobProgress); ev.Done != 2 {
		t.Fatalf("pending event not flushed on close: %+v", ev)
	}
	if _, err := s.Next(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after drain: %v", err)
	}
}

func TestNextHonoursItsContextAndUnsubscribeStopsDelivery(t *testing.T) {
	b := NewBus(0)
	defer b.Close()
	s := b.Subscribe()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v", err)
		}
	})
	cancel()
	wg.Wait()
	s.Close()
	b.Publish(SegmentDone{SegmentID: 1})
	if _, err := s.Next(t.Context()); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed subscription got %v", err)
	}
}

func TestASlowSubscriberLosesOldestEventsNotMemory(t *testing.T) {
	b := NewBus(0)
	defer b.Close()
	s := b.Subscribe()
	for i := range MaxQueue + 5 {
		b.Publish(SegmentDone{SegmentID: int64(i)})
	}
	if s.Dropped() != 5 {
		t.Fatalf("dropped %d", s.Dropped())
	}
	if ev := next(t, s).(SegmentDone); ev.SegmentID != 5 {
		t.Fatalf("oldest kept is %d", ev.SegmentID)
	}
}
