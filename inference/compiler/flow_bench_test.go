package compiler

import (
	"os"
	"testing"

	"github.com/viettts-studio/studio/inference/graph/graphtest"
)

// Benchmarks of one run of each flow/HiFT graph in ONNX Runtime (CPU, one thread) at the tiny
// dimensions, for a typical segment's lengths: 250 tokens → T = 860 frames for the encoder and
// estimator (batch 2), 431 frames (5 s) for HiFT. They measure graph overhead and the shape of the
// cost; full-size speed is measured with `viettts-studio bench` on a real bundle.

func BenchmarkTinyFlowEncoder(b *testing.B) {
	d := TinyDims()
	model, err := BuildFlowEncoder(RandomWeights(FlowSpecs(d), 1, nil), d)
	if err != nil {
		b.Fatal(err)
	}
	s := graphtest.Open(b, model)
	const S, T = 250, 860
	tokens := make([]int64, S)
	interp := make([]float32, S*T)
	for j := range T {
		interp[(j*S/T)*T+j] = 1
	}
	in := map[string]graphtest.Tensor{
		"token":   graphtest.I64([]int64{1, S}, tokens),
		"interp":  graphtest.F32([]int64{S, T}, interp),
		"spk_emb": graphtest.F32([]int64{1, int64(d.SpeakerEmbed)}, randn(1, d.SpeakerEmbed, 1)),
	}
	b.ResetTimer()
	for range b.N {
		s.MustRun(b, in, nil)
	}
}

func BenchmarkTinyFlowEstimatorBatch2(b *testing.B) {
	d := TinyDims()
	model, err := BuildFlowEstimator(RandomWeights(FlowSpecs(d), 1, nil), d)
	if err != nil {
		b.Fatal(err)
	}
	s := graphtest.Open(b, model)
	in := estimatorInputs(d, 860, []uint64{1, 2}, nil)
	b.ResetTimer()
	for range b.N {
		s.MustRun(b, in, nil)
	}
}

func BenchmarkTinyHiFT5s(b *testing.B) {
	d := TinyDims()
	model, err := BuildHiFT(RandomWeights(HiFTSpecs(d), 1, nil), d)
	if err != nil {
		b.Fatal(err)
	}
	s := graphtest.Open(b, model)
	in := hiftInputs(d, 431, 1)
	b.ResetTimer()
	for range b.N {
		s.MustRun(b, in, nil)
	}
}

// BenchmarkFullSizeFlowAndHiFT runs the full-size graphs (random weights) once per iteration at a
// typical segment's lengths, on one thread. Building them takes a while, so it runs only with
// VIETTTS_BENCH_FULL=1:
//
//	VIETTTS_BENCH_FULL=1 go test ./inference/compiler/ -run '^$' -bench FullSize -benchtime 1x
func BenchmarkFullSizeFlowAndHiFT(b *testing.B) {
	if os.Getenv("VIETTTS_BENCH_FULL") != "1" {
		b.Skip("set VIETTTS_BENCH_FULL=1 to build and run the full-size graphs")
	}
	d := FullDims()
	fw := RandomWeights(FlowSpecs(d), 1, nil)
	b.Run("flow_encoder_S250_T860", func(b *testing.B) {
		model, err := BuildFlowEncoder(fw, d)
		if err != nil {
			b.Fatal(err)
		}
		s := graphtest.Open(b, model)
		const S, T = 250, 860
		interp := make([]float32, S*T)
		for j := range T {
			interp[(j*S/T)*T+j] = 1
		}
		in := map[string]graphtest.Tensor{
			"token":   graphtest.I64([]int64{1, S}, make([]int64, S)),
			"interp":  graphtest.F32([]int64{S, T}, interp),
			"spk_emb": graphtest.F32([]int64{1, int64(d.SpeakerEmbed)}, randn(1, d.SpeakerEmbed, 1)),
		}
		b.ResetTimer()
		for range b.N {
			s.MustRun(b, in, nil)
		}
	})
	b.Run("flow_estimator_B2_T860", func(b *testing.B) {
		model, err := BuildFlowEstimator(fw, d)
		if err != nil {
			b.Fatal(err)
		}
		s := graphtest.Open(b, model)
		in := estimatorInputs(d, 860, []uint64{1, 2}, nil)
		b.ResetTimer()
		for range b.N {
			s.MustRun(b, in, nil)
		}
	})
	b.Run("hift_T431", func(b *testing.B) {
		model, err := BuildHiFT(RandomWeights(HiFTSpecs(d), 1, nil), d)
		if err != nil {
			b.Fatal(err)
		}
		s := graphtest.Open(b, model)
		in := hiftInputs(d, 431, 1)
		b.ResetTimer()
		for range b.N {
			s.MustRun(b, in, nil)
		}
	})
}
