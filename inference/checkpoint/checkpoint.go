// Package checkpoint reads PyTorch checkpoints (the `.pt` files that torch.save writes: a zip
// archive holding a pickle and one raw file per storage) without Python and without executing
// anything. It is how the model compiler gets at VietTTS's llm.pt, flow.pt and hift.pt.
//
// The pickle is decoded by a small unpickler that knows only the opcodes and the few globals a
// state dict needs (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and
// _rebuild_parameter, the torch.*Storage classes); any other global is refused, so a malicious
// file cannot run code. Tensor data stays in the file until Float32 asks for it, so compiling a
// 1.26 GB checkpoint never holds more than the tensors a graph builder keeps.
//
// The package also folds weight-norm pairs into plain weights (FoldWeightNorm) and reads the few
// fields of VietTTS's config.yaml that the compiler checks (ReadConfig).
package checkpoint

import (
	"github.com/viettts-studio/studio/inference/bytesize"

	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unsafe"
)

// DType is a tensor element type, named as torch names it ("float32", "float16", ...).
type DType string

// Element types a checkpoint may hold.
const (
	Float32  DType = "float32"
	Float16  DType = "float16"
	BFloat16 DType = "bfloat16"
	Float64  DType = "float64"
	Int64    DType = "int64"
	Int32    DType = "int32"
	Int16    DType = "int16"
	Int8     DType = "int8"
	Uint8    DType = "uint8"
	Bool     DType = "bool"
)

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case Float64, Int64:
		return 8
	case Float32, Int32:
		return 4
	case Float16, BFloat16, Int16:
		return 2
	}
	return 1
}

// Sentinel errors; every error this package returns is an *Error wrapping one of them.
var (
	// ErrNotCheckpoint: the file is not a PyTorch state dict this reader understands (another
	// format, a corrupt pickle, an unsupported tensor layout).
	ErrNotCheckpoint = errors.New("not a PyTorch state dict")
	// ErrTruncated: the file ends early or a storage is shorter than its tensors need.
	ErrTruncated = errors.New("checkpoint file is truncated")
	// ErrUnsafePickle: the pickle names a callable outside the allow-list (it may try to run code).
	ErrUnsafePickle = errors.New("checkpoint pickle is unsafe")
	// ErrNoTensor: the state dict has no tensor of the requested name.
	ErrNoTensor = errors.New("no such tensor")
)

// Error is a problem with one checkpoint file. Its message starts with the file name.
type Error struct {
	File string // base name of the checkpoint, e.g. "llm.pt"
	Kind error  // one of the sentinels above
	Msg  string
}

func (e *Error) Error() string { return e.File + ": " + e.Msg }

// Unwrap returns the sentinel, for errors.Is.
func (e *Error) Unwrap() error { return e.Kind }

// maxPickle bounds data.pkl: a state dict's pickle is tens of kilobytes.
const maxPickle = 256 << 20

// StateDict is an opened checkpoint: tensor names, types and shapes, with the data still on disk.
// Its methods are safe for concurrent use. Close it when done.
type StateDict struct {
	name    string // base name for messages
	file    *os.File
	r       io.ReaderAt
	prefix  string // archive folder inside the zip ("archive" or the saved file's stem)
	entries map[string]*zip.File
	big     bool // storages are big-endian
	keys    []string
	tensors map[string]*Tensor
	// Extra holds the non-tensor values of the state dict (numbers, strings), by key.
	Extra map[string]any
	// Wrapper is the key the state dict was found under ("state_dict", "model", ...), or "".
	Wrapper string
}

// Tensor describes one tensor of a StateDict. Its data is read on demand by Float32.
type Tensor struct {
	Name  string
	DType DType
	Shape []int

	sd      *StateDict
	storage *pyStorage
	offset  int64 // in elements
	numel   int64
}

// Numel is the number of elements.
func (t *Tensor) Numel() int64 { return t.numel }

// Open reads the archive index and the pickle of the checkpoint at path; tensor data is read
// later, on demand. A checkpoint wrapped in a dict ({"state_dict": ...}, {"model": ...}) is
// unwrapped.
func Open(path string) (*StateDict, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: name, Kind: ErrNotCheckpoint, Msg: fmt.Sprintf("cannot open: %v", err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &Error{File: name, Kind: ErrNotCheckpoint, Msg: fmt.Sprintf("cannot stat: %v", err)}
	}
	sd, err := openReader(f, st.Size(), name)
	if err != nil {
		f.Close()
		return nil, err
	}
	sd.file = f
	return sd, nil
}

