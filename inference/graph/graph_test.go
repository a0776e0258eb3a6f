package graph_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/inference/graph"
	"github.com/viettts-studio/studio/inference/graph/graphtest"
)

// A dense layer with a ReLU, run in ONNX Runtime, gives the values computed by hand.
func TestDenseReluRunsInOnnxRuntime(t *testing.T) {
	b := graph.New("dense")
	x := b.Input("x", graph.Float, graph.Sym("B"), graph.N(3))
	w := b.Initializer("w", []int{3, 2}, []float32{1, -1, 2, 0.5, -3, 1})
	bias := b.Initializer("bias", []int{2}, []float32{0.25, -0.5})
	y := b.Relu(b.Add(b.MatMul(x, w), bias))
	if got := y.Shape().String(); got != "(B,2)" {
		t.Fatalf("inferred shape %s, want (B,2)", got)
	}
	b.Output(y, "y")
	model, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s := graphtest.Open(t, model)
	xs := []float32{1, 2, 3, -1, 0, 1}
	out := s.MustRun(t, map[string]graphtest.Tensor{"x": graphtest.F32([]int64{2, 3}, xs)}, nil)["y"]
	want := make([]float32, 4)
	for r := range 2 {
		for c := range 2 {
			v := float32([]float32{0.25, -0.5}[c])
			for k := range 3 {
				v += xs[r*3+k] * []float32{1, -1, 2, 0.5, -3, 1}[k*2+c]
			}
			want[r*2+c] = max(v, 0)
		}
	}
	if d := graphtest.MaxAbsDiff(out.F32, want); d > 1e-6 {
		t.Fatalf("y = %v, want %v", out.F32, want)
	}
}

// Plumbing with a dynamic length: gather rows, concatenate, slice, reshape, transpose, softmax,
// layer norm and reductions agree with a direct computation.
func TestPlumbingWithDynamicLength(t *testing.T) {
	b := graph.New("plumbing")
	ids := b.Input("ids", graph.Int64, graph.N(1), graph.Sym("L"))
	table := make([]float32, 5*4)
	for i := range table {
		table[i] = float32(i%7) - 2.5 + float32(i)/10
	}
	emb := b.Gather(b.Initializer("table", []int{5, 4}, table), ids, 0) // (1, L, 4)
	if got := emb.Shape().String(); got != "(1,L,4)" {
		t.Fatalf("gather shape %s", got)
	}
	first := b.Initializer("first", []int{1, 1, 4}, []float32{9, 8, 7, 6})
	seq := b.Concat(1, first, emb)                                   // (1, L+1, 4)
	tail := b.SliceAxis(seq, 1, 1, graph.End)                        // (1, L, 4) = emb
	heads := b.Transpose(b.ReshapeTo(tail, 1, -1, 2, 2), 0, 2, 1, 3) // (1, 2, L, 2)
	sm := b.Softmax(heads, -1)
	ones := make([]float32, 4)
	zeros := make([]float32, 4)
	for i := range ones {
		ones[i] = 1
	}
	ln := b.LayerNorm(emb, b.Initializer("g", []int{4}, ones), b.Initializer("z", []int{4}, zeros), 1e-5)
	b.Output(seq, "seq")
	b.Output(sm, "sm")
	b.Output(ln, "ln")
	b.Output(b.ReduceSum(emb, false, -1), "sum")
	b.Output(b.Cast(b.DimOf(emb, 1), graph.Int64), "len")
	model, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s := graphtest.Open(t, model)
	in := []int64{3, 0, 4}
	out := s.MustRun(t, map[string]graphtest.Tensor{"ids": graphtest.I64([]int64{1, 3}, in)}, nil)

	row := func(i int64) []float32 { return table[i*4 : i*4+4] }
	var wantSeq []float32
	wantSeq = append(wantSeq, 9, 8, 7, 6)
	for _, id := range in {
		wantSeq = append(wantSeq, row(id)...)
	}
	if d := graphtest.MaxAbsDiff(out["seq"].F32, wantSeq); d != 0 {
		t.Fatalf("seq = %v, want %v", out["seq"].F32, wantSeq)
	}
	if got := out["seq"].Shape; len(got) != 3 || got[1] != 4 {
		t.Fatalf("seq shape %v, want (1,4,4)", got)
	}
	// sm[0, h, l, :] = softmax(emb[l, 2h:2h+2])
	var wantSm []float32
	for h := range 2 {
		for _, id := range in {
			a, c := float64(row(id)[2*h]), float64(row(id)[2*h+1])
			m := math.Max(a, c)
			ea, ec := math.Exp(a-m), math.Exp(c-m)
			wantSm = append(wantSm, float32(ea/(ea+ec)), float32(ec/(ea+ec)))
		}
	}
	if d := graphtest.MaxAbsDiff(out["sm"].F32, wantSm); d > 1e-6 {
		t.Fatalf("softmax = %v, want %v", out["sm"].F32, wantSm)
	}
	var wantLn, wantSum []float32
	for _, id := range in {
		r := row(id)
		mean, sum := 0.0, 0.0
		for _, v := range r {
			mean += float64(v) / 4
			sum += float64(v)
		}
		vr := 0.0
		for _, v := range r {
			vr += (float64(v) - mean) * (float64(v) - mean) / 4
		}
		for _, v := range r {
			wantLn = append(wantLn, float32((float64(v)-mean)/math.Sqrt(vr+1e-5)))
		}
		wantSum = append(wantSum, float32(sum))
	}
	if d := graphtest.MaxAbsDiff(out["ln"].F32, wantLn); d > 1e-5 {
		t.Fatalf("layer norm = %v, want %v", out["ln"].F32, wantLn)
	}
	if d := graphtest.MaxAbsDiff(out["sum"].F32, wantSum); d > 1e-5 {
		t.Fatalf("sum = %v, want %v", out["sum"].F32, wantSum)
	}
	if got := out["len"].I64; len(got) != 1 || got[0] != 3 {
		t.Fatalf("len = %v, want [3]", got)
	}
}

