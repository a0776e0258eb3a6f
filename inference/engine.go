// Package inference is the model side of VietTTS Studio: the engine contract that the scheduler
// drives, the pool of engine instances, and (in sub-packages) ONNX Runtime setup, the graph builder,
// the model compiler, model bundles and the VietTTS synthesis pipeline.
//
// inference never imports backend: the backend depends on it, not the other way round.
package inference

import (
	"context"
	"errors"
	"fmt"
)

// SampleRate is the rate of every waveform an Engine returns (VietTTS's HiFT vocoder, MODEL.md §7).
const SampleRate = 22050

// Request is one segment to synthesize: one LLM → flow → vocoder pass.
type Request struct {
	// ID identifies the segment for logs and for test engines; engines must not depend on it
	// for what they synthesize.
	ID string
	// Text is the spoken form (already verbalized, NFC-normalized) of one segment.
	Text string
	// Voice is the id of a voice known to the engine's bundle or the user's voice library.
	Voice string
	// Speed scales the duration: 1 is natural, 0.5 twice as long, 2 half as long.
	Speed float64
	// Seed makes synthesis reproducible: the same request with the same seed gives the same audio.
	Seed uint64
}

// Audio is a synthesized segment: mono float32 PCM in [-1, 1] at SampleRate.
type Audio struct {
	Samples []float32
	// Tokens is the number of speech tokens the LLM generated (0 for engines without an LLM).
	Tokens int
}

// Seconds is the duration of the audio.
func (a Audio) Seconds() float64 { return float64(len(a.Samples)) / SampleRate }

// Engine synthesizes one segment at a time. An Engine is owned by one pool instance; Synthesize
// is never called concurrently on the same Engine. Synthesize must return promptly with an error
// wrapping ctx.Err() once ctx is done. Errors should be classified with Classify-able wrappers
// (see Error) so the scheduler knows whether to fail the segment, retry it, or rebuild the engine.
type Engine interface {
	Synthesize(ctx context.Context, req Request) (Audio, error)
	// Close releases the engine's sessions and memory. It is called once, after the last Synthesize.
	Close() error
}

// Factory builds the engine of pool instance index (0-based). Building may take seconds (model
// loading); it must honour ctx.
type Factory func(ctx context.Context, index int) (Engine, error)

// Class says how a failure is recovered from.
type Class int

const (
	// ClassBadInput: the request itself cannot be synthesized (empty text, unknown voice, text too
	// long). The segment fails with a message the user can act on; retrying will not help.
	ClassBadInput Class = iota + 1
	// ClassTransient: a passing failure; retry the segment with backoff on the same engine.
	ClassTransient
	// ClassInstanceDead: the engine is unusable (sticky device error, crashed session). Close it,
	// build a new one, and retry the segment.
	ClassInstanceDead
	// ClassOutOfMemory: the engine ran out of (device) memory. Like ClassInstanceDead, and the pool
	// should run with one instance fewer.
	ClassOutOfMemory
	// ClassCanceled: the context was canceled; not a failure of the segment.
	ClassCanceled
)

func (c Class) String() string {
	switch c {
	case ClassBadInput:
		return "bad input"
	case ClassTransient:
		return "transient"
	case ClassInstanceDead:
		return "instance dead"
	case ClassOutOfMemory:
		return "out of memory"
	case ClassCanceled:
		return "canceled"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Error is an engine failure with its recovery class.
type Error struct {
	Class Class
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of class c with a formatted message (%w is honoured).
func Errorf(c Class, format string, args ...any) error {
	return &Error{Class: c, Err: fmt.Errorf(format, args...)}
}

// Classify returns the recovery class of err: the class of the outermost *Error in its chain,
// ClassCanceled for context cancellation, and ClassTransient for anything unclassified.
func Classify(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ClassCanceled
	}
	return ClassTransient
}
