// Package graph builds ONNX models in Go: typed values, operators as methods with shape checks
// where shapes are known, weights as initializers, and a writer that streams the ModelProto so a
// graph with a gigabyte of weights never needs a second in-memory copy of them.
//
// The model compiler uses it to turn the VietTTS checkpoint (or random weights of the same shapes)
// into the graphs of MODEL.md. A Builder is not safe for concurrent use.
//
// Errors are sticky: the first failed shape check or bad argument is recorded and every later call
// is a no-op returning a placeholder value; Build (or WriteTo) reports it. Graph code therefore reads
// as straight-line math, without an error check after every operator.
package graph

import (
	"fmt"
	"strconv"
	"strings"
)

// Opset is the ai.onnx operator set version every built model imports.
const Opset = 18

// IRVersion is the ONNX IR version written into every model (IR 8 goes with opset 18).
const IRVersion = 8

// DType is an ONNX tensor element type; the values are those of onnx.TensorProto.DataType.
type DType int32

// Element types the builder knows.
const (
	Float   DType = 1
	Uint8   DType = 2
	Int8    DType = 3
	Int32   DType = 6
	Int64   DType = 7
	Bool    DType = 9
	Float16 DType = 10
	Double  DType = 11
)

// Size is the number of bytes of one element.
func (t DType) Size() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Float16:
		return 2
	case Float, Int32:
		return 4
	case Int64, Double:
		return 8
	}
	return 0
}

// IsFloat reports whether t is a floating-point type.
func (t DType) IsFloat() bool { return t == Float || t == Float16 || t == Double }

func (t DType) String() string {
	switch t {
	case Float:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	case Float16:
		return "float16"
	case Double:
		return "float64"
	}
	return "dtype(" + strconv.Itoa(int(t)) + ")"
}

// Dim is one dimension of a tensor shape: a known size, a named symbolic size (graph inputs such
// as "L"), or unknown.
type Dim struct {
	// Size is the extent when known, or -1.
	Size int64
	// Param names a symbolic dimension (only meaningful when Size is -1).
	Param string
}

// N is a dimension of known size n.
func N(n int) Dim { return Dim{Size: int64(n)} }

// Sym is a named symbolic dimension; two dims with the same name are equal.
func Sym(name string) Dim { return Dim{Size: -1, Param: name} }

// Unknown is a dimension of unknown size.
var Unknown = Dim{Size: -1}

// Known reports whether the size is known.
func (d Dim) Known() bool { return d.Size >= 0 }

func (d Dim) String() string {
	if d.Known() {
		return strconv.FormatInt(d.Size, 10)
	}
	if d.Param != "" {
		return d.Param
	}
	return "?"
}

// same reports whether two dims are certainly equal.
func (d Dim) same(e Dim) bool {
	if d.Known() && e.Known() {
		return d.Size == e.Size
	}
	return d.Param != "" && d.Param == e.Param
}

// conflicts reports whether two dims are certainly different.
func (d Dim) conflicts(e Dim) bool { return d.Known() && e.Known() && d.Size != e.Size }

// Shape is a tensor shape; a nil Shape means the rank is unknown.
type Shape []Dim