// Close releases the file.
func (sd *StateDict) Close() error {
	if sd.file == nil {
		return nil
	}
	return sd.file.Close()
}

// Name is the checkpoint's file name.
func (sd *StateDict) Name() string { return sd.name }

// Keys returns the tensor names in the order the checkpoint stores them.
func (sd *StateDict) Keys() []string { return append([]string(nil), sd.keys...) }

// Tensor returns the tensor called name.
func (sd *StateDict) Tensor(name string) (*Tensor, error) {
	t, ok := sd.tensors[name]
	if !ok {
		return nil, sd.errorf(ErrNoTensor, "has no tensor %q", name)
	}
	return t, nil
}

// Shape returns the shape of the tensor called name without reading its data.
func (sd *StateDict) Shape(name string) ([]int, error) {
	t, err := sd.Tensor(name)
	if err != nil {
		return nil, err
	}
	return append([]int(nil), t.Shape...), nil
}

// Float32 returns the data and shape of the tensor called name, converted to float32. It lets a
// StateDict serve as the compiler's weight source.
func (sd *StateDict) Float32(name string) ([]float32, []int, error) {
	t, err := sd.Tensor(name)
	if err != nil {
		return nil, nil, err
	}
	data, err := t.Float32()
	if err != nil {
		return nil, nil, err
	}
	return data, append([]int(nil), t.Shape...), nil
}

func (sd *StateDict) errorf(kind error, format string, args ...any) error {
	return &Error{File: sd.name, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func openReader(r io.ReaderAt, size int64, name string) (*StateDict, error) {
	fail := func(kind error, format string, args ...any) error {
		return &Error{File: name, Kind: kind, Msg: fmt.Sprintf(format, args...)}
	}
	var head [4]byte
	n, _ := r.ReadAt(head[:], 0)
	if n >= 2 && head[0] == 0x80 && head[1] <= 5 {
		return nil, fail(ErrNotCheckpoint, "uses PyTorch's legacy (pre-1.6) format; re-save it with torch.save from PyTorch 1.6 or later")
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		if n == 4 && string(head[:]) == "PK\x03\x04" {
			return nil, fail(ErrTruncated, "is truncated or damaged (a zip archive without its index, %s): download or copy it again", bytesize.Format(size))
		}
		return nil, fail(ErrNotCheckpoint, "is not a PyTorch checkpoint (not a zip archive: %v)", err)
	}
	sd := &StateDict{name: name, r: r, entries: map[string]*zip.File{}, tensors: map[string]*Tensor{}, Extra: map[string]any{}}
	var pkl *zip.File
	for _, f := range zr.File {
		sd.entries[f.Name] = f
		dir, base := splitEntry(f.Name)
		if base == "data.pkl" && dir != "" && !strings.Contains(dir, "/") {
			if pkl != nil {
				return nil, fail(ErrNotCheckpoint, "holds two pickles (%s and %s): not a single PyTorch checkpoint", pkl.Name, f.Name)
			}
			pkl = f
			sd.prefix = dir
		}
	}
	if pkl == nil {
		return nil, fail(ErrNotCheckpoint, "is a zip archive without data.pkl: not a PyTorch checkpoint")
	}
	if bo, ok := sd.entries[sd.prefix+"/byteorder"]; ok {
		b, err := readEntry(bo, 16)
		if err != nil {
			return nil, fail(ErrTruncated, "cannot read its byteorder record: %v", err)
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			sd.big = true
		default:
			return nil, fail(ErrNotCheckpoint, "has byte order %q (want little or big)", b)
		}
	}
	if pkl.UncompressedSize64 > maxPickle {
		return nil, fail(ErrNotCheckpoint, "has a %s pickle; a state dict's is far smaller", bytesize.Format(int64(pkl.UncompressedSize64)))
	}
	data, err := readEntry(pkl, maxPickle)
	if err != nil {
		return nil, fail(ErrTruncated, "cannot read its pickle: %v (the file is damaged: download or copy it again)", err)
	}
	top, err := unpickle(data)
	if err != nil {
		var ue *unpickleError
		if errors.As(err, &ue) {
			return nil, fail(ue.kind, "%s", ue.msg)
		}
		return nil, fail(ErrNotCheckpoint, "%v", err)
	}
	dict, wrapper, err := findStateDict(top)
	if err != nil {
		return nil, fail(ErrNotCheckpoint, "%v", err)
	}
	sd.Wrapper = wrapper
	if err := sd.collect(dict); err != nil {
		return nil, err
	}
	return sd, nil
}

func splitEntry(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

func readEntry(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %s", f.Name, bytesize.Format(limit))
	}
	return b, nil
}

// wrapperKeys are the keys under which training scripts nest the state dict.
var wrapperKeys = []string{"state_dict", "model", "model_state_dict", "module", "net", "generator"}

// findStateDict returns the dict of tensors: the top-level dict, or the dict under a wrapper key
// when the top level holds no tensors.
func findStateDict(top any) (*pyDict, string, error) {
	d, ok := top.(*pyDict)
	if !ok {
		return nil, "", fmt.Errorf("holds a pickled %s, not a state dict (a dict of tensors)", typeName(top))
	}
	if hasTensor(d) {
		return d, "", nil
	}
	for _, k := range wrapperKeys {
		if v, ok := d.get(k); ok {
			if inner, ok := v.(*pyDict); ok && hasTensor(inner) {
				return inner, k, nil
			}
		}
	}
	var found []string
	for i, k := range d.keys {
		if inner, ok := d.vals[i].(*pyDict); ok && hasTensor(inner) {
			found = append(found, fmt.Sprint(k))
		}
	}
	if len(found) == 1 {
		inner, _ := d.get(found[0])
		return inner.(*pyDict), found[0], nil
	}
	if len(found) > 1 {
		return nil, "", fmt.Errorf("holds several state dicts (%s); save the model's state dict alone", strings.Join(found, ", "))
	}
	return nil, "", fmt.Errorf("holds a dict without tensors (keys %s): not a model state dict", keyList(d, 6))
}

func hasTensor(d *pyDict) bool {
	for _, v := range d.vals {
		if _, ok := v.(*pyTensor); ok {
			return true
		}
	}
	return false
}

func keyList(d *pyDict, max int) string {
	var ks []string
	for i, k := range d.keys {
		if i == max {
			ks = append(ks, "...")
			break
		}
		ks = append(ks, fmt.Sprint(k))
	}
	return "[" + strings.Join(ks, " ") + "]"
}

func (sd *StateDict) collect(d *pyDict) error {
	for i, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return sd.errorf(ErrNotCheckpoint, "has a non-string key %v in its state dict", k)
		}
		pt, ok := d.vals[i].(*pyTensor)
		if !ok {
			switch v := d.vals[i].(type) {
			case int64, float64, string, bool, nil:
				sd.Extra[name] = v
			default:
				// Nested dicts beside tensors (optimizer state and the like) are not weights.
				sd.Extra[name] = typeName(v)
			}
			continue
		}
		t, err := sd.tensor(name, pt)
		if err != nil {
			return err
		}
		sd.keys = append(sd.keys, name)
		sd.tensors[name] = t
	}
	return nil
}

