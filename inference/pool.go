package inference

import (
	"github.com/viettts-studio/studio/inference/bytesize"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// InstanceState is the life-cycle state of one pool instance:
//
//	loading ──► idle ◄──► busy
//	   ▲          ▲        │ instance dead / out of memory
//	   │          │        ▼
//	   └──────── rebuilt ◄─ failed ──► retired (the pool runs one instance fewer)
//
// A build that fails is retried with backoff; after Config.MaxBuildAttempts failures the
// instance is retired.
type InstanceState string

// Instance states.
const (
	StateLoading InstanceState = "loading"
	StateIdle    InstanceState = "idle"
	StateBusy    InstanceState = "busy"
	StateFailed  InstanceState = "failed"
	StateRebuilt InstanceState = "rebuilt"
	StateRetired InstanceState = "retired"
)

// PoolEvent reports a change in the pool: an instance changed state, or the effective size changed.
type PoolEvent struct {
	// Instance is the index of the instance; -1 for a change of the whole pool.
	Instance int
	State    InstanceState
	// Size is the effective number of instances after the change, and Reason says why.
	Size   int
	Reason Reason
	// Err is the failure behind a failed or retired state, or nil.
	Err error
}

// ErrPoolClosed is returned by Acquire after Close.
var ErrPoolClosed = errors.New("inference pool is closed")

// ErrNoInstances is returned by Acquire when every instance failed to build; the wrapped error is
// the last build failure.
var ErrNoInstances = errors.New("no synthesis instance could be started")

// PoolConfig configures a Pool.
type PoolConfig struct {
	// Factory builds the engines.
	Factory Factory
	// Size is the number of instances (at least 1), usually from ResolveSize; Reason says why.
	Size   int
	Reason Reason
	// OnEvent, if set, receives every PoolEvent. It is called from pool goroutines, in order per
	// instance, and must not block for long or call back into the pool.
	OnEvent func(PoolEvent)
	// MaxBuildAttempts is how many times in a row building one instance may fail before it is
	// retired. Default 3.
	MaxBuildAttempts int
	// BuildBackoff is the wait before build attempt n (n ≥ 1). Default 200ms·2^(n-1), at most 5s.
	BuildBackoff func(n int) time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Pool is a fixed set of engine instances, each serving one segment at a time. Acquire checks an
// idle instance out; the Lease synthesizes on it and Release returns it. An instance whose engine
// died (ClassInstanceDead or ClassOutOfMemory, or a panic) is closed and rebuilt when its lease is
// released; after an out-of-memory failure the pool retires that instance instead, so it runs one
// instance fewer (never fewer than one), and says so in a PoolEvent.
type Pool struct {
	cfg    PoolConfig
	log    *slog.Logger
	ctx    context.Context // canceled by Close; bounds builds
	cancel context.CancelFunc
	idle   chan *instance
	wg     sync.WaitGroup // builders

	mu      sync.Mutex
	size    int    // effective size
	reason  Reason // why size is what it is
	states  []InstanceState
	alive   int // instances loading, idle or busy
	lastErr error
	dead    chan struct{} // closed when alive drops to 0
	closed  bool
	started bool
}

type instance struct {
	index   int
	engine  Engine
	rebuilt bool
}

// NewPool returns a pool; Start begins building its instances.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.Size < 1 {
		cfg.Size = 1
	}
	if cfg.MaxBuildAttempts < 1 {
		cfg.MaxBuildAttempts = 3
	}
	if cfg.BuildBackoff == nil {
		cfg.BuildBackoff = func(n int) time.Duration {
			d := 200 * time.Millisecond << (n - 1)
			return min(d, 5*time.Second)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{
		cfg: cfg, log: log, ctx: ctx, cancel: cancel,
		idle:   make(chan *instance, cfg.Size),
		size:   cfg.Size,
		reason: cfg.Reason,
		states: make([]InstanceState, cfg.Size),
		dead:   make(chan struct{}),
	}
	return p
}

// Start builds every instance in the background and returns at once. Calling it again does
// nothing.
func (p *Pool) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.closed {
		return
	}
	p.started = true
	p.alive = p.size
	p.emitLocked(PoolEvent{Instance: -1, State: StateLoading, Size: p.size, Reason: p.reason})
	for i := range p.size {
		p.states[i] = StateLoading
		p.wg.Add(1)
		go p.build(i, false)
	}
}

// Size returns the effective number of instances and why.
func (p *Pool) Size() (int, Reason) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size, p.reason
}

// States returns the state of every instance, by index.
func (p *Pool) States() []InstanceState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]InstanceState(nil), p.states...)
}

