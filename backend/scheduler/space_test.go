package scheduler_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/internal/testfs"
	"github.com/viettts-studio/studio/backend/store"
)

// A full disk holds rendering instead of failing the book: the segment whose render did not fit
// goes back to the queue with its attempt not counted, nothing fails, the window is told where
// space is needed, and once space is freed rendering starts again by itself and every segment is
// done with its own audio.
func TestAFullDiskHoldsRenderingUntilSpaceIsFreed(t *testing.T) {
	renders := testfs.Tmpfs(t, "512k")
	filler := testfs.Fill(t, renders)
	b := setup(t, t.TempDir(), options{rendersDir: renders, spaceCheck: 20 * time.Millisecond})
	ctx := t.Context()
	p := b.project(t, "Đĩa đầy", 1, 6)
	j, err := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	state := func() events.StorageState {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		for {
			ev, err := b.sub.Next(wctx)
			if err != nil {
				t.Fatalf("waiting for a storage event: %v", err)
			}
			if s, ok := ev.(events.StorageState); ok {
				return s
			}
		}
	}
	if s := state(); !s.Full || s.Dir != renders || s.Err == "" {
		t.Fatalf("first storage event %+v", s)
	}
	// Held: the space checks keep failing, nothing is claimed, nothing fails.
	time.Sleep(200 * time.Millisecond) // ten space checks; nothing to wait for but their absence
	if full, why := b.sched.StorageFull(); !full || why == "" {
		t.Fatalf("not held while the disk is full")
	}
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{JobID: j.ID})
	for _, g := range segs {
		if g.State == store.StateFailed || g.State == store.StateDone || g.Attempts != 0 {
			t.Fatalf("segment %d is %s after %d attempts while the disk is full", g.ID, g.State, g.Attempts)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if s := state(); s.Full {
		t.Fatalf("after freeing space: %+v", s)
	}
	b.waitUntil(t, "job finished", finished(b, t, j.ID))
	segs, _ = b.sched.Segments(ctx, store.SegmentQuery{JobID: j.ID})
	for _, g := range segs {
		if g.State != store.StateDone || g.Attempts > 1 {
			t.Fatalf("segment %d ended %s after %d attempts", g.ID, g.State, g.Attempts)
		}
	}
	if n := b.checkIdentity(t, segs); n != len(segs) {
		t.Fatalf("%d of %d segments have their own audio", n, len(segs))
	}
	if full, _ := b.sched.StorageFull(); full {
		t.Fatal("still held after the job finished")
	}
}
