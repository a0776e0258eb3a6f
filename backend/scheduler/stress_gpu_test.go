//go:build gpu

package scheduler_test

// Issue 9, point 4: the scheduler on two CUDA instances of the real pipeline, 500 segments with
// random cancels. tools/gpu-check.sh runs it and reads the STRESS line. Without a usable NVIDIA GPU
// it skips and says why; VIETTTS_GPU_DRYRUN=cpu runs it on the CPU to check the check.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/events"
	"github.com/viettts-studio/studio/backend/render"
	"github.com/viettts-studio/studio/backend/scheduler"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/gpu"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/tinymodel"
	"github.com/viettts-studio/studio/inference/viettts"
)

func gpuLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// gpuSession is the session config of the instances: CUDA on VIETTTS_GPU_DEVICE (default 0), or
// the CPU in a dry run; it skips the test, saying why, when there is no usable GPU.
func gpuSession(t *testing.T) ort.SessionConfig {
	t.Helper()
	if os.Getenv("VIETTTS_GPU_DRYRUN") == "cpu" {
		t.Log("DRY RUN: the instances run on the CPU (VIETTTS_GPU_DRYRUN=cpu); these are not GPU results")
		if err := ort.Init(""); err != nil {
			t.Skipf("ONNX Runtime not available (%v): run tools/setup.sh ort", err)
		}
		return ort.SessionConfig{Provider: ort.CPU, Threads: 1}
	}
	dev, _ := strconv.Atoi(os.Getenv("VIETTTS_GPU_DEVICE"))
	m, err := gpu.Find(dev, "")
	if err != nil {
		t.Skipf("skipped: this check needs an NVIDIA GPU with the CUDA provider: %v", err)
	}
	t.Logf("GPU %s", m)
	return ort.SessionConfig{Provider: ort.CUDA, DeviceID: dev}
}

// TestGPUStressFiveHundredSegmentsWithRandomCancels runs 500 segments (VIETTTS_GPU_STRESS_SEGMENTS)
// of ten documents through the scheduler on a pool of two instances of the tiny bundle, and
// cancels a random unfinished segment after one in eight completions, so cancels reach segments
// in the queue and segments running on the GPU (through RunOptions.Terminate). It requires: every
// segment ends done or canceled, none failed, no instance failed, and a sample of the done
// segments re-synthesized on a fresh instance gives back their stored audio (so no segment got
// another's audio: the seeds and texts differ, so the audio of any other segment is unrelated).
func TestGPUStressFiveHundredSegmentsWithRandomCancels(t *testing.T) {
	cfg := gpuSession(t)
	total := 500
	if n, err := strconv.Atoi(os.Getenv("VIETTTS_GPU_STRESS_SEGMENTS")); err == nil && n > 0 {
		total = n
	}
	const docs = 10
	dir := t.TempDir()
	bundleDir := filepath.Join(dir, "bundle")
	if err := tinymodel.Build(context.Background(), bundleDir, tinymodel.Options{FP16: true, Seed: 5}); err != nil {
		if errors.Is(err, tinymodel.ErrNoRanks) {
			t.Skip(tinymodel.RanksHint)
		}
		t.Fatal(err)
	}
	opts := viettts.Options{Session: cfg, FP16: cfg.Provider == ort.CUDA, MaxSpeechTokens: 40, Logger: gpuLogger()}

	st, err := store.Open(context.Background(), filepath.Join(dir, "studio.db"), store.Options{Logger: gpuLogger()})
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
	pool := inference.NewPool(inference.PoolConfig{Factory: viettts.Factory(bundleDir, opts), Size: 2, Reason: "gpu stress",
		Logger: gpuLogger(), OnEvent: func(ev inference.PoolEvent) {
			if ev.State == inference.StateFailed || ev.State == inference.StateRetired {
				poolMu.Lock()
				poolFailures = append(poolFailures, fmt.Sprintf("instance %d %s: %v", ev.Instance, ev.State, ev.Err))
				poolMu.Unlock()
			}
			publish(ev)
		}})
	sched := scheduler.New(scheduler.Config{Store: st, Pool: pool, Cache: cache, Bus: bus, ModelID: "tiny-gpu-stress",
		Pipeline: "gpu-stress", Backoff: func(int) time.Duration { return time.Millisecond }, Logger: gpuLogger()})
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

	// Cancel a random unfinished segment after one in eight completions, until every job ends.
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
		if rng.IntN(8) != 0 {
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
	exact, worstOwn, nearestOther := 0, 0.0, math.Inf(1)
	for i := range sample {
		own := relErr(stored[i], again[i])
		if own == 0 {
			exact++
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
		wall.Round(100*time.Millisecond), sample, exact, worstOwn, nearestOther, len(poolFailures))
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
