package compiler

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// ParamSpec names one checkpoint tensor and its shape (torch layout).
type ParamSpec struct {
	Name  string
	Shape []int
}

// Numel is the number of elements.
func (p ParamSpec) Numel() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Weights is a source of named float32 tensors in torch layout: a checkpoint (through package
// checkpoint), a weight-norm-folded view of one, or RandomWeights. Float32 returns the data and
// shape of the tensor called name, or an error naming the tensor (and the file, where there is one).
// Implementations may be called from one goroutine at a time.
type Weights interface {
	Float32(name string) (data []float32, shape []int, err error)
}

// keyLister is implemented by sources that can list their tensors (checkpoint.StateDict,
// checkpoint.Folded, RandomWeights); CheckSpecs uses it to find extra keys.
type keyLister interface{ Keys() []string }

// shaper is implemented by sources that know a tensor's shape without reading its data.
type shaper interface {
	Shape(name string) ([]int, error)
}

// namer is implemented by sources read from a file (checkpoint.StateDict).
type namer interface{ Name() string }

// ErrSpecMismatch is returned (wrapped) by CheckSpecs when a source's tensors differ from the
// expected ones: the file is not the model the specs describe, or it is damaged.
var ErrSpecMismatch = errors.New("checkpoint does not match the model")

// CheckSpecs verifies that w holds exactly the tensors of specs with the same shapes. The error
// lists what is missing, extra and misshapen (a few of each), names the file when w has a name,
// and wraps ErrSpecMismatch. Shapes are read without loading data where w allows it.
func CheckSpecs(w Weights, specs []ParamSpec) error {
	file := "weights"
	if n, ok := w.(namer); ok && n.Name() != "" {
		file = n.Name()
	}
	want := make(map[string]bool, len(specs))
	var missing, wrong, extra []string
	for _, s := range specs {
		want[s.Name] = true
	}
	var have map[string]bool
	if kl, ok := w.(keyLister); ok {
		keys := kl.Keys()
		have = make(map[string]bool, len(keys))
		for _, k := range keys {
			have[k] = true
			if !want[k] {
				extra = append(extra, k)
			}
		}
	}
	for _, s := range specs {
		if have != nil && !have[s.Name] {
			missing = append(missing, s.Name)
			continue
		}
		var shape []int
		var err error
		if sh, ok := w.(shaper); ok {
			shape, err = sh.Shape(s.Name)
		} else {
			_, shape, err = w.Float32(s.Name)
		}
		if err != nil {
			if have == nil {
				missing = append(missing, s.Name)
				continue
			}
			return fmt.Errorf("%s: reading %s: %w", file, s.Name, err)
		}
		if !slices.Equal(shape, s.Shape) {
			wrong = append(wrong, fmt.Sprintf("%s is %s, expected %s", s.Name, shapeString(shape), shapeString(s.Shape)))
		}
	}
	if len(missing)+len(extra)+len(wrong) == 0 {
		return nil
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("%d missing tensors (%s)", len(missing), few(missing)))
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		parts = append(parts, fmt.Sprintf("%d unexpected tensors (%s)", len(extra), few(extra)))
	}
	if len(wrong) > 0 {
		parts = append(parts, fmt.Sprintf("%d tensors with the wrong shape (%s)", len(wrong), few(wrong)))
	}
	return fmt.Errorf("%s: %w: %s; is it the VietTTS %s file, complete and unmodified? Download it again",
		file, ErrSpecMismatch, strings.Join(parts, "; "), file)
}

func few(list []string) string {
	const n = 4
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:n], ", ") + fmt.Sprintf(", and %d more", len(list)-n)
}

func shapeString(s []int) string {
	if len(s) == 0 {
		return "a scalar"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

// randomWeights generates each tensor on demand from (seed, name), so the values do not depend on
// the order tensors are asked for, and nothing is held in memory between calls.
type randomWeights struct {
	specs map[string]ParamSpec
	keys  []string
	seed  uint64
	scale func(name string) float32
}

// RandomWeights is a deterministic random source for specs: the same seed gives the same values.
// Initial scales follow torch's defaults closely enough that activations stay finite and
// non-trivial through every network (linear and conv weights uniform in ±1/√fan_in, norm scales
// near 1, embeddings of unit variance, weight-norm magnitudes near the norm of their direction,
// HiFT's f0 head set so f0 lands in a speech range of roughly 80–300 Hz, MODEL.md §13). scale,
// when not nil, multiplies the spread of each named tensor.
func RandomWeights(specs []ParamSpec, seed uint64, scale func(name string) float32) Weights {
	r := &randomWeights{specs: make(map[string]ParamSpec, len(specs)), seed: seed, scale: scale}
	for _, s := range specs {
		r.specs[s.Name] = s
		r.keys = append(r.keys, s.Name)
	}
	return r
}

func (r *randomWeights) Keys() []string { return append([]string(nil), r.keys...) }

func (r *randomWeights) Name() string { return "random weights" }

func (r *randomWeights) Shape(name string) ([]int, error) {
	s, ok := r.specs[name]
	if !ok {
		return nil, fmt.Errorf("random weights: no tensor %q", name)
	}
	return append([]int(nil), s.Shape...), nil
}

func (r *randomWeights) Float32(name string) ([]float32, []int, error) {
	s, ok := r.specs[name]
	if !ok {
		return nil, nil, fmt.Errorf("random weights: no tensor %q", name)
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(r.seed, h.Sum64()))
	center, half := initRange(s)
	if r.scale != nil {
		half *= float64(r.scale(name))
	}
	data := make([]float32, s.Numel())
	for i := range data {
		data[i] = float32(center + half*(2*rng.Float64()-1))
	}
	return data, append([]int(nil), s.Shape...), nil
}

// initRange gives the uniform distribution (center ± half) a tensor is drawn from.
func initRange(s ParamSpec) (center, half float64) {
	name := s.Name
	fanIn := 1
	if len(s.Shape) >= 2 {
		for _, d := range s.Shape[1:] {
			fanIn *= d
		}
	}
	switch {
	case strings.HasPrefix(name, "f0_predictor.classifier.") && strings.HasSuffix(name, ".bias"):
		return 170, 30 // f0 in Hz before abs(): a speaking voice
	case strings.HasPrefix(name, "f0_predictor.classifier.") && strings.HasSuffix(name, ".weight"):
		return 0, 40 / math.Sqrt(float64(fanIn))
	case strings.HasSuffix(name, "embedding.weight"):
		return 0, math.Sqrt(3) // unit variance, like torch's N(0, 1)
	case strings.HasSuffix(name, ".pos_bias_u"), strings.HasSuffix(name, ".pos_bias_v"):
		return 0, math.Sqrt(6 / float64(s.Shape[0]+s.Shape[1])) // xavier uniform
	case strings.HasSuffix(name, ".weight_g"):
		return 0.6, 0.2 // about ‖v‖ for v in ±1/√fan_in
	case strings.HasSuffix(name, ".alpha"):
		return 1, 0.1 // Snake
	case len(s.Shape) == 1 && strings.HasSuffix(name, ".weight"):
		return 1, 0.1 // LayerNorm / GroupNorm scale
	case len(s.Shape) == 1:
		return 0, 0.1 // biases
	}
	return 0, 1 / math.Sqrt(float64(fanIn))
}
