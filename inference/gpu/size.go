package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/viettts-studio/studio/inference"
)

// SizeProbe is what MeasureSize needs to fit a CUDA pool to its GPU by measurement.
type SizeProbe struct {
	// Factory builds the engines (one set of CUDA sessions each).
	Factory inference.Factory
	// Warmup is the longest segment the pool will be asked for: its peak memory is what every
	// instance must have room for. It is synthesized on every instance MeasureSize builds.
	Warmup inference.Request
	// Memory reads the device memory in use (DeviceMemory through NVML); Total is the device's size.
	Memory MemoryReader
	Total  uint64
	// Reserve is device memory left free for the desktop and other programs. Default 1 GiB.
	Reserve uint64
	// MinGain is how much throughput one more instance must add, as a fraction of the throughput
	// before it, for `auto` to keep it. Default 0.1.
	MinGain float64
	// Interval is how often memory is read while an instance loads and warms up. Default 10 ms.
	Interval time.Duration
	// Max caps what `auto` may grow to (default inference.MaxInstances).
	Max    int
	Logger *slog.Logger
}

// Sizing is how many instances the pool runs, why, and what was measured. It holds the engines
// the measurement built and warmed; Factory hands them to the pool so none is built twice.
type Sizing struct {
	Size   int
	Reason inference.Reason
	// Before is the memory in use before the first instance; PerInstance the most one instance
	// added at its peak (the first includes the CUDA context, so it is the larger); Free what
	// was left after the measured instances.
	Before, PerInstance, Free uint64
	// Rates are the measured audio seconds per second with 1, 2, ... instances running together
	// (auto only measures beyond one); Peaks the device memory in use at the peak of each of those
	// runs, and Growth what each instance added at its peak while it loaded and warmed up alone.
	Rates  []float64
	Peaks  []uint64
	Growth []uint64

	mu      sync.Mutex
	engines []inference.Engine // by instance index; nil once handed out
}

