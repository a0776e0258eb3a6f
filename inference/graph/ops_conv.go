package graph

// This file holds the convolution family and the activations the flow and vocoder graphs need:
// 1-D Conv and ConvTranspose, Pad, group normalization, and element-wise functions (Mish, GELU,
// ELU, LeakyReLU, Snake's building blocks, Clip, CumSum, Floor). Like the core operators, each
// method checks what the known shapes allow and infers the output shape.

// convLen is the output length of a 1-D convolution over a dim of extent d, keeping a symbolic
// dim when the convolution preserves length.
func convLen(d Dim, kernel, stride, pad, dilation int) Dim {
	span := dilation*(kernel-1) + 1
	if stride == 1 && 2*pad == span-1 {
		return d
	}
	if !d.Known() {
		return Unknown
	}
	n := (int(d.Size)+2*pad-span)/stride + 1
	return N(n)
}

// Conv1D is a 1-D convolution of x (N, Cin, L) with weight w (Cout, Cin, K) and optional bias
// (Cout) (pass a zero Value for none), zero padding pad on both sides, as torch.nn.Conv1d.
func (b *Builder) Conv1D(x, w, bias Value, stride, pad, dilation int) Value {
	if !b.sameType("Conv", x, w) {
		return Value{b: b, dtype: x.dtype}
	}
	if x.Rank() != 3 || w.Rank() != 3 {
		return b.Failf("Conv1D(%s %v, %s %v): input and weight must be 3-D", x.name, x.shape, w.name, w.shape)
	}
	if x.Dim(1).conflicts(w.Dim(1)) {
		return b.Failf("Conv1D(%s %v, %s %v): input has %v channels, weight expects %v", x.name, x.shape, w.name, w.shape, x.Dim(1), w.Dim(1))
	}
	if !w.Dim(2).Known() {
		return b.Failf("Conv1D(%s): kernel size of %s must be known", x.name, w.name)
	}
	if stride < 1 || dilation < 1 || pad < 0 {
		return b.Failf("Conv1D(%s): bad stride %d, pad %d or dilation %d", x.name, stride, pad, dilation)
	}
	k := int(w.Dim(2).Size)
	inputs := []Value{x, w}
	if bias.valid() {
		if bias.Rank() != 1 || bias.Dim(0).conflicts(w.Dim(0)) {
			return b.Failf("Conv1D(%s): bias %v does not match weight %v", x.name, bias.shape, w.shape)
		}
		inputs = append(inputs, bias)
	}
	out := Shape{x.Dim(0), w.Dim(0), convLen(x.Dim(2), k, stride, pad, dilation)}
	return b.op1("Conv", inputs, []Attr{
		AttrInts("kernel_shape", int64(k)),
		AttrInts("strides", int64(stride)),
		AttrInts("pads", int64(pad), int64(pad)),
		AttrInts("dilations", int64(dilation)),
	}, x.dtype, out)
}

// ConvTranspose1D is a 1-D transposed convolution of x (N, Cin, L) with weight w (Cin, Cout, K)
// and optional bias (Cout), as torch.nn.ConvTranspose1d with output_padding 0: the output length
// is (L−1)·stride − 2·pad + K.
func (b *Builder) ConvTranspose1D(x, w, bias Value, stride, pad int) Value {
	if !b.sameType("ConvTranspose", x, w) {
		return Value{b: b, dtype: x.dtype}
	}
	if x.Rank() != 3 || w.Rank() != 3 {
		return b.Failf("ConvTranspose1D(%s %v, %s %v): input and weight must be 3-D", x.name, x.shape, w.name, w.shape)
	}
	if x.Dim(1).conflicts(w.Dim(0)) {
		return b.Failf("ConvTranspose1D(%s %v, %s %v): input has %v channels, weight expects %v", x.name, x.shape, w.name, w.shape, x.Dim(1), w.Dim(0))
	}
	if !w.Dim(2).Known() {
		return b.Failf("ConvTranspose1D(%s): kernel size of %s must be known", x.name, w.name)
	}
	if stride < 1 || pad < 0 {
		return b.Failf("ConvTranspose1D(%s): bad stride %d or pad %d", x.name, stride, pad)
	}
	k := int(w.Dim(2).Size)
	inputs := []Value{x, w}
	if bias.valid() {
		if bias.Rank() != 1 || bias.Dim(0).conflicts(w.Dim(1)) {
			return b.Failf("ConvTranspose1D(%s): bias %v does not match weight %v", x.name, bias.shape, w.shape)
		}
		inputs = append(inputs, bias)
	}
	length := Unknown
	if d := x.Dim(2); d.Known() {
		length = N((int(d.Size)-1)*stride - 2*pad + k)
	}
	out := Shape{x.Dim(0), w.Dim(1), length}
	return b.op1("ConvTranspose", inputs, []Attr{
		AttrInts("kernel_shape", int64(k)),
		AttrInts("strides", int64(stride)),
		AttrInts("pads", int64(pad), int64(pad)),
	}, x.dtype, out)
}

