package compiler

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// Random weights depend only on the seed and the tensor's name, never on the order of requests.
func TestRandomWeightsAreDeterministic(t *testing.T) {
	specs := []ParamSpec{{"a.weight", []int{3, 4}}, {"a.bias", []int{3}}, {"n.weight", []int{5}}}
	w1 := RandomWeights(specs, 7, nil)
	reversed := slices.Clone(specs)
	slices.Reverse(reversed)
	w2 := RandomWeights(reversed, 7, nil)
	for _, s := range specs {
		a, sa, err := w1.Float32(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, _, _ := w2.Float32(s.Name)
		if !slices.Equal(a, b) || !slices.Equal(sa, s.Shape) {
			t.Fatalf("%s differs between sources with the same seed", s.Name)
		}
	}
	other, _, _ := RandomWeights(specs, 8, nil).Float32("a.weight")
	same, _, _ := w1.Float32("a.weight")
	if slices.Equal(other, same) {
		t.Fatal("different seeds gave the same weights")
	}
	norm, _, _ := w1.Float32("n.weight")
	for _, v := range norm {
		if v < 0.85 || v > 1.15 {
			t.Fatalf("norm scale %v is not near 1", v)
		}
	}
	lin, _, _ := w1.Float32("a.weight")
	for _, v := range lin {
		if math.Abs(float64(v)) > 0.5 {
			t.Fatalf("linear weight %v outside ±1/√fan_in", v)
		}
	}
	if _, _, err := w1.Float32("nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown tensor error %v", err)
	}
}

// CheckSpecs names what is missing, extra and misshapen.
func TestCheckSpecsReportsMismatches(t *testing.T) {
	specs := []ParamSpec{{"a.weight", []int{3, 4}}, {"a.bias", []int{3}}, {"b.weight", []int{2}}}
	if err := CheckSpecs(RandomWeights(specs, 1, nil), specs); err != nil {
		t.Fatalf("matching weights rejected: %v", err)
	}
	got := RandomWeights([]ParamSpec{{"a.weight", []int{4, 3}}, {"a.bias", []int{3}}, {"c.weight", []int{1}}}, 1, nil)
	err := CheckSpecs(got, specs)
	if !errors.Is(err, ErrSpecMismatch) {
		t.Fatalf("error %v does not wrap ErrSpecMismatch", err)
	}
	for _, want := range []string{"1 missing tensors (b.weight)", "1 unexpected tensors (c.weight)", "a.weight is 4x3, expected 3x4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// The presets are valid, survive a JSON round trip, and tiny keeps the sizes the runtime needs.
func TestDimsPresets(t *testing.T) {
	for _, name := range []string{"full", "tiny"} {
		d, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	tiny, full := TinyDims(), FullDims()
	if tiny.LLM.TextVocab != full.LLM.TextVocab || tiny.SpeechTokens != full.SpeechTokens ||
		tiny.MelBins != full.MelBins || tiny.SpeakerEmbed != full.SpeakerEmbed || tiny.HopLength != full.HopLength {
		t.Fatal("tiny dims changed a size the tokenizer or runtime depends on")
	}
	bad := full
	bad.LLM.Heads = 3
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "not divisible") {
		t.Fatalf("validate error %v", err)
	}
	if _, err := Preset("huge"); err == nil {
		t.Fatal("unknown preset accepted")
	}
}
