package checkpoint

import (
	"fmt"
	"math"
	"strings"
)

// Source is a set of named float32 tensors: a StateDict, or a view of one.
type Source interface {
	Keys() []string
	Float32(name string) (data []float32, shape []int, err error)
}

// Folded is a view of a Source in which every weight-norm pair (`x.weight_g`, `x.weight_v`) is
// replaced by the plain weight `x.weight` that torch.nn.utils.weight_norm computes:
// w = g · v / ‖v‖, the norm taken over every dimension except the one g keeps. For Conv1d that
// is dim 0, the output channel; for ConvTranspose1d (HiFT's `ups.*`) dim 0 is the INPUT channel,
// because its weight is stored (in, out, kernel): the shape of g says which, so both come out
// right. Other tensors pass through unchanged.
type Folded struct {
	src   Source
	keys  []string
	pairs map[string]string // folded name → prefix
}

// FoldWeightNorm returns the folded view of src.
func FoldWeightNorm(src Source) *Folded {
	all := src.Keys()
	have := make(map[string]bool, len(all))
	for _, k := range all {
		have[k] = true
	}
	f := &Folded{src: src, pairs: map[string]string{}}
	for _, k := range all {
		if p, ok := strings.CutSuffix(k, ".weight_g"); ok && have[p+".weight_v"] {
			f.pairs[p+".weight"] = p
			f.keys = append(f.keys, p+".weight")
			continue
		}
		if p, ok := strings.CutSuffix(k, ".weight_v"); ok && have[p+".weight_g"] {
			continue // folded where its weight_g was listed
		}
		f.keys = append(f.keys, k)
	}
	return f
}

// Keys returns the names with each weight-norm pair replaced by its folded weight.
func (f *Folded) Keys() []string { return append([]string(nil), f.keys...) }

// Name is the name of the underlying checkpoint file, if it has one.
func (f *Folded) Name() string {
	if n, ok := f.src.(interface{ Name() string }); ok {
		return n.Name()
	}
	return ""
}

// Shape returns a tensor's shape; a folded weight has the shape of its weight_v.
func (f *Folded) Shape(name string) ([]int, error) {
	src := name
	if p, ok := f.pairs[name]; ok {
		src = p + ".weight_v"
	}
	if s, ok := f.src.(interface{ Shape(string) ([]int, error) }); ok {
		return s.Shape(src)
	}
	_, shape, err := f.src.Float32(src)
	return shape, err
}

// Float32 returns a tensor of the folded view.
func (f *Folded) Float32(name string) ([]float32, []int, error) {
	p, ok := f.pairs[name]
	if !ok {
		return f.src.Float32(name)
	}
	g, gs, err := f.src.Float32(p + ".weight_g")
	if err != nil {
		return nil, nil, err
	}
	v, vs, err := f.src.Float32(p + ".weight_v")
	if err != nil {
		return nil, nil, err
	}
	w, err := foldWeightNorm(g, gs, v, vs)
	if err != nil {
		return nil, nil, fmt.Errorf("weight norm of %s: %w", p, err)
	}
	return w, vs, nil
}

// foldWeightNorm computes g·v/‖v‖ in place of v (v is a fresh slice from the reader).
func foldWeightNorm(g []float32, gs []int, v []float32, vs []int) ([]float32, error) {
	// The kept dimension is the one where g is not 1; a scalar g (dim=None) normalizes all of v.
	dim := -1
	if len(gs) > 0 {
		if len(gs) != len(vs) {
			return nil, fmt.Errorf("weight_g has shape %v but weight_v has %v", gs, vs)
		}
		for i := range gs {
			if gs[i] != 1 {
				if dim >= 0 || gs[i] != vs[i] {
					return nil, fmt.Errorf("weight_g shape %v does not match weight_v shape %v", gs, vs)
				}
				dim = i
			}
		}
		if dim < 0 {
			dim = 0
			if vs[0] != 1 {
				return nil, fmt.Errorf("weight_g shape %v does not match weight_v shape %v", gs, vs)
			}
		}
	}
	outer, mid, inner := 1, 1, len(v)
	if dim >= 0 {
		mid = vs[dim]
		inner = 1
		for _, s := range vs[:dim] {
			outer *= s
		}
		for _, s := range vs[dim+1:] {
			inner *= s
		}
	}
	if len(g) != mid || outer*mid*inner != len(v) {
		return nil, fmt.Errorf("weight_g has %d values for %d slices of weight_v %v", len(g), mid, vs)
	}
	scale := make([]float32, mid)
	sum := make([]float64, mid)
	for o := 0; o < outer; o++ {
		for m := 0; m < mid; m++ {
			row := v[(o*mid+m)*inner : (o*mid+m+1)*inner]
			for _, x := range row {
				sum[m] += float64(x) * float64(x)
			}
		}
	}
	for m := range scale {
		scale[m] = g[m] / float32(math.Sqrt(sum[m]))
	}
	for o := 0; o < outer; o++ {
		for m := 0; m < mid; m++ {
			row := v[(o*mid+m)*inner : (o*mid+m+1)*inner]
			for i := range row {
				row[i] *= scale[m]
			}
		}
	}
	return v, nil
}