func (sd *StateDict) tensor(name string, pt *pyTensor) (*Tensor, error) {
	shape := make([]int, len(pt.shape))
	numel := int64(1)
	for i, s := range pt.shape {
		if s > 1<<40 || (s > 0 && numel > math.MaxInt64/s) {
			return nil, sd.errorf(ErrNotCheckpoint, "tensor %s has an impossible shape %v", name, pt.shape)
		}
		numel *= s
		shape[i] = int(s)
	}
	// Contiguous (row-major) strides; dimensions of size 1 may carry any stride.
	want := int64(1)
	for i := len(pt.shape) - 1; i >= 0; i-- {
		if pt.shape[i] != 1 && numel > 0 && pt.stride[i] != want {
			return nil, sd.errorf(ErrNotCheckpoint, "tensor %s is not contiguous (shape %v, strides %v); save it with .contiguous()", name, pt.shape, pt.stride)
		}
		want *= pt.shape[i]
	}
	st := pt.storage
	if numel > 0 && pt.offset+numel > st.numel {
		return nil, sd.errorf(ErrNotCheckpoint, "tensor %s needs elements %d..%d of a storage of %d", name, pt.offset, pt.offset+numel, st.numel)
	}
	e, ok := sd.entries[sd.prefix+"/data/"+st.key]
	if !ok {
		return nil, sd.errorf(ErrTruncated, "has no data for tensor %s (storage %s is missing from the archive): the file is damaged", name, st.key)
	}
	need := uint64(st.numel) * uint64(st.dtype.Size())
	if e.UncompressedSize64 < need {
		return nil, sd.errorf(ErrTruncated, "storage %s of tensor %s holds %d bytes, needs %d: the file is damaged", st.key, name, e.UncompressedSize64, need)
	}
	return &Tensor{Name: name, DType: st.dtype, Shape: shape, sd: sd, storage: st, offset: pt.offset, numel: numel}, nil
}