// PadLast pads the last axis of x with before and after elements. mode is "constant" (zeros),
// "reflect" (mirror without repeating the edge, as torch's reflect padding) or "edge".
func (b *Builder) PadLast(x Value, mode string, before, after int) Value {
	r := x.Rank()
	if r < 1 {
		return b.Failf("PadLast(%s %v): needs a known rank of at least 1", x.name, x.shape)
	}
	switch mode {
	case "constant", "reflect", "edge":
	default:
		return b.Failf("PadLast(%s): unknown mode %q", x.name, mode)
	}
	if before < 0 || after < 0 {
		return b.Failf("PadLast(%s): negative padding %d, %d", x.name, before, after)
	}
	pads := make([]int64, 2*r)
	pads[r-1] = int64(before)
	pads[2*r-1] = int64(after)
	out := append(Shape{}, x.shape...)
	if d := out[r-1]; d.Known() {
		if mode == "reflect" && (int(d.Size) <= before || int(d.Size) <= after) {
			return b.Failf("PadLast(%s %v): reflect padding %d,%d needs a longer axis", x.name, x.shape, before, after)
		}
		out[r-1] = N(int(d.Size) + before + after)
	} else {
		out[r-1] = Unknown
	}
	return b.op1("Pad", []Value{x, b.Ints(pads...)}, []Attr{AttrString("mode", mode)}, x.dtype, out)
}

// GroupNorm normalizes x (N, C, ...) over groups of C/groups channels and all later axes, then
// applies the per-channel scale and bias (C), as torch.nn.GroupNorm. It is written with
// ReduceMean rather than ONNX GroupNormalization, whose opset-18 form has per-group affine
// parameters.
func (b *Builder) GroupNorm(x, scale, bias Value, groups int, eps float32) Value {
	r := x.Rank()
	if r < 3 {
		return b.Failf("GroupNorm(%s %v): needs (N, C, L...)", x.name, x.shape)
	}
	c := x.Dim(1)
	if c.conflicts(scale.Dim(0)) || c.conflicts(bias.Dim(0)) {
		return b.Failf("GroupNorm(%s %v): scale %v / bias %v do not match channels", x.name, x.shape, scale.shape, bias.shape)
	}
	if groups < 1 || (c.Known() && int(c.Size)%groups != 0) {
		return b.Failf("GroupNorm(%s %v): %d groups do not divide the channels", x.name, x.shape, groups)
	}
	g := b.Reshape(x, b.Ints(0, int64(groups), -1))
	mean := b.ReduceMean(g, true, 2)
	d := b.Sub(g, mean)
	variance := b.ReduceMean(b.Mul(d, d), true, 2)
	n := b.Div(d, b.Sqrt(b.Add(variance, b.Scalar(x.dtype, eps))))
	n = b.Reshape(n, b.Shape(x))
	n.shape = append(Shape{}, x.shape...)
	tail := make([]int, r-2)
	for i := range tail {
		tail[i] = i + 1
	}
	s := b.Unsqueeze(scale, tail...)
	o := b.Unsqueeze(bias, tail...)
	return b.Add(b.Mul(n, s), o)
}

// Softplus is log(1 + exp(x)).
func (b *Builder) Softplus(x Value) Value { return b.unary("Softplus", x) }

// Mish is x·tanh(softplus(x)).
func (b *Builder) Mish(x Value) Value { return b.Mul(x, b.Tanh(b.Softplus(x))) }

// Erf is the error function.
func (b *Builder) Erf(x Value) Value { return b.unary("Erf", x) }

// Gelu is the exact (erf) GELU: x·½·(1 + erf(x/√2)), as torch.nn.functional.gelu.
func (b *Builder) Gelu(x Value) Value {
	half := b.Mul(x, b.Scalar(x.dtype, 0.5))
	return b.Mul(half, b.Add(b.Scalar(x.dtype, 1), b.Erf(b.Mul(x, b.Scalar(x.dtype, 0.70710678118654752)))))
}

// Elu is x for x > 0 and alpha·(exp(x) − 1) otherwise.
func (b *Builder) Elu(x Value, alpha float32) Value {
	return b.unary("Elu", x, AttrFloat("alpha", alpha))
}

// LeakyRelu is x for x ≥ 0 and alpha·x otherwise.
func (b *Builder) LeakyRelu(x Value, alpha float32) Value {
	return b.unary("LeakyRelu", x, AttrFloat("alpha", alpha))
}

// Sin is the element-wise sine.
func (b *Builder) Sin(x Value) Value { return b.unary("Sin", x) }

// Cos is the element-wise cosine.
func (b *Builder) Cos(x Value) Value { return b.unary("Cos", x) }

// Abs is the element-wise absolute value.
func (b *Builder) Abs(x Value) Value { return b.unary("Abs", x) }

// Floor rounds down element-wise.
func (b *Builder) Floor(x Value) Value { return b.unary("Floor", x) }

// Clip limits x to [lo, hi].
func (b *Builder) Clip(x Value, lo, hi float32) Value {
	return b.op1("Clip", []Value{x, b.Scalar(x.dtype, lo), b.Scalar(x.dtype, hi)}, nil, x.dtype, x.shape)
}

// ClipMax limits x to at most hi (no lower bound).
func (b *Builder) ClipMax(x Value, hi float32) Value {
	return b.op1("Clip", []Value{x, {}, b.Scalar(x.dtype, hi)}, nil, x.dtype, x.shape)
}

// CumSum is the inclusive running sum of x along axis, accumulated in x's own element type in
// index order.
func (b *Builder) CumSum(x Value, axis int) Value {
	if !b.checkAxis("CumSum", x, axis) {
		return Value{b: b, dtype: x.dtype}
	}
	return b.op1("CumSum", []Value{x, b.ConstInt64(nil, int64(axis))}, nil, x.dtype, x.shape)
}

// ExpandAs broadcasts x to the shape of like (numpy rules), e.g. a per-row vector over a whole
// (N, C, L) tensor whose length is only known at run time.
func (b *Builder) ExpandAs(x, like Value) Value {
	s, err := broadcast(x.shape, like.shape)
	if err != nil {
		return b.Failf("ExpandAs(%s, %s): %v", x.name, like.name, err)
	}
	return b.op1("Expand", []Value{x, b.Shape(like)}, nil, x.dtype, s)
}
