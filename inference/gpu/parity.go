package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/graph"
)

// Tensor is one graph input or output in host memory, as raw little-endian bytes of its type.
type Tensor struct {
	Name  string
	Shape []int64
	Type  onnx.TensorElementDataType
	Data  []byte
}

func elemSize(t onnx.TensorElementDataType) int {
	switch t {
	case onnx.TensorElementDataTypeFloat16:
		return 2
	case onnx.TensorElementDataTypeFloat:
		return 4
	case onnx.TensorElementDataTypeInt64:
		return 8
	}
	return 0
}

func count(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

// zeros returns a tensor of shape filled with zeros.
func zeros(name string, typ onnx.TensorElementDataType, shape ...int64) Tensor {
	return Tensor{Name: name, Shape: shape, Type: typ, Data: make([]byte, count(shape)*elemSize(typ))}
}

// Floats returns the values as float32 (float16 widened, int64 converted).
func (t Tensor) Floats() []float32 {
	n := count(t.Shape)
	out := make([]float32, n)
	for i := range out {
		switch t.Type {
		case onnx.TensorElementDataTypeFloat16:
			out[i] = graph.Float16ToFloat32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		case onnx.TensorElementDataTypeFloat:
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		case onnx.TensorElementDataTypeInt64:
			out[i] = float32(int64(binary.LittleEndian.Uint64(t.Data[8*i:])))
		}
	}
	return out
}

// at returns element i of a float32 tensor.
func (t Tensor) at(i int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
}

// setFloat stores v at element i, rounding to half precision for float16 tensors.
func (t Tensor) setFloat(i int, v float32) {
	switch t.Type {
	case onnx.TensorElementDataTypeFloat16:
		binary.LittleEndian.PutUint16(t.Data[2*i:], graph.Float32ToFloat16(v))
	case onnx.TensorElementDataTypeFloat:
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
	case onnx.TensorElementDataTypeInt64:
		binary.LittleEndian.PutUint64(t.Data[8*i:], uint64(int64(v)))
	}
}

func (t Tensor) setInt(i int, v int64) { binary.LittleEndian.PutUint64(t.Data[8*i:], uint64(v)) }

// decodeCache lays a cache of K positions, kv as (layers, heads, K, 2·dk), out as llm_decode's
// inputs with room for room ≥ K positions: past_len, then each layer's keys and values (heads,
// room, dk), the rows after K zero.
func decodeCache(kv Tensor, room int) []Tensor {
	layers, heads, k, row := int(kv.Shape[0]), int(kv.Shape[1]), int(kv.Shape[2]), int(kv.Shape[3])
	el := elemSize(kv.Type)
	size := heads * room * row / 2 * el
	buf := make([]byte, 2*layers*size)
	compiler.LayOutCache(buf, kv.Data, layers, heads, row/2, el, k, room)
	pastLen := zeros("past_len", onnx.TensorElementDataTypeInt64, 1)
	pastLen.setInt(0, int64(k))
	out := []Tensor{pastLen}
	shape := []int64{int64(heads), int64(room), int64(row / 2)}
	for l := range layers {
		out = append(out,
			Tensor{Name: compiler.PastKeyInput(l), Type: kv.Type, Shape: shape, Data: buf[2*l*size : (2*l+1)*size]},
			Tensor{Name: compiler.PastValueInput(l), Type: kv.Type, Shape: shape, Data: buf[(2*l+1)*size : (2*l+2)*size]})
	}
	return out
}

// Case is one graph of a bundle with inputs and the output buffers of the right shapes.
type Case struct {
	// Graph is the bundle's name for the graph (bundle.GraphHiFT, ...), Path its file.
	Graph, Path string
	Inputs      []Tensor
	Outputs     []Tensor
}

// Sizes of the case inputs: a short segment, so the check runs in seconds even at full size.
const (
	caseText      = 24  // text tokens for llm_prefill
	casePast      = 60  // cached positions for llm_decode
	caseRoom      = 4   // and empty positions after them
	caseTokens    = 60  // speech tokens into flow_encoder
	caseFrames    = 206 // mel frames: int(60 · 22050 / 256 / 25)
	caseHiFTFrame = 100 // mel frames into the vocoder
)

// Cases returns one case per synthesis graph of the bundle (the fp16 LLM graphs too when it has
// them), with random inputs of the contract's shapes (MODEL.md §5.4, §6.4, §7), deterministic in
// seed. Token ids are drawn inside their vocabularies and the interpolation matrix is a real
// linear interpolation, so every graph runs on inputs like the pipeline's.
func Cases(b *bundle.Bundle, seed uint64) ([]Case, error) {
	d, err := compiler.DimsOf(b.Manifest)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var f32, f16, i64 onnx.TensorElementDataType = onnx.TensorElementDataTypeFloat, onnx.TensorElementDataTypeFloat16, onnx.TensorElementDataTypeInt64
	randn := func(t Tensor, scale float64) Tensor {
		for i := range count(t.Shape) {
			t.setFloat(i, float32(r.NormFloat64()*scale))
		}
		return t
	}
	ids := func(name string, n, vocab int) Tensor {
		t := zeros(name, i64, 1, int64(n))
		for i := range n {
			t.setInt(i, int64(r.IntN(vocab)))
		}
		return t
	}
	mel, spk := int64(d.MelBins), int64(d.SpeakerEmbed)
	layers, heads, row := int64(d.LLM.Blocks), int64(d.LLM.Heads), int64(2*d.LLM.HeadDim())
	vocabOut := int64(d.SpeechTokens + 1)
	var cases []Case
	add := func(name string, in, out []Tensor) error {
		if _, ok := b.Graph(name); !ok {
			return nil
		}
		p, err := b.GraphPath(name)
		if err != nil {
			return err
		}
		cases = append(cases, Case{Graph: name, Path: p, Inputs: in, Outputs: out})
		return nil
	}
	for _, llm := range []struct {
		prefill, decode string
		kv              onnx.TensorElementDataType
	}{{bundle.GraphLLMPrefill, bundle.GraphLLMDecode, f32}, {bundle.GraphLLMPrefillFP16, bundle.GraphLLMDecodeFP16, f16}} {
		if err := add(llm.prefill,
			[]Tensor{ids("text", caseText, d.LLM.TextVocab), randn(zeros("spk_emb", f32, 1, spk), 1)},
			[]Tensor{zeros("logp", f32, 1, vocabOut), zeros("kv", llm.kv, layers, heads, caseText+3, row)}); err != nil {
			return nil, err
		}
		// A cache with room to spare, as the engine passes it: casePast real positions in room
		// for casePast+caseRoom, the rest zeros.
		past := zeros("past", llm.kv, layers, heads, casePast, row)
		randn(past, 0.5)
		in := append([]Tensor{ids("token", 1, int(vocabOut))}, decodeCache(past, casePast+caseRoom)...)
		if err := add(llm.decode, in,
			[]Tensor{zeros("logp", f32, 1, vocabOut), zeros("new_kv", llm.kv, layers, heads, 1, row)}); err != nil {
			return nil, err
		}
	}
	interp := zeros("interp", f32, caseTokens, caseFrames)
	for t := range caseFrames {
		// Linear interpolation of caseTokens points onto caseFrames (align_corners=False).
		pos := (float64(t)+0.5)*caseTokens/caseFrames - 0.5
		pos = min(max(pos, 0), caseTokens-1)
		lo := int(pos)
		hi := min(lo+1, caseTokens-1)
		w := float32(pos - float64(lo))
		interp.setFloat(lo*caseFrames+t, 1-w)
		interp.setFloat(hi*caseFrames+t, interp.at(hi*caseFrames+t)+w)
	}
	if err := add(bundle.GraphFlowEncoder,
		[]Tensor{ids("token", caseTokens, d.SpeechTokens), interp, randn(zeros("spk_emb", f32, 1, spk), 1)},
		[]Tensor{zeros("mu", f32, 1, mel, caseFrames), zeros("spks", f32, 1, mel)}); err != nil {
		return nil, err
	}
	mask := zeros("mask", f32, 2, 1, caseFrames)
	for i := range caseFrames * 2 {
		mask.setFloat(i, 1)
	}
	tt := zeros("t", f32, 2)
	tt.setFloat(0, 0.3)
	tt.setFloat(1, 0.3)
	if err := add(bundle.GraphFlowEstimator,
		[]Tensor{randn(zeros("x", f32, 2, mel, caseFrames), 1), mask, randn(zeros("mu", f32, 2, mel, caseFrames), 1), tt,
			randn(zeros("spks", f32, 2, mel), 1), randn(zeros("cond", f32, 2, mel, caseFrames), 1)},
		[]Tensor{zeros("estimator_out", f32, 2, mel, caseFrames)}); err != nil {
		return nil, err
	}
	up := int64(d.HiFT.Hop)
	for _, u := range d.HiFT.UpsampleRates {
		up *= int64(u)
	}
	harm := int64(d.HiFT.Harmonics + 1)
	melIn := randn(zeros("mel", f32, 1, mel, caseHiFTFrame), 1)
	for i, v := range melIn.Floats() {
		melIn.setFloat(i, v-5) // natural-log mel around e^-5, as the flow makes it
	}
	phase := zeros("phase_noise", f32, 1, 1, harm)
	for i := 1; i < int(harm); i++ {
		phase.setFloat(i, float32((r.Float64()*2-1)*math.Pi))
	}
	if err := add(bundle.GraphHiFT,
		[]Tensor{melIn, phase, randn(zeros("sine_noise", f32, 1, caseHiFTFrame*up, harm), 1)},
		[]Tensor{zeros("wav", f32, 1, caseHiFTFrame*up)}); err != nil {
		return nil, err
	}
	return cases, nil
}

// Session is a graph loaded with given session options; inputs and outputs are named.
type Session struct {
	s         *onnx.DynamicAdvancedSession
	ins, outs []string
}

// Open loads the graph at path with so, binding the named inputs and outputs in that order.
func Open(path string, ins, outs []string, so *onnx.SessionOptions) (*Session, error) {
	s, err := onnx.NewDynamicAdvancedSession(path, ins, outs, so)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return &Session{s: s, ins: ins, outs: outs}, nil
}

// Close releases the session.
func (s *Session) Close() error { return s.s.Destroy() }

// Run runs the session on inputs, writing into outputs (in the order the session was opened with).
func (s *Session) Run(inputs, outputs []Tensor) error {
	var vals []onnx.Value
	defer func() {
		for _, v := range vals {
			v.Destroy()
		}
	}()
	wrap := func(ts []Tensor) ([]onnx.Value, error) {
		out := make([]onnx.Value, len(ts))
		for i, t := range ts {
			v, err := onnx.NewCustomDataTensor(onnx.NewShape(t.Shape...), t.Data, t.Type)
			if err != nil {
				return nil, fmt.Errorf("tensor %s %v: %w", t.Name, t.Shape, err)
			}
			vals = append(vals, v)
			out[i] = v
		}
		return out, nil
	}
	in, err := wrap(inputs)
	if err != nil {
		return err
	}
	out, err := wrap(outputs)
	if err != nil {
		return err
	}
	return s.s.Run(in, out)
}

// Run loads c's graph with so, runs it once and returns fresh outputs.
func (c Case) Run(so *onnx.SessionOptions) ([]Tensor, error) {
	s, err := Open(c.Path, names(c.Inputs), names(c.Outputs), so)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := make([]Tensor, len(c.Outputs))
	for i, o := range c.Outputs {
		out[i] = zeros(o.Name, o.Type, o.Shape...)
	}
	if err := s.Run(c.Inputs, out); err != nil {
		return nil, fmt.Errorf("run %s: %w", c.Graph, err)
	}
	return out, nil
}

func names(ts []Tensor) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// Diff compares two outputs element by element.
type Diff struct {
	N int
	// MaxAbs is the largest |want−got|, at index At; Scale is the largest |want| (for reading
	// MaxAbs relative to the output's magnitude).
	MaxAbs float64
	At     int
	Scale  float64
	// RMS is the root mean square of want−got.
	RMS float64
	// NaN counts positions where exactly one side is NaN or infinite.
	NaN int
}

func (d Diff) String() string {
	return fmt.Sprintf("max |Δ| %.3g at %d (outputs up to %.3g), rms %.3g over %d values, %d NaN/Inf mismatches",
		d.MaxAbs, d.At, d.Scale, d.RMS, d.N, d.NaN)
}

// Compare returns how far got is from want. Slices of different lengths compare as a total mismatch
// (MaxAbs +Inf).
func Compare(want, got []float32) Diff {
	d := Diff{N: len(want)}
	if len(want) != len(got) {
		d.MaxAbs = math.Inf(1)
		return d
	}
	var sum float64
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		wBad, gBad := math.IsNaN(w) || math.IsInf(w, 0), math.IsNaN(g) || math.IsInf(g, 0)
		if wBad || gBad {
			if wBad != gBad {
				d.NaN++
			}
			continue
		}
		d.Scale = max(d.Scale, math.Abs(w))
		e := math.Abs(w - g)
		sum += e * e
		if e > d.MaxAbs {
			d.MaxAbs, d.At = e, i
		}
	}
	if len(want) > 0 {
		d.RMS = math.Sqrt(sum / float64(len(want)))
	}
	return d
}
