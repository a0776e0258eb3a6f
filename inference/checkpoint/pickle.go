package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
)

// This file is a safe unpickler: it understands the subset of the pickle protocol that
// torch.save writes for a state dict, builds plain Go values from it, and never calls anything.
// Any global outside the allow-list, and any opcode outside the subset, is an error.

// pyGlobal is a reference to a Python callable or class (GLOBAL, STACK_GLOBAL).
type pyGlobal struct{ module, name string }

func (g pyGlobal) String() string { return g.module + "." + g.name }

// pyTuple is an immutable Python tuple.
type pyTuple []any

// pyList is a Python list; a pointer because APPEND mutates it after it was memoized.
type pyList struct{ items []any }

// pyDict is an insertion-ordered Python dict (dict and collections.OrderedDict).
type pyDict struct {
	keys []any
	vals []any
	// state holds what BUILD set on an OrderedDict (torch stores the state dict's _metadata there).
	state any
}

func (d *pyDict) set(k, v any) {
	if s, ok := k.(string); ok {
		for i, old := range d.keys {
			if o, ok := old.(string); ok && o == s {
				d.vals[i] = v
				return
			}
		}
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

func (d *pyDict) get(k string) (any, bool) {
	for i, old := range d.keys {
		if o, ok := old.(string); ok && o == k {
			return d.vals[i], true
		}
	}
	return nil, false
}

// pyStorage is what a persistent id ('storage', type, key, location, numel) resolves to.
type pyStorage struct {
	dtype    DType
	key      string
	location string
	numel    int64
}

// pyTensor is a tensor rebuilt by torch._utils._rebuild_tensor_v2 (not yet given its name).
type pyTensor struct {
	storage *pyStorage
	offset  int64
	shape   []int64
	stride  []int64
}

// pyMark is the MARK opcode's marker on the stack.
type pyMark struct{}

// storageTypes maps torch's legacy typed-storage classes to element types.
var storageTypes = map[string]DType{
	"FloatStorage":    Float32,
	"HalfStorage":     Float16,
	"BFloat16Storage": BFloat16,
	"DoubleStorage":   Float64,
	"LongStorage":     Int64,
	"IntStorage":      Int32,
	"ShortStorage":    Int16,
	"CharStorage":     Int8,
	"ByteStorage":     Uint8,
	"BoolStorage":     Bool,
}

// allowedGlobals are the only callables a state dict may name. They are never called: the
// unpickler recognizes them and builds the equivalent Go value.
var allowedGlobals = map[pyGlobal]bool{
	{"collections", "OrderedDict"}:                    true,
	{"torch._utils", "_rebuild_tensor_v2"}:            true,
	{"torch._utils", "_rebuild_tensor"}:               true,
	{"torch._utils", "_rebuild_parameter"}:            true,
	{"torch._utils", "_rebuild_parameter_with_state"}: true,
	{"torch", "Size"}:                                 true,
}

func isAllowedGlobal(g pyGlobal) bool {
	if g.module == "torch" {
		if _, ok := storageTypes[g.name]; ok {
			return true
		}
	}
	return allowedGlobals[g]
}

// Limits that keep a hostile pickle from exhausting memory.
const (
	maxStack = 1 << 22
	maxMemo  = 1 << 22
	maxDims  = 16
)

// unpickleError is a problem in the pickle; the caller adds the file name.
type unpickleError struct {
	kind error
	msg  string
}

func (e *unpickleError) Error() string { return e.msg }
func (e *unpickleError) Unwrap() error { return e.kind }

func badPickle(format string, args ...any) error {
	return &unpickleError{kind: ErrNotCheckpoint, msg: fmt.Sprintf(format, args...)}
}

type unpickler struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint32]any
}

// unpickle decodes one pickle and returns its top-level value.
func unpickle(data []byte) (any, error) {
	u := &unpickler{data: data, memo: map[uint32]any{}}
	return u.run()
}

