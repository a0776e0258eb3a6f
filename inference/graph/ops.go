package graph

import (
	"fmt"
	"math"
)

// This file holds the core operators: element-wise math, matrix products, normalization, and
// tensor plumbing (shapes, slices, gathers). Each method checks what the known shapes allow and
// infers the output shape; a failed check is recorded on the Builder (see the package comment).

// broadcast returns the numpy-broadcast shape of a and b, or an error when known dims conflict.
func broadcast(a, b Shape) (Shape, error) {
	if a == nil || b == nil {
		return nil, nil
	}
	n := max(len(a), len(b))
	out := make(Shape, n)
	for i := range n {
		da, db := N(1), N(1)
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da.Known() && da.Size == 1:
			out[i] = db
		case db.Known() && db.Size == 1:
			out[i] = da
		case da.conflicts(db):
			return nil, fmt.Errorf("shapes %v and %v do not broadcast (dim %d: %v vs %v)", a, b, i, da, db)
		case da.Known():
			out[i] = da
		case db.Known():
			out[i] = db
		case da.same(db):
			out[i] = da
		default:
			out[i] = Unknown
		}
	}
	return out, nil
}

func (b *Builder) sameType(op string, vs ...Value) bool {
	for _, v := range vs[1:] {
		if v.dtype != vs[0].dtype {
			b.Failf("%s: mixed element types %v and %v (%s, %s)", op, vs[0].dtype, v.dtype, vs[0].name, v.name)
			return false
		}
	}
	return true
}

func (b *Builder) binary(op string, x, y Value, outType DType) Value {
	if !b.sameType(op, x, y) {
		return Value{b: b, dtype: outType}
	}
	shape, err := broadcast(x.shape, y.shape)
	if err != nil {
		return b.Failf("%s(%s, %s): %v", op, x.name, y.name, err)
	}
	return b.op1(op, []Value{x, y}, nil, outType, shape)
}

// Add is x + y with broadcasting.
func (b *Builder) Add(x, y Value) Value { return b.binary("Add", x, y, x.dtype) }

// Sub is x − y with broadcasting.
func (b *Builder) Sub(x, y Value) Value { return b.binary("Sub", x, y, x.dtype) }

// Mul is x · y element-wise with broadcasting.
func (b *Builder) Mul(x, y Value) Value { return b.binary("Mul", x, y, x.dtype) }

// Div is x / y with broadcasting.
func (b *Builder) Div(x, y Value) Value { return b.binary("Div", x, y, x.dtype) }

// Pow is x^y with broadcasting.
func (b *Builder) Pow(x, y Value) Value { return b.binary("Pow", x, y, x.dtype) }

// Max is the element-wise maximum of x and y.
func (b *Builder) Max(x, y Value) Value { return b.binary("Max", x, y, x.dtype) }

// Min is the element-wise minimum of x and y.
func (b *Builder) Min(x, y Value) Value { return b.binary("Min", x, y, x.dtype) }

// Equal is x == y (bool) with broadcasting.
func (b *Builder) Equal(x, y Value) Value { return b.binary("Equal", x, y, Bool) }

// Less is x < y (bool) with broadcasting.
func (b *Builder) Less(x, y Value) Value { return b.binary("Less", x, y, Bool) }

// Greater is x > y (bool) with broadcasting.
func (b *Builder) Greater(x, y Value) Value { return b.binary("Greater", x, y, Bool) }

// Where selects x where cond is true and y elsewhere, with broadcasting.
func (b *Builder) Where(cond, x, y Value) Value {
	if cond.dtype != Bool {
		return b.Failf("Where: condition %s is %v, not bool", cond.name, cond.dtype)
	}
	if !b.sameType("Where", x, y) {
		return Value{b: b, dtype: x.dtype}
	}
	s, err := broadcast(x.shape, y.shape)
	if err == nil {
		s, err = broadcast(cond.shape, s)
	}
	if err != nil {
		return b.Failf("Where: %v", err)
	}
	return b.op1("Where", []Value{cond, x, y}, nil, x.dtype, s)
}

func (b *Builder) unary(op string, x Value, attrs ...Attr) Value {
	return b.op1(op, []Value{x}, attrs, x.dtype, x.shape)
}

// Sqrt is the element-wise square root.
func (b *Builder) Sqrt(x Value) Value { return b.unary("Sqrt", x) }

// Exp is the element-wise exponential.
func (b *Builder) Exp(x Value) Value { return b.unary("Exp", x) }

