package compiler

import (
	"errors"
	"slices"
	"testing"

	"github.com/viettts-studio/studio/inference/checkpoint"
	"github.com/viettts-studio/studio/inference/graph/graphtest"
)

// The files testdata/ref_*.pt are written by `tools/parity/parity_flow.py --fixtures` from the
// reference modules of dangvansam/viet-tts at fixtureDims: flow.pt (in two parts, to keep each
// file small) and hift.pt with its weight-norm pairs, weights rounded to float16, plus inputs and
// the reference's outputs (ref_flow_io.pt, ref_hift_io.pt; HiFT's random draws captured while it
// ran). These tests compile the checkpoints like real ones and hold the graphs to 1e-4 of
// upstream, the tolerance of the full-size parity in docs/PARITY.md.

// fixtureDims are the reference fixture's sizes (SIZES["fixture"] in parity_flow.py).
func fixtureDims() Dims {
	d := TinyDims()
	d.Flow = FlowDims{
		Model: 16, Heads: 2, FF: 32, Blocks: 2, MaxPositions: 5000, RegulatorConvs: 2,
		EstimatorChannels: 16, EstimatorDownBlocks: 2, EstimatorMidBlocks: 1, TransformerBlocks: 1,
		AttentionHeads: 2, AttentionHeadDim: 8, TimeEmbed: 64, GroupNormGroups: 8,
	}
	d.HiFT = HiFTDims{
		BaseChannels: 32, UpsampleRates: []int{8, 8}, UpsampleKernels: []int{16, 16},
		ResblockKernels: []int{3, 7}, ResblockDilations: [][]int{{1, 3}, {1, 3}},
		SourceResblockKernels: []int{7, 11}, SourceResblockDilations: [][]int{{1, 3}, {1, 3}},
		Harmonics: 8, NFFT: 16, Hop: 4, F0Channels: 16, F0Layers: 5, PreKernel: 7, PostKernel: 7,
		VoicedThreshold: 10, SineAmp: 0.1, NoiseStd: 0.003,
	}
	return d
}

const referenceTolerance = 1e-4

func openFixture(t *testing.T, name string) *checkpoint.StateDict {
	t.Helper()
	sd, err := checkpoint.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sd.Close() })
	return sd
}

// joined reads tensors from the first of its parts that has them.
type joined []*checkpoint.StateDict

func (j joined) Float32(name string) ([]float32, []int, error) {
	for _, sd := range j {
		if slices.Contains(sd.Keys(), name) {
			return sd.Float32(name)
		}
	}
	return nil, nil, errors.New("no tensor " + name + " in the fixture")
}

func (j joined) Keys() []string {
	var keys []string
	for _, sd := range j {
		keys = append(keys, sd.Keys()...)
	}
	return keys
}

// tensor reads a fixture tensor as a graphtest input of its own shape.
func tensor(t *testing.T, sd *checkpoint.StateDict, name string) graphtest.Tensor {
	t.Helper()
	data, shape, err := sd.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]int64, len(shape))
	for i, d := range shape {
		s[i] = int64(d)
	}
	return graphtest.F32(s, data)
}

func expectClose(t *testing.T, what string, got graphtest.Tensor, want graphtest.Tensor) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Fatalf("%s: shape %v, the reference has %v", what, got.Shape, want.Shape)
	}
	diff := graphtest.MaxAbsDiff(got.F32, want.F32)
	if diff > referenceTolerance {
		t.Errorf("%s differs from the reference by %g (tolerance %g)", what, diff, referenceTolerance)
	}
	t.Logf("%s: max abs error %.2g", what, diff)
}

func referenceFlow(t *testing.T) (Weights, Dims) {
	t.Helper()
	d := fixtureDims()
	w := joined{openFixture(t, "ref_flow_encoder.pt"), openFixture(t, "ref_flow_estimator.pt")}
	if err := CheckSpecs(w, FlowSpecs(d)); err != nil {
		t.Fatal(err)
	}
	return w, d
}

func TestFlowEncoderMatchesTheReferenceModules(t *testing.T) {
	w, d := referenceFlow(t)
	model, err := BuildFlowEncoder(w, d)
	if err != nil {
		t.Fatal(err)
	}
	io := openFixture(t, "ref_flow_io.pt")
	tok := tensor(t, io, "enc_token")
	ids := make([]int64, len(tok.F32))
	for i, v := range tok.F32 {
		ids[i] = int64(v)
	}
	out := graphtest.Open(t, model).MustRun(t, map[string]graphtest.Tensor{
		"token":   graphtest.I64(tok.Shape, ids),
		"interp":  tensor(t, io, "enc_interp"),
		"spk_emb": tensor(t, io, "enc_spk_emb"),
	}, nil)
	expectClose(t, "mu", out["mu"], tensor(t, io, "enc_mu"))
	expectClose(t, "spks", out["spks"], tensor(t, io, "enc_spks"))
}

func TestFlowEstimatorMatchesTheReferenceModules(t *testing.T) {
	w, d := referenceFlow(t)
	model, err := BuildFlowEstimator(w, d)
	if err != nil {
		t.Fatal(err)
	}
	io := openFixture(t, "ref_flow_io.pt")
	in := map[string]graphtest.Tensor{}
	for _, name := range []string{"x", "mask", "mu", "t", "spks", "cond"} {
		in[name] = tensor(t, io, "est_"+name)
	}
	out := graphtest.Open(t, model).MustRun(t, in, nil)
	expectClose(t, "estimator_out", out["estimator_out"], tensor(t, io, "est_out"))
}

func TestHiFTMatchesTheReferenceModules(t *testing.T) {
	d := fixtureDims()
	raw := openFixture(t, "ref_hift.pt")
	if err := CheckSpecs(raw, HiFTCheckpointSpecs(d)); err != nil {
		t.Fatal(err)
	}
	folded := checkpoint.FoldWeightNorm(raw)
	if err := CheckSpecs(folded, HiFTSpecs(d)); err != nil {
		t.Fatal(err)
	}
	model, err := BuildHiFT(folded, d)
	if err != nil {
		t.Fatal(err)
	}
	io := openFixture(t, "ref_hift_io.pt")
	out := graphtest.Open(t, model).MustRun(t, map[string]graphtest.Tensor{
		"mel":         tensor(t, io, "mel"),
		"phase_noise": tensor(t, io, "phase_noise"),
		"sine_noise":  tensor(t, io, "sine_noise"),
	}, nil)
	expectClose(t, "wav", out["wav"], tensor(t, io, "wav"))
}
