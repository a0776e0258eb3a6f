// Command tinycheckpoint writes the published VietTTS file set at the tiny test dimensions: llm.pt,
// flow.pt and hift.pt in the PyTorch format (random weights), config.yaml and a two-entry
// tokenizer. The end-to-end tests install the model from it, as a user installs from a folder,
// and rebuild from it after making the bundle outdated.
//
//	go run ./tools/e2e/tinycheckpoint -out DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/viettts-studio/studio/inference/checkpoint/checkpointtest"
	"github.com/viettts-studio/studio/inference/compiler"
)

func main() {
	out := flag.String("out", "", "folder to write the checkpoint files to")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "tinycheckpoint: -out DIR is required")
		os.Exit(2)
	}
	if err := write(*out); err != nil {
		fmt.Fprintf(os.Stderr, "tinycheckpoint: %v\n", err)
		os.Exit(1)
	}
}

func write(dir string) error {
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