// Log is the element-wise natural logarithm.
func (b *Builder) Log(x Value) Value { return b.unary("Log", x) }

// Tanh is the element-wise hyperbolic tangent.
func (b *Builder) Tanh(x Value) Value { return b.unary("Tanh", x) }

// Sigmoid is the element-wise logistic function.
func (b *Builder) Sigmoid(x Value) Value { return b.unary("Sigmoid", x) }

// Relu is max(x, 0).
func (b *Builder) Relu(x Value) Value { return b.unary("Relu", x) }

// Neg is −x.
func (b *Builder) Neg(x Value) Value { return b.unary("Neg", x) }

// Reciprocal is 1/x.
func (b *Builder) Reciprocal(x Value) Value { return b.unary("Reciprocal", x) }

// Identity copies x.
func (b *Builder) Identity(x Value) Value { return b.unary("Identity", x) }

// Swish is x·sigmoid(x) (torch's SiLU).
func (b *Builder) Swish(x Value) Value { return b.Mul(x, b.Sigmoid(x)) }

func (b *Builder) checkAxis(op string, x Value, axis int) bool {
	if r := x.Rank(); r >= 0 && (axis < -r || axis >= r) {
		b.Failf("%s: axis %d out of range for %s of shape %v", op, axis, x.name, x.shape)
		return false
	}
	return true
}

// Softmax is the softmax of x along axis.
func (b *Builder) Softmax(x Value, axis int) Value {
	if !b.checkAxis("Softmax", x, axis) {
		return Value{b: b, dtype: x.dtype}
	}
	return b.unary("Softmax", x, AttrInt("axis", int64(axis)))
}

// LogSoftmax is the log-softmax of x along axis.
func (b *Builder) LogSoftmax(x Value, axis int) Value {
	if !b.checkAxis("LogSoftmax", x, axis) {
		return Value{b: b, dtype: x.dtype}
	}
	return b.unary("LogSoftmax", x, AttrInt("axis", int64(axis)))
}

// LayerNorm normalizes x over its last dimension, then scales and shifts (torch.nn.LayerNorm).
func (b *Builder) LayerNorm(x, scale, bias Value, eps float32) Value {
	if !b.sameType("LayerNormalization", x, scale, bias) {
		return Value{b: b, dtype: x.dtype}
	}
	if last := x.Dim(-1); last.conflicts(scale.Dim(0)) || last.conflicts(bias.Dim(0)) {
		return b.Failf("LayerNorm(%s): last dim %v, scale %v, bias %v", x.name, x.shape, scale.shape, bias.shape)
	}
	return b.op1("LayerNormalization", []Value{x, scale, bias},
		[]Attr{AttrInt("axis", -1), AttrFloat("epsilon", eps)}, x.dtype, x.shape)
}

// MatMul is the numpy matrix product of x and y (batched over leading dims with broadcasting).
func (b *Builder) MatMul(x, y Value) Value {
	if !b.sameType("MatMul", x, y) {
		return Value{b: b, dtype: x.dtype}
	}
	if x.Rank() == 0 || y.Rank() == 0 {
		return b.Failf("MatMul: scalar operand (%s %v, %s %v)", x.name, x.shape, y.name, y.shape)
	}
	if x.shape == nil || y.shape == nil {
		return b.op1("MatMul", []Value{x, y}, nil, x.dtype, nil)
	}
	xs, ys := x.shape, y.shape
	if len(xs) == 1 {
		xs = Shape{N(1), xs[0]}
	}
	if len(ys) == 1 {
		ys = Shape{ys[0], N(1)}
	}
	k1, k2 := xs[len(xs)-1], ys[len(ys)-2]
	if k1.conflicts(k2) {
		return b.Failf("MatMul(%s %v, %s %v): inner dims %v and %v differ", x.name, x.shape, y.name, y.shape, k1, k2)
	}
	batch, err := broadcast(xs[:len(xs)-2], ys[:len(ys)-2])
	if err != nil {
		return b.Failf("MatMul(%s, %s): batch dims: %v", x.name, y.name, err)
	}
	out := append(batch, xs[len(xs)-2], ys[len(ys)-1])
	if len(x.shape) == 1 {
		out = append(out[:len(out)-2], out[len(out)-1])
	}
	if len(y.shape) == 1 {
		out = out[:len(out)-1]
	}
	return b.op1("MatMul", []Value{x, y}, nil, x.dtype, out)
}