// Acquire waits for an idle instance and checks it out. It returns ctx's error when ctx ends
// first, ErrPoolClosed after Close, and ErrNoInstances when no instance can be built.
func (p *Pool) Acquire(ctx context.Context) (*Lease, error) {
	for {
		select {
		case in := <-p.idle:
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				_ = in.engine.Close()
				return nil, ErrPoolClosed
			}
			p.setLocked(in.index, StateBusy, nil)
			p.mu.Unlock()
			return &Lease{p: p, in: in}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.ctx.Done():
			return nil, ErrPoolClosed
		case <-p.dead:
			p.mu.Lock()
			err := p.lastErr
			p.mu.Unlock()
			return nil, fmt.Errorf("%w: %w", ErrNoInstances, err)
		}
	}
}

// Close stops building, closes the idle engines and makes Acquire fail. Engines checked out are
// closed when their leases are released. Close waits for running builds until ctx ends.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("closing the inference pool: builds still running: %w", ctx.Err())
	}
	var errs []error
	for {
		select {
		case in := <-p.idle:
			errs = append(errs, in.engine.Close())
		default:
			return errors.Join(errs...)
		}
	}
}

// build builds instance index, retrying with backoff, and puts it in the idle channel.
func (p *Pool) build(index int, rebuild bool) {
	defer p.wg.Done()
	var err error
	for attempt := 1; attempt <= p.cfg.MaxBuildAttempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(p.cfg.BuildBackoff(attempt - 1))
			select {
			case <-t.C:
			case <-p.ctx.Done():
				t.Stop()
				p.retire(index, p.ctx.Err(), "")
				return
			}
		}
		p.mu.Lock()
		p.setLocked(index, StateLoading, nil)
		p.mu.Unlock()
		var e Engine
		e, err = p.cfg.Factory(p.ctx, index)
		if err == nil {
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				_ = e.Close()
				return
			}
			if rebuild {
				p.setLocked(index, StateRebuilt, nil)
			}
			p.setLocked(index, StateIdle, nil)
			p.mu.Unlock()
			p.idle <- &instance{index: index, engine: e, rebuilt: rebuild}
			return
		}
		if p.ctx.Err() != nil {
			p.retire(index, err, "")
			return
		}
		p.log.Warn("building a synthesis instance failed", "instance", index, "attempt", attempt, "err", err)
		p.mu.Lock()
		p.setLocked(index, StateFailed, err)
		p.mu.Unlock()
	}
	p.retire(index, fmt.Errorf("instance %d failed to build %d times: %w", index, p.cfg.MaxBuildAttempts, err), "instance-failed")
}

// retire takes an instance out of service for good. A non-empty why (a reason code with the
// parameters instance and n) changes the reason.
func (p *Pool) retire(index int, err error, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retireLocked(index, err, why)
}

func (p *Pool) retireLocked(index int, err error, why string) {
	p.alive--
	p.size--
	if err != nil {
		p.lastErr = err
	}
	if why != "" {
		p.reason = NewReason(why, "instance", index, "n", p.size)
	}
	p.setLocked(index, StateRetired, err)
	if !p.closed {
		p.emitLocked(PoolEvent{Instance: -1, State: StateRetired, Size: p.size, Reason: p.reason, Err: err})
	}
	if p.alive == 0 {
		close(p.dead)
	}
}

func (p *Pool) setLocked(index int, s InstanceState, err error) {
	p.states[index] = s
	p.emitLocked(PoolEvent{Instance: index, State: s, Size: p.size, Reason: p.reason, Err: err})
}

func (p *Pool) emitLocked(ev PoolEvent) {
	if p.cfg.OnEvent != nil {
		p.cfg.OnEvent(ev)
	}
}

// Lease is an instance checked out of the pool. It is used by one goroutine and released once.
type Lease struct {
	p        *Pool
	in       *instance
	failure  error
	class    Class
	released bool
}

// Instance is the index of the leased instance.
func (l *Lease) Instance() int { return l.in.index }

// Synthesize runs req on the leased instance. A panic in the engine is turned into a
// ClassInstanceDead error. After a ClassInstanceDead or ClassOutOfMemory error the instance is
// rebuilt (or retired) on Release; the lease must not be used for another synthesis.
func (l *Lease) Synthesize(ctx context.Context, req Request) (a Audio, err error) {
	if l.failure != nil {
		return Audio{}, Errorf(ClassInstanceDead, "instance %d already failed: %w", l.in.index, l.failure)
	}
	defer func() {
		if r := recover(); r != nil {
			l.p.log.Error("engine panicked", "instance", l.in.index, "segment", req.ID, "panic", r, "stack", string(debug.Stack()))
			err = Errorf(ClassInstanceDead, "synthesis instance %d crashed on segment %s: %v", l.in.index, req.ID, r)
		}
		if err != nil {
			if c := Classify(err); c == ClassInstanceDead || c == ClassOutOfMemory {
				l.failure, l.class = err, c
			}
		}
	}()
	return l.in.engine.Synthesize(ctx, req)
}

