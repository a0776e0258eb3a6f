// Package standin writes tiny stand-ins for the two front-end models VietTTS ships as ONNX files
// (speech_tokenizer.onnx, the S3 tokenizer, and speech_embedding.onnx, CAM++), with their I/O
// contract (MODEL.md §4.2-§4.3) and a few random matrices inside. Random-weight bundles for tests
// and benchmarks include them so that voice cloning runs end to end without the 550 MB originals.
// They are not models: the tokens and x-vectors they give carry no meaning.
package standin

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/viettts-studio/studio/inference/graph"
)

const (
	speechTokens = 4096
	xvectorDim   = 192
	whisperMels  = 128
	fbankBins    = 80
)

// RandomInitializer adds an initializer of the given shape filled with N(0, scale²) values from
// rng: the random matrices inside stand-in graphs.
func RandomInitializer(b *graph.Builder, name string, rng *rand.Rand, scale float64, shape ...int) graph.Value {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(rng.NormFloat64() * scale)
	}
	return b.Initializer(name, shape, data)
}

func write(b *graph.Builder, path string) error {
	data, err := b.Build()
	if err != nil {
		return fmt.Errorf("stand-in %s: %w", filepath.Base(path), err)
	}
	return os.WriteFile(path, data, 0o644)
}

// SpeechEmbedding writes a graph feats (1, T, 80) float32 → embedding (1, 192) float32.
func SpeechEmbedding(path string, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := graph.New("speech_embedding")
	feats := b.Input("feats", graph.Float, graph.N(1), graph.Sym("T"), graph.N(fbankBins))
	b.Output(b.MatMul(b.ReduceMean(feats, false, 1), RandomInitializer(b, "w", rng, 0.3, fbankBins, xvectorDim)), "embedding")
	return write(b, path)
}

// SpeechTokenizer writes a graph feats (1, 128, T) float32, feats_length (1,) int32 → tokens
// (1, ceil(T/4)) int64: one token in [0, 4096) per four mel frames, like the 25 Hz tokenizer.
func SpeechTokenizer(path string, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 2))
	b := graph.New("speech_tokenizer")
	feats := b.Input("feats", graph.Float, graph.N(1), graph.N(whisperMels), graph.Sym("T"))
	b.Input("feats_length", graph.Int32, graph.N(1))
	every4 := b.Slice(feats, b.Ints(0), b.Ints(math.MaxInt64), b.Ints(2), b.Ints(4))
	proj := b.MatMul(b.Transpose(every4, 0, 2, 1), RandomInitializer(b, "codebook", rng, 1, whisperMels, speechTokens))
	out := b.Node("ArgMax", []graph.Value{proj}, []graph.Attr{graph.AttrInt("axis", 2), graph.AttrInt("keepdims", 0)}, 1, graph.Int64)
	b.Output(out[0], "tokens")
	return write(b, path)
}

// WriteFrontEnd writes both stand-ins into dir under the names the compiler copies into a bundle
// (speech_tokenizer.onnx, speech_embedding.onnx).
func WriteFrontEnd(dir string, seed uint64) error {
	if err := SpeechTokenizer(filepath.Join(dir, "speech_tokenizer.onnx"), seed); err != nil {
		return err
	}
	return SpeechEmbedding(filepath.Join(dir, "speech_embedding.onnx"), seed)
}
