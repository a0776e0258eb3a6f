// Package checkpointtest writes PyTorch-format checkpoints (the zip layout torch.save uses, with
// a protocol-2 pickle of an OrderedDict of float32 tensors) from Go, so tests can make tiny
// llm.pt, flow.pt and hift.pt files of any dimensions without Python. Files it writes load with
// torch.load; package checkpoint's own tests read files written by PyTorch itself.
package checkpointtest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Tensors is a source of named float32 tensors (compiler.Weights with Keys, checkpoint.StateDict).
type Tensors interface {
	Keys() []string
	Float32(name string) ([]float32, []int, error)
}

// Write saves every tensor of src, in src.Keys() order, as a checkpoint at path. Tensors are
// read and written one at a time.
func Write(path string, src Tensors) error {
	return WriteKeys(path, src, src.Keys())
}

// WriteKeys saves the named tensors of src (a subset, or names src maps to other shapes).
func WriteKeys(path string, src Tensors, keys []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	prefix := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	shapes := make([][]int, len(keys))
	for i, k := range keys {
		data, shape, err := src.Float32(k)
		if err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", k, err)
		}
		shapes[i] = shape
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("%s/data/%d", prefix, i), Method: zip.Store})
		if err != nil {
			f.Close()
			return err
		}
		buf := make([]byte, 4*len(data))
		for j, v := range data {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(v))
		}
		if _, err := w.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	for name, body := range map[string][]byte{
		prefix + "/data.pkl":  statePickle(keys, shapes),
		prefix + "/version":   []byte("3\n"),
		prefix + "/byteorder": []byte("little"),
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			f.Close()
			return err
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// statePickle encodes OrderedDict{key: _rebuild_tensor_v2(storage i, 0, shape, strides, False,
// OrderedDict())} as torch.save does.
func statePickle(keys []string, shapes [][]int) []byte {
	var p bytes.Buffer
	str := func(s string) {
		p.WriteByte('X')
		binary.Write(&p, binary.LittleEndian, uint32(len(s)))
		p.WriteString(s)
	}
	num := func(n int) {
		p.WriteByte('J')
		binary.Write(&p, binary.LittleEndian, int32(n))
	}
	ordered := func() { p.WriteString("ccollections\nOrderedDict\n)R") }
	p.WriteString("\x80\x02")
	ordered()
	p.WriteByte('(')
	for i, k := range keys {
		shape := shapes[i]
		numel := 1
		for _, d := range shape {
			numel *= d
		}
		str(k)
		p.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
		p.WriteString("(")
		str("storage")
		p.WriteString("ctorch\nFloatStorage\n")
		str(fmt.Sprint(i))
		str("cpu")
		num(numel)
		p.WriteString("tQ")
		num(0)
		p.WriteByte('(')
		for _, d := range shape {
			num(d)
		}
		p.WriteByte('t')
		p.WriteByte('(')
		stride := 1
		strides := make([]int, len(shape))
		for j := len(shape) - 1; j >= 0; j-- {
			strides[j] = stride
			stride *= shape[j]
		}
		for _, s := range strides {
			num(s)
		}
		p.WriteByte('t')
		p.WriteByte(0x89)
		ordered()
		p.WriteString("tR")
	}
	p.WriteString("u.")
	return p.Bytes()
}
