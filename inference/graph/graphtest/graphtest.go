// Package graphtest runs ONNX models built by package graph in the real ONNX Runtime (CPU, one
// thread) for tests: it opens a session from model bytes, feeds named tensors, and returns the
// outputs as plain Go slices (float16 outputs widened to float32).
package graphtest

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/viettts-studio/studio/inference/graph"
	"github.com/viettts-studio/studio/inference/ort"
)

// Tensor is a named input or output: its element type, shape, and data (F32 for float32 and
// float16, I64 for int64, Bool for bool).
type Tensor struct {
	DType graph.DType
	Shape []int64
	F32   []float32
	I64   []int64
	Bool  []bool
}

// F32 is a float32 tensor.
func F32(shape []int64, data []float32) Tensor {
	return Tensor{DType: graph.Float, Shape: shape, F32: data}
}

// F16 is a float16 tensor made from float32 values (rounded to nearest even).
func F16(shape []int64, data []float32) Tensor {
	return Tensor{DType: graph.Float16, Shape: shape, F32: data}
}

// I64 is an int64 tensor.
func I64(shape []int64, data []int64) Tensor {
	return Tensor{DType: graph.Int64, Shape: shape, I64: data}
}

// Session is an ONNX Runtime session over one model, closed when the test ends.
type Session struct {
	s       *onnx.DynamicAdvancedSession
	inputs  []string
	outputs []string
	half    map[string]bool // outputs of type float16
}

// Init initializes ONNX Runtime (library discovery as in package ort) or fails the test with
// what to do.
func Init(tb testing.TB) {
	tb.Helper()
	if err := ort.Init(""); err != nil {
		tb.Fatalf("ONNX Runtime is needed for this test: %v (run tools/setup.sh ort)", err)
	}
}

// Open creates a session for model. The test fails if ONNX Runtime rejects the model.
func Open(tb testing.TB, model []byte) *Session {
	tb.Helper()
	Init(tb)
	ins, outs, err := onnx.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		tb.Fatalf("ONNX Runtime cannot read the model: %v", err)
	}
	s := &Session{half: map[string]bool{}}
	for _, i := range ins {
		s.inputs = append(s.inputs, i.Name)
	}
	for _, o := range outs {
		s.outputs = append(s.outputs, o.Name)
		if o.DataType == onnx.TensorElementDataTypeFloat16 {
			s.half[o.Name] = true
		}
	}
	opts, err := onnx.NewSessionOptions()
	if err != nil {
		tb.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		tb.Fatal(err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		tb.Fatal(err)
	}
	s.s, err = onnx.NewDynamicAdvancedSessionWithONNXData(model, s.inputs, s.outputs, opts)
	if err != nil {
		tb.Fatalf("ONNX Runtime rejects the model: %v", err)
	}
	tb.Cleanup(func() { s.s.Destroy() })
	return s
}

// Inputs lists the model's input names in order.
func (s *Session) Inputs() []string { return s.inputs }

// Outputs lists the model's output names in order.
func (s *Session) Outputs() []string { return s.outputs }

// Run feeds inputs (by name; every model input must be given) and returns every output by name.
// Float16 outputs need their shape in halfShapes: onnxruntime_go v1.27.0 cannot copy a float16
// output it allocated itself (it copies one byte per element), so they are preallocated.
func (s *Session) Run(inputs map[string]Tensor, halfShapes map[string][]int64) (map[string]Tensor, error) {
	vals := make([]onnx.Value, len(s.inputs))
	defer func() {
		for _, v := range vals {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, name := range s.inputs {
		t, ok := inputs[name]
		if !ok {
			return nil, fmt.Errorf("input %q not given", name)
		}
		v, err := toValue(t)
		if err != nil {
			return nil, fmt.Errorf("input %q: %w", name, err)
		}
		vals[i] = v
	}
	outs := make([]onnx.Value, len(s.outputs))
	for i, name := range s.outputs {
		if !s.half[name] {
			continue
		}
		shape, ok := halfShapes[name]
		if !ok {
			return nil, fmt.Errorf("float16 output %q needs its shape given", name)
		}
		v, err := onnx.NewCustomDataTensor(onnx.NewShape(shape...), make([]byte, 2*onnx.NewShape(shape...).FlattenedSize()), onnx.TensorElementDataTypeFloat16)
		if err != nil {
			return nil, err
		}
		outs[i] = v
	}
	if err := s.s.Run(vals, outs); err != nil {
		for _, o := range outs {
			if o != nil {
				o.Destroy()
			}
		}
		return nil, err
	}
	res := map[string]Tensor{}
	for i, o := range outs {
		t, err := fromValue(o)
		o.Destroy()
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", s.outputs[i], err)
		}
		res[s.outputs[i]] = t
	}
	return res, nil
}

// MustRun is Run that fails the test on error.
func (s *Session) MustRun(tb testing.TB, inputs map[string]Tensor, halfShapes map[string][]int64) map[string]Tensor {
	tb.Helper()
	out, err := s.Run(inputs, halfShapes)
	if err != nil {
		tb.Fatalf("run: %v", err)
	}
	return out
}

func toValue(t Tensor) (onnx.Value, error) {
	shape := onnx.NewShape(t.Shape...)
	switch t.DType {
	case graph.Float:
		return onnx.NewTensor(shape, t.F32)
	case graph.Int64:
		return onnx.NewTensor(shape, t.I64)
	case graph.Bool:
		return onnx.NewTensor(shape, t.Bool)
	case graph.Float16:
		raw := make([]byte, 2*len(t.F32))
		for i, f := range t.F32 {
			binary.LittleEndian.PutUint16(raw[2*i:], graph.Float32ToFloat16(f))
		}
		return onnx.NewCustomDataTensor(shape, raw, onnx.TensorElementDataTypeFloat16)
	}
	return nil, fmt.Errorf("unsupported dtype %v", t.DType)
}

func fromValue(v onnx.Value) (Tensor, error) {
	switch x := v.(type) {
	case *onnx.Tensor[float32]:
		return F32(x.GetShape(), append([]float32(nil), x.GetData()...)), nil
	case *onnx.Tensor[int64]:
		return I64(x.GetShape(), append([]int64(nil), x.GetData()...)), nil
	case *onnx.Tensor[bool]:
		return Tensor{DType: graph.Bool, Shape: x.GetShape(), Bool: append([]bool(nil), x.GetData()...)}, nil
	case *onnx.CustomDataTensor:
		raw := x.GetData()
		f := make([]float32, len(raw)/2)
		for i := range f {
			f[i] = graph.Float16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		return F16(x.GetShape(), f), nil
	}
	return Tensor{}, fmt.Errorf("unsupported output value %T", v)
}

// MaxAbsDiff is the largest |a[i]−b[i]|; it is +Inf when the lengths differ or a value is NaN.
func MaxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		if d < 0 {
			d = -d
		}
		if d != d {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}
