package graph

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// This file writes the graph as an ONNX ModelProto with hand-written protobuf wire encoding (the
// few messages ONNX needs are simple, and hand encoding lets initializers stream from their
// loaders straight to the writer). Field numbers are those of onnx/onnx.proto.

const (
	wireVarint  = 0
	wireFixed32 = 5
	wireBytes   = 2
)

// pb is an append-only protobuf message encoder for small messages.
type pb struct{ buf []byte }

func (e *pb) tag(field, wire int) { e.buf = binary.AppendUvarint(e.buf, uint64(field<<3|wire)) }

func (e *pb) varint(field int, v int64) {
	e.tag(field, wireVarint)
	e.buf = binary.AppendUvarint(e.buf, uint64(v))
}

func (e *pb) fixed32(field int, v uint32) {
	e.tag(field, wireFixed32)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, v)
}

func (e *pb) bytes(field int, v []byte) {
	e.tag(field, wireBytes)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(v)))
	e.buf = append(e.buf, v...)
}

func (e *pb) str(field int, s string) { e.bytes(field, []byte(s)) }

func (e *pb) msg(field int, m *pb) { e.bytes(field, m.buf) }

// packed writes a packed repeated varint field.
func (e *pb) packed(field int, vs []int64) {
	var inner []byte
	for _, v := range vs {
		inner = binary.AppendUvarint(inner, uint64(v))
	}
	e.bytes(field, inner)
}

func varintLen(v uint64) int { return len(binary.AppendUvarint(nil, v)) }

// ONNX message field numbers.
const (
	modelIRVersion       = 1
	modelProducerName    = 2
	modelProducerVersion = 3
	modelDocString       = 6
	modelGraph           = 7
	modelOpsetImport     = 8
	modelMetadataProps   = 14

	opsetDomain  = 1
	opsetVersion = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5
	nodeDomain    = 7

	attrName    = 1
	attrF       = 2
	attrI       = 3
	attrS       = 4
	attrT       = 5
	attrFloatsF = 7
	attrIntsF   = 8
	attrStrsF   = 9
	attrType    = 20

	tensorDims     = 1
	tensorDataType = 2
	tensorName     = 8
	tensorRawData  = 9

	valueInfoName = 1
	valueInfoType = 2
	typeTensor    = 1
	ttElemType    = 1
	ttShape       = 2
	shapeDim      = 1
	dimValue      = 1
	dimParam      = 2

	entryKey   = 1
	entryValue = 2
)

// Producer names the writer in every model.
const Producer = "viettts-studio graph"

func encodeNode(n node) (*pb, error) {
	m := &pb{}
	for _, in := range n.inputs {
		m.str(nodeInput, in)
	}
	for _, out := range n.outputs {
		m.str(nodeOutput, out)
	}
	m.str(nodeName, n.name)
	m.str(nodeOpType, n.op)
	if n.domain != "" {
		m.str(nodeDomain, n.domain)
	}
	for _, a := range n.attrs {
		am := &pb{}
		am.str(attrName, a.Name)
		switch a.kind {
		case attrFloat:
			am.fixed32(attrF, math.Float32bits(a.f))
		case attrInt:
			am.varint(attrI, a.i)
		case attrString:
			am.str(attrS, a.s)
		case attrTensor:
			raw, err := tensorRaw(a.t)
			if err != nil {
				return nil, fmt.Errorf("node %s attribute %s: %w", n.name, a.Name, err)
			}
			tm := tensorHeader(a.t)
			tm.bytes(tensorRawData, raw)
			am.msg(attrT, tm)
		case attrFloats:
			var inner []byte
			for _, f := range a.floats {
				inner = binary.LittleEndian.AppendUint32(inner, math.Float32bits(f))
			}
			am.bytes(attrFloatsF, inner)
		case attrInts:
			am.packed(attrIntsF, a.ints)
		case attrStrings:
			for _, s := range a.strings {
				am.str(attrStrsF, s)
			}
		default:
			return nil, fmt.Errorf("node %s attribute %s: unknown kind %d", n.name, a.Name, a.kind)
		}
		am.varint(attrType, int64(a.kind))
		m.msg(nodeAttribute, am)
	}
	return m, nil
}

