package inference_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/testengine"
)

// recorder collects pool events and lets a test wait for one.
type poolRecorder struct {
	mu     sync.Mutex
	events []inference.PoolEvent
	signal chan struct{}
}

func newPoolRecorder() *poolRecorder { return &poolRecorder{signal: make(chan struct{}, 1)} }

func (r *poolRecorder) on(ev inference.PoolEvent) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// wait returns the first event matching ok, waiting for it.
func (r *poolRecorder) wait(t *testing.T, what string, ok func(inference.PoolEvent) bool) inference.PoolEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if ok(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		select {
		case <-r.signal:
		case <-ctx.Done():
			t.Fatalf("no %s event; got %+v", what, r.events)
		}
	}
}

func startTestPool(t *testing.T, f *testengine.Factory, size int, rec *poolRecorder) *inference.Pool {
	t.Helper()
	cfg := inference.PoolConfig{Factory: f.New, Size: size, Reason: inference.Reason{Text: "test"}, Logger: poolTestLogger(),
		BuildBackoff: func(int) time.Duration { return time.Millisecond }}
	if rec != nil {
		cfg.OnEvent = rec.on
	}
	p := inference.NewPool(cfg)
	p.Start()
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if f.Builds() != f.Closes() {
			t.Errorf("%d engines built, %d closed", f.Builds(), f.Closes())
		}
	})
	return p
}

func poolSynth(t *testing.T, p *inference.Pool, text string) (inference.Audio, error) {
	t.Helper()
	l, err := p.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	return l.Synthesize(t.Context(), inference.Request{ID: text, Text: text, Voice: "v", Speed: 1})
}

func TestTestEngineAudioDecodesToItsRequest(t *testing.T) {
	req := inference.Request{ID: "a", Text: "Xin chào", Voice: "v", Speed: 1, Seed: 7}
	w := testengine.Waveform(req)
	id, err := testengine.Decode(w)
	if err != nil || id != testengine.Identity(req) {
		t.Fatalf("decode: %x %v", id, err)
	}
	other := req
	other.ID = "b"
	if testengine.Identity(other) != id {
		t.Fatal("identity depends on the request id")
	}
	other.Seed = 8
	if testengine.Identity(other) == id {
		t.Fatal("identity ignores the seed")
	}
	// Survives 16-bit quantization.
	for i := range w {
		w[i] = float32(int16(w[i]*32767)) / 32768
	}
	if id2, _ := testengine.Decode(w); id2 != id {
		t.Fatal("identity lost in 16-bit PCM")
	}
	if _, err := testengine.Decode(make([]float32, 100)); err == nil {
		t.Fatal("silence decoded")
	}
}

func TestPoolRunsInstancesInParallel(t *testing.T) {
	started := make(chan int, 2)
	release := make(chan struct{})
	f := testengine.NewFactory(testengine.Config{
		Started: func(c testengine.Call) { started <- c.Instance },
		Fault:   func(testengine.Call) error { <-release; return nil },
	})
	p := startTestPool(t, f, 2, nil)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if _, err := poolSynth(t, p, fmt.Sprint("câu ", i)); err != nil {
				t.Error(err)
			}
		})
	}
	a, b := <-started, <-started // both run at once, on different instances
	if a == b {
		t.Fatalf("both syntheses on instance %d", a)
	}
	close(release)
	wg.Wait()
}

func TestDeadInstanceIsRebuiltAndWorksAgain(t *testing.T) {
	f := testengine.NewFactory(testengine.Config{Fault: func(c testengine.Call) error {
		if c.Build == 0 && c.Seq == 0 {
			return inference.Errorf(inference.ClassInstanceDead, "CUDA error: an illegal memory access was encountered")
		}
		return nil
	}})
	rec := newPoolRecorder()
	p := startTestPool(t, f, 1, rec)
	_, err := poolSynth(t, p, "một")
	if inference.Classify(err) != inference.ClassInstanceDead {
		t.Fatalf("got %v", err)
	}
	rec.wait(t, "rebuilt", func(ev inference.PoolEvent) bool { return ev.State == inference.StateRebuilt })
	a, err := poolSynth(t, p, "hai")
	if err != nil || len(a.Samples) == 0 {
		t.Fatalf("after rebuild: %v", err)
	}
	if n, _ := p.Size(); n != 1 || f.Builds() != 2 {
		t.Fatalf("size %d, builds %d", n, f.Builds())
	}
}

