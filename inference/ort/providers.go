package ort

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	onnx "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/encoding/protowire"
)

// Provider names an ONNX Runtime execution provider the app can run on.
type Provider string

// The providers, in the order the app prefers them.
const (
	CUDA     Provider = "cuda"
	DirectML Provider = "directml"
	CPU      Provider = "cpu"
)

// Preference is the order Select tries providers in.
var Preference = []Provider{CUDA, DirectML, CPU}

// ProviderStatus says whether a provider can run here and, if not, why and what to do.
type ProviderStatus struct {
	Provider  Provider
	Available bool
	// Reason explains an unavailable provider in one sentence.
	Reason string
	// Fix says what to do to make it available ("" when nothing can be done on this platform).
	Fix string
	// Missing lists libraries the provider needs that could not be loaded.
	Missing []LibraryCheck
}

// Probe tries every provider on device deviceID by creating a one-node session on it with CPU
// fallback disabled, so a provider counts as available only if it really runs. Init must have
// succeeded.
func Probe(deviceID int) []ProviderStatus {
	return []ProviderStatus{probeCUDA(deviceID), probeDirectML(deviceID), {Provider: CPU, Available: true}}
}

// Select returns the first available provider of pref (Preference when empty) among statuses.
func Select(statuses []ProviderStatus, pref ...Provider) Provider {
	if len(pref) == 0 {
		pref = Preference
	}
	for _, p := range pref {
		for _, s := range statuses {
			if s.Provider == p && s.Available {
				return p
			}
		}
	}
	return CPU
}

func probeCUDA(deviceID int) ProviderStatus {
	st := ProviderStatus{Provider: CUDA}
	dir := filepath.Dir(LibraryPath())
	provider := cudaProviderLibrary()
	if _, err := os.Stat(filepath.Join(dir, provider)); err != nil {
		st.Reason = fmt.Sprintf("the CUDA provider library %s is not beside %s", provider, LibraryPath())
		st.Fix = "on a machine with an NVIDIA GPU, `make setup` fetches the CUDA 13 providers of ONNX Runtime " +
			WantVersion + " (npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9) and places them there"
		st.Missing = CheckCUDALibraries()
		return st
	}
	st.Missing = CheckCUDALibraries()
	var missing []LibraryCheck
	for _, m := range st.Missing {
		if !m.Loaded {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		st.Reason = fmt.Sprintf("%d CUDA 13 / cuDNN 9 libraries cannot be loaded", len(missing))
		st.Fix = CUDAFix
		return st
	}
	err := trySession(func(so *onnx.SessionOptions) error {
		opts, err := onnx.NewCUDAProviderOptions()
		if err != nil {
			return err
		}
		defer opts.Destroy()
		if err := opts.Update(map[string]string{"device_id": strconv.Itoa(deviceID)}); err != nil {
			return err
		}
		return so.AppendExecutionProviderCUDA(opts)
	})
	if err != nil {
		st.Reason = "ONNX Runtime could not start a session on CUDA: " + err.Error()
		st.Fix = "check the NVIDIA driver (nvidia-smi) supports CUDA 13, and run `viettts-studio doctor` again"
		return st
	}
	st.Available = true
	return st
}

func probeDirectML(deviceID int) ProviderStatus {
	st := ProviderStatus{Provider: DirectML}
	if runtime.GOOS != "windows" {
		st.Reason = "DirectML runs on Windows only"
		return st
	}
	err := trySession(func(so *onnx.SessionOptions) error {
		if err := so.SetMemPattern(false); err != nil {
			return err
		}
		if err := so.SetExecutionMode(onnx.ExecutionModeSequential); err != nil {
			return err
		}
		return so.AppendExecutionProviderDirectML(deviceID)
	})
	if err != nil {
		st.Reason = "ONNX Runtime could not start a session on DirectML: " + err.Error()
		st.Fix = "put DirectML.dll beside onnxruntime.dll and update the GPU driver"
		return st
	}
	st.Available = true
	return st
}

// trySession creates and destroys a session of a one-node model with the provider that add
// appends (CPU only when add is nil), CPU fallback disabled.
func trySession(add func(*onnx.SessionOptions) error) error {
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return err
	}
	defer so.Destroy()
	if add != nil {
		if err := add(so); err != nil {
			return err
		}
		if err := so.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1"); err != nil {
			return err
		}
	}
	s, err := onnx.NewDynamicAdvancedSessionWithONNXData(probeModel(), []string{"x"}, []string{"y"}, so)
	if err != nil {
		return err
	}
	return s.Destroy()
}

// probeModel is a ModelProto with one Relu node, y = relu(x), float32 [1]; written by hand so that
// probing needs no model file.
func probeModel() []byte {
	msg := func(field protowire.Number, body []byte) []byte {
		b := protowire.AppendTag(nil, field, protowire.BytesType)
		return protowire.AppendBytes(b, body)
	}
	str := func(field protowire.Number, s string) []byte { return msg(field, []byte(s)) }
	varint := func(field protowire.Number, v uint64) []byte {
		b := protowire.AppendTag(nil, field, protowire.VarintType)
		return protowire.AppendVarint(b, v)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	valueInfo := func(name string) []byte {
		dim := msg(1, varint(1, 1))                      // Dimension{dim_value: 1}
		tensor := cat(varint(1, 1), msg(2, dim))         // elem_type FLOAT, shape
		return cat(str(1, name), msg(2, msg(1, tensor))) // name, TypeProto{tensor_type}
	}
	node := cat(str(1, "x"), str(2, "y"), str(3, "probe"), str(4, "Relu"))
	graph := cat(msg(1, node), str(2, "probe"), msg(11, valueInfo("x")), msg(12, valueInfo("y")))
	return cat(varint(1, 8), msg(7, graph), msg(8, varint(2, 17)))
}
