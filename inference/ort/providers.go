package ort

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	onnx "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/viettts-studio/studio/inference"
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
	// Why and How are Reason and Fix as codes of ProviderReasons, which the window translates.
	Why, How inference.Reason
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

// ProviderReasons are why a provider cannot run here and what to do about it (inference.Reason).
var ProviderReasons = inference.ReasonTemplates{
	"cuda-provider-missing":      "the CUDA provider library {library} is not beside {core}",
	"cuda-provider-fix":          "on a machine with an NVIDIA GPU, `make setup` fetches the CUDA 13 providers of ONNX Runtime {version} (npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9) and places them there",
	"cuda-libraries-missing":     "{count} CUDA 13 / cuDNN 9 libraries cannot be loaded",
	"cuda-libraries-fix":         "install the CUDA 13 runtime (cudart, cublas, curand, cufft) and cuDNN 9 for CUDA 13 (NVIDIA's apt repository, or the pip wheels nvidia-cuda-runtime, nvidia-cublas, nvidia-cudnn-cu13) and add their lib folders to LD_LIBRARY_PATH, e.g. /usr/local/cuda-13.0/targets/x86_64-linux/lib",
	"cuda-libraries-fix-windows": "install the CUDA 13 runtime and cuDNN 9 for CUDA 13 from NVIDIA and add their bin folders to PATH",
	"cuda-session-failed":        "ONNX Runtime could not start a session on CUDA: {error}",
	"cuda-driver-fix":            "check the NVIDIA driver (nvidia-smi) supports CUDA 13, and run `viettts-studio doctor` again",
	"directml-windows-only":      "DirectML runs on Windows only",
	"directml-session-failed":    "ONNX Runtime could not start a session on DirectML: {error}",
	"directml-fix":               "put DirectML.dll beside onnxruntime.dll and update the GPU driver",
}

// explain sets the status's reason and fix from codes of ProviderReasons (fix "" for none).
func (st *ProviderStatus) explain(why inference.Reason, fix string) {
	st.Why, st.Reason = why, why.Text
	if fix != "" {
		st.How = ProviderReasons.New(fix, "version", WantVersion)
		st.Fix = st.How.Text
	}
}

func probeCUDA(deviceID int) ProviderStatus {
	st := ProviderStatus{Provider: CUDA}
	dir := filepath.Dir(LibraryPath())
	provider := cudaProviderLibrary()
	if _, err := os.Stat(filepath.Join(dir, provider)); err != nil {
		st.explain(ProviderReasons.New("cuda-provider-missing", "library", provider, "core", LibraryPath()), "cuda-provider-fix")
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
		st.explain(ProviderReasons.New("cuda-libraries-missing", "count", len(missing)), cudaFixCode)
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
		st.explain(ProviderReasons.New("cuda-session-failed", "error", err), "cuda-driver-fix")
		return st
	}
	st.Available = true
	return st
}

func probeDirectML(deviceID int) ProviderStatus {
	st := ProviderStatus{Provider: DirectML}
	if runtime.GOOS != "windows" {
		st.explain(ProviderReasons.New("directml-windows-only"), "")
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
		st.explain(ProviderReasons.New("directml-session-failed", "error", err), "directml-fix")
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
