//go:build gpu

package scheduler_test

// Issue 9, point 4: the scheduler on two CUDA instances of the real pipeline, 500 segments with
// random cancels. tools/gpu-check.sh runs it and reads the STRESS line. Without a usable NVIDIA GPU
// it skips and says why; VIETTTS_GPU_DRYRUN=cpu runs it on the CPU to check the check.

import (
	"os"
	"strconv"
	"testing"

	"github.com/viettts-studio/studio/inference/gpu"
	"github.com/viettts-studio/studio/inference/ort"
)

// gpuSession is the session config of the instances: CUDA on VIETTTS_GPU_DEVICE (default 0), or
// the CPU in a dry run; it skips the test, saying why, when there is no usable GPU.
func gpuSession(t *testing.T) ort.SessionConfig {
	t.Helper()
	if os.Getenv("VIETTTS_GPU_DRYRUN") == "cpu" {
		t.Log("DRY RUN: the instances run on the CPU (VIETTTS_GPU_DRYRUN=cpu); these are not GPU results")
		if err := ort.Init(""); err != nil {
			t.Skipf("ONNX Runtime not available (%v): run tools/setup.sh ort", err)
		}
		return ort.SessionConfig{Provider: ort.CPU, Threads: 1}
	}
	dev, _ := strconv.Atoi(os.Getenv("VIETTTS_GPU_DEVICE"))
	m, err := gpu.Find(dev, "")
	if err != nil {
		t.Skipf("skipped: this check needs an NVIDIA GPU with the CUDA provider: %v", err)
	}
	t.Logf("GPU %s", m)
	return ort.SessionConfig{Provider: ort.CUDA, DeviceID: dev}
}

// TestGPUStressFiveHundredSegmentsWithRandomCancels runs 500 segments (VIETTTS_GPU_STRESS_SEGMENTS)
// through the scheduler on two CUDA instances of the tiny bundle with random cancels (see
// runEngineStress), so cancels reach segments in the queue and segments running on the GPU
// (through RunOptions.Terminate).
func TestGPUStressFiveHundredSegmentsWithRandomCancels(t *testing.T) {
	cfg := gpuSession(t)
	total := 500
	if n, err := strconv.Atoi(os.Getenv("VIETTTS_GPU_STRESS_SEGMENTS")); err == nil && n > 0 {
		total = n
	}
	runEngineStress(t, cfg, total, 8, false)
}