// Gemm is alpha·op(a)·op(c) + beta·bias for 2-D a and c, op being an optional transpose.
func (b *Builder) Gemm(a, c, bias Value, transA, transB bool, alpha, beta float32) Value {
	if a.Rank() != 2 && a.Rank() != -1 || c.Rank() != 2 && c.Rank() != -1 {
		return b.Failf("Gemm: operands must be 2-D, got %v and %v", a.shape, c.shape)
	}
	m, k1 := a.Dim(0), a.Dim(1)
	if transA {
		m, k1 = k1, m
	}
	k2, n := c.Dim(0), c.Dim(1)
	if transB {
		k2, n = n, k2
	}
	if k1.conflicts(k2) {
		return b.Failf("Gemm(%s %v, %s %v): inner dims %v and %v differ", a.name, a.shape, c.name, c.shape, k1, k2)
	}
	bt := func(v bool) int64 {
		if v {
			return 1
		}
		return 0
	}
	inputs := []Value{a, c}
	if bias.valid() {
		inputs = append(inputs, bias)
	}
	return b.op1("Gemm", inputs, []Attr{AttrInt("transA", bt(transA)), AttrInt("transB", bt(transB)),
		AttrFloat("alpha", alpha), AttrFloat("beta", beta)}, a.dtype, Shape{m, n})
}

// Cast converts x to element type to.
func (b *Builder) Cast(x Value, to DType) Value {
	if x.dtype == to {
		return x
	}
	return b.op1("Cast", []Value{x}, []Attr{AttrInt("to", int64(to))}, to, x.shape)
}

// Shape returns the shape of x as a 1-D int64 tensor.
func (b *Builder) Shape(x Value) Value {
	var s Shape
	if r := x.Rank(); r >= 0 {
		s = ShapeOf(r)
	}
	return b.op1("Shape", []Value{x}, nil, Int64, s)
}

// DimOf returns dimension axis of x as a 1-element int64 tensor (handy for building shapes).
func (b *Builder) DimOf(x Value, axis int) Value {
	if r := x.Rank(); r >= 0 && axis < 0 {
		axis += r
	}
	out := b.Gather(b.Shape(x), b.Ints(int64(axis)), 0)
	if d := x.Dim(axis); d.Known() {
		b.ints[out.name] = []int64{d.Size}
	}
	return out
}

// constInts returns the values of v when it is an int64 constant built by this Builder.
func (b *Builder) constInts(v Value) ([]int64, bool) {
	vals, ok := b.ints[v.name]
	return vals, ok
}

// Reshape gives x the shape held by the 1-D int64 tensor shape (0 copies the input dim, −1 is
// inferred), as ONNX Reshape with allowzero=0.
func (b *Builder) Reshape(x, shape Value) Value {
	if shape.dtype != Int64 {
		return b.Failf("Reshape(%s): shape must be int64, got %v", x.name, shape.dtype)
	}
	var out Shape
	if dims, ok := b.constInts(shape); ok {
		out = make(Shape, len(dims))
		infer := -1
		for i, d := range dims {
			switch {
			case d == 0:
				out[i] = x.Dim(i)
			case d == -1:
				if infer >= 0 {
					return b.Failf("Reshape(%s): two -1 dims in %v", x.name, dims)
				}
				infer = i
				out[i] = Unknown
			case d < -1:
				return b.Failf("Reshape(%s): bad dim %d in %v", x.name, d, dims)
			default:
				out[i] = N(int(d))
			}
		}
		if in, ok := x.shape.Ints(); ok {
			total := 1
			for _, d := range in {
				total *= d
			}
			known := 1
			for i, d := range out {
				if i != infer && d.Known() {
					known *= int(d.Size)
				}
			}
			if infer >= 0 && known > 0 {
				if total%known != 0 {
					return b.Failf("Reshape(%s %v) to %v: %d elements do not divide", x.name, x.shape, dims, total)
				}
				out[infer] = N(total / known)
			} else if infer < 0 && known != total {
				return b.Failf("Reshape(%s %v) to %v: element counts %d and %d differ", x.name, x.shape, dims, total, known)
			}
		}
	} else if shape.Rank() == 1 && shape.Dim(0).Known() {
		out = make(Shape, shape.Dim(0).Size)
		for i := range out {
			out[i] = Unknown
		}
	}
	return b.op1("Reshape", []Value{x, shape}, nil, x.dtype, out)
}

// ReshapeTo is Reshape with a constant target shape (0 copies, −1 infers).
func (b *Builder) ReshapeTo(x Value, dims ...int64) Value { return b.Reshape(x, b.Ints(dims...)) }