// Release returns the instance to the pool, or closes and rebuilds it when it died. After an
// out-of-memory failure, when more than one instance is in service, the instance is retired
// instead: the pool runs one instance fewer. Releasing twice does nothing.
func (l *Lease) Release() {
	if l.released {
		return
	}
	l.released = true
	p := l.p
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = l.in.engine.Close()
		return
	}
	if l.failure == nil {
		p.setLocked(l.in.index, StateIdle, nil)
		p.mu.Unlock()
		p.idle <- l.in
		return
	}
	p.setLocked(l.in.index, StateFailed, l.failure)
	shrink := l.class == ClassOutOfMemory && p.alive > 1
	if shrink {
		p.retireLocked(l.in.index, l.failure, "instance-oom")
	} else {
		p.wg.Add(1) // before unlocking, so that Close waits for the rebuild
	}
	p.mu.Unlock()
	// Close before rebuilding, so the old engine's device memory is free for the new one.
	if err := l.in.engine.Close(); err != nil {
		p.log.Warn("closing a failed synthesis instance", "instance", l.in.index, "err", err)
	}
	if !shrink {
		go p.build(l.in.index, true)
	}
}

// Hardware describes what the pool size is fitted to.
type Hardware struct {
	// CUDA is true when the engines run on an NVIDIA GPU.
	CUDA bool
	// FreeMemory reads the device's free and total memory (through NVML); ok is false when it
	// cannot be read. Nil counts as not readable.
	FreeMemory func() (free, total uint64, ok bool)
	// PerInstance is the device memory one instance needs. Default 3.4 GB (measured, DESIGN.md).
	PerInstance uint64
	// Reserve is device memory left free for the desktop and other programs. Default 1 GiB.
	Reserve uint64
	// Cores is the number of CPU cores; ThreadsPerInstance the intra-op threads of one CPU
	// instance (default 1).
	Cores              int
	ThreadsPerInstance int
}

// MaxInstances bounds every pool size.
const MaxInstances = 16

// ResolveSize turns the `instances` setting into an instance count and a reason a user can read.
// The setting is "" or "default" (2 on a CUDA GPU; on CPU as many as fit the cores, at most 2),
// "auto" (on CUDA: as many as fit the free device memory after the reserve; on CPU: cores ÷
// threads), or a number from 1 to MaxInstances. On CPU, instances × threads never exceeds the
// cores.
func ResolveSize(setting string, hw Hardware) (int, Reason, error) {
	if hw.PerInstance == 0 {
		hw.PerInstance = 3_400_000_000
	}
	if hw.Reserve == 0 {
		hw.Reserve = 1 << 30
	}
	if hw.ThreadsPerInstance < 1 {
		hw.ThreadsPerInstance = 1
	}
	if hw.Cores < 1 {
		hw.Cores = 1
	}
	cpuFit := max(1, hw.Cores/hw.ThreadsPerInstance)
	setting = strings.TrimSpace(strings.ToLower(setting))
	switch setting {
	case "", "default":
		if hw.CUDA {
			return 2, NewReason("cuda-default"), nil
		}
		n := min(2, cpuFit)
		return n, NewReason("cpu-default", "n", n, "cores", hw.Cores, "threads", hw.ThreadsPerInstance), nil
	case "auto":
		if !hw.CUDA {
			return cpuFit, NewReason("cpu-auto", "cores", hw.Cores, "threads", hw.ThreadsPerInstance), nil
		}
		var free, total uint64
		ok := false
		if hw.FreeMemory != nil {
			free, total, ok = hw.FreeMemory()
		}
		if !ok {
			return 2, NewReason("cuda-auto-unknown"), nil
		}
		n := 0
		if free > hw.Reserve {
			n = int((free - hw.Reserve) / hw.PerInstance)
		}
		n = max(1, min(n, MaxInstances))
		return n, NewReason("cuda-auto-estimate", "n", n, "free", bytesize.FormatU(free), "total", bytesize.FormatU(total), "each", bytesize.FormatU(hw.PerInstance),
			"reserve", bytesize.FormatU(hw.Reserve)), nil
	}
	n, err := strconv.Atoi(setting)
	if err != nil || n < 1 || n > MaxInstances {
		return 0, Reason{}, fmt.Errorf("setting instances=%q is not valid: use auto, default, or a number from 1 to %d", setting, MaxInstances)
	}
	if !hw.CUDA && n > cpuFit {
		return cpuFit, NewReason("cpu-capped", "asked", n, "n", cpuFit, "cores", hw.Cores, "threads", hw.ThreadsPerInstance), nil
	}
	return n, NewReason("as-set", "n", n), nil
}