func encodeValueInfo(v valueInfo) *pb {
	shape := &pb{}
	for _, d := range v.shape {
		dm := &pb{}
		if d.Known() {
			dm.varint(dimValue, d.Size)
		} else if d.Param != "" {
			dm.str(dimParam, d.Param)
		}
		shape.msg(shapeDim, dm)
	}
	tt := &pb{}
	tt.varint(ttElemType, int64(v.dtype))
	if v.shape != nil {
		tt.msg(ttShape, shape)
	}
	typ := &pb{}
	typ.msg(typeTensor, tt)
	m := &pb{}
	m.str(valueInfoName, v.name)
	m.msg(valueInfoType, typ)
	return m
}

// tensorHeader encodes a TensorProto without its data.
func tensorHeader(t *tensor) *pb {
	m := &pb{}
	if len(t.shape) > 0 {
		dims := make([]int64, len(t.shape))
		for i, d := range t.shape {
			dims[i] = int64(d)
		}
		m.packed(tensorDims, dims)
	}
	m.varint(tensorDataType, int64(t.dtype))
	if t.name != "" {
		m.str(tensorName, t.name)
	}
	return m
}

// tensorRaw returns the little-endian raw bytes of an in-memory tensor.
func tensorRaw(t *tensor) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeRaw(&buf, t); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeRaw writes t's data in ONNX raw_data layout, loading lazy data first.
func writeRaw(w io.Writer, t *tensor) error {
	data := t.data
	if t.load != nil {
		f, err := t.load()
		if err != nil {
			return fmt.Errorf("initializer %s: %w", t.name, err)
		}
		data = f
	}
	n := t.numel()
	chunk := make([]byte, 0, 64<<10)
	flush := func(force bool) error {
		if len(chunk) >= 60<<10 || force && len(chunk) > 0 {
			_, err := w.Write(chunk)
			chunk = chunk[:0]
			return err
		}
		return nil
	}
	check := func(got int) error {
		if got != n {
			return fmt.Errorf("tensor %s: shape %v needs %d values, data has %d", t.name, t.shape, n, got)
		}
		return nil
	}
	switch d := data.(type) {
	case []float32:
		if err := check(len(d)); err != nil {
			return err
		}
		if t.dtype != Float && t.dtype != Float16 {
			return fmt.Errorf("tensor %s: float data for dtype %v", t.name, t.dtype)
		}
		// Convert in blocks: a gigabyte of weights passes through one 64 KiB buffer.
		const block = 8 << 10
		for start := 0; start < len(d); start += block {
			for _, v := range d[start:min(start+block, len(d))] {
				if t.dtype == Float {
					chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
				} else {
					chunk = binary.LittleEndian.AppendUint16(chunk, Float32ToFloat16(v))
				}
			}
			if _, err := w.Write(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	case []uint16:
		if err := check(len(d)); err != nil {
			return err
		}
		if t.dtype != Float16 {
			return fmt.Errorf("tensor %s: half-precision bits for dtype %v", t.name, t.dtype)
		}
		for _, v := range d {
			chunk = binary.LittleEndian.AppendUint16(chunk, v)
			if err := flush(false); err != nil {
				return err
			}
		}
	case []int64:
		if err := check(len(d)); err != nil {
			return err
		}
		for _, v := range d {
			switch t.dtype {
			case Int64:
				chunk = binary.LittleEndian.AppendUint64(chunk, uint64(v))
			case Int32:
				chunk = binary.LittleEndian.AppendUint32(chunk, uint32(int32(v)))
			default:
				return fmt.Errorf("tensor %s: int64 data for dtype %v", t.name, t.dtype)
			}
			if err := flush(false); err != nil {
				return err
			}
		}
	case []int32:
		if err := check(len(d)); err != nil {
			return err
		}
		if t.dtype != Int32 {
			return fmt.Errorf("tensor %s: int32 data for dtype %v", t.name, t.dtype)
		}
		for _, v := range d {
			chunk = binary.LittleEndian.AppendUint32(chunk, uint32(v))
		}
	case []bool:
		if err := check(len(d)); err != nil {
			return err
		}
		for _, v := range d {
			if v {
				chunk = append(chunk, 1)
			} else {
				chunk = append(chunk, 0)
			}
		}
	default:
		return fmt.Errorf("tensor %s: unsupported data %T", t.name, data)
	}
	return flush(true)
}

// rawSize is the byte length of t's raw data as written.
func rawSize(t *tensor) int64 { return int64(t.numel()) * int64(t.dtype.Size()) }

// Build returns the serialized ModelProto. For large models prefer WriteTo, which streams.
func (b *Builder) Build() ([]byte, error) {
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteTo writes the ModelProto to w, loading lazy initializers one at a time. It returns the bytes
// written. ONNX models must stay below 2 GiB; larger graphs are an error.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(b.outputs) == 0 {
		return 0, fmt.Errorf("graph %s has no outputs", b.name)
	}
	// The small parts of the graph, encoded in memory.
	head := &pb{}
	for _, n := range b.nodes {
		m, err := encodeNode(n)
		if err != nil {
			return 0, fmt.Errorf("graph %s: %w", b.name, err)
		}
		head.msg(graphNode, m)
	}
	head.str(graphName, b.name)
	for _, in := range b.inputs {
		head.msg(graphInput, encodeValueInfo(in))
	}
	for _, out := range b.outputs {
		head.msg(graphOutput, encodeValueInfo(out))
	}
	// Initializers: header in memory, raw data streamed.
	type initPart struct {
		header []byte // tag+len of the TensorProto, its fields, and the raw_data tag+len
		t      *tensor
	}
	parts := make([]initPart, len(b.inits))
	graphLen := int64(len(head.buf))
	for i, t := range b.inits {
		h := tensorHeader(t)
		raw := rawSize(t)
		h.tag(tensorRawData, wireBytes)
		h.buf = binary.AppendUvarint(h.buf, uint64(raw))
		tensorLen := int64(len(h.buf)) + raw
		outer := &pb{}
		outer.tag(graphInitializer, wireBytes)
		outer.buf = binary.AppendUvarint(outer.buf, uint64(tensorLen))
		parts[i] = initPart{header: append(outer.buf, h.buf...), t: t}
		graphLen += int64(len(outer.buf)) + tensorLen
	}
	model := &pb{}
	model.varint(modelIRVersion, IRVersion)
	model.str(modelProducerName, Producer)
	model.str(modelProducerVersion, "1")
	if b.doc != "" {
		model.str(modelDocString, b.doc)
	}
	opset := &pb{}
	opset.str(opsetDomain, "")
	opset.varint(opsetVersion, Opset)
	model.msg(modelOpsetImport, opset)
	for _, kv := range b.metadata {
		e := &pb{}
		e.str(entryKey, kv[0])
		e.str(entryValue, kv[1])
		model.msg(modelMetadataProps, e)
	}
	model.tag(modelGraph, wireBytes)
	model.buf = binary.AppendUvarint(model.buf, uint64(graphLen))
	total := int64(len(model.buf)) + graphLen
	if total >= 2<<30 {
		return 0, fmt.Errorf("graph %s is %d bytes, over the 2 GiB limit of an ONNX protobuf", b.name, total)
	}

	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<20)}
	if _, err := cw.Write(model.buf); err != nil {
		return cw.n, err
	}
	if _, err := cw.Write(head.buf); err != nil {
		return cw.n, err
	}
	for _, p := range parts {
		if _, err := cw.Write(p.header); err != nil {
			return cw.n, err
		}
		before := cw.n
		if err := writeRaw(cw, p.t); err != nil {
			return cw.n, fmt.Errorf("graph %s: %w", b.name, err)
		}
		if got := cw.n - before; got != rawSize(p.t) {
			return cw.n, fmt.Errorf("graph %s: initializer %s wrote %d bytes, expected %d", b.name, p.t.name, got, rawSize(p.t))
		}
	}
	if err := cw.w.(*bufio.Writer).Flush(); err != nil {
		return cw.n, err
	}
	if cw.n != total {
		return cw.n, fmt.Errorf("graph %s: wrote %d bytes, expected %d (encoder bug)", b.name, cw.n, total)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Float32ToFloat16 converts f to IEEE 754 half precision bits, rounding to nearest even;
// magnitudes beyond the half range become infinities, NaN stays NaN.
func Float32ToFloat16(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int((bits >> 23) & 0xff)
	mant := bits & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - e)
		half := mant >> shift
		rem := mant & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || rem == mid && half&1 == 1 {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && half&1 == 1 {
		half++ // may carry into the exponent, which is the correct rounding (up to infinity)
	}
	return sign | uint16(half)
}

// Float16ToFloat32 converts IEEE 754 half precision bits to float32 exactly.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		f := float32(mant) / 1024 / 16384
		if sign != 0 {
			return -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
