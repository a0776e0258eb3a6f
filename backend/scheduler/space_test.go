package scheduler_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/internal/testfs"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference/testengine"
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
	state := func() events.StorageState { return storageEvent(t, b) }
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

// storageEvent waits for the next StorageState event.
func storageEvent(t *testing.T, b *bundle) events.StorageState {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		ev, err := b.sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for a storage event: %v", err)
		}
		if s, ok := ev.(events.StorageState); ok {
			return s
		}
	}
}

// A full disk under the database while segments are being synthesized: the claims and the
// completions that cannot be written hold rendering (a finished render waits in the cache and its
// completion is tried again), nothing fails or is lost, and once space is freed every segment is
// recorded done with its own audio.
func TestAFullDatabaseDiskHoldsRenderingAndLosesNothing(t *testing.T) {
	dbDir := testfs.Tmpfs(t, "8m")
	var once sync.Once
	var filler string
	filled := make(chan struct{})
	b := setup(t, t.TempDir(), options{dbDir: dbDir, spaceCheck: 20 * time.Millisecond, size: 2,
		engine: testengine.Config{Started: func(testengine.Call) {
			once.Do(func() { filler = testfs.Fill(t, dbDir); close(filled) }) // the disk fills while the first segment is synthesized
		}}})
	ctx := t.Context()
	p := b.project(t, "Cơ sở dữ liệu đầy", 1, 5)
	j, err := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	<-filled
	if s := storageEvent(t, b); !s.Full || s.Dir != dbDir {
		t.Fatalf("first storage event %+v, want the database's folder %s full", s, dbDir)
	}
	if full, _ := b.sched.StorageFull(); !full {
		t.Fatal("not held while the database's disk is full")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if s := storageEvent(t, b); s.Full {
		t.Fatalf("after freeing space: %+v", s)
	}
	b.waitUntil(t, "job finished", finished(b, t, j.ID))
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{JobID: j.ID})
	for _, g := range segs {
		if g.State != store.StateDone {
			t.Fatalf("segment %d ended %s (%s)", g.ID, g.State, g.Error)
		}
	}
	if n := b.checkIdentity(t, segs); n != len(segs) {
		t.Fatalf("%d of %d segments have their own audio", n, len(segs))
	}
	if err := b.st.CheckCounters(ctx); err != nil {
		t.Fatal(err)
	}
}