// Transpose permutes the dims of x.
func (b *Builder) Transpose(x Value, perm ...int) Value {
	var out Shape
	if r := x.Rank(); r >= 0 {
		if len(perm) != r {
			return b.Failf("Transpose(%s %v): permutation %v has the wrong length", x.name, x.shape, perm)
		}
		out = make(Shape, r)
		seen := make([]bool, r)
		for i, p := range perm {
			if p < 0 || p >= r || seen[p] {
				return b.Failf("Transpose(%s): bad permutation %v", x.name, perm)
			}
			seen[p] = true
			out[i] = x.shape[p]
		}
	}
	p := make([]int64, len(perm))
	for i, v := range perm {
		p[i] = int64(v)
	}
	return b.op1("Transpose", []Value{x}, []Attr{AttrInts("perm", p...)}, x.dtype, out)
}

// Unsqueeze inserts size-1 dims at axes (positions in the output).
func (b *Builder) Unsqueeze(x Value, axes ...int) Value {
	var out Shape
	if r := x.Rank(); r >= 0 {
		n := r + len(axes)
		ins := make([]bool, n)
		for _, a := range axes {
			if a < 0 {
				a += n
			}
			if a < 0 || a >= n || ins[a] {
				return b.Failf("Unsqueeze(%s %v): bad axes %v", x.name, x.shape, axes)
			}
			ins[a] = true
		}
		out = make(Shape, 0, n)
		j := 0
		for i := range n {
			if ins[i] {
				out = append(out, N(1))
			} else {
				out = append(out, x.shape[j])
				j++
			}
		}
	}
	return b.op1("Unsqueeze", []Value{x, b.Ints(toInt64s(axes)...)}, nil, x.dtype, out)
}

// Squeeze removes the size-1 dims at axes.
func (b *Builder) Squeeze(x Value, axes ...int) Value {
	var out Shape
	if r := x.Rank(); r >= 0 {
		drop := make([]bool, r)
		for _, a := range axes {
			if a < 0 {
				a += r
			}
			if a < 0 || a >= r {
				return b.Failf("Squeeze(%s %v): axis out of range in %v", x.name, x.shape, axes)
			}
			if d := x.shape[a]; d.Known() && d.Size != 1 {
				return b.Failf("Squeeze(%s %v): dim %d is %v, not 1", x.name, x.shape, a, d)
			}
			drop[a] = true
		}
		for i, d := range x.shape {
			if !drop[i] {
				out = append(out, d)
			}
		}
		if out == nil {
			out = Shape{}
		}
	}
	return b.op1("Squeeze", []Value{x, b.Ints(toInt64s(axes)...)}, nil, x.dtype, out)
}

// Concat joins vs along axis.
func (b *Builder) Concat(axis int, vs ...Value) Value {
	if len(vs) == 0 {
		return b.Failf("Concat: no inputs")
	}
	if !b.sameType("Concat", vs...) {
		return Value{b: b, dtype: vs[0].dtype}
	}
	var out Shape
	if r := vs[0].Rank(); r >= 0 {
		a := axis
		if a < 0 {
			a += r
		}
		if a < 0 || a >= r {
			return b.Failf("Concat: axis %d out of range for rank %d", axis, r)
		}
		out = append(Shape{}, vs[0].shape...)
		total := int64(0)
		for _, v := range vs {
			if v.Rank() != r {
				return b.Failf("Concat: ranks differ (%s %v, %s %v)", vs[0].name, vs[0].shape, v.name, v.shape)
			}
			for i := range r {
				if i != a && out[i].conflicts(v.shape[i]) {
					return b.Failf("Concat on axis %d: %s %v and %s %v differ on dim %d", axis, vs[0].name, vs[0].shape, v.name, v.shape, i)
				}
				if i != a && !out[i].Known() && v.shape[i].Known() {
					out[i] = v.shape[i]
				}
			}
			if total >= 0 && v.shape[a].Known() {
				total += v.shape[a].Size
			} else {
				total = -1
			}
		}
		out[a] = Dim{Size: total}
	}
	vals, allConst := []int64{}, true
	for _, v := range vs {
		c, ok := b.constInts(v)
		if !ok {
			allConst = false
			break
		}
		vals = append(vals, c...)
	}
	res := b.op1("Concat", vs, []Attr{AttrInt("axis", int64(axis))}, vs[0].dtype, out)
	if allConst && vs[0].dtype == Int64 && vs[0].Rank() == 1 {
		b.ints[res.name] = vals
	}
	return res
}