func (s Shape) String() string {
	if s == nil {
		return "(?)"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// Ints returns the shape as ints when every dim is known.
func (s Shape) Ints() ([]int, bool) {
	if s == nil {
		return nil, false
	}
	out := make([]int, len(s))
	for i, d := range s {
		if !d.Known() {
			return nil, false
		}
		out[i] = int(d.Size)
	}
	return out, true
}

// ShapeOf turns ints into a Shape of known dims.
func ShapeOf(dims ...int) Shape {
	s := make(Shape, len(dims))
	for i, n := range dims {
		s[i] = N(n)
	}
	return s
}

// Value is a tensor in the graph under construction: a graph input, an initializer, or an operator
// output. Values are small handles and are passed by value.
type Value struct {
	b     *Builder
	name  string
	dtype DType
	shape Shape
}

// Name is the tensor's name in the model.
func (v Value) Name() string { return v.name }

// DType is the element type.
func (v Value) DType() DType { return v.dtype }

// Shape is the inferred shape (nil when the rank is unknown). Do not modify it.
func (v Value) Shape() Shape { return v.shape }

// Rank is the number of dimensions, or -1 when unknown.
func (v Value) Rank() int {
	if v.shape == nil {
		return -1
	}
	return len(v.shape)
}

// Dim returns dimension i (negative counts from the end), or Unknown when the rank is unknown.
func (v Value) Dim(i int) Dim {
	if v.shape == nil {
		return Unknown
	}
	if i < 0 {
		i += len(v.shape)
	}
	if i < 0 || i >= len(v.shape) {
		return Unknown
	}
	return v.shape[i]
}

func (v Value) valid() bool { return v.b != nil && v.name != "" }

// attrKind is the ONNX AttributeProto.AttributeType.
type attrKind int32

const (
	attrFloat   attrKind = 1
	attrInt     attrKind = 2
	attrString  attrKind = 3
	attrTensor  attrKind = 4
	attrFloats  attrKind = 6
	attrInts    attrKind = 7
	attrStrings attrKind = 8
)

// Attr is a node attribute. Build them with AttrInt, AttrInts, AttrFloat, AttrFloats, AttrString
// or AttrTensor.
type Attr struct {
	Name    string
	kind    attrKind
	i       int64
	f       float32
	s       string
	ints    []int64
	floats  []float32
	strings []string
	t       *tensor
}

// AttrInt is an integer attribute.
func AttrInt(name string, v int64) Attr { return Attr{Name: name, kind: attrInt, i: v} }

// AttrInts is an integer-list attribute.
func AttrInts(name string, v ...int64) Attr { return Attr{Name: name, kind: attrInts, ints: v} }

// AttrFloat is a float attribute.
func AttrFloat(name string, v float32) Attr { return Attr{Name: name, kind: attrFloat, f: v} }

// AttrFloats is a float-list attribute.
func AttrFloats(name string, v ...float32) Attr {
	return Attr{Name: name, kind: attrFloats, floats: v}
}

// AttrString is a string attribute.
func AttrString(name, v string) Attr { return Attr{Name: name, kind: attrString, s: v} }

// AttrStrings is a string-list attribute.
func AttrStrings(name string, v ...string) Attr {
	return Attr{Name: name, kind: attrStrings, strings: v}
}

// AttrTensor is a tensor attribute (ConstantOfShape's value, Constant's value) holding data of
// type dt with the given shape. data is []float32, []int64, []int32 or []bool (or []uint16 raw
// half-precision bits for Float16).
func AttrTensor(name string, dt DType, shape []int, data any) Attr {
	return Attr{Name: name, kind: attrTensor, t: &tensor{dtype: dt, shape: shape, data: data}}
}

// node is one operator in the graph.
type node struct {
	op      string
	domain  string
	name    string
	inputs  []string
	outputs []string
	attrs   []Attr
}

// tensor is initializer or attribute-tensor data. Exactly one of data and load is set; load
// fetches float32 data at write time so large weights are read only while they are written.
type tensor struct {
	name  string
	dtype DType
	shape []int
	data  any
	load  func() ([]float32, error)
}

func (t *tensor) numel() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// valueInfo is a graph input or output declaration.
type valueInfo struct {
	name  string
	dtype DType
	shape Shape
}

// Builder accumulates one ONNX graph. Create it with New.
type Builder struct {
	name     string
	doc      string
	nodes    []node
	inits    []*tensor
	inputs   []valueInfo
	outputs  []valueInfo
	names    map[string]bool
	counter  int
	err      error
	metadata [][2]string
	scope    []string
	// ints holds the values of int64 constants, so shape arguments can be inferred statically.
	ints map[string][]int64
	// types holds the element type of every tensor name (used by the fp16 converter).
	types map[string]DType
}

// New starts a graph called name (the ModelProto's graph name).
func New(name string) *Builder {
	return &Builder{name: name, names: map[string]bool{}, ints: map[string][]int64{}, types: map[string]DType{}}
}

// Err returns the first error recorded while building, if any.
func (b *Builder) Err() error { return b.err }

// Fail records err (the first one wins) and returns a placeholder value; graph code built on top of
// the builder may use it to report its own errors the same way.
func (b *Builder) Fail(err error) Value {
	if b.err == nil {
		b.err = fmt.Errorf("graph %s: %w", b.name, err)
	}
	return Value{b: b, name: "", dtype: Float}
}

// Failf is Fail with a formatted message.
func (b *Builder) Failf(format string, args ...any) Value {
	return b.Fail(fmt.Errorf(format, args...))
}

// SetDoc sets the model's doc_string.
func (b *Builder) SetDoc(doc string) { b.doc = doc }

// SetMetadata adds a key/value pair to the model's metadata_props (readable from ONNX Runtime's
// model metadata).
func (b *Builder) SetMetadata(key, value string) {
	b.metadata = append(b.metadata, [2]string{key, value})
}

// Push starts a name scope: names of nodes and tensors created until the matching Pop are prefixed
// with it, which makes graphs readable in Netron and errors easy to place.
func (b *Builder) Push(scope string) { b.scope = append(b.scope, scope) }

// Pop ends the innermost name scope.
func (b *Builder) Pop() {
	if len(b.scope) > 0 {
		b.scope = b.scope[:len(b.scope)-1]
	}
}

// fresh returns an unused tensor or node name built from hint.
func (b *Builder) fresh(hint string) string {
	prefix := strings.Join(b.scope, "/")
	if prefix != "" {
		prefix += "/"
	}
	for {
		b.counter++
		name := prefix + hint + "_" + strconv.Itoa(b.counter)
		if !b.names[name] {
			b.names[name] = true
			return name
		}
	}
}

// claim reserves an exact name given by the caller.
func (b *Builder) claim(name string) bool {
	if name == "" {
		b.Failf("empty tensor name")
		return false
	}
	if b.names[name] {
		b.Failf("tensor name %q used twice", name)
		return false
	}
	b.names[name] = true
	return true
}

// Input declares a graph input.
func (b *Builder) Input(name string, dt DType, dims ...Dim) Value {
	if !b.claim(name) {
		return Value{b: b, dtype: dt}
	}
	shape := append(Shape{}, dims...)
	b.inputs = append(b.inputs, valueInfo{name: name, dtype: dt, shape: shape})
	b.types[name] = dt
	return Value{b: b, name: name, dtype: dt, shape: shape}
}

// Output declares v as a graph output called name. If v already has that name (a graph input
// passed straight through is not allowed by ONNX Runtime, so that case is an error) it is used as
// is; otherwise an Identity node renames it.
func (b *Builder) Output(v Value, name string) {
	if b.err != nil {
		return
	}
	if !v.valid() {
		b.Failf("output %q: invalid value", name)
		return
	}
	if v.name != name {
		if !b.claim(name) {
			return
		}
		b.nodes = append(b.nodes, node{op: "Identity", name: b.fresh("Identity"), inputs: []string{v.name}, outputs: []string{name}})
		b.types[name] = v.dtype
	}
	b.outputs = append(b.outputs, valueInfo{name: name, dtype: v.dtype, shape: v.shape})
}

// Initializer adds a float32 weight called name. The data slice is kept (not copied) until the
// model is written.
func (b *Builder) Initializer(name string, shape []int, data []float32) Value {
	if !b.claim(name) {
		return Value{b: b, dtype: Float}
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if len(data) != n {
		return b.Failf("initializer %s: shape %v needs %d values, got %d", name, shape, n, len(data))
	}
	return b.addInit(&tensor{name: name, dtype: Float, shape: append([]int(nil), shape...), data: data})
}

// LazyInitializer adds a float32 weight whose data is fetched by load when the model is written,
// so a large model is streamed tensor by tensor. load must return exactly prod(shape) values.
func (b *Builder) LazyInitializer(name string, shape []int, load func() ([]float32, error)) Value {
	if !b.claim(name) {
		return Value{b: b, dtype: Float}
	}
	return b.addInit(&tensor{name: name, dtype: Float, shape: append([]int(nil), shape...), load: load})
}

// ConstInt64 adds an int64 initializer of the given shape (a scalar when shape is empty).
func (b *Builder) ConstInt64(shape []int, data ...int64) Value {
	t := &tensor{name: b.fresh("const_i64"), dtype: Int64, shape: append([]int{}, shape...), data: data}
	if t.numel() != len(data) {
		return b.Failf("int64 constant of shape %v needs %d values, got %d", shape, t.numel(), len(data))
	}
	b.ints[t.name] = data
	return b.addInit(t)
}

// Ints is a 1-D int64 constant, the usual form of shape and axis arguments.
func (b *Builder) Ints(v ...int64) Value { return b.ConstInt64([]int{len(v)}, v...) }

// Scalar is a 0-D float constant of type dt (Float or Float16).
func (b *Builder) Scalar(dt DType, v float32) Value {
	return b.Const(dt, nil, []float32{v})
}

// Const is a small float constant of type dt with the given shape.
func (b *Builder) Const(dt DType, shape []int, data []float32) Value {
	if !dt.IsFloat() || dt == Double {
		return b.Failf("Const: dtype %v is not float32 or float16", dt)
	}
	t := &tensor{name: b.fresh("const"), dtype: dt, shape: append([]int{}, shape...), data: data}
	if t.numel() != len(data) {
		return b.Failf("constant of shape %v needs %d values, got %d", shape, t.numel(), len(data))
	}
	return b.addInit(t)
}

func (b *Builder) addInit(t *tensor) Value {
	if b.err != nil {
		return Value{b: b, dtype: t.dtype}
	}
	for _, d := range t.shape {
		if d < 0 {
			return b.Failf("initializer %s: negative dimension in %v", t.name, t.shape)
		}
	}
	b.inits = append(b.inits, t)
	b.types[t.name] = t.dtype
	return Value{b: b, name: t.name, dtype: t.dtype, shape: ShapeOf(t.shape...)}
}

// Node adds an operator with the given inputs and attributes and returns its nOut outputs, typed
// dtypes[i] (missing entries default to the first input's type) with unknown shapes. Op methods
// wrap it with shape inference; graph code may call it directly for operators without a method.
// An invalid (zero) Value among the inputs stands for an omitted optional input.
func (b *Builder) Node(op string, inputs []Value, attrs []Attr, nOut int, dtypes ...DType) []Value {
	outs := make([]Value, nOut)
	if b.err != nil {
		for i := range outs {
			outs[i] = Value{b: b, dtype: Float}
		}
		return outs
	}
	names := make([]string, len(inputs))
	var first DType = Float
	for i, in := range inputs {
		if in.b != nil && in.b != b {
			b.Failf("%s: input %d belongs to another graph", op, i)
			return b.Node(op, nil, nil, nOut)
		}
		if in.b != nil && in.name == "" {
			b.Failf("%s: input %d is invalid", op, i)
			return b.Node(op, nil, nil, nOut)
		}
		names[i] = in.name
		if i == 0 {
			first = in.dtype
		}
	}
	nodeName := b.fresh(op)
	outNames := make([]string, nOut)
	for i := range outs {
		dt := first
		if i < len(dtypes) {
			dt = dtypes[i]
		}
		outNames[i] = nodeName + "_out" + strconv.Itoa(i)
		b.names[outNames[i]] = true
		b.types[outNames[i]] = dt
		outs[i] = Value{b: b, name: outNames[i], dtype: dt}
	}
	b.nodes = append(b.nodes, node{op: op, name: nodeName, inputs: names, outputs: outNames, attrs: attrs})
	return outs
}

// op1 is Node with one output of the given dtype and shape.
func (b *Builder) op1(op string, inputs []Value, attrs []Attr, dt DType, shape Shape) Value {
	out := b.Node(op, inputs, attrs, 1, dt)[0]
	out.shape = shape
	return out
}

// Stats summarizes a built graph: operator count and initializer bytes as written.
type Stats struct {
	Nodes        int
	Initializers int
	WeightBytes  int64
}

// Stats returns the graph's size so far.
func (b *Builder) Stats() Stats {
	s := Stats{Nodes: len(b.nodes), Initializers: len(b.inits)}
	for _, t := range b.inits {
		s.WeightBytes += int64(t.numel() * t.dtype.Size())
	}
	return s
}
