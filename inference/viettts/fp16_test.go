package viettts

import (
	"path/filepath"
	"testing"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/ort"
)

func TestTinyFP16LLMRunsWithAHalfPrecisionCache(t *testing.T) {
	tinyBundle(t) // ranks and ONNX Runtime present
	src := filepath.Join(tinyTmp, "src")
	dir := filepath.Join(t.TempDir(), "fp16")
	if _, err := compiler.CompileRandom(t.Context(), compiler.TinyDims(), 1, dir, compiler.Source{Dir: src}, compiler.Options{}); err != nil {
		t.Fatal(err)
	}
	e, err := New(t.Context(), dir, Options{Session: ort.SessionConfig{Threads: 1}, FP16: true, MaxSpeechTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.kvElem != 2 {
		t.Fatalf("cache element size %d, want 2 (float16)", e.kvElem)
	}
	req := inference.Request{Text: "Nửa độ chính xác.", Voice: "lan", Seed: 3}
	a, err := e.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Tokens == 0 || len(a.Samples) != melFrames(a.Tokens)*melHop || len(a.Samples) != len(b.Samples) {
		t.Errorf("fp16: %d tokens, %d samples", a.Tokens, len(a.Samples))
	}
	for i := range a.Samples {
		if a.Samples[i] != b.Samples[i] {
			t.Fatal("fp16: same seed, different audio")
		}
	}
}
