package compiler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/checkpoint/checkpointtest"
)

func TestCompileRandomWritesAVerifiedTinyBundle(t *testing.T) {
	out := filepath.Join(t.TempDir(), "models", "tiny")
	var steps []int
	var total int
	m, err := CompileRandom(t.Context(), TinyDims(), 1, out, Source{}, Options{
		Progress: func(step, n int, what string) { steps = append(steps, step); total = n },
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := bundle.Verify(out); err != nil {
		t.Fatal(err)
	}
	if b.Manifest.ModelID != "random-tiny" || !b.Manifest.Random || b.Manifest.Seed != 1 || b.Manifest.Compiler != Version {
		t.Fatalf("manifest %+v", b.Manifest)
	}
	d, err := DimsOf(b.Manifest)
	if err != nil || !dimsEqual(d, TinyDims()) {
		t.Fatalf("dims %+v, %v", d, err)
	}
	for _, j := range graphJobs(Options{}) {
		g, ok := b.Graph(j.name)
		if !ok {
			t.Fatalf("bundle lacks graph %s (has %v)", j.name, b.Manifest.GraphNames())
		}
		if g.Precision != j.precision || g.Size == 0 || len(g.SHA256) != 64 {
			t.Fatalf("graph %s recorded as %+v", j.name, g)
		}
		data, err := os.ReadFile(b.Path(g.Path))
		if err != nil {
			t.Fatal(err)
		}
		// An ONNX ModelProto starts with field 1 (ir_version, varint).
		if len(data) < 2 || data[0] != 0x08 {
			t.Fatalf("%s does not start like an ONNX model: % x", g.Path, data[:min(8, len(data))])
		}
	}
	if len(m.Graphs) != len(graphJobs(Options{})) {
		t.Fatalf("returned manifest lists %d graphs", len(m.Graphs))
	}
	if total == 0 || steps[len(steps)-1] != total || !slices.IsSorted(steps) {
		t.Fatalf("progress steps %v of %d", steps, total)
	}
}

func TestCompileRandomIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	a, err := CompileRandom(t.Context(), TinyDims(), 3, filepath.Join(dir, "a"), Source{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := CompileRandom(t.Context(), TinyDims(), 3, filepath.Join(dir, "b"), Source{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Graphs {
		if a.Graphs[i].SHA256 != b.Graphs[i].SHA256 {
			t.Fatalf("graph %s differs between two builds with the same seed", a.Graphs[i].Name)
		}
	}
}

func TestAnInterruptedCompileLeavesNoBundleAndKeepsTheOldOne(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tiny")
	// First, nothing installed: cancel after the first graph.
	ctx, cancel := context.WithCancel(t.Context())
	_, err := CompileRandom(ctx, TinyDims(), 1, out, Source{}, Options{
		Progress: func(step, total int, what string) {
			if step == 2 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if _, err := bundle.Open(out); !errors.Is(err, bundle.ErrNotInstalled) {
		t.Fatalf("a canceled compile left something that opens: %v", err)
	}
	if _, err := os.Stat(out + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staging folder left behind: %v", err)
	}
	// Then with a good bundle in place: a failed rebuild must not touch it.
	good, err := CompileRandom(t.Context(), TinyDims(), 1, out, Source{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	_, err = CompileRandom(ctx, TinyDims(), 2, out, Source{}, Options{
		Progress: func(step, total int, what string) {
			if strings.HasPrefix(what, "writing the manifest") {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if err := bundle.Verify(out); err != nil {
		t.Fatalf("old bundle damaged: %v", err)
	}
	m, _ := bundle.ReadManifest(out)
	if m.Seed != good.Seed {
		t.Fatalf("bundle now has seed %d, want the old %d", m.Seed, good.Seed)
	}
}

func TestCompileRandomCopiesTokenizerAndVoices(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, FileTokenizer), []byte("IQ== 0\n"), 0o644)
	os.MkdirAll(filepath.Join(src, "samples"), 0o755)
	os.WriteFile(filepath.Join(src, "samples", "nguyen.wav"), []byte("RIFF"), 0o644)
	os.WriteFile(filepath.Join(src, "samples", "notes.txt"), []byte("ignored"), 0o644)
	out := filepath.Join(t.TempDir(), "tiny")
	m, err := CompileRandom(t.Context(), TinyDims(), 1, out, Source{Dir: src}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Tokenizer != "tokenizer.tiktoken" || len(m.Voices) != 1 || m.Voices[0].ID != "nguyen" {
		t.Fatalf("manifest tokenizer %q voices %+v", m.Tokenizer, m.Voices)
	}
	if err := bundle.Verify(out); err != nil {
		t.Fatal(err)
	}
}

func TestCompileRefusesAConfigOfAnotherModel(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, FileConfig), []byte("sample_rate: 24000\ntext_token_size: 51866\nspeech_token_size: 4096\nspk_embed_dim: 192\n"), 0o644)
	_, err := Compile(t.Context(), Source{Dir: src}, filepath.Join(t.TempDir(), "m"), Options{})
	if !errors.Is(err, ErrConfigMismatch) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"config.yaml", "sample_rate is 24000, expected 22050", "text_token_size is 51866, expected 60515"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
}

// writeCheckpoint writes llm.pt, flow.pt, hift.pt (random weights for d, in the PyTorch format)
// and a config.yaml for d into a new folder, as the publisher ships them.
func writeCheckpoint(t *testing.T, d Dims, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	for part, specs := range partSpecs(d) {
		w := RandomWeights(specs, seed, nil).(checkpointtest.Tensors)
		if err := checkpointtest.Write(filepath.Join(dir, part), w); err != nil {
			t.Fatal(err)
		}
	}
	// Laid out like VietTTS's config.yaml: the vocabularies sit under llm:.
	cfg := fmt.Sprintf("__set_seed1: !apply:random.seed [1986]\nsample_rate: %d\ntext_encoder_input_size: %d\n"+
		"llm_input_size: %d\nllm_output_size: %d\nspk_embed_dim: %d\n\nllm: !new:viettts.llm.llm.TransformerLM\n"+
		"    text_encoder_input_size: !ref <text_encoder_input_size>\n    text_token_size: %d\n    speech_token_size: %d\n",
		d.SampleRate, d.LLM.TextEmbed, d.LLM.Model, d.LLM.Model, d.SpeakerEmbed, d.LLM.TextVocab, d.SpeechTokens)
	os.WriteFile(filepath.Join(dir, FileConfig), []byte(cfg), 0o644)
	return dir
}

func TestCompileFromPyTorchFilesEqualsCompilingTheSameWeights(t *testing.T) {
	d := TinyDims()
	src := writeCheckpoint(t, d, 5)
	out := filepath.Join(t.TempDir(), "installed")
	m, err := Compile(t.Context(), Source{Dir: src}, out, Options{Dims: &d})
	if err != nil {
		t.Fatal(err)
	}
	if err := bundle.Verify(out); err != nil {
		t.Fatal(err)
	}
	if m.ModelID != ModelID || m.License != LicenseID || m.LicenseFile == "" || m.Random {
		t.Fatalf("manifest %+v", m)
	}
	var names []string
	for _, s := range m.Sources {
		names = append(names, s.Path)
		if len(s.SHA256) != 64 || s.Size == 0 {
			t.Fatalf("source %+v", s)
		}
	}
	if strings.Join(names, ",") != "llm.pt,flow.pt,hift.pt,config.yaml" {
		t.Fatalf("sources %v", names)
	}
	// The reader and the weight-norm folding are faithful: the graphs are byte for byte the ones
	// built from the same weights without going through files.
	ref, err := CompileRandom(t.Context(), d, 5, filepath.Join(t.TempDir(), "ref"), Source{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range m.Graphs {
		if g.Name != ref.Graphs[i].Name || g.SHA256 != ref.Graphs[i].SHA256 {
			t.Fatalf("graph %s from the .pt files differs from the one built from the weights directly", g.Name)
		}
	}
}

// rewrite writes part again in src with keys changed by edit (name → shape; nil drops a key).
func rewrite(t *testing.T, src, part string, d Dims, edit func(specs []ParamSpec) []ParamSpec) {
	t.Helper()
	specs := edit(slices.Clone(partSpecs(d)[part]))
	w := RandomWeights(specs, 1, nil).(checkpointtest.Tensors)
	if err := checkpointtest.Write(filepath.Join(src, part), w); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(to, b, 0o644)
}

func TestCompileNamesTheFileAndTheProblem(t *testing.T) {
	d := TinyDims()
	fixtures := filepath.Join("..", "checkpoint", "testdata")
	cases := []struct {
		name   string
		break_ func(t *testing.T, src string)
		want   []string
	}{
		{"missing keys", func(t *testing.T, src string) {
			rewrite(t, src, FileLLM, d, func(s []ParamSpec) []ParamSpec { return s[1:] })
		}, []string{"llm.pt", "1 missing tensors (text_embedding.weight)"}},
		{"extra keys", func(t *testing.T, src string) {
			rewrite(t, src, FileFlow, d, func(s []ParamSpec) []ParamSpec {
				return append(s, ParamSpec{"decoder.extra.weight", []int{2}})
			})
		}, []string{"flow.pt", "1 unexpected tensors (decoder.extra.weight)"}},
		{"wrong shape", func(t *testing.T, src string) {
			rewrite(t, src, FileLLM, d, func(s []ParamSpec) []ParamSpec {
				s[0] = ParamSpec{s[0].Name, []int{51866, d.LLM.TextEmbed}}
				return s
			})
		}, []string{"llm.pt", "text_embedding.weight is 51866x16, expected 60515x16"}},
		{"another model", func(t *testing.T, src string) {
			copyFile(t, filepath.Join(fixtures, "resnet.pt"), filepath.Join(src, FileFlow))
		}, []string{"flow.pt", "missing tensors", "unexpected tensors (bn1.bias"}},
		{"malicious pickle", func(t *testing.T, src string) {
			copyFile(t, filepath.Join(fixtures, "malicious.pt"), filepath.Join(src, FileHiFT))
		}, []string{"hift.pt: refuses pickle global posix.system"}},
		{"truncated zip", func(t *testing.T, src string) {
			p := filepath.Join(src, FileLLM)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
		}, []string{"llm.pt: is truncated"}},
		{"missing file", func(t *testing.T, src string) {
			os.Remove(filepath.Join(src, FileHiFT))
		}, []string{"hift.pt: cannot open"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := writeCheckpoint(t, d, 1)
			c.break_(t, src)
			out := filepath.Join(t.TempDir(), "m")
			_, err := Compile(t.Context(), Source{Dir: src}, out, Options{Dims: &d})
			if err == nil {
				t.Fatal("compiled a broken checkpoint")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a failed compile left %s", out)
			}
		})
	}
}

// BenchmarkCompileRandomTiny measures building and writing every graph of a tiny bundle.
func BenchmarkCompileRandomTiny(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, err := CompileRandom(b.Context(), TinyDims(), 1, filepath.Join(dir, "tiny"), Source{}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestInstallingTheSameFilesAgainKeepsTheBundle(t *testing.T) {
	d := TinyDims()
	src := writeCheckpoint(t, d, 2)
	os.WriteFile(filepath.Join(src, FileTokenizer), []byte("IQ== 0\n"), 0o644)
	out := filepath.Join(t.TempDir(), "m")
	first, err := Compile(t.Context(), Source{Dir: src}, out, Options{Dims: &d})
	if err != nil {
		t.Fatal(err)
	}
	var built []string
	again, err := Compile(t.Context(), Source{Dir: src}, out, Options{Dims: &d, Progress: func(_, _ int, what string) {
		built = append(built, what)
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range built {
		if strings.HasPrefix(w, "building") {
			t.Fatalf("rebuilt although nothing changed: %v", built)
		}
	}
	if !again.Created.Equal(first.Created) || len(again.Graphs) != len(first.Graphs) {
		t.Fatalf("bundle replaced: %v vs %v", again.Created, first.Created)
	}
	// A changed tokenizer, or Force, rebuilds.
	os.WriteFile(filepath.Join(src, FileTokenizer), []byte("IQ== 0\nIg== 1\n"), 0o644)
	built = nil
	if _, err := Compile(t.Context(), Source{Dir: src}, out, Options{Dims: &d, Progress: func(_, _ int, what string) {
		built = append(built, what)
	}}); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(built, func(w string) bool { return strings.HasPrefix(w, "building") }) {
		t.Fatalf("not rebuilt after the tokenizer changed: %v", built)
	}
	if err := bundle.Verify(out); err != nil {
		t.Fatal(err)
	}
}
