package compiler

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/viettts-studio/studio/inference/checkpoint"
)

// TestFlowParityCompile is the Go half of tools/parity/parity_flow.py: with
// VIETTTS_PARITY_DIR pointing at a folder holding flow.pt and hift.pt (full-size random weights
// saved by the reference PyTorch modules), it checks them against the specs, folds HiFT's weight
// norm, and writes flow_encoder.onnx, flow_estimator.onnx and hift.onnx there for the script to
// compare. Without the variable there is nothing to compile.
func TestFlowParityCompile(t *testing.T) {
	dir := os.Getenv("VIETTTS_PARITY_DIR")
	if dir == "" {
		t.Skip("set VIETTTS_PARITY_DIR (tools/parity/parity_flow.py does) to compile a reference checkpoint")
	}
	d := FullDims()
	flow, err := checkpoint.Open(filepath.Join(dir, "flow.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer flow.Close()
	if err := CheckSpecs(flow, FlowSpecs(d)); err != nil {
		t.Fatal(err)
	}
	hift, err := checkpoint.Open(filepath.Join(dir, "hift.pt"))
	if err != nil {
		t.Fatal(err)
	}
	defer hift.Close()
	if err := CheckSpecs(hift, HiFTCheckpointSpecs(d)); err != nil {
		t.Fatal(err)
	}
	folded := checkpoint.FoldWeightNorm(hift)
	if err := CheckSpecs(folded, HiFTSpecs(d)); err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		file  string
		build func() ([]byte, error)
	}{
		{"flow_encoder.onnx", func() ([]byte, error) { return BuildFlowEncoder(flow, d) }},
		{"flow_estimator.onnx", func() ([]byte, error) { return BuildFlowEstimator(flow, d) }},
		{"hift.onnx", func() ([]byte, error) { return BuildHiFT(folded, d) }},
	} {
		model, err := g.build()
		if err != nil {
			t.Fatalf("%s: %v", g.file, err)
		}
		if err := os.WriteFile(filepath.Join(dir, g.file), model, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d MB)", g.file, len(model)>>20)
	}
}