// Shape mistakes are caught while building, with the operator and the shapes in the message.
func TestShapeMistakesFailTheBuild(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *graph.Builder) graph.Value
		want  string
	}{
		{"matmul inner dims", func(b *graph.Builder) graph.Value {
			x := b.Input("x", graph.Float, graph.N(2), graph.N(3))
			return b.MatMul(x, b.Initializer("w", []int{4, 5}, make([]float32, 20)))
		}, "inner dims 3 and 4 differ"},
		{"add broadcast", func(b *graph.Builder) graph.Value {
			x := b.Input("x", graph.Float, graph.N(2), graph.N(3))
			return b.Add(x, b.Initializer("w", []int{2}, make([]float32, 2)))
		}, "do not broadcast"},
		{"mixed types", func(b *graph.Builder) graph.Value {
			x := b.Input("x", graph.Float, graph.N(2))
			return b.Add(x, b.Input("y", graph.Int64, graph.N(2)))
		}, "mixed element types"},
		{"initializer size", func(b *graph.Builder) graph.Value {
			return b.Initializer("w", []int{2, 2}, make([]float32, 3))
		}, "needs 4 values, got 3"},
		{"duplicate name", func(b *graph.Builder) graph.Value {
			b.Input("x", graph.Float, graph.N(2))
			return b.Input("x", graph.Float, graph.N(2))
		}, `"x" used twice`},
		{"reshape count", func(b *graph.Builder) graph.Value {
			return b.ReshapeTo(b.Input("x", graph.Float, graph.N(2), graph.N(3)), 4, 2)
		}, "element counts 6 and 8 differ"},
		{"concat dims", func(b *graph.Builder) graph.Value {
			x := b.Input("x", graph.Float, graph.N(2), graph.N(3))
			return b.Concat(0, x, b.Input("y", graph.Float, graph.N(2), graph.N(4)))
		}, "differ on dim 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := graph.New("bad")
			v := c.build(b)
			b.Output(v, "out")
			_, err := b.Build()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// Lazy initializers are loaded when the model is written, and a loader's failure names the tensor.
func TestLazyInitializersStreamAndReportFailures(t *testing.T) {
	b := graph.New("lazy")
	x := b.Input("x", graph.Float, graph.N(2))
	loads := 0
	w := b.LazyInitializer("w", []int{2}, func() ([]float32, error) { loads++; return []float32{3, 4}, nil })
	b.Output(b.Mul(x, w), "y")
	if loads != 0 {
		t.Fatalf("loaded %d times before writing", loads)
	}
	model, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if loads != 1 {
		t.Fatalf("loaded %d times while writing, want 1", loads)
	}
	out := graphtest.Open(t, model).MustRun(t, map[string]graphtest.Tensor{"x": graphtest.F32([]int64{2}, []float32{1, 2})}, nil)
	if got := out["y"].F32; got[0] != 3 || got[1] != 8 {
		t.Fatalf("y = %v, want [3 8]", got)
	}

	bad := graph.New("lazy-bad")
	x = bad.Input("x", graph.Float, graph.N(2))
	boom := errors.New("disk on fire")
	bad.Output(bad.Mul(x, bad.LazyInitializer("w.bad", []int{2}, func() ([]float32, error) { return nil, boom })), "y")
	if _, err := bad.Build(); !errors.Is(err, boom) || !strings.Contains(err.Error(), "w.bad") {
		t.Fatalf("error %v, want the loader's error naming w.bad", err)
	}
	short := graph.New("lazy-short")
	x = short.Input("x", graph.Float, graph.N(2))
	short.Output(short.Mul(x, short.LazyInitializer("w.short", []int{2}, func() ([]float32, error) { return []float32{1}, nil })), "y")
	if _, err := short.Build(); err == nil || !strings.Contains(err.Error(), "w.short") {
		t.Fatalf("error %v, want a size error naming w.short", err)
	}
}

// Every half-precision value survives a round trip through float32, and float32 values round to
// the nearest half (ties to even), overflowing to infinity.
func TestFloat16Conversion(t *testing.T) {
	for h := range 1 << 16 {
		f := graph.Float16ToFloat32(uint16(h))
		if f != f {
			if back := graph.Float32ToFloat16(f); back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
			continue
		}
		if back := graph.Float32ToFloat16(f); back != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, back)
		}
	}
	cases := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00},
		{1 + 1.0/2048, 0x3c00},          // tie, rounds to even (down)
		{1 + 3.0/2048, 0x3c02},          // tie, rounds to even (up)
		{65504, 0x7bff},                 // largest half
		{65520, 0x7c00},                 // rounds up to infinity
		{-1e9, 0xfc00},                  // overflow
		{5.960464477539063e-08, 0x0001}, // smallest subnormal
		{2.98e-08, 0x0000},              // below half the smallest subnormal
		{6.1035156e-05, 0x0400},         // smallest normal
	}
	for _, c := range cases {
		if got := graph.Float32ToFloat16(c.in); got != c.want {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

// A graph converted to float16 keeps the chosen inputs and outputs in float32, runs the listed
// operators in float32, and stays within half-precision rounding of the float32 graph.
func TestConvertFloat16KeepsBoundariesAndAccuracy(t *testing.T) {
	build := func() *graph.Builder {
		b := graph.New("half")
		x := b.Input("x", graph.Float, graph.N(1), graph.N(8))
		state := b.Input("state", graph.Float, graph.N(1), graph.N(8))
		w := make([]float32, 64)
		for i := range w {
			w[i] = float32(math.Sin(float64(i))) / 4
		}
		h := b.MatMul(b.Add(x, state), b.Initializer("w", []int{8, 8}, w))
		ones := make([]float32, 8)
		for i := range ones {
			ones[i] = 1
		}
		h = b.LayerNorm(h, b.Initializer("g", []int{8}, ones), b.Initializer("z", []int{8}, make([]float32, 8)), 1e-5)
		b.Output(b.LogSoftmax(h, -1), "logp")
		b.Output(b.Mul(h, b.Scalar(graph.Float, 0.5)), "new_state")
		return b
	}
	full, err := build().Build()
	if err != nil {
		t.Fatal(err)
	}
	hb := build()
	if err := hb.ConvertFloat16(graph.Half{KeepFloat32: []string{"x", "logp"}, Float32Ops: []string{"LayerNormalization", "LogSoftmax"}}); err != nil {
		t.Fatal(err)
	}
	half, err := hb.Build()
	if err != nil {
		t.Fatal(err)
	}
	xs := []float32{0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8}
	st := []float32{0.05, 0.1, -0.1, 0.2, 0.0, -0.3, 0.1, 0.2}
	ref := graphtest.Open(t, full).MustRun(t, map[string]graphtest.Tensor{
		"x": graphtest.F32([]int64{1, 8}, xs), "state": graphtest.F32([]int64{1, 8}, st)}, nil)
	got := graphtest.Open(t, half).MustRun(t, map[string]graphtest.Tensor{
		"x": graphtest.F32([]int64{1, 8}, xs), "state": graphtest.F16([]int64{1, 8}, st)},
		map[string][]int64{"new_state": {1, 8}})
	if got["logp"].DType != graph.Float || got["new_state"].DType != graph.Float16 {
		t.Fatalf("output types logp %v new_state %v, want float32 and float16", got["logp"].DType, got["new_state"].DType)
	}
	// Inputs and weights of magnitude ≤ 1 carry a relative error of 2^-11 each; through an 8-term
	// product and a layer norm (which divides by a std of about 0.3) the result moves by ~1e-2.
	for _, name := range []string{"logp", "new_state"} {
		if d := graphtest.MaxAbsDiff(got[name].F32, ref[name].F32); d > 2e-2 {
			t.Errorf("%s: float16 graph differs from float32 by %g", name, d)
		}
	}
	if err := build().ConvertFloat16(graph.Half{KeepFloat32: []string{"nope"}}); err == nil {
		t.Fatal("ConvertFloat16 accepted an unknown boundary name")
	}
}

// Every dim the builder infers as known equals the dim ONNX Runtime produces, across the core
// operators, slices with negative bounds and steps, splits and reductions.
func TestInferredShapesMatchOnnxRuntime(t *testing.T) {
	b := graph.New("shapes")
	x := b.Input("x", graph.Float, graph.N(2), graph.N(3), graph.N(10))
	outs := map[string]graph.Value{
		"slice_neg_step":  b.Slice(x, b.Ints(8), b.Ints(1), b.Ints(2), b.Ints(-3)),
		"slice_neg_start": b.SliceAxis(x, 2, -4, graph.End),
		"slice_clamped":   b.SliceAxis(x, 1, 1, 100),
		"slice_empty":     b.SliceAxis(x, 2, 7, 3),
		"unsqueeze":       b.Unsqueeze(x, 0, -1),
		"squeeze":         b.Squeeze(b.SliceAxis(x, 0, 0, 1), 0),
		"transpose":       b.Transpose(x, 2, 0, 1),
		"reshape":         b.ReshapeTo(x, 0, -1),
		"expand":          b.Expand(b.SliceAxis(x, 1, 0, 1), b.Ints(4, 2, 5, 10)),
		"gather":          b.Gather(x, b.ConstInt64([]int{2, 2}, 0, 1, 2, 0), 1),
		"reduce_keep":     b.ReduceMean(x, true, 1, 2),
		"reduce_drop":     b.ReduceSum(x, false, 0),
		"concat":          b.Concat(1, x, x, b.SliceAxis(x, 1, 0, 2)),
		"matmul_batched":  b.MatMul(x, b.Transpose(x, 0, 2, 1)),
		"gemm":            b.Gemm(b.SliceAxis(b.ReshapeTo(x, 6, 10), 0, 0, 4), b.Initializer("w", []int{7, 10}, make([]float32, 70)), graph.Value{}, false, true, 1, 1),
		"where":           b.Where(b.Greater(x, b.Scalar(graph.Float, 0)), x, b.Scalar(graph.Float, -1)),
		"trilu":           b.Trilu(x, true, 1),
		"constant":        b.ConstantOfShape(b.Ints(3, 4), graph.Float, 2),
		"shape":           b.Shape(x),
	}
	parts := b.Split(x, 2, 3, 7)
	outs["split0"], outs["split1"] = parts[0], parts[1]
	for name, v := range outs {
		b.Output(v, name)
	}
	model, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]float32, 60)
	for i := range xs {
		xs[i] = float32(i%7) - 3
	}
	res := graphtest.Open(t, model).MustRun(t, map[string]graphtest.Tensor{"x": graphtest.F32([]int64{2, 3, 10}, xs)}, nil)
	for name, v := range outs {
		got := res[name].Shape
		if _, ok := v.Shape().Ints(); !ok {
			t.Errorf("%s: every input shape is static, yet the inferred shape is %v", name, v.Shape())
		}
		if v.Rank() != len(got) {
			t.Errorf("%s: inferred rank %d (%v), runtime shape %v", name, v.Rank(), v.Shape(), got)
			continue
		}
		for i, d := range v.Shape() {
			if d.Known() && d.Size != got[i] {
				t.Errorf("%s: inferred %v, runtime shape %v", name, v.Shape(), got)
				break
			}
		}
	}
	if got := res["slice_neg_step"].F32[:3]; got[0] != xs[8] || got[1] != xs[5] || got[2] != xs[2] {
		t.Errorf("x[0,0,8:1:-3] = %v, want %v", got, []float32{xs[8], xs[5], xs[2]})
	}
}
