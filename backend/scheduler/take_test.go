package scheduler_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference/testengine"
)

func TestNewTakeInterruptsTheOldSeedAndStartsTheNewOne(t *testing.T) {
	started := make(chan testengine.Call, 8)
	b := setup(t, t.TempDir(), options{size: 1, engine: testengine.Config{Latency: time.Hour,
		Started: func(c testengine.Call) { started <- c }}})
	ctx := t.Context()
	p := b.project(t, "Lần đọc", 1, 1)
	if _, err := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID}); err != nil {
		t.Fatal(err)
	}
	first := <-started
	segs, _ := b.sched.Segments(ctx, store.SegmentQuery{ProjectID: p.ID})
	seed, j, err := b.sched.NewTake(ctx, segs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if seed == first.Req.Seed || j.Priority != store.PriorityInteractive || j.Total != 1 {
		t.Fatalf("new take: seed %d (first %d), job %+v", seed, first.Req.Seed, j)
	}
	select {
	case c := <-started: // the only instance is free only if the hour-long synthesis was interrupted
		if c.Req.Seed != seed || c.Req.Text != first.Req.Text {
			t.Fatalf("after the new take a synthesis of %q with seed %d, want seed %d", c.Req.Text, c.Req.Seed, seed)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the new take never started: the old seed's synthesis was not interrupted")
	}
	if err := b.sched.CancelJob(ctx, j.ID); err != nil { // end the hour-long synthesis
		t.Fatal(err)
	}
	b.waitUntil(t, "no segment running", func() bool { return b.jobState(t, j.ID).Running == 0 })
}

func TestUseTakeRestoresTheSameAudioWithoutSynthesis(t *testing.T) {
	b := setup(t, t.TempDir(), options{size: 1})
	ctx := t.Context()
	p := b.project(t, "Chọn lần đọc", 1, 3)
	bulk, err := b.sched.Enqueue(ctx, store.JobSpec{ProjectID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	b.waitUntil(t, "the document rendered", func() bool { return b.jobState(t, bulk.ID).State == store.StateDone })
	before, _ := b.sched.Segments(ctx, store.SegmentQuery{ProjectID: p.ID})
	target := before[1]
	audioOf := func(hash string) []byte {
		t.Helper()
		r, ok, err := b.st.RenderOf(ctx, hash)
		if err != nil || !ok {
			t.Fatalf("render %s: %v %v", hash, ok, err)
		}
		data, err := os.ReadFile(b.cache.Path(r.Path))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	firstAudio := audioOf(target.RenderHash)
	calls := b.factory.Calls()

	seed, j, err := b.sched.NewTake(ctx, target.ID)
	if err != nil {
		t.Fatal(err)
	}
	b.waitUntil(t, "the new take rendered", func() bool { return b.jobState(t, j.ID).State == store.StateDone })
	if got := b.factory.Calls() - calls; got != 1 {
		t.Fatalf("a new take of one sentence ran %d syntheses", got)
	}
	after, _ := b.sched.Segments(ctx, store.SegmentQuery{ProjectID: p.ID})
	if b.checkIdentity(t, after) != 3 || after[1].Seed != seed || after[1].RenderHash == target.RenderHash {
		t.Fatalf("after the new take: %+v", after[1])
	}
	if after[0].RenderHash != before[0].RenderHash || after[2].RenderHash != before[2].RenderHash {
		t.Fatal("a new take of one sentence changed the others")
	}
	if bytes.Equal(audioOf(after[1].RenderHash), firstAudio) {
		t.Fatal("the new take sounds like the first")
	}

	calls = b.factory.Calls()
	done, err := b.sched.UseTake(ctx, target.ID, target.Seed)
	if err != nil || !done {
		t.Fatalf("use take: %v %v", done, err)
	}
	g, _ := b.st.Segment(ctx, target.ID)
	if g.State != store.StateDone || g.Seed != target.Seed || g.RenderHash != target.RenderHash {
		t.Fatalf("after going back to the first take: %+v", g)
	}
	if !bytes.Equal(audioOf(g.RenderHash), firstAudio) {
		t.Fatal("the first take's audio is not the same bytes again")
	}
	// And forward to the second take: still no synthesis.
	if done, err := b.sched.UseTake(ctx, target.ID, seed); err != nil || !done {
		t.Fatalf("use the second take: %v %v", done, err)
	}
	if got := b.factory.Calls() - calls; got != 0 {
		t.Fatalf("switching takes ran %d syntheses", got)
	}
	tk, err := b.sched.Takes(ctx, target.ID)
	if err != nil || len(tk.Seeds) != 2 || tk.Current != seed || tk.Index() != 1 {
		t.Fatalf("takes %+v %v", tk, err)
	}
	if _, err := b.sched.UseTake(ctx, target.ID, 12345); err == nil {
		t.Fatal("a seed never tried was used")
	}
}
