package gpu_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/tinymodel"
)

func initORT(t testing.TB) {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Skipf("ONNX Runtime not available (%v): run tools/setup.sh ort", err)
	}
}

var (
	tinyOnce sync.Once
	tinyRoot string
	tinyDir  string
	tinyErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tinyRoot != "" {
		os.RemoveAll(tinyRoot)
	}
	os.Exit(code)
}

// tinyBundle is a tiny random-weight bundle with the fp16 LLM graphs, built once per test binary.
func tinyBundle(t testing.TB) *bundle.Bundle {
	t.Helper()
	tinyOnce.Do(func() {
		root, err := os.MkdirTemp("", "gpu-tiny-")
		if err != nil {
			tinyErr = err
			return
		}
		tinyRoot, tinyDir = root, filepath.Join(root, "bundle")
		tinyErr = tinymodel.Build(context.Background(), tinyDir, tinymodel.Options{FP16: true, Seed: 9})
	})
	if tinyErr == tinymodel.ErrNoRanks {
		t.Skip(tinymodel.RanksHint)
	}
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	b, err := bundle.Open(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cpuOptions are CPU session options with threads intra-op threads, destroyed after the test.
func cpuOptions(t testing.TB, threads int) *onnx.SessionOptions {
	t.Helper()
	so, err := ort.NewSessionOptions(ort.SessionConfig{Provider: ort.CPU, Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { so.Destroy() })
	return so
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
