// Package testengine is an inference.Engine for tests of scheduling: instead of speech it returns a
// waveform that encodes the identity of the request it was asked for, so a test can prove that no
// segment ever received another segment's audio. It has a configurable latency and a seam for
// injecting failures of every class (bad input, transient, instance dead, out of memory).
//
// The waveform: IdentityBits samples, one per bit of Identity(req) (most significant first), each
// +0.5 for a one and -0.5 for a zero, followed by a tail of PadSamples samples of a low sine whose
// length grows with the text, so durations differ between segments like real speech. Decode reads
// the identity back; it survives float32 and 16-bit PCM round trips.
package testengine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/viettts-studio/studio/inference"
)

// IdentityBits is the number of leading samples that carry the identity.
const IdentityBits = 64

// PadSamples is the tail length per character of text.
const PadSamples = 8

// Identity is the 64-bit identity of what a request asks to synthesize: a hash of its text, voice,
// speed and seed. Like a real engine, it ignores Request.ID.
func Identity(req inference.Request) uint64 {
	h := sha256.New()
	h.Write([]byte(req.Text))
	h.Write([]byte{0})
	h.Write([]byte(req.Voice))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatFloat(req.Speed, 'g', -1, 64)))
	h.Write([]byte{0})
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], req.Seed)
	h.Write(seed[:])
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// Waveform returns the audio the engine produces for req.
func Waveform(req inference.Request) []float32 {
	id := Identity(req)
	n := IdentityBits + PadSamples*utf8.RuneCountInString(req.Text)
	s := make([]float32, n)
	for i := 0; i < IdentityBits; i++ {
		if id&(1<<(IdentityBits-1-i)) != 0 {
			s[i] = 0.5
		} else {
			s[i] = -0.5
		}
	}
	for i := IdentityBits; i < n; i++ {
		s[i] = float32(0.05 * math.Sin(float64(i)*0.3))
	}
	return s
}

// Decode reads the identity back from a waveform made by Waveform. It fails when the waveform is
// too short or a marker sample is not clearly positive or negative.
func Decode(samples []float32) (uint64, error) {
	if len(samples) < IdentityBits {
		return 0, fmt.Errorf("testengine: waveform has %d samples, need at least %d", len(samples), IdentityBits)
	}
	var id uint64
	for i := 0; i < IdentityBits; i++ {
		v := samples[i]
		switch {
		case v > 0.25:
			id |= 1 << (IdentityBits - 1 - i)
		case v < -0.25:
		default:
			return 0, fmt.Errorf("testengine: sample %d is %v, not an identity marker", i, v)
		}
	}
	return id, nil
}

// Call describes one Synthesize call, given to the Fault hook.
type Call struct {
	// Instance is the pool index the engine was built for.
	Instance int
	// Build counts how many engines the factory has built before this one (0 for the first).
	Build int
	// Seq counts calls on this engine, from 0.
	Seq int
	Req inference.Request
}

// Config sets up the engines a Factory builds.
type Config struct {
	// Latency is how long each Synthesize takes (waiting on a timer, honouring ctx).
	Latency time.Duration
	// LoadLatency is how long building an engine takes.
	LoadLatency time.Duration
	// Fault, when set, is asked before each synthesis; a non-nil error is returned instead of
	// audio (after Latency). Use inference.Errorf to give it a class. It may be called from
	// several goroutines at once.
	Fault func(Call) error
	// BuildFault, when set, is asked before each build (attempt counts every build tried); a
	// non-nil error fails the build.
	BuildFault func(index, attempt int) error
	// Started, when set, is called as each synthesis starts (before the latency), so tests can
	// wait for a synthesis to be in flight.
	Started func(Call)
}

// Factory builds test engines. Its counters are safe for concurrent use.
type Factory struct {
	cfg      Config
	attempts atomic.Int64
	builds   atomic.Int64
	closes   atomic.Int64
	calls    atomic.Int64
}

// NewFactory returns a factory of engines configured by cfg.
func NewFactory(cfg Config) *Factory { return &Factory{cfg: cfg} }

// Builds returns how many engines have been built successfully.
func (f *Factory) Builds() int { return int(f.builds.Load()) }

// Closes returns how many engines have been closed.
func (f *Factory) Closes() int { return int(f.closes.Load()) }

// Calls returns how many Synthesize calls have started.
func (f *Factory) Calls() int { return int(f.calls.Load()) }

// New is an inference.Factory.
func (f *Factory) New(ctx context.Context, index int) (inference.Engine, error) {
	if err := wait(ctx, f.cfg.LoadLatency); err != nil {
		return nil, fmt.Errorf("testengine: building instance %d: %w", index, err)
	}
	attempt := int(f.attempts.Add(1)) - 1
	if f.cfg.BuildFault != nil {
		if err := f.cfg.BuildFault(index, attempt); err != nil {
			return nil, err
		}
	}
	build := int(f.builds.Add(1)) - 1
	return &Engine{f: f, index: index, build: build}, nil
}

// Engine is one test engine. Synthesize must not be called concurrently (the contract of
// inference.Engine); the engine detects and reports a violation as a panic.
type Engine struct {
	f      *Factory
	index  int
	build  int
	seq    int
	busy   atomic.Bool
	closed sync.Once
}

// Synthesize returns Waveform(req) after the configured latency, or the injected fault.
func (e *Engine) Synthesize(ctx context.Context, req inference.Request) (inference.Audio, error) {
	if !e.busy.CompareAndSwap(false, true) {
		panic("testengine: Synthesize called concurrently on one engine")
	}
	defer e.busy.Store(false)
	e.f.calls.Add(1)
	c := Call{Instance: e.index, Build: e.build, Seq: e.seq, Req: req}
	e.seq++
	if e.f.cfg.Started != nil {
		e.f.cfg.Started(c)
	}
	if err := wait(ctx, e.f.cfg.Latency); err != nil {
		return inference.Audio{}, fmt.Errorf("testengine: synthesis of %s interrupted: %w", req.ID, err)
	}
	if e.f.cfg.Fault != nil {
		if err := e.f.cfg.Fault(c); err != nil {
			return inference.Audio{}, err
		}
	}
	if req.Text == "" {
		return inference.Audio{}, inference.Errorf(inference.ClassBadInput, "segment %s has no text to speak: edit it or delete it", req.ID)
	}
	return inference.Audio{Samples: Waveform(req), Tokens: utf8.RuneCountInString(req.Text)}, nil
}

// Close counts the close; closing twice is harmless.
func (e *Engine) Close() error {
	e.closed.Do(func() { e.f.closes.Add(1) })
	return nil
}

func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