// Float32 reads the tensor's data and converts it to float32 (fp16, bf16 and fp64 are converted;
// integer tensors are converted by value).
func (t *Tensor) Float32() ([]float32, error) {
	raw, out, err := t.read()
	if err != nil {
		return nil, err
	}
	if out != nil {
		return out, nil
	}
	n := int(t.numel)
	out = make([]float32, n)
	le := !t.sd.big
	switch t.DType {
	case Float16:
		for i := range out {
			out[i] = HalfToFloat32(u16(raw[2*i:], le))
		}
	case BFloat16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(u16(raw[2*i:], le)) << 16)
		}
	case Float64:
		for i := range out {
			out[i] = float32(math.Float64frombits(u64(raw[8*i:], le)))
		}
	case Int64:
		for i := range out {
			out[i] = float32(int64(u64(raw[8*i:], le)))
		}
	case Int32:
		for i := range out {
			out[i] = float32(int32(u32(raw[4*i:], le)))
		}
	case Int16:
		for i := range out {
			out[i] = float32(int16(u16(raw[2*i:], le)))
		}
	case Int8:
		for i := range out {
			out[i] = float32(int8(raw[i]))
		}
	case Uint8, Bool:
		for i := range out {
			out[i] = float32(raw[i])
		}
	default:
		return nil, t.sd.errorf(ErrNotCheckpoint, "tensor %s has unsupported type %s", t.Name, t.DType)
	}
	return out, nil
}

// read returns the raw bytes of the tensor, or, for float32 tensors, the decoded values directly
// (read straight into the result so a tensor costs its size once).
func (t *Tensor) read() ([]byte, []float32, error) {
	if t.numel == 0 {
		return nil, []float32{}, nil
	}
	e := t.sd.entries[t.sd.prefix+"/data/"+t.storage.key]
	es := int64(t.DType.Size())
	start := t.offset * es
	length := t.numel * es
	var out []float32
	var buf []byte
	if t.DType == Float32 {
		out = make([]float32, t.numel)
		buf = unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), length)
	} else {
		buf = make([]byte, length)
	}
	if err := t.readAt(e, buf, start); err != nil {
		return nil, nil, err
	}
	if out != nil {
		if t.sd.big != nativeBig {
			for i := range out {
				out[i] = math.Float32frombits(bitsSwap32(math.Float32bits(out[i])))
			}
		}
		return nil, out, nil
	}
	return buf, nil, nil
}

func (t *Tensor) readAt(e *zip.File, buf []byte, start int64) error {
	fail := func(err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return t.sd.errorf(ErrTruncated, "tensor %s: data ends early: the file is truncated (download or copy it again)", t.Name)
		}
		return t.sd.errorf(ErrTruncated, "tensor %s: cannot read its data: %v", t.Name, err)
	}
	if e.Method == zip.Store {
		off, err := e.DataOffset()
		if err != nil {
			return fail(err)
		}
		if _, err := t.sd.r.ReadAt(buf, off+start); err != nil {
			return fail(err)
		}
		return nil
	}
	// Compressed storages (not what torch writes, but valid zips): stream to the offset.
	rc, err := e.Open()
	if err != nil {
		return fail(err)
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, start); err != nil {
		return fail(err)
	}
	if _, err := io.ReadFull(rc, buf); err != nil {
		return fail(err)
	}
	return nil
}

var nativeBig = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 0
}()

func bitsSwap32(v uint32) uint32 {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return binary.BigEndian.Uint32(b[:])
}

func u16(b []byte, le bool) uint16 {
	if le {
		return binary.LittleEndian.Uint16(b)
	}
	return binary.BigEndian.Uint16(b)
}

func u32(b []byte, le bool) uint32 {
	if le {
		return binary.LittleEndian.Uint32(b)
	}
	return binary.BigEndian.Uint32(b)
}

func u64(b []byte, le bool) uint64 {
	if le {
		return binary.LittleEndian.Uint64(b)
	}
	return binary.BigEndian.Uint64(b)
}

// HalfToFloat32 converts IEEE 754 binary16 bits to float32 exactly (subnormals, infinities and
// NaNs included).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalize
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		frac &= 0x3ff
		return math.Float32frombits(sign | e<<23 | frac<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// checkpointFromBytes opens an in-memory checkpoint (fuzzing and tests).
func checkpointFromBytes(b []byte, name string) (*StateDict, error) {
	return openReader(bytes.NewReader(b), int64(len(b)), name)
}
