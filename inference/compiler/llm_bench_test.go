package compiler

import (
	"flag"
	"fmt"
	"io"
	"testing"

	"github.com/viettts-studio/studio/inference/graph/graphtest"
)

// fullBench makes the LLM benchmarks use the full VietTTS dimensions (1.26 GB of random weights,
// several GB of memory, minutes on a small machine) instead of the tiny ones:
//
//	go test ./inference/compiler -run '^$' -bench LLM -llm.full -benchtime 20x
var fullBench = flag.Bool("llm.full", false, "run the LLM benchmarks at full VietTTS size")

func benchDims() (Dims, string) {
	if *fullBench {
		return FullDims(), "full"
	}
	return TinyDims(), "tiny"
}

// One decode step (token + a cache of K positions → logp + new_kv) in ONNX Runtime on one CPU
// thread, at cache lengths typical of a segment; the step should stay nearly flat in K (issue 6:
// K = 600 at most 1.3 times K = 50):
//
//	go test ./inference/compiler -run '^$' -bench 'LLMDecodeStep/full/K=(50|600)$' -llm.full -benchtime 10x
func BenchmarkLLMDecodeStep(b *testing.B) {
	d, size := benchDims()
	w := RandomWeights(LLMSpecs(d), 1, nil)
	model, err := BuildLLMDecode(w, d, false)
	if err != nil {
		b.Fatal(err)
	}
	s := graphtest.Open(b, model)
	l := d.LLM
	for _, k := range []int{50, 150, 300, 600} {
		b.Run(fmt.Sprintf("%s/K=%d", size, k), func(b *testing.B) {
			past := make([]float32, l.Blocks*l.Heads*k*2*l.HeadDim())
			for i := range past {
				past[i] = float32(i%13) / 13
			}
			// Room rounded up to 64 positions, as the engine's cache has it.
			in := decodeInputs(d, past, k, (k+63)/64*64)
			in["token"] = graphtest.I64([]int64{1, 1}, []int64{7})
			for b.Loop() {
				if _, err := s.Run(in, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The prefill of a typical 30-token segment.
func BenchmarkLLMPrefill(b *testing.B) {
	d, size := benchDims()
	model, err := BuildLLMPrefill(RandomWeights(LLMSpecs(d), 1, nil), d)
	if err != nil {
		b.Fatal(err)
	}
	s := graphtest.Open(b, model)
	text := make([]int64, 30)
	for i := range text {
		text[i] = int64(i * 997 % d.LLM.TextVocab)
	}
	in := map[string]graphtest.Tensor{
		"text":    graphtest.I64([]int64{1, 30}, text),
		"spk_emb": graphtest.F32([]int64{1, int64(d.SpeakerEmbed)}, spkVector(d.SpeakerEmbed)),
	}
	b.Run(size+"/L=30", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Run(in, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Compiling (writing) the decode graph from random weights; reports bytes written per op.
func BenchmarkWriteLLMDecode(b *testing.B) {
	d, size := benchDims()
	w := RandomWeights(LLMSpecs(d), 1, nil)
	b.Run(size, func(b *testing.B) {
		var n int64
		for b.Loop() {
			var err error
			n, err = WriteLLMDecode(io.Discard, w, d, false)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(n)
	})
}