// Slice takes x[starts:ends:steps] along axes; all four are 1-D int64 tensors (steps may be a
// zero Value for all ones).
func (b *Builder) Slice(x, starts, ends, axes, steps Value) Value {
	var out Shape
	if x.shape != nil {
		out = append(Shape{}, x.shape...)
		ax, okA := b.constInts(axes)
		st, okS := b.constInts(starts)
		en, okE := b.constInts(ends)
		var sp []int64
		okP := true
		if steps.valid() {
			sp, okP = b.constInts(steps)
		}
		if !okA {
			for i := range out {
				out[i] = Unknown
			}
		} else {
			for i, a := range ax {
				if a < 0 {
					a += int64(len(out))
				}
				if a < 0 || int(a) >= len(out) {
					return b.Failf("Slice(%s %v): axis %d out of range", x.name, x.shape, ax[i])
				}
				out[a] = Unknown
				if okS && okE && okP && x.shape[a].Known() && i < len(st) && i < len(en) {
					step := int64(1)
					if sp != nil {
						step = sp[i]
					}
					out[a] = N(sliceLen(x.shape[a].Size, st[i], en[i], step))
				}
			}
		}
	}
	inputs := []Value{x, starts, ends, axes}
	if steps.valid() {
		inputs = append(inputs, steps)
	}
	return b.op1("Slice", inputs, nil, x.dtype, out)
}

// sliceLen is the length of a Python-style slice of a dim of size n.
func sliceLen(n, start, end, step int64) int {
	clamp := func(v, lo, hi int64) int64 { return min(max(v, lo), hi) }
	if step > 0 {
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		}
		start, end = clamp(start, 0, n), clamp(end, 0, n)
		if end <= start {
			return 0
		}
		return int((end - start + step - 1) / step)
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = clamp(start, -1, n-1), clamp(end, -1, n-1)
	if start <= end {
		return 0
	}
	return int((start - end - step - 1) / -step)
}

// SliceAxis is x[start:end] along one axis with constant bounds (math.MaxInt64 for "to the end").
func (b *Builder) SliceAxis(x Value, axis int, start, end int64) Value {
	return b.Slice(x, b.Ints(start), b.Ints(end), b.Ints(int64(axis)), Value{})
}

// End is the slice bound meaning "to the end of the axis".
const End = math.MaxInt64

// Gather takes entries of data along axis at the int64 (or int32) indices.
func (b *Builder) Gather(data, indices Value, axis int) Value {
	if indices.dtype != Int64 && indices.dtype != Int32 {
		return b.Failf("Gather(%s): indices %s are %v, not int64/int32", data.name, indices.name, indices.dtype)
	}
	var out Shape
	if r := data.Rank(); r >= 0 && indices.shape != nil {
		a := axis
		if a < 0 {
			a += r
		}
		if a < 0 || a >= r {
			return b.Failf("Gather(%s %v): axis %d out of range", data.name, data.shape, axis)
		}
		out = append(append(append(Shape{}, data.shape[:a]...), indices.shape...), data.shape[a+1:]...)
	}
	res := b.op1("Gather", []Value{data, indices}, []Attr{AttrInt("axis", int64(axis))}, data.dtype, out)
	if vals, ok := b.constInts(data); ok && axis == 0 && data.Rank() == 1 {
		if idx, ok := b.constInts(indices); ok {
			picked := make([]int64, 0, len(idx))
			for _, i := range idx {
				if i < 0 {
					i += int64(len(vals))
				}
				if i < 0 || int(i) >= len(vals) {
					return b.Failf("Gather: index %d out of range for %d constants", i, len(vals))
				}
				picked = append(picked, vals[i])
			}
			b.ints[res.name] = picked
		}
	}
	return res
}

// Expand broadcasts x to the shape held by the 1-D int64 tensor shape.
func (b *Builder) Expand(x, shape Value) Value {
	var out Shape
	if dims, ok := b.constInts(shape); ok {
		target := make(Shape, len(dims))
		for i, d := range dims {
			target[i] = N(int(d))
		}
		s, err := broadcast(x.shape, target)
		if err != nil {
			return b.Failf("Expand(%s): %v", x.name, err)
		}
		out = s
	}
	return b.op1("Expand", []Value{x, shape}, nil, x.dtype, out)
}

