package scheduler_test

// The scheduler on two instances of the real pipeline (the tiny random-weight bundle through ONNX
// Runtime), many segments with random cancels: the first promise (no crash, no lost work, no
// mixed-up audio under concurrent load) with the real engine instead of the test engine. It runs
// on the CPU in every test run (TestRealEngineStressWithRandomCancels) and on CUDA in
// tools/gpu-check.sh (stress_gpu_test.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/render"
	"github.com/viettts-studio/studio/backend/scheduler"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/tinymodel"
	"github.com/viettts-studio/studio/inference/viettts"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Forty segments on two CPU instances of the real pipeline, with a cancel after one in four
// completions; each done
// segment's stored audio must be bit-identical to a re-synthesis of that segment alone.
func TestRealEngineStressWithRandomCancels(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Skipf("ONNX Runtime not available (%v): run tools/setup.sh ort", err)
	}
	runEngineStress(t, ort.SessionConfig{Provider: ort.CPU, Threads: 1}, 40, 4, true)
}

// runEngineStress runs total segments of ten documents through the scheduler on a pool of two
// instances of the tiny bundle with session config cfg, and cancels a random unfinished segment
// after one in cancelEvery completions, so cancels reach queued and running segments. It requires:
// every segment ends done or canceled, none failed, no instance failed, and a sample of the done
// segments re-synthesized on a fresh instance gives back their stored audio (so no segment got
// another's audio: the seeds and texts differ, so the audio of any other segment is unrelated);
// bit-identical when exact is set (the CPU is deterministic). It logs a STRESS line that
// tools/gpu-check.sh reads.
func runEngineStress(t *testing.T, cfg ort.SessionConfig, total, cancelEvery int, exact bool) {
	const docs = 10
	dir := t.TempDir()
	bundleDir := filepath.Join(dir, "bundle")
	if err := tinymodel.Build(context.Background(), bundleDir, tinymodel.Options{FP16: true, Seed: 5}); err != nil {
		if errors.Is(err, tinymodel.ErrNoRanks) {
			t.Skip(tinymodel.RanksHint)
		}
		t.Fatal(err)
	}
	opts := viettts.Options{Session: cfg, FP16: cfg.Provider == ort.CUDA, MaxSpeechTokens: 40, Logger: quietLogger()}

	st, err := store.Open(context.Background(), filepath.Join(dir, "studio.db"), store.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cache, err := render.OpenWith(filepath.Join(dir, "renders"), render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus := events.NewBus(0)
	defer bus.Close()
	var poolMu sync.Mutex
	var poolFailures []string
	publish := scheduler.PoolEvents(bus)
	pool := inference.NewPool(inference.PoolConfig{Factory: viettts.Factory(bundleDir, opts), Size: 2, Reason: inference.Reason{Text: "engine stress"},
		Logger: quietLogger(), OnEvent: func(ev inference.PoolEvent) {
			if ev.State == inference.StateFailed || ev.State == inference.StateRetired {
				poolMu.Lock()
				poolFailures = append(poolFailures, fmt.Sprintf("instance %d %s: %v", ev.Instance, ev.State, ev.Err))
				poolMu.Unlock()
			}
			publish(ev)
		}})
	sched := scheduler.New(scheduler.Config{Store: st, Pool: pool, Cache: cache, Bus: bus, ModelID: "tiny-engine-stress",
		Pipeline: "engine-stress", Backoff: func(int) time.Duration { return time.Millisecond }, Logger: quietLogger()})
	sub := bus.Subscribe()
	if _, err := sched.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := sched.Stop(ctx); err != nil {
			t.Error(err)
		}
		if err := pool.Close(ctx); err != nil {
			t.Error(err)
		}
	}
	defer stop()

	var segIDs []int64
	var jobs []int64
	voices := []string{"lan", "minh"}
	for d := range docs {
		np := store.NewProject{Title: fmt.Sprintf("Tài liệu %d", d+1), Chapters: []store.NewChapter{{Title: "Chương 1"}}}
		for i := range total / docs {
			n := d*(total/docs) + i
			text := fmt.Sprintf("Tài liệu %d, câu số %d: hôm nay trời trong xanh.", d+1, i+1)
			np.Chapters[0].Segments = append(np.Chapters[0].Segments, store.NewSegment{Source: text, Spoken: text,
				Voice: voices[n%2], Speed: 1, Seed: uint64(1000 + n)})
		}
		p, err := sched.CreateProject(t.Context(), np)
		if err != nil {
			t.Fatal(err)
		}
		segs, err := st.Segments(t.Context(), store.SegmentQuery{ProjectID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range segs {
			segIDs = append(segIDs, g.ID)
		}
		j, err := sched.Enqueue(t.Context(), store.JobSpec{ProjectID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j.ID)
	}

	// Cancel a random unfinished segment after one in cancelEvery completions, until every job ends.
	start := time.Now()
	rng := rand.New(rand.NewPCG(9, 9))
	finished := map[int64]bool{}
	canceled := 0
	allDone := func() bool {
		for _, id := range jobs {
			j, err := st.Job(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Remaining() > 0 {
				return false
			}
		}
		return true
	}
	for !allDone() {
		// A bounded wait: the last change may be a cancel of ours that publishes nothing more.
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		ev, err := sub.Next(ctx)
		cancel()
		if t.Context().Err() != nil {
			t.Fatalf("waiting for the segments (%d of %d finished after %s): %v", len(finished), total, time.Since(start), err)
		}
		if err != nil {
			continue
		}
		done, ok := ev.(events.SegmentDone)
		if !ok {
			continue
		}
		finished[done.SegmentID] = true
		if rng.IntN(cancelEvery) != 0 {
			continue
		}
		for range 5 { // find an unfinished one
			id := segIDs[rng.IntN(len(segIDs))]
			if finished[id] {
				continue
			}
			if err := sched.CancelSegment(t.Context(), id); err == nil {
				canceled++
				finished[id] = true
			}
			break
		}
	}
	wall := time.Since(start)
	stop()

	counts := map[store.State]int{}
	var done []store.Segment
	for _, id := range segIDs {
		g, err := st.Segment(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		counts[g.State]++
		switch g.State {
		case store.StateDone:
			done = append(done, g)
		case store.StateFailed:
			t.Errorf("segment %d failed: %s", g.ID, g.Error)
		case store.StateCanceled:
		default:
			t.Errorf("segment %d ended %s", g.ID, g.State)
		}
	}
	poolMu.Lock()
	for _, f := range poolFailures {
		t.Errorf("pool: %s", f)
	}
	poolMu.Unlock()
	if counts[store.StateCanceled] == 0 || len(done) == 0 {
		t.Errorf("the run did not exercise both outcomes: %v", counts)
	}

	// Identity: re-synthesize a sample of done segments on a fresh instance and compare.
	eng, err := viettts.New(context.Background(), bundleDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sample := 24
	if len(done) < sample {
		sample = len(done)
	}
	rng.Shuffle(len(done), func(i, j int) { done[i], done[j] = done[j], done[i] })
	stored := make([][]float32, sample)
	again := make([][]float32, sample)
	for i, g := range done[:sample] {
		r, ok, err := st.RenderOf(context.Background(), g.RenderHash)
		if err != nil || !ok {
			t.Fatalf("segment %d is done without a render (%v)", g.ID, err)
		}
		if stored[i], err = cache.Load(r.Path); err != nil {
			t.Fatal(err)
		}
		a, err := eng.Synthesize(context.Background(), inference.Request{ID: "again", Text: g.Spoken, Voice: g.Voice, Speed: g.Speed, Seed: g.Seed})
		if err != nil {
			t.Fatal(err)
		}
		again[i] = a.Samples
	}
	// Relative error of the stored audio against its own re-synthesis (0 when bit-exact) and
	// against every other sampled segment's: the own must be near zero and below all others.
	exactN, worstOwn, nearestOther := 0, 0.0, math.Inf(1)
	for i := range sample {
		own := relErr(stored[i], again[i])
		if own == 0 {
			exactN++
		} else if exact {
			t.Errorf("segment %d: its stored audio differs from a re-synthesis (relative error %.3g), and the CPU is deterministic", done[i].ID, own)
		}
		worstOwn = math.Max(worstOwn, own)
		for j := range sample {
			if j != i {
				nearestOther = math.Min(nearestOther, relErr(stored[i], again[j]))
			}
		}
		if own > 0.05 {
			t.Errorf("segment %d: its stored audio does not match a re-synthesis (relative error %.4f, %d vs %d samples)",
				done[i].ID, own, len(stored[i]), len(again[i]))
		}
	}
	if sample > 1 && nearestOther <= worstOwn {
		t.Errorf("some stored audio is as close to another segment's (relative error %.4f) as the worst to its own (%.4f)", nearestOther, worstOwn)
	}
	t.Logf("STRESS segments=%d done=%d canceled=%d failed=%d cancels_sent=%d wall=%s identity_sample=%d exact=%d worst_own_err=%.3g nearest_other_err=%.3g pool_failures=%d",
		total, counts[store.StateDone], counts[store.StateCanceled], counts[store.StateFailed], canceled,
		wall.Round(100*time.Millisecond), sample, exactN, worstOwn, nearestOther, len(poolFailures))
}

// relErr is the root mean square of want−got relative to that of want; different lengths are a
// total mismatch (+Inf).
func relErr(want, got []float32) float64 {
	if len(want) != len(got) {
		return math.Inf(1)
	}
	var e, w float64
	for i := range want {
		d := float64(want[i]) - float64(got[i])
		e, w = e+d*d, w+float64(want[i])*float64(want[i])
	}
	if w == 0 {
		return math.Sqrt(e)
	}
	return math.Sqrt(e / w)
}