func TestPanickingEngineIsTreatedAsDead(t *testing.T) {
	f := testengine.NewFactory(testengine.Config{Fault: func(c testengine.Call) error {
		if c.Build == 0 {
			panic("boom")
		}
		return nil
	}})
	rec := newPoolRecorder()
	p := startTestPool(t, f, 1, rec)
	if _, err := poolSynth(t, p, "một"); inference.Classify(err) != inference.ClassInstanceDead {
		t.Fatalf("got %v", err)
	}
	if _, err := poolSynth(t, p, "hai"); err != nil {
		t.Fatalf("after rebuild: %v", err)
	}
}

func TestRepeatedOutOfMemoryDegradesThePoolToOne(t *testing.T) {
	f := testengine.NewFactory(testengine.Config{Fault: func(c testengine.Call) error {
		return inference.Errorf(inference.ClassOutOfMemory, "CUDA out of memory")
	}})
	rec := newPoolRecorder()
	p := startTestPool(t, f, 3, rec)
	for range 4 {
		if _, err := poolSynth(t, p, "câu"); inference.Classify(err) != inference.ClassOutOfMemory {
			t.Fatalf("got %v", err)
		}
	}
	ev := rec.wait(t, "pool at one instance", func(ev inference.PoolEvent) bool {
		return ev.Instance == -1 && ev.State == inference.StateRetired && ev.Size == 1
	})
	if n, reason := p.Size(); n != 1 || reason.Text != ev.Reason.Text || ev.Reason.Code != "instance-oom" ||
		ev.Reason.Params["n"] != "1" || ev.Reason.Text != "instance "+ev.Reason.Params["instance"]+" ran out of memory; running 1 instance(s)" {
		t.Fatalf("size %d %+v, event %+v", n, reason, ev.Reason)
	}
	t.Logf("event reason: %s", ev.Reason)
	// The last instance is rebuilt, never retired.
	rec.wait(t, "rebuild of the last instance", func(ev inference.PoolEvent) bool { return ev.State == inference.StateRebuilt })
	if n, _ := p.Size(); n != 1 {
		t.Fatalf("size %d", n)
	}
}

func TestAcquireFailsWhenNoInstanceCanBeBuilt(t *testing.T) {
	f := testengine.NewFactory(testengine.Config{BuildFault: func(index, build int) error {
		return errors.New("model file llm.onnx is missing")
	}})
	p := startTestPool(t, f, 2, nil)
	_, err := p.Acquire(t.Context())
	if !errors.Is(err, inference.ErrNoInstances) {
		t.Fatalf("got %v", err)
	}
	if n, _ := p.Size(); n != 0 {
		t.Fatalf("size %d", n)
	}
}

func TestCanceledSynthesisReturnsPromptlyAndKeepsTheInstance(t *testing.T) {
	started := make(chan struct{}, 1)
	f := testengine.NewFactory(testengine.Config{Latency: time.Hour, Started: func(testengine.Call) { started <- struct{}{} }})
	p := startTestPool(t, f, 1, nil)
	l, err := p.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-started; cancel() }()
	_, err = l.Synthesize(ctx, inference.Request{Text: "x"})
	l.Release()
	if inference.Classify(err) != inference.ClassCanceled {
		t.Fatalf("got %v", err)
	}
	if f.Builds() != 1 {
		t.Fatal("a cancellation rebuilt the instance")
	}
}

