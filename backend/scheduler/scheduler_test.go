package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/testengine"
)

func finished(b *bundle, t testing.TB, ids ...int64) func() bool {
	return func() bool {
		for _, id := range ids {
			if !b.jobState(t, id).State.Finished() {
				return false
			}
		}
		return true
	}
}

func TestABookIsRenderedAndEverySegmentHasItsOwnAudio(t *testing.T) {
	b := setup(t, t.TempDir(), options{})
	ctx := t.Context()
	p := b.project(t, "Truyện ngắn", 3, 7)
	j, err := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	b.waitUntil(t, "job done", finished(b, t, j.ID))
	jj := b.jobState(t, j.ID)
	if jj.State != store.StateDone || jj.Done != 21 || jj.AudioSeconds <= 0 {
		t.Fatalf("job %+v", jj)
	}
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{ProjectID: p.ID})
	if n := b.checkIdentity(t, segs); n != 21 {
		t.Fatalf("%d segments checked", n)
	}
}

func TestUnchangedInputIsACacheHit(t *testing.T) {
	b := setup(t, t.TempDir(), options{})
	ctx := t.Context()
	p1 := b.project(t, "Giống nhau", 1, 3)
	j1, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p1.ID})
	b.waitUntil(t, "first job", finished(b, t, j1.ID))
	calls := b.factory.Calls()
	p2 := b.project(t, "Giống nhau", 1, 3) // same texts, voice, seeds
	j2, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p2.ID})
	b.waitUntil(t, "second job", finished(b, t, j2.ID))
	if b.factory.Calls() != calls {
		t.Fatalf("%d syntheses for unchanged input", b.factory.Calls()-calls)
	}
	if jj := b.jobState(t, j2.ID); jj.Done != 3 {
		t.Fatalf("job %+v", jj)
	}
}

func TestInstanceDyingMidSegmentIsRebuiltAndTheSegmentRetried(t *testing.T) {
	var died atomic.Bool
	b := setup(t, t.TempDir(), options{size: 1, engine: testengine.Config{Fault: func(c testengine.Call) error {
		if died.CompareAndSwap(false, true) {
			return inference.Errorf(inference.ClassInstanceDead, "CUDA error: unspecified launch failure")
		}
		return nil
	}}})
	ctx := t.Context()
	p := b.project(t, "Sập", 1, 3)
	j, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	var sawRetry, sawRebuilt bool
	deadline, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for !(sawRetry && sawRebuilt && b.jobState(t, j.ID).State == store.StateDone) {
		ev, err := b.sub.Next(deadline)
		if err != nil {
			t.Fatalf("retry %v rebuilt %v: %v", sawRetry, sawRebuilt, err)
		}
		switch e := ev.(type) {
		case events.SegmentFailed:
			sawRetry = sawRetry || e.WillRetry && e.Class == "instance dead"
		case events.InstanceState:
			sawRebuilt = sawRebuilt || e.State == string(inference.StateRebuilt)
		}
	}
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{JobID: j.ID})
	if segs[0].Attempts != 1 || b.factory.Builds() != 2 {
		t.Fatalf("first segment attempts %d, builds %d", segs[0].Attempts, b.factory.Builds())
	}
	b.checkIdentity(t, segs)
}

func TestRepeatedOutOfMemoryRunsOneInstanceAndSaysSo(t *testing.T) {
	var ooms atomic.Int32
	b := setup(t, t.TempDir(), options{size: 3, maxAttempts: 10, engine: testengine.Config{Fault: func(c testengine.Call) error {
		if ooms.Add(1) <= 4 {
			return inference.Errorf(inference.ClassOutOfMemory, "CUDA out of memory: tried to allocate 512 MiB")
		}
		return nil
	}}})
	ctx := t.Context()
	p := b.project(t, "Bộ nhớ", 1, 6)
	j, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	var shrunk []events.InstanceState
	deadline, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for len(shrunk) < 2 || b.jobState(t, j.ID).State != store.StateDone {
		ev, err := b.sub.Next(deadline)
		if err != nil {
			t.Fatalf("pool events %+v: %v", shrunk, err)
		}
		if e, ok := ev.(events.InstanceState); ok && e.Instance == -1 && e.State == string(inference.StateRetired) {
			shrunk = append(shrunk, e)
		}
	}
	last := shrunk[len(shrunk)-1]
	if last.Size != 1 || !strings.Contains(last.Reason, "out of memory") || !strings.Contains(last.Reason, "running 1 instance") {
		t.Fatalf("last pool event %+v", last)
	}
	if n, _ := b.pool.Size(); n != 1 {
		t.Fatalf("pool size %d", n)
	}
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{JobID: j.ID})
	if b.checkIdentity(t, segs) != 6 {
		t.Fatal("not every segment done")
	}
}