func (u *unpickler) need(n int) ([]byte, error) {
	if n < 0 || len(u.data)-u.pos < n {
		return nil, badPickle("pickle ends in the middle of an instruction at byte %d (the file is truncated or corrupt)", u.pos)
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) push(v any) error {
	if len(u.stack) >= maxStack {
		return badPickle("pickle stack grows beyond %d values: not a PyTorch state dict", maxStack)
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) == u.marks[len(u.marks)-1]) {
		return nil, badPickle("pickle pops an empty stack at byte %d: corrupt pickle", u.pos)
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, badPickle("pickle reads an empty stack at byte %d: corrupt pickle", u.pos)
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark returns the values pushed since the last MARK and removes them and the mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, badPickle("pickle uses a missing MARK at byte %d: corrupt pickle", u.pos)
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) memoize(id uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := u.memo[id]; !ok && len(u.memo) >= maxMemo {
		return badPickle("pickle memo grows beyond %d values: not a PyTorch state dict", maxMemo)
	}
	u.memo[id] = v
	return nil
}

func (u *unpickler) run() (any, error) {
	for {
		b, err := u.need(1)
		if err != nil {
			return nil, err
		}
		op := b[0]
		switch op {
		case 0x80: // PROTO
			p, err := u.need(1)
			if err != nil {
				return nil, err
			}
			if p[0] > 5 {
				return nil, badPickle("pickle protocol %d is newer than any PyTorch writes", p[0])
			}
		case 0x95: // FRAME: a length prefix we do not need
			if _, err := u.need(8); err != nil {
				return nil, err
			}
		case '.': // STOP
			v, err := u.pop()
			if err != nil {
				return nil, err
			}
			return v, nil
		case '}': // EMPTY_DICT
			err = u.push(&pyDict{})
		case ']': // EMPTY_LIST
			err = u.push(&pyList{})
		case ')': // EMPTY_TUPLE
			err = u.push(pyTuple{})
		case '(': // MARK
			u.marks = append(u.marks, len(u.stack))
			if len(u.marks) > maxStack {
				return nil, badPickle("pickle nests beyond %d marks: not a PyTorch state dict", maxStack)
			}
		case 'N': // NONE
			err = u.push(nil)
		case 0x88: // NEWTRUE
			err = u.push(true)
		case 0x89: // NEWFALSE
			err = u.push(false)
		case 'K': // BININT1
			var v []byte
			if v, err = u.need(1); err == nil {
				err = u.push(int64(v[0]))
			}
		case 'M': // BININT2
			var v []byte
			if v, err = u.need(2); err == nil {
				err = u.push(int64(binary.LittleEndian.Uint16(v)))
			}
		case 'J': // BININT
			var v []byte
			if v, err = u.need(4); err == nil {
				err = u.push(int64(int32(binary.LittleEndian.Uint32(v))))
			}
		case 0x8a: // LONG1
			err = u.long1()
		case 'G': // BINFLOAT (big-endian double)
			var v []byte
			if v, err = u.need(8); err == nil {
				err = u.push(math.Float64frombits(binary.BigEndian.Uint64(v)))
			}
		case 'X': // BINUNICODE
			var n []byte
			if n, err = u.need(4); err == nil {
				err = u.pushString(int(binary.LittleEndian.Uint32(n)))
			}
		case 0x8c: // SHORT_BINUNICODE
			var n []byte
			if n, err = u.need(1); err == nil {
				err = u.pushString(int(n[0]))
			}
		case 0x8d: // BINUNICODE8
			var n []byte
			if n, err = u.need(8); err == nil {
				l := binary.LittleEndian.Uint64(n)
				if l > uint64(len(u.data)) {
					return nil, badPickle("pickle string of %d bytes is longer than the pickle", l)
				}
				err = u.pushString(int(l))
			}
		case 'h': // BINGET
			var v []byte
			if v, err = u.need(1); err == nil {
				err = u.get(uint32(v[0]))
			}
		case 'j': // LONG_BINGET
			var v []byte
			if v, err = u.need(4); err == nil {
				err = u.get(binary.LittleEndian.Uint32(v))
			}
		case 'q': // BINPUT
			var v []byte
			if v, err = u.need(1); err == nil {
				err = u.memoize(uint32(v[0]))
			}
		case 'r': // LONG_BINPUT
			var v []byte
			if v, err = u.need(4); err == nil {
				err = u.memoize(binary.LittleEndian.Uint32(v))
			}
		case 0x94: // MEMOIZE
			err = u.memoize(uint32(len(u.memo)))
		case 't': // TUPLE
			var items []any
			if items, err = u.popMark(); err == nil {
				err = u.push(pyTuple(items))
			}
		case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
			n := int(op - 0x84)
			if len(u.stack) < n || (len(u.marks) > 0 && len(u.stack)-n < u.marks[len(u.marks)-1]) {
				return nil, badPickle("pickle builds a tuple from an empty stack at byte %d: corrupt pickle", u.pos)
			}
			t := append(pyTuple(nil), u.stack[len(u.stack)-n:]...)
			u.stack = u.stack[:len(u.stack)-n]
			err = u.push(t)
		case 'a': // APPEND
			var v any
			if v, err = u.pop(); err == nil {
				err = u.appendTo([]any{v})
			}
		case 'e': // APPENDS
			var items []any
			if items, err = u.popMark(); err == nil {
				err = u.appendTo(items)
			}
		case 's': // SETITEM
			var k, v any
			if v, err = u.pop(); err != nil {
				return nil, err
			}
			if k, err = u.pop(); err != nil {
				return nil, err
			}
			err = u.setItems([]any{k, v})
		case 'u': // SETITEMS
			var items []any
			if items, err = u.popMark(); err == nil {
				err = u.setItems(items)
			}
		case 'c': // GLOBAL "module\nname\n"
			err = u.global()
		case 0x93: // STACK_GLOBAL
			err = u.stackGlobal()
		case 'Q': // BINPERSID
			err = u.persistentLoad()
		case 'R': // REDUCE
			err = u.reduce()
		case 'b': // BUILD
			err = u.build()
		case 0x81, 0x92: // NEWOBJ, NEWOBJ_EX
			return nil, &unpickleError{kind: ErrUnsafePickle, msg: "pickle creates an object (NEWOBJ): not a PyTorch state dict"}
		case 'i', 'o', 'I', 'L', 'S', 'V', 'F', 'P', 'p', 'g', 'l', 'd': // text-protocol forms: refused
			return nil, badPickle("pickle uses text-protocol opcode %q (protocol 0); PyTorch state dicts use protocol 2 or later", op)
		default:
			return nil, badPickle("pickle uses opcode 0x%02x at byte %d, which a PyTorch state dict never needs", op, u.pos-1)
		}
		if err != nil {
			return nil, err
		}
	}
}

func (u *unpickler) pushString(n int) error {
	b, err := u.need(n)
	if err != nil {
		return err
	}
	return u.push(string(b))
}

func (u *unpickler) long1() error {
	n, err := u.need(1)
	if err != nil {
		return err
	}
	b, err := u.need(int(n[0]))
	if err != nil {
		return err
	}
	// Two's complement little-endian.
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if len(b) > 0 && b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if !v.IsInt64() {
		return badPickle("pickle integer %s does not fit 64 bits", v)
	}
	return u.push(v.Int64())
}

func (u *unpickler) get(id uint32) error {
	v, ok := u.memo[id]
	if !ok {
		return badPickle("pickle refers to memo entry %d that was never stored: corrupt pickle", id)
	}
	return u.push(v)
}

func (u *unpickler) appendTo(items []any) error {
	t, err := u.top()
	if err != nil {
		return err
	}
	l, ok := t.(*pyList)
	if !ok {
		return badPickle("pickle appends to a %s, not a list", typeName(t))
	}
	if len(l.items)+len(items) > maxStack {
		return badPickle("pickle list grows beyond %d items", maxStack)
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItems(items []any) error {
	if len(items)%2 != 0 {
		return badPickle("pickle sets dict items from an odd number of values: corrupt pickle")
	}
	t, err := u.top()
	if err != nil {
		return err
	}
	d, ok := t.(*pyDict)
	if !ok {
		return badPickle("pickle sets items on a %s, not a dict", typeName(t))
	}
	for i := 0; i < len(items); i += 2 {
		switch items[i].(type) {
		case string, int64, bool, nil, float64:
		default:
			return badPickle("pickle uses a %s as a dict key; state dict keys are strings", typeName(items[i]))
		}
		d.set(items[i], items[i+1])
	}
	return nil
}

func (u *unpickler) checkGlobal(g pyGlobal) error {
	if !isAllowedGlobal(g) {
		return &unpickleError{kind: ErrUnsafePickle,
			msg: fmt.Sprintf("refuses pickle global %s: not a PyTorch state dict (the file may try to run code)", g)}
	}
	return nil
}

func (u *unpickler) global() error {
	mod, err := u.line()
	if err != nil {
		return err
	}
	name, err := u.line()
	if err != nil {
		return err
	}
	g := pyGlobal{mod, name}
	if err := u.checkGlobal(g); err != nil {
		return err
	}
	return u.push(g)
}

func (u *unpickler) line() (string, error) {
	for i := u.pos; i < len(u.data) && i-u.pos < 512; i++ {
		if u.data[i] == '\n' {
			s := string(u.data[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", badPickle("pickle GLOBAL name is not terminated at byte %d: corrupt pickle", u.pos)
}

func (u *unpickler) stackGlobal() error {
	name, err := u.pop()
	if err != nil {
		return err
	}
	mod, err := u.pop()
	if err != nil {
		return err
	}
	ms, ok1 := mod.(string)
	ns, ok2 := name.(string)
	if !ok1 || !ok2 {
		return badPickle("pickle STACK_GLOBAL takes a %s and a %s, not two strings", typeName(mod), typeName(name))
	}
	g := pyGlobal{ms, ns}
	if err := u.checkGlobal(g); err != nil {
		return err
	}
	return u.push(g)
}

// persistentLoad resolves torch's storage references: ('storage', StorageType, key, location, numel).
func (u *unpickler) persistentLoad() error {
	pid, err := u.pop()
	if err != nil {
		return err
	}
	t, ok := pid.(pyTuple)
	if !ok || len(t) != 5 {
		return badPickle("pickle persistent id is a %s, not torch's ('storage', type, key, location, size)", typeName(pid))
	}
	if s, _ := t[0].(string); s != "storage" {
		return badPickle("pickle persistent id of kind %v; only torch storages are supported", t[0])
	}
	g, ok := t[1].(pyGlobal)
	if !ok || g.module != "torch" {
		return badPickle("pickle storage has type %v, not a torch storage class", t[1])
	}
	dt, ok := storageTypes[g.name]
	if !ok {
		return badPickle("pickle storage type %s is not supported", g)
	}
	key, ok1 := t[2].(string)
	loc, ok2 := t[3].(string)
	n, ok3 := t[4].(int64)
	if !ok1 || !ok2 || !ok3 || n < 0 || key == "" {
		return badPickle("pickle storage reference %v is malformed", t)
	}
	return u.push(&pyStorage{dtype: dt, key: key, location: loc, numel: n})
}

func (u *unpickler) reduce() error {
	argv, err := u.pop()
	if err != nil {
		return err
	}
	fv, err := u.pop()
	if err != nil {
		return err
	}
	f, ok := fv.(pyGlobal)
	if !ok {
		return &unpickleError{kind: ErrUnsafePickle, msg: fmt.Sprintf("pickle calls a %s: not a PyTorch state dict", typeName(fv))}
	}
	args, ok := argv.(pyTuple)
	if !ok {
		return badPickle("pickle calls %s with a %s instead of an argument tuple", f, typeName(argv))
	}
	switch f {
	case pyGlobal{"collections", "OrderedDict"}:
		d := &pyDict{}
		if len(args) == 1 {
			l, ok := args[0].(*pyList)
			if !ok {
				return badPickle("pickle builds an OrderedDict from a %s", typeName(args[0]))
			}
			for _, it := range l.items {
				p, ok := it.(pyTuple)
				if !ok || len(p) != 2 {
					return badPickle("pickle builds an OrderedDict from a non-pair %s", typeName(it))
				}
				d.set(p[0], p[1])
			}
		} else if len(args) != 0 {
			return badPickle("pickle builds an OrderedDict with %d arguments", len(args))
		}
		return u.push(d)
	case pyGlobal{"torch", "Size"}:
		if len(args) != 1 {
			return badPickle("pickle builds torch.Size with %d arguments", len(args))
		}
		return u.push(args[0])
	case pyGlobal{"torch._utils", "_rebuild_tensor_v2"}, pyGlobal{"torch._utils", "_rebuild_tensor"}:
		t, err := rebuildTensor(args)
		if err != nil {
			return err
		}
		return u.push(t)
	case pyGlobal{"torch._utils", "_rebuild_parameter"}, pyGlobal{"torch._utils", "_rebuild_parameter_with_state"}:
		if len(args) < 3 {
			return badPickle("pickle rebuilds a parameter with %d arguments", len(args))
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return badPickle("pickle rebuilds a parameter from a %s, not a tensor", typeName(args[0]))
		}
		return u.push(t)
	}
	// Storage classes are allowed as values (inside persistent ids) but are never called.
	return &unpickleError{kind: ErrUnsafePickle, msg: fmt.Sprintf("pickle calls %s: not a PyTorch state dict", f)}
}

func rebuildTensor(args pyTuple) (*pyTensor, error) {
	if len(args) < 4 {
		return nil, badPickle("pickle rebuilds a tensor with %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*pyStorage)
	if !ok {
		return nil, badPickle("pickle rebuilds a tensor from a %s, not a storage", typeName(args[0]))
	}
	off, ok := args[1].(int64)
	if !ok || off < 0 {
		return nil, badPickle("pickle tensor has storage offset %v", args[1])
	}
	shape, err := intTuple(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(shape) != len(stride) {
		return nil, badPickle("pickle tensor has %d dimensions but %d strides", len(shape), len(stride))
	}
	return &pyTensor{storage: st, offset: off, shape: shape, stride: stride}, nil
}

func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(pyTuple)
	if !ok {
		return nil, badPickle("pickle tensor %s is a %s, not a tuple", what, typeName(v))
	}
	if len(t) > maxDims {
		return nil, badPickle("pickle tensor has %d dimensions (at most %d supported)", len(t), maxDims)
	}
	out := make([]int64, len(t))
	for i, e := range t {
		n, ok := e.(int64)
		if !ok || n < 0 {
			return nil, badPickle("pickle tensor %s has element %v", what, e)
		}
		out[i] = n
	}
	return out, nil
}

func (u *unpickler) build() error {
	state, err := u.pop()
	if err != nil {
		return err
	}
	t, err := u.top()
	if err != nil {
		return err
	}
	switch obj := t.(type) {
	case *pyDict:
		// An OrderedDict's instance attributes: torch stores the state dict's _metadata here.
		obj.state = state
		return nil
	case *pyTensor:
		// _rebuild_parameter_with_state / tensor subclasses may carry attributes; ignore them.
		return nil
	}
	return &unpickleError{kind: ErrUnsafePickle, msg: fmt.Sprintf("pickle sets the state of a %s: not a PyTorch state dict", typeName(t))}
}

func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case string:
		return "string"
	case int64:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return "global " + v.String()
	case *pyStorage:
		return "storage"
	case *pyTensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}
