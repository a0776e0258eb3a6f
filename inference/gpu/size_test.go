package gpu_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/gpu"
	"github.com/viettts-studio/studio/inference/testengine"
)

const gib = 1 << 30

// device is a fake GPU memory: each engine holds resident bytes while it lives and transient
// bytes more while it synthesizes, until a reading has seen them (so a sampler cannot miss the
// peak however the goroutines are scheduled).
type device struct {
	mu        sync.Mutex
	used      uint64
	resident  uint64
	transient uint64
	seen      chan struct{} // closed and replaced on every reading
	builds    int
}

func newDevice(before, resident, transient uint64) *device {
	return &device{used: before, resident: resident, transient: transient, seen: make(chan struct{})}
}

func (d *device) read() (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.seen)
	d.seen = make(chan struct{})
	return d.used, nil
}

func (d *device) add(n int64) {
	d.mu.Lock()
	d.used = uint64(int64(d.used) + n)
	d.mu.Unlock()
}

// factory wraps test engines so that they take device memory.
func (d *device) factory(f *testengine.Factory) inference.Factory {
	return func(ctx context.Context, index int) (inference.Engine, error) {
		e, err := f.New(ctx, index)
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		d.builds++
		d.mu.Unlock()
		d.add(int64(d.resident))
		return &onDevice{Engine: e, d: d}, nil
	}
}

type onDevice struct {
	inference.Engine
	d *device
}

func (e *onDevice) Synthesize(ctx context.Context, req inference.Request) (inference.Audio, error) {
	e.d.mu.Lock()
	e.d.used += e.d.transient
	seen := e.d.seen
	e.d.mu.Unlock()
	select {
	case <-seen:
	case <-ctx.Done():
	}
	defer e.d.add(-int64(e.d.transient))
	return e.Engine.Synthesize(ctx, req)
}

func (e *onDevice) Close() error {
	e.d.add(-int64(e.d.resident))
	return e.Engine.Close()
}

func probe(d *device, f *testengine.Factory, total uint64) gpu.SizeProbe {
	return gpu.SizeProbe{
		Factory: d.factory(f), Memory: d.read, Total: total, Reserve: gib, Interval: time.Millisecond, Logger: quiet(),
		Warmup: inference.Request{ID: "longest", Text: strings.Repeat("Một câu dài. ", 20), Voice: "nu", Speed: 1, Seed: 1},
	}
}

func TestSizingCapsTheSettingAtWhatFitsTheMeasuredPeak(t *testing.T) {
	// 10 GiB device, 0.5 GiB in use; an instance holds 2 GiB and peaks 0.5 GiB above that.
	// After the first: 7.5 GiB free, 6.5 GiB after the reserve: two more of 2.5 GiB fit.
	for _, c := range []struct {
		setting string
		size    int
		reason  string
	}{
		{"", 2, "the default"},
		{"default", 2, "the default"},
		{"1", 1, "as set"},
		{"3", 3, "as set"},
		{"4", 3, "4 instance(s) asked, 3 fit"},
	} {
		d := newDevice(gib/2, 2*gib, gib/2)
		f := testengine.NewFactory(testengine.Config{})
		s, err := gpu.MeasureSize(t.Context(), c.setting, probe(d, f, 10*gib))
		if err != nil {
			t.Fatal(err)
		}
		if s.Size != c.size || !strings.Contains(s.Reason.Text, c.reason) {
			t.Errorf("setting %q: %d instances (%s), want %d (%s)", c.setting, s.Size, s.Reason, c.size, c.reason)
		}
		if s.PerInstance != 2*gib+gib/2 || s.Before != gib/2 || len(s.Rates) != 1 {
			t.Errorf("setting %q: measured %+v", c.setting, s)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSizingRejectsABadSetting(t *testing.T) {
	d := newDevice(0, gib, 0)
	if _, err := gpu.MeasureSize(t.Context(), "lots", probe(d, testengine.NewFactory(testengine.Config{}), 10*gib)); err == nil ||
		!strings.Contains(err.Error(), "auto") {
		t.Errorf("bad setting: %v", err)
	}
	if d.builds != 0 {
		t.Errorf("a bad setting built %d engines", d.builds)
	}
}

func TestAutoGrowsWhileMemoryAndThroughputAllowAndHandsItsEnginesToThePool(t *testing.T) {
	// Test engines wait out their latency, so instances scale perfectly: memory is the limit.
	d := newDevice(gib/2, 2*gib, gib/2)
	f := testengine.NewFactory(testengine.Config{Latency: 40 * time.Millisecond})
	s, err := gpu.MeasureSize(t.Context(), "auto", probe(d, f, 10*gib))
	if err != nil {
		t.Fatal(err)
	}
	if s.Size != 3 || len(s.Rates) != 3 || !strings.HasPrefix(s.Reason.Text, "auto: 3 instance(s)") {
		t.Fatalf("auto: %d instances, rates %v: %s", s.Size, s.Rates, s.Reason)
	}
	pool := inference.NewPool(inference.PoolConfig{Factory: s.Factory(d.factory(f)), Size: s.Size, Reason: s.Reason, Logger: quiet()})
	pool.Start()
	leases := make([]*inference.Lease, 0, s.Size)
	for range s.Size {
		l, err := pool.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		leases = append(leases, l)
	}
	if d.builds != 3 {
		t.Errorf("the pool built %d engines, want the 3 measured ones only", d.builds)
	}
	for _, l := range leases {
		l.Release()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pool.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d.used != gib/2 {
		t.Errorf("%d bytes left in use after every engine closed", d.used-gib/2)
	}
}

func TestAutoStopsWhenAnotherInstanceAddsTooLittle(t *testing.T) {
	// One shared engine behind a lock: a second instance cannot run beside the first, as with
	// two threads sharing one model (DESIGN.md fact 6).
	d := newDevice(0, gib, 0)
	var one sync.Mutex
	f := testengine.NewFactory(testengine.Config{Latency: 30 * time.Millisecond})
	p := probe(d, f, 40*gib)
	inner := p.Factory
	p.Factory = func(ctx context.Context, index int) (inference.Engine, error) {
		e, err := inner(ctx, index)
		if err != nil {
			return nil, err
		}
		return &serialized{Engine: e, mu: &one}, nil
	}
	s, err := gpu.MeasureSize(t.Context(), "auto", p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Size != 1 || len(s.Rates) != 2 || !strings.Contains(s.Reason.Text, "instance 2 added") {
		t.Errorf("auto with serialized engines: %d instances, rates %v: %s", s.Size, s.Rates, s.Reason)
	}
}

type serialized struct {
	inference.Engine
	mu *sync.Mutex
}

func (e *serialized) Synthesize(ctx context.Context, req inference.Request) (inference.Audio, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Engine.Synthesize(ctx, req)
}

func TestAutoStopsAtItsCap(t *testing.T) {
	d := newDevice(0, gib, 0)
	p := probe(d, testengine.NewFactory(testengine.Config{Latency: 20 * time.Millisecond}), 80*gib)
	p.Max = 2
	s, err := gpu.MeasureSize(t.Context(), "auto", p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Size != 2 || len(s.Growth) != 2 || len(s.Peaks) != 2 || !strings.Contains(s.Reason.Text, "the most allowed (2)") {
		t.Errorf("auto capped at 2: %d instances, growth %v, peaks %v: %s", s.Size, s.Growth, s.Peaks, s.Reason)
	}
}