func TestBadInputFailsTheSegmentWithAReason(t *testing.T) {
	b := setup(t, t.TempDir(), options{})
	ctx := t.Context()
	p, err := b.sched.CreateProject(ctx, store.NewProject{Title: "Rỗng", Chapters: []store.NewChapter{{Segments: []store.NewSegment{
		{Source: "…", Spoken: "", Voice: "nu"}, {Source: "Có chữ", Spoken: "có chữ", Voice: "nu"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	j, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	b.waitUntil(t, "job finished", finished(b, t, j.ID))
	jj := b.jobState(t, j.ID)
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{JobID: j.ID})
	if jj.State != store.StateFailed || jj.Done != 1 || segs[0].State != store.StateFailed || !strings.Contains(segs[0].Error, "no text") {
		t.Fatalf("job %+v, segment %+v", jj, segs[0])
	}
	if segs[0].Attempts != 1 || b.factory.Calls() != 2 {
		t.Fatalf("bad input was retried: attempts %d, calls %d", segs[0].Attempts, b.factory.Calls())
	}
}

func TestTransientFailuresAreRetriedThenGiveUp(t *testing.T) {
	b := setup(t, t.TempDir(), options{maxAttempts: 3, engine: testengine.Config{Fault: func(c testengine.Call) error {
		if strings.Contains(c.Req.Text, "câu 1.") {
			return inference.Errorf(inference.ClassTransient, "device busy")
		}
		if strings.Contains(c.Req.Text, "câu 2.") && c.Seq < 1 {
			return errors.New("unclassified hiccup")
		}
		return nil
	}}})
	ctx := t.Context()
	p := b.project(t, "Chập chờn", 1, 3)
	j, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	b.waitUntil(t, "job finished", finished(b, t, j.ID))
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{JobID: j.ID})
	if segs[0].State != store.StateFailed || segs[0].Attempts != 3 || !strings.Contains(segs[0].Error, "gave up after 3 attempts") {
		t.Fatalf("always failing segment %+v", segs[0])
	}
	if segs[1].State != store.StateDone || segs[2].State != store.StateDone {
		t.Fatalf("segments %+v %+v", segs[1], segs[2])
	}
	// Retry the job: the failed segment runs again (and fails again, three more times).
	if err := b.sched.RetryJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	b.waitUntil(t, "retried job finished", finished(b, t, j.ID))
	if g, _ := b.st.Segment(ctx, segs[0].ID); g.Attempts != 3 || g.State != store.StateFailed {
		t.Fatalf("after retry %+v", g)
	}
}

func TestCancelReachesTheRunningSynthesis(t *testing.T) {
	started := make(chan testengine.Call, 4)
	b := setup(t, t.TempDir(), options{size: 1, engine: testengine.Config{Latency: time.Hour,
		Started: func(c testengine.Call) { started <- c }}})
	ctx := t.Context()
	p := b.project(t, "Dài", 1, 2)
	j, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	<-started
	if err := b.sched.CancelJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	b.waitUntil(t, "no segment running", func() bool { return b.jobState(t, j.ID).Running == 0 })
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.sched.Stop(stopCtx); err != nil { // nothing is left to wait for
		t.Fatalf("stop after cancel: %v", err)
	}
	jj := b.jobState(t, j.ID)
	if jj.State != store.StateCanceled || jj.Canceled != 2 {
		t.Fatalf("job %+v", jj)
	}
}

func TestStopInterruptsAndRequeuesRunningSegments(t *testing.T) {
	started := make(chan testengine.Call, 4)
	b := setup(t, t.TempDir(), options{size: 1, engine: testengine.Config{Latency: time.Hour,
		Started: func(c testengine.Call) { started <- c }}})
	ctx := t.Context()
	p := b.project(t, "Dừng", 1, 1)
	j, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	<-started
	stopCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.sched.Stop(stopCtx); err == nil {
		t.Fatal("stop with a segment still running reported nothing")
	}
	jj := b.jobState(t, j.ID)
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{JobID: j.ID})
	if jj.Running != 0 || segs[0].State != store.StateQueued || segs[0].Attempts != 0 {
		t.Fatalf("job %+v segment %+v", jj, segs[0])
	}
}

func TestEditRendersTheNewTextAheadOfBulkWork(t *testing.T) {
	b := setup(t, t.TempDir(), options{size: 1})
	ctx := t.Context()
	p := b.project(t, "Sửa", 1, 2)
	j, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	b.waitUntil(t, "job done", finished(b, t, j.ID))
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{JobID: j.ID})
	old := segs[0].RenderHash
	ji, err := b.sched.EditSegment(ctx, segs[0].ID, "Câu đã sửa.", true)
	if err != nil {
		t.Fatal(err)
	}
	if ji.Priority != store.PriorityInteractive {
		t.Fatalf("re-render job %+v", ji)
	}
	b.waitUntil(t, "re-render done", finished(b, t, ji.ID))
	g, _ := b.st.Segment(ctx, segs[0].ID)
	if g.Spoken != "Câu đã sửa." || g.RenderHash == old || g.State != store.StateDone {
		t.Fatalf("edited segment %+v", g)
	}
	b.checkIdentity(t, []store.Segment{g})
}

func TestNoGoroutineOutlivesTheScheduler(t *testing.T) {
	dir := t.TempDir()
	b := setup(t, dir, options{})
	p := b.project(t, "Gọn", 1, 5)
	j, _ := b.sched.Enqueue(t.Context(), store.JobSpec{ProjectID: p.ID})
	b.waitUntil(t, "job done", finished(b, t, j.ID))
	b.close()
	noGoroutinesLeft(t)
}

func TestPlayThisSentenceJumpsAheadOfABook(t *testing.T) {
	b := setup(t, t.TempDir(), options{size: 1, engine: testengine.Config{Latency: 5 * time.Millisecond}})
	ctx := t.Context()
	p := b.project(t, "Sách dài", 1, 40)
	book, _ := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{JobID: book.ID})
	last := segs[len(segs)-1]
	b.waitUntil(t, "the book started", func() bool { return b.jobState(t, book.ID).Done > 0 })
	preview, err := b.sched.RenderNow(ctx, p.ID, last.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Segment events are never coalesced, so their order is the order of completion.
	bookDone := 0
	deadline, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ev, err := b.sub.Next(deadline)
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := ev.(events.SegmentDone); ok {
			if e.SegmentID == last.ID {
				if e.JobID != preview.ID {
					t.Fatalf("preview segment completed in job %d", e.JobID)
				}
				break
			}
			bookDone++
		}
	}
	// Events from before the preview was queued may still be in the subscription, plus the
	// segment that was running; a few, not the rest of the book.
	if bookDone > 5 {
		t.Fatalf("the book rendered %d segments before the preview", bookDone)
	}
	b.waitUntil(t, "the book", finished(b, t, book.ID))
	if jj := b.jobState(t, book.ID); jj.State != store.StateDone || jj.Done != 39 {
		t.Fatalf("book %+v (its last segment moved to the preview)", jj)
	}
}

// A voice change interrupts the synthesis of the old voice (the only instance is busy with it
// for an hour, so the new voice can start only if it was interrupted) and renders the new one in
// the interactive lane.
func TestSetReadingInterruptsTheOldVoice(t *testing.T) {
	started := make(chan testengine.Call, 8)
	b := setup(t, t.TempDir(), options{size: 1, engine: testengine.Config{Latency: time.Hour,
		Started: func(c testengine.Call) { started <- c }}})
	ctx := t.Context()
	p := b.project(t, "Đổi giọng", 1, 1)
	if _, err := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID}); err != nil {
		t.Fatal(err)
	}
	if c := <-started; c.Req.Voice != "nu" {
		t.Fatalf("first synthesis reads with %q", c.Req.Voice)
	}
	ids, j, err := b.sched.SetReading(ctx, store.Reading{ProjectID: p.ID, Voice: "nam"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || j.Priority != store.PriorityInteractive {
		t.Fatalf("changed %v, job %+v", ids, j)
	}
	select {
	case c := <-started:
		if c.Req.Voice != "nam" {
			t.Fatalf("after the change a synthesis reads with %q", c.Req.Voice)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the new voice never started: the old voice's synthesis was not interrupted")
	}
	// Nothing to change the second time: no job, no interruption.
	if ids, j, err := b.sched.SetReading(ctx, store.Reading{ProjectID: p.ID, Voice: "nam"}); err != nil || len(ids) != 0 || j.ID != 0 {
		t.Fatalf("second change: %v %+v %v", ids, j, err)
	}
	if err := b.sched.CancelJob(ctx, j.ID); err != nil { // end the hour-long synthesis
		t.Fatal(err)
	}
	b.waitUntil(t, "no segment running", func() bool { return b.jobState(t, j.ID).Running == 0 })
}
