package ort

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/viettts-studio/studio/inference"
)

func initForTest(t *testing.T) {
	t.Helper()
	if err := Init(""); err != nil {
		t.Skipf("ONNX Runtime not available (%v): run tools/setup.sh ort", err)
	}
}

func writeProbe(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "relu.onnx")
	if err := os.WriteFile(p, probeModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSessionRunsAGraphWithItsOwnNames(t *testing.T) {
	initForTest(t)
	s, err := OpenSession(writeProbe(t), SessionConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.InputIndex("x") != 0 || s.OutputIndex("y") != 0 || s.InputIndex("nope") != -1 {
		t.Fatalf("inputs %v outputs %v", s.Inputs, s.Outputs)
	}
	in, _ := onnx.NewTensor(onnx.NewShape(1), []float32{-2})
	out, _ := onnx.NewEmptyTensor[float32](onnx.NewShape(1))
	defer in.Destroy()
	defer out.Destroy()
	if err := s.Run(t.Context(), []onnx.Value{in}, []onnx.Value{out}); err != nil {
		t.Fatal(err)
	}
	if out.GetData()[0] != 0 {
		t.Errorf("relu(-2) = %v", out.GetData()[0])
	}
	in.GetData()[0] = 3
	if err := s.Run(t.Context(), []onnx.Value{in}, []onnx.Value{out}); err != nil {
		t.Fatal(err)
	}
	if out.GetData()[0] != 3 {
		t.Errorf("relu(3) = %v", out.GetData()[0])
	}
}

func TestRunOnACanceledContextReturnsTheContextError(t *testing.T) {
	initForTest(t)
	s, err := OpenSession(writeProbe(t), SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	in, _ := onnx.NewTensor(onnx.NewShape(1), []float32{1})
	defer in.Destroy()
	err = s.Run(ctx, []onnx.Value{in}, []onnx.Value{nil})
	if !errors.Is(err, context.Canceled) || inference.Classify(err) != inference.ClassCanceled {
		t.Fatalf("err = %v (class %v), want canceled", err, inference.Classify(err))
	}
}

func TestMissingOrCorruptGraphsSayWhatToDo(t *testing.T) {
	initForTest(t)
	dir := t.TempDir()
	_, err := OpenSession(filepath.Join(dir, "flow_estimator.onnx"), SessionConfig{})
	if err == nil || !strings.Contains(err.Error(), "flow_estimator.onnx is missing") || !strings.Contains(err.Error(), "reinstall") {
		t.Errorf("missing graph: %v", err)
	}
	bad := filepath.Join(dir, "hift.onnx")
	os.WriteFile(bad, []byte("this is not a model"), 0o644)
	_, err = OpenSession(bad, SessionConfig{})
	if err == nil || !strings.Contains(err.Error(), "hift.onnx") || !strings.Contains(err.Error(), "model verify") {
		t.Errorf("corrupt graph: %v", err)
	}
}

func TestUnavailableProviderIsAClearError(t *testing.T) {
	initForTest(t)
	for _, p := range Probe(0) {
		if p.Provider == CPU || p.Available {
			continue
		}
		_, err := OpenSession(writeProbe(t), SessionConfig{Provider: p.Provider})
		if !errors.Is(err, ErrProviderUnavailable) {
			t.Errorf("%s (unavailable: %s): err = %v, want ErrProviderUnavailable", p.Provider, p.Reason, err)
		}
	}
	if _, err := NewSessionOptions(SessionConfig{Provider: "tpu"}); err == nil {
		t.Error("unknown provider accepted")
	}
}

func TestRunErrorsAreClassifiedFromTheirText(t *testing.T) {
	cases := map[string]inference.Class{
		"CUDA failure 2: out of memory":                                  inference.ClassOutOfMemory,
		"BFCArena::AllocateRawInternal Available memory of 0 is smaller": inference.ClassOutOfMemory,
		"CUDA failure 700: an illegal memory access was encountered":     inference.ClassInstanceDead,
		"Got invalid dimensions for input: x":                            inference.ClassInstanceDead,
		"some passing hiccup":                                            inference.ClassTransient,
	}
	for msg, want := range cases {
		if got := inference.Classify(ClassifyRunError("g.onnx", errors.New(msg))); got != want {
			t.Errorf("%q: class %v, want %v", msg, got, want)
		}
	}
}
