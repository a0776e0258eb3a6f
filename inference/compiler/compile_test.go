package compiler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/inference/bundle"
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
