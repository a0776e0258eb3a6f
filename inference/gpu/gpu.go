// Package gpu holds what the GPU checks of issue 9 need beyond the app itself: finding a usable
// NVIDIA GPU for ONNX Runtime's CUDA provider (or saying exactly why there is none), sampling the
// device's memory through NVML while work runs, running one graph of a model bundle on CUDA and on
// the CPU with the same inputs and comparing the outputs, and following the LLM step by step on
// both to find where their tokens part.
//
// Everything here builds and runs without a GPU (the CPU half of each check is tested on any
// machine); the checks that need a GPU are the `gpu`-tagged tests, run by tools/gpu-check.sh.
package gpu

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/viettts-studio/studio/inference/nvml"
	"github.com/viettts-studio/studio/inference/ort"
)

// ErrNoGPU is returned (wrapped, with the reason) when no GPU can run the CUDA provider here.
var ErrNoGPU = errors.New("no NVIDIA GPU usable by ONNX Runtime's CUDA provider")

// Machine is the GPU the checks run on.
type Machine struct {
	GPU nvml.Device
	// Driver is the NVIDIA driver version and CUDA the highest CUDA version it supports.
	Driver, CUDA string
	// Library is the ONNX Runtime core that was loaded; the CUDA provider sits beside it.
	Library string
}

// String names the machine for reports: "NVIDIA H100 80GB HBM3 (79.6 GiB, driver 580.1, CUDA 13.0)".
func (m Machine) String() string {
	return fmt.Sprintf("%s (%.1f GiB, driver %s, CUDA %s)", m.GPU.Name, float64(m.GPU.TotalBytes)/(1<<30), m.Driver, m.CUDA)
}

// Find initializes ONNX Runtime (ort.Init with libPath; empty searches) and returns GPU deviceID
// when the CUDA provider really runs a session on it. Otherwise the error wraps ErrNoGPU and says
// what is missing and what to do: no driver, no such device, no ONNX Runtime, or the CUDA provider
// and the CUDA 13 / cuDNN 9 libraries it cannot load.
func Find(deviceID int, libPath string) (Machine, error) {
	info, err := nvml.Read()
	if err != nil {
		return Machine{}, fmt.Errorf("%w: %v", ErrNoGPU, err)
	}
	if deviceID < 0 || deviceID >= len(info.Devices) {
		return Machine{}, fmt.Errorf("%w: NVML lists %d GPU(s), so device %d does not exist", ErrNoGPU, len(info.Devices), deviceID)
	}
	m := Machine{GPU: info.Devices[deviceID], Driver: info.DriverVersion, CUDA: info.CUDAVersion}
	if err := ort.Init(libPath); err != nil {
		return m, fmt.Errorf("%w: %v", ErrNoGPU, err)
	}
	m.Library = ort.LibraryPath()
	for _, st := range ort.Probe(deviceID) {
		if st.Provider != ort.CUDA {
			continue
		}
		if st.Available {
			return m, nil
		}
		var missing []string
		for _, l := range st.Missing {
			if l.Loaded {
				continue
			}
			s := l.Name
			if l.FoundAt != "" {
				s += " (found at " + l.FoundAt + ", not on the library path)"
			}
			missing = append(missing, s)
		}
		why := st.Reason
		if len(missing) > 0 {
			why += "; not loadable: " + strings.Join(missing, ", ")
		}
		if st.Fix != "" {
			why += "; " + st.Fix
		}
		if old := oldDriver(m.CUDA); old != "" {
			why += "; " + old
		}
		return m, fmt.Errorf("%w on %s: %s", ErrNoGPU, m.GPU.Name, why)
	}
	return m, fmt.Errorf("%w: ONNX Runtime reported no CUDA provider status", ErrNoGPU)
}

// oldDriver says what to do when the driver supports a CUDA older than the providers' 13, or "".
func oldDriver(cuda string) string {
	major, _, _ := strings.Cut(cuda, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n >= 13 {
		return ""
	}
	return fmt.Sprintf("the NVIDIA driver supports CUDA %s, and the CUDA providers of ONNX Runtime %s need CUDA 13: update the driver (580 or later)", cuda, ort.WantVersion)
}
