// Package tinymodel builds random-weight model bundles for tests and benchmarks: the compiler's
// graphs with random weights of the chosen dimensions, the real tokenizer ranks, random voices,
// and the stand-in front-end graphs (so voice cloning runs end to end). The audio they make is
// noise with the right lengths; what they prove is that every layer of the app runs the real
// pipeline on the real ONNX Runtime.
package tinymodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/checkpoint/checkpointtest"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/download"
	"github.com/viettts-studio/studio/inference/viettts"
	"github.com/viettts-studio/studio/inference/viettts/standin"
)

// RanksHint tells how to get the tokenizer ranks the bundles need.
const RanksHint = "the tokenizer ranks are missing: run tools/fixtures/features/fetch_tokenizer.sh (make test does)"

// ErrNoRanks is returned when the tokenizer ranks cannot be found.
var ErrNoRanks = errors.New(RanksHint)

// FindRanks looks for .cache/tokenizer/multilingual.tiktoken from the working directory up (the
// source checkout), and returns "" when it is not there.
func FindRanks() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, ".cache", "tokenizer", "multilingual.tiktoken")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// Voice returns a random voice of the given length in speech tokens (25 per second), deterministic
// in seed.
func Voice(id string, seed uint64, tokens int) *viettts.Voice {
	r := rand.New(rand.NewPCG(seed, 7))
	frames := tokens * 22050 / 256 / 25
	v := &viettts.Voice{ID: id, Name: "Giọng " + id, Source: "random", Tokens: make([]int32, tokens),
		Mel: make([]float32, frames*80), XVector: make([]float32, 192)}
	for i := range v.Tokens {
		v.Tokens[i] = int32(r.IntN(4096))
	}
	for i := range v.Mel {
		v.Mel[i] = float32(r.NormFloat64()) - 6
	}
	for i := range v.XVector {
		v.XVector[i] = float32(r.NormFloat64())
	}
	return v
}

// Options choose what Build makes.
type Options struct {
	// Dims defaults to compiler.TinyDims.
	Dims *compiler.Dims
	// Ranks is the tokenizer ranks file; empty: FindRanks.
	Ranks string
	// Voices are the ids of random voices to include (default "lan", "minh"), each VoiceTokens
	// speech tokens long (default 50: 2 s).
	Voices      []string
	VoiceTokens int
	// Seed makes the weights (default 1).
	Seed uint64
	// FP16 also builds the fp16 LLM graphs.
	FP16     bool
	Progress func(step, total int, what string)
}

// Build writes a random-weight bundle into dir.
func Build(ctx context.Context, dir string, o Options) error {
	d := compiler.TinyDims()
	if o.Dims != nil {
		d = *o.Dims
	}
	if o.Ranks == "" {
		o.Ranks = FindRanks()
	}
	if o.Ranks == "" {
		return ErrNoRanks
	}
	if len(o.Voices) == 0 {
		o.Voices = []string{"lan", "minh"}
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.VoiceTokens <= 0 {
		o.VoiceTokens = 50
	}
	src, err := os.MkdirTemp("", "tinymodel-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	for i, id := range o.Voices {
		if err := viettts.WriteVoice(filepath.Join(src, "voices"), Voice(id, uint64(i+1), o.VoiceTokens)); err != nil {
			return err
		}
	}
	if err := standin.WriteFrontEnd(src, o.Seed); err != nil {
		return err
	}
	_, err = compiler.CompileRandom(ctx, d, o.Seed, dir, compiler.Source{Dir: src, Tokenizer: o.Ranks},
		compiler.Options{NoFP16: !o.FP16, Progress: o.Progress})
	if err != nil {
		return fmt.Errorf("building a random-weight bundle: %w", err)
	}
	return nil
}

var (
	sharedOnce sync.Once
	sharedDir  string
	sharedErr  error
)

// Shared returns a tiny bundle built once per process in a temporary folder, for tests. The
// folder is left for the OS to clean (tests of several packages each build their own).
func Shared(ctx context.Context) (string, error) {
	sharedOnce.Do(func() {
		root, err := os.MkdirTemp("", "tinymodel-")
		if err != nil {
			sharedErr = err
			return
		}
		sharedDir = filepath.Join(root, "bundle")
		sharedErr = Build(context.WithoutCancel(ctx), sharedDir, Options{})
	})
	if sharedErr != nil {
		return "", sharedErr
	}
	if _, err := bundle.Open(sharedDir); err != nil {
		return "", err
	}
	return sharedDir, nil
}

// WriteCheckpoint writes the published VietTTS file set at the tiny test dimensions into dir, as a
// user's download or install folder holds it: llm.pt, flow.pt and hift.pt in the PyTorch format
// (random weights, seed 1), a config.yaml laid out like VietTTS's, and a two-entry tokenizer.
func WriteCheckpoint(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	d := compiler.TinyDims()
	for name, specs := range map[string][]compiler.ParamSpec{
		compiler.FileLLM: compiler.LLMSpecs(d), compiler.FileFlow: compiler.FlowSpecs(d), compiler.FileHiFT: compiler.HiFTCheckpointSpecs(d),
	} {
		w := compiler.RandomWeights(specs, 1, nil).(checkpointtest.Tensors)
		if err := checkpointtest.Write(filepath.Join(dir, name), w); err != nil {
			return err
		}
	}
	cfg := fmt.Sprintf("sample_rate: %d\ntext_encoder_input_size: %d\nllm_input_size: %d\nllm_output_size: %d\nspk_embed_dim: %d\n"+
		"llm: !new:viettts.llm.llm.TransformerLM\n    text_token_size: %d\n    speech_token_size: %d\n",
		d.SampleRate, d.LLM.TextEmbed, d.LLM.Model, d.LLM.Model, d.SpeakerEmbed, d.LLM.TextVocab, d.SpeechTokens)
	if err := os.WriteFile(filepath.Join(dir, compiler.FileConfig), []byte(cfg), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, compiler.FileTokenizer), []byte("IQ== 0\nIg== 1\n"), 0o644)
}

// Outdate rewrites the manifest of the bundle in dir as the previous version of the app wrote it
// (format bundle.FormatVersion−1), so that it opens as bundle.ErrOutdated.
func Outdate(dir string) error {
	p := filepath.Join(dir, bundle.ManifestFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	m["format"] = bundle.FormatVersion - 1
	if data, err = json.Marshal(m); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// OfficialFiles is the published file list as a server of WriteCheckpoint's files serves it: the
// table's sizes and hashes are those of the real files, so they give way to what the server
// publishes, and the publisher's two ONNX front-end models, which the tiny checkpoint lacks, are
// left out.
func OfficialFiles(files []download.File) []download.File {
	var out []download.File
	for _, f := range files {
		if f.Name == compiler.FileSpeechTokenizer || f.Name == compiler.FileSpeechEmbedding {
			continue
		}
		f.SHA256, f.Size = "", 0
		out = append(out, f)
	}
	return out
}
