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

// DecodeTiming is the mean cost of one LLM decode step: the ONNX Runtime call (with the cache
// layout for the next step running beside it) and what the host adds after it (waiting for that
// layout if it is not done, writing the new rows).
type DecodeTiming struct {
	Run, Append time.Duration
}

// Step is the whole step.
func (d DecodeTiming) Step() time.Duration { return d.Run + d.Append }

// MeasureDecode times `steps` decode steps on a cache of k positions (zeros), without sampling: the
// cost of one LLM step at a given cache length, for `bench`. The cache is not grown, so every step
// sees the same k.
func (e *Engine) MeasureDecode(ctx context.Context, k, steps int) (DecodeTiming, error) {
	var zero DecodeTiming
	if k < 1 || steps < 1 {
		return zero, fmt.Errorf("measure decode: need k ≥ 1 and steps ≥ 1, got %d and %d", k, steps)
	}
	c := e.cache(k + 1)
	c.k = k
	clear(c.bytes())
	tok := []int64{1}
	tokT, err := newTensor(onnx.NewShape(1, 1), tok)
	if err != nil {
		return zero, err
	}
	defer tokT.Destroy()
	logp := make([]float32, eosToken+1)
	logpT, err := newTensor(onnx.NewShape(1, int64(len(logp))), logp)
	if err != nil {
		return zero, err
	}
	defer logpT.Destroy()
	rows := make([]byte, c.blocks*c.row)
	newT, err := onnx.NewCustomDataTensor(onnx.NewShape(int64(e.layers), int64(e.heads), 1, int64(e.rowDim)), rows, e.kvType)
	if err != nil {
		return zero, err
	}
	defer newT.Destroy()
	in, out := make([]onnx.Value, 2), make([]onnx.Value, 2)
	in[e.decode.InputIndex("token")] = tokT
	out[e.decode.OutputIndex("logp")], out[e.decode.OutputIndex("new_kv")] = logpT, newT
	var t DecodeTiming
	for i := range steps + 1 {
		if i == 1 {
			t = DecodeTiming{} // the first step warms up and is not counted
		}
		start := time.Now()
		pastT, err := e.kvTensor(c.bytes(), c.k)
		if err != nil {
			return zero, err
		}
		in[e.decode.InputIndex("past_kv")] = pastT
		c.startGrow() // as in a real step: the layout for K+1 overlaps the run
		err = e.decode.Run(ctx, in, out)
		pastT.Destroy()
		if err != nil {
			c.wait()
			return zero, err
		}
		mid := time.Now()
		t.Run += mid.Sub(start)
		c.finishGrow(rows)
		c.k-- // keep K fixed: the contents are zeros, only the timing matters
		t.Append += time.Since(mid)
	}
	t.Run /= time.Duration(steps)
	t.Append /= time.Duration(steps)
	return t, nil
}
