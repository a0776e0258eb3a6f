package viettts

import (
	"context"
	"fmt"
	"time"

	onnx "github.com/yalue/onnxruntime_go"
)

// Stats are an engine's cumulative timings: wall time of whole segments and time inside each
// graph's ONNX Runtime calls. Everything else (tokenizing, sampling, cache appends, noise, the
// Euler update, interpolation, fades) is host time.
type Stats struct {
	Segments     int
	AudioSeconds float64
	Wall         time.Duration

	Prefill, Decode, FlowEncoder, Estimator, Vocoder time.Duration
	Prefills, DecodeSteps, EstimatorSteps, Vocodes   int
}

// ORT is the time spent inside ONNX Runtime.
func (s Stats) ORT() time.Duration {
	return s.Prefill + s.Decode + s.FlowEncoder + s.Estimator + s.Vocoder
}

// Host is the wall time outside ONNX Runtime calls.
func (s Stats) Host() time.Duration { return s.Wall - s.ORT() }

// RTF is the real-time factor: seconds of compute per second of audio.
func (s Stats) RTF() float64 {
	if s.AudioSeconds == 0 {
		return 0
	}
	return s.Wall.Seconds() / s.AudioSeconds
}

// Stats returns the engine's cumulative timings.
func (e *Engine) Stats() Stats { return e.stats }

// ResetStats clears the timings.
func (e *Engine) ResetStats() { e.stats = Stats{} }

// DecodeTiming is the mean cost of one LLM decode step: the ONNX Runtime call and what the host
// adds after it (writing the new rows into the cache, and laying the cache out again when its
// room runs out, once every cacheChunk steps).
type DecodeTiming struct {
	Run, Append time.Duration
}

// Step is the whole step.
func (d DecodeTiming) Step() time.Duration { return d.Run + d.Append }

// MeasureDecode times `steps` decode steps on a cache of k positions (zeros), without sampling: the
// cost of one LLM step at a given cache length, for `bench`. The cache is not grown, so every step
// sees the same k: Append is the row writes alone, and the layout, a copy of the whole cache every
// cacheChunk steps, is timed once and added as its share of a step.
func (e *Engine) MeasureDecode(ctx context.Context, k, steps int) (DecodeTiming, error) {
	var zero DecodeTiming
	if k < 1 || steps < 1 {
		return zero, fmt.Errorf("measure decode: need k ≥ 1 and steps ≥ 1, got %d and %d", k, steps)
	}
	c := e.cache(k + 2*cacheChunk)
	if err := c.fill(make([]byte, e.layers*e.heads*k*2*e.headDim*e.kvElem), k); err != nil {
		return zero, err
	}
	defer c.close()
	if c.k == c.c { // room for the row each step writes
		if err := c.grow(c.c + cacheChunk); err != nil {
			return zero, err
		}
	}
	logp := make([]float32, eosToken+1)
	logpT, err := newTensor(onnx.NewShape(1, int64(len(logp))), logp)
	if err != nil {
		return zero, err
	}
	defer logpT.Destroy()
	step, err := e.newDecodeStep(logpT)
	if err != nil {
		return zero, err
	}
	defer step.close()
	var t DecodeTiming
	for i := range steps + 1 {
		if i == 1 {
			t = DecodeTiming{} // the first step warms up and is not counted
		}
		var run time.Duration
		if err := step.run(ctx, c, 1, &run); err != nil {
			return zero, err
		}
		t.Run += run
		start := time.Now()
		if err := c.append(step.rows); err != nil {
			return zero, err
		}
		c.k = k // keep K fixed: the contents are zeros, only the timing matters
		t.Append += time.Since(start)
	}
	t.Run /= time.Duration(steps)
	t.Append /= time.Duration(steps)
	// The layout for more room, as append does when the room is full, shared by cacheChunk steps.
	start := time.Now()
	if err := c.grow(c.c + cacheChunk); err != nil {
		return zero, err
	}
	t.Append += time.Since(start) / cacheChunk
	return t, nil
}