// ConstantOfShape is a tensor of the shape held by the 1-D int64 tensor shape, filled with value.
func (b *Builder) ConstantOfShape(shape Value, dt DType, value float32) Value {
	var data any
	switch dt {
	case Float, Float16:
		data = []float32{value}
	case Int64:
		data = []int64{int64(value)}
	case Int32:
		data = []int32{int32(value)}
	case Bool:
		data = []bool{value != 0}
	default:
		return b.Failf("ConstantOfShape: unsupported dtype %v", dt)
	}
	var out Shape
	if dims, ok := b.constInts(shape); ok {
		out = make(Shape, len(dims))
		for i, d := range dims {
			out[i] = N(int(d))
		}
	} else if shape.Rank() == 1 && shape.Dim(0).Known() {
		out = make(Shape, shape.Dim(0).Size)
		for i := range out {
			out[i] = Unknown
		}
	}
	return b.op1("ConstantOfShape", []Value{shape}, []Attr{AttrTensor("value", dt, []int{1}, data)}, dt, out)
}

// Trilu keeps the lower (upper=false) or upper triangle of the last two dims of x, offset by the
// diagonal k.
func (b *Builder) Trilu(x Value, upper bool, k int64) Value {
	u := int64(0)
	if upper {
		u = 1
	}
	return b.op1("Trilu", []Value{x, b.ConstInt64(nil, k)}, []Attr{AttrInt("upper", u)}, x.dtype, x.shape)
}

// Range is the 1-D sequence start, start+delta, ... below limit; all three are scalars of one type.
func (b *Builder) Range(start, limit, delta Value) Value {
	if !b.sameType("Range", start, limit, delta) {
		return Value{b: b, dtype: start.dtype}
	}
	return b.op1("Range", []Value{start, limit, delta}, nil, start.dtype, Shape{Unknown})
}

func (b *Builder) reduce(op string, x Value, keepDims bool, axes []int) Value {
	var out Shape
	if r := x.Rank(); r >= 0 {
		drop := make([]bool, r)
		for _, a := range axes {
			if a < 0 {
				a += r
			}
			if a < 0 || a >= r {
				return b.Failf("%s(%s %v): axis out of range in %v", op, x.name, x.shape, axes)
			}
			drop[a] = true
		}
		out = Shape{}
		for i, d := range x.shape {
			switch {
			case !drop[i]:
				out = append(out, d)
			case keepDims:
				out = append(out, N(1))
			}
		}
	}
	keep := int64(0)
	if keepDims {
		keep = 1
	}
	return b.op1(op, []Value{x, b.Ints(toInt64s(axes)...)}, []Attr{AttrInt("keepdims", keep)}, x.dtype, out)
}

// ReduceMean averages x over axes.
func (b *Builder) ReduceMean(x Value, keepDims bool, axes ...int) Value {
	return b.reduce("ReduceMean", x, keepDims, axes)
}

// ReduceSum sums x over axes.
func (b *Builder) ReduceSum(x Value, keepDims bool, axes ...int) Value {
	return b.reduce("ReduceSum", x, keepDims, axes)
}

// ReduceMax takes the maximum of x over axes.
func (b *Builder) ReduceMax(x Value, keepDims bool, axes ...int) Value {
	return b.reduce("ReduceMax", x, keepDims, axes)
}

// ReduceL2 is the Euclidean norm of x over axes.
func (b *Builder) ReduceL2(x Value, keepDims bool, axes ...int) Value {
	return b.reduce("ReduceL2", x, keepDims, axes)
}

// Split cuts x along axis into pieces of the given sizes.
func (b *Builder) Split(x Value, axis int, sizes ...int64) []Value {
	outs := b.Node("Split", []Value{x, b.Ints(sizes...)}, []Attr{AttrInt("axis", int64(axis))}, len(sizes), x.dtype)
	if r := x.Rank(); r >= 0 && b.err == nil {
		a := axis
		if a < 0 {
			a += r
		}
		if a < 0 || a >= r {
			b.Failf("Split(%s %v): axis %d out of range", x.name, x.shape, axis)
			return outs
		}
		total := int64(0)
		for i := range outs {
			s := append(Shape{}, x.shape...)
			s[a] = N(int(sizes[i]))
			outs[i].shape = s
			total += sizes[i]
		}
		if d := x.shape[a]; d.Known() && d.Size != total {
			b.Failf("Split(%s %v): sizes %v do not add up to %d", x.name, x.shape, sizes, d.Size)
		}
	}
	return outs
}

func toInt64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