// MeasureSize sizes a CUDA pool for the `instances` setting by measurement (issue 9): it builds one
// instance, runs the warm-up segment on it while sampling device memory, and takes the peak growth
// as the memory one instance needs. A number or the default (2) is then capped by what fits the
// free memory after the reserve; `auto` grows one instance at a time, as long as the next fits and
// running them together adds at least MinGain of throughput.
func MeasureSize(ctx context.Context, setting string, p SizeProbe) (*Sizing, error) {
	if p.Factory == nil || p.Memory == nil {
		return nil, errors.New("measuring the pool size needs a factory and a memory reader")
	}
	if p.Reserve == 0 {
		p.Reserve = 1 << 30
	}
	if p.MinGain <= 0 {
		p.MinGain = 0.1
	}
	if p.Interval <= 0 {
		p.Interval = 10 * time.Millisecond
	}
	if p.Max <= 0 || p.Max > inference.MaxInstances {
		p.Max = inference.MaxInstances
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	setting = strings.TrimSpace(strings.ToLower(setting))
	auto := setting == "auto"
	target := p.Max
	if !auto {
		n, _, err := inference.ResolveSize(setting, inference.Hardware{CUDA: true})
		if err != nil {
			return nil, err
		}
		target = n
	}
	s := &Sizing{}
	before, err := p.Memory()
	if err != nil {
		return nil, fmt.Errorf("reading GPU memory before loading the first instance: %w", err)
	}
	s.Before = before
	if _, err := s.grow(ctx, p); err != nil {
		return nil, err
	}
	rate, err := s.throughput(ctx, p)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Rates = []float64{rate}
	fit := min(s.fit(p), target)
	if !auto {
		s.Size = min(target, fit)
		peak, free, reserve := s.memory(p)
		switch {
		case s.Size < target:
			s.Reason = inference.NewReason("cuda-capped", "asked", target, "n", s.Size, "peak", peak, "free", free, "reserve", reserve)
		case setting == "" || setting == "default":
			s.Reason = inference.NewReason("cuda-default-measured", "peak", peak, "free", free, "reserve", reserve)
		default:
			s.Reason = inference.NewReason("as-set-measured", "n", s.Size, "peak", peak, "free", free, "reserve", reserve)
		}
		log.Info("pool sized by measurement", "size", s.Size, "reason", s.Reason)
		return s, nil
	}
	var why *inference.Reason
	for len(s.engines) < fit {
		_, err := s.grow(ctx, p)
		if err != nil {
			if inference.Classify(err) == inference.ClassOutOfMemory {
				r := inference.NewReason("cuda-auto-oom", "n", len(s.engines), "instance", len(s.engines)+1)
				why = &r
				break
			}
			s.Close()
			return nil, err
		}
		rate, err := s.throughput(ctx, p)
		if err != nil {
			s.Close()
			return nil, err
		}
		// Refit from this instance's growth (later instances share the CUDA context, so it is the
		// better estimate) and the memory left with all of them at their peak together.
		fit = min(s.fit(p), target)
		prev := s.Rates[len(s.Rates)-1]
		s.Rates = append(s.Rates, rate)
		if rate < prev*(1+p.MinGain) {
			n := len(s.engines)
			s.drop()
			r := inference.NewReason("cuda-auto-gain", "n", len(s.engines), "instance", n, "gain", fmt.Sprintf("%.0f", 100*(rate/prev-1)),
				"from", fmt.Sprintf("%.2f", prev), "to", fmt.Sprintf("%.2f", rate), "min", fmt.Sprintf("%.0f", 100*p.MinGain))
			why = &r
			break
		}
	}
	s.Size = len(s.engines)
	peak, free, reserve := s.memory(p)
	switch {
	case why != nil:
		s.Reason = *why
	case s.Size == p.Max:
		s.Reason = inference.NewReason("cuda-auto-max", "n", s.Size, "max", p.Max, "peak", peak, "free", free, "reserve", reserve)
	default:
		s.Reason = inference.NewReason("cuda-auto-memory", "n", s.Size, "peak", peak, "free", free, "reserve", reserve)
	}
	log.Info("pool sized by measurement", "size", s.Size, "reason", s.Reason, "rates", s.Rates)
	return s, nil
}

// grow builds one more instance and warms it up on the probe's segment while sampling memory; the
// growth of its peak over the memory in use before it is its need.
func (s *Sizing) grow(ctx context.Context, p SizeProbe) (uint64, error) {
	index := len(s.engines)
	sm := Sample(p.Memory, p.Interval)
	e, err := p.Factory(ctx, index)
	if err != nil {
		sm.Stop()
		return 0, fmt.Errorf("loading instance %d to measure it: %w", index+1, err)
	}
	_, err = e.Synthesize(ctx, p.Warmup)
	u := sm.Stop()
	if err != nil {
		e.Close()
		return 0, fmt.Errorf("warming up instance %d on the longest segment: %w", index+1, err)
	}
	if u.Err != nil && u.Samples == 0 {
		e.Close()
		return 0, fmt.Errorf("reading GPU memory while instance %d warmed up: %w", index+1, u.Err)
	}
	s.mu.Lock()
	s.engines = append(s.engines, e)
	s.mu.Unlock()
	// The first instance's growth includes the CUDA context; later instances share it, so each
	// later growth is the better estimate of what one more needs.
	g := u.Growth()
	s.PerInstance = g
	s.Growth = append(s.Growth, g)
	return g, nil
}

// fit is how many instances the memory holds: those built plus as many more of PerInstance as fit
// the free memory after the reserve.
func (s *Sizing) fit(p SizeProbe) int {
	n := len(s.engines)
	if s.PerInstance > 0 && s.Free > p.Reserve {
		n += int((s.Free - p.Reserve) / s.PerInstance)
	}
	return max(1, min(n, inference.MaxInstances))
}

// memory formats the parameters of the measured reasons: one instance's peak, the memory free, the reserve, in GiB.
func (s *Sizing) memory(p SizeProbe) (peak, free, reserve string) {
	const g = 1 << 30
	return fmt.Sprintf("%.2f", float64(s.PerInstance)/g), fmt.Sprintf("%.1f", float64(s.Free)/g), fmt.Sprintf("%.1f", float64(p.Reserve)/g)
}

// throughput runs the warm-up segment on every built instance at once and returns the audio
// seconds made per second of wall time. The memory left at the peak of that run, with every
// instance at its worst together, is what further instances may use.
func (s *Sizing) throughput(ctx context.Context, p SizeProbe) (float64, error) {
	s.mu.Lock()
	engines := append([]inference.Engine(nil), s.engines...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	audio := make([]float64, len(engines))
	errs := make([]error, len(engines))
	sm := Sample(p.Memory, p.Interval)
	start := time.Now()
	for i, e := range engines {
		wg.Go(func() {
			req := p.Warmup
			req.Seed += uint64(i + 1)
			a, err := e.Synthesize(ctx, req)
			audio[i], errs[i] = a.Seconds(), err
		})
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	u := sm.Stop()
	s.Peaks = append(s.Peaks, u.Peak)
	s.Free = 0
	if p.Total > u.Peak {
		s.Free = p.Total - u.Peak
	}
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("measuring throughput with %d instance(s): %w", len(engines), err)
	}
	total := 0.0
	for _, a := range audio {
		total += a
	}
	if wall <= 0 {
		return 0, nil
	}
	return total / wall, nil
}

// drop closes the last built instance.
func (s *Sizing) drop() {
	s.mu.Lock()
	e := s.engines[len(s.engines)-1]
	s.engines = s.engines[:len(s.engines)-1]
	s.mu.Unlock()
	if err := e.Close(); err != nil {
		slog.Warn("closing a measured instance", "err", err)
	}
}

// Factory wraps f so that the pool's first build of each measured instance gets the engine the
// measurement already loaded and warmed; rebuilds and further instances call f.
func (s *Sizing) Factory(f inference.Factory) inference.Factory {
	return func(ctx context.Context, index int) (inference.Engine, error) {
		s.mu.Lock()
		if index < len(s.engines) && s.engines[index] != nil {
			e := s.engines[index]
			s.engines[index] = nil
			s.mu.Unlock()
			return e, nil
		}
		s.mu.Unlock()
		return f(ctx, index)
	}
}

// Close closes the measured engines that were not handed to a pool.
func (s *Sizing) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i, e := range s.engines {
		if e != nil {
			errs = append(errs, e.Close())
			s.engines[i] = nil
		}
	}
	return errors.Join(errs...)
}