func TestAcquireAfterCloseFails(t *testing.T) {
	f := testengine.NewFactory(testengine.Config{})
	p := inference.NewPool(inference.PoolConfig{Factory: f.New, Size: 2})
	p.Start()
	l, err := p.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	l.Release() // closes the checked-out engine
	if _, err := p.Acquire(t.Context()); !errors.Is(err, inference.ErrPoolClosed) {
		t.Fatalf("got %v", err)
	}
	if f.Builds() != f.Closes() {
		t.Fatalf("%d built, %d closed", f.Builds(), f.Closes())
	}
}

func TestResolveSize(t *testing.T) {
	const gib = 1 << 30
	free := func(f, total uint64) func() (uint64, uint64, bool) {
		return func() (uint64, uint64, bool) { return f, total, true }
	}
	cases := []struct {
		setting string
		hw      inference.Hardware
		want    int
		bad     bool
	}{
		{"", inference.Hardware{CUDA: true}, 2, false},
		{"default", inference.Hardware{CUDA: true, FreeMemory: free(2*gib, 24*gib)}, 2, false},
		{"auto", inference.Hardware{CUDA: true, FreeMemory: free(22*gib, 24*gib)}, 6, false},
		{"auto", inference.Hardware{CUDA: true, FreeMemory: free(3*gib, 8*gib)}, 1, false},
		{"auto", inference.Hardware{CUDA: true, FreeMemory: free(200*gib, 200*gib)}, inference.MaxInstances, false},
		{"auto", inference.Hardware{CUDA: true}, 2, false},
		{"auto", inference.Hardware{Cores: 16, ThreadsPerInstance: 4}, 4, false},
		{"", inference.Hardware{Cores: 2, ThreadsPerInstance: 2}, 1, false},
		{"", inference.Hardware{Cores: 16, ThreadsPerInstance: 4}, 2, false},
		{"8", inference.Hardware{Cores: 8, ThreadsPerInstance: 4}, 2, false},
		{"3", inference.Hardware{CUDA: true}, 3, false},
		{"0", inference.Hardware{CUDA: true}, 0, true},
		{"lots", inference.Hardware{}, 0, true},
	}
	for _, c := range cases {
		n, reason, err := inference.ResolveSize(c.setting, c.hw)
		if (err != nil) != c.bad || n != c.want {
			t.Errorf("ResolveSize(%q, %+v) = %d, %q, %v; want %d", c.setting, c.hw, n, reason, err, c.want)
		}
		if err != nil {
			continue
		}
		// Every reason is one of the templates, with all its parameters filled in.
		if _, ok := inference.PoolReasons[reason.Code]; !ok || reason.Text == "" || strings.ContainsAny(reason.Text, "{}") {
			t.Errorf("ResolveSize(%q) gave the reason %+v", c.setting, reason)
		}
	}
}

// BenchmarkPoolThroughput runs segments of a fixed latency through pools of 1 and 2 instances,
// fed by as many workers as instances, and reports segments per second for each and their ratio.
func BenchmarkPoolThroughput(b *testing.B) {
	const latency = 5 * time.Millisecond
	run := func(size, segments int) float64 {
		f := testengine.NewFactory(testengine.Config{Latency: latency})
		p := inference.NewPool(inference.PoolConfig{Factory: f.New, Size: size})
		p.Start()
		defer p.Close(context.Background())
		ctx := context.Background()
		start := time.Now()
		var wg sync.WaitGroup
		next := make(chan int, segments)
		for i := range segments {
			next <- i
		}
		close(next)
		for range size {
			wg.Go(func() {
				for i := range next {
					l, err := p.Acquire(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := l.Synthesize(ctx, inference.Request{Text: fmt.Sprint("câu ", i), Voice: "v", Speed: 1}); err != nil {
						b.Error(err)
					}
					l.Release()
				}
			})
		}
		wg.Wait()
		return float64(segments) / time.Since(start).Seconds()
	}
	var one, two float64
	for b.Loop() {
		one = run(1, 100)
		two = run(2, 100)
	}
	b.ReportMetric(one, "seg/s-1inst")
	b.ReportMetric(two, "seg/s-2inst")
	b.ReportMetric(two/one, "ratio")
}

func poolTestLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
