package ort

import (
	"fmt"
	"log/slog"
	"strconv"

	onnx "github.com/yalue/onnxruntime_go"
)

// CUDAOptions are the CUDA execution provider's settings for the sessions of one pool instance.
// Each instance gets its own sessions, so each gets its own arenas and its own CUDA stream; these
// options decide how those arenas grow and which kernels the provider picks. The zero value is not
// useful: start from DefaultCUDAOptions.
type CUDAOptions struct {
	// DeviceID is the GPU index (CUDA's numbering, which NVML shares on ordinary machines).
	DeviceID int
	// MemLimit caps the arena of each session in bytes (gpu_mem_limit); 0 leaves it unlimited.
	// An instance has five sessions, so its ceiling is about five times this plus the weights
	// outside the arena; the pool sizes itself from measured use instead (inference.MeasureSize).
	MemLimit int64
	// ArenaExtend is how an arena grows: ArenaSameAsRequested (by what a run asks for: no
	// power-of-two slack, so several instances fit side by side) or ArenaNextPowerOfTwo (ONNX
	// Runtime's default: fewer, larger allocations).
	ArenaExtend string
	// ConvAlgoSearch is how cuDNN picks convolution kernels: ConvSearchHeuristic (a cheap lookup,
	// no benchmarking on each new shape), ConvSearchExhaustive (times every kernel on the first
	// run of each input shape: the fastest kernels, but segment lengths vary, so every new length
	// pays the search again) or ConvSearchDefault (cuDNN's default algorithm, no lookup).
	ConvAlgoSearch string
	// ConvUseMaxWorkspace lets cuDNN use as much workspace as a faster convolution kernel wants
	// (cudnn_conv_use_max_workspace); off, convolutions are limited to 32 MB of workspace.
	ConvUseMaxWorkspace bool
	// CopyInDefaultStream makes host↔device copies run on the default stream
	// (do_copy_in_default_stream). ONNX Runtime's default is on; off lets copies overlap compute
	// of other sessions, at the cost of an explicit synchronisation per run.
	CopyInDefaultStream bool
	// TF32 lets fp32 matrix products and convolutions run on tensor cores with a 10-bit mantissa
	// (use_tf32; ONNX Runtime's default is on). It is several times faster on Ampere and later and
	// changes fp32 results at about 1e-3 relative, which is why the parity check turns it off.
	TF32 bool
	// NoCPUFallback makes a session fail to load when any node would run on the CPU
	// (session.disable_cpu_ep_fallback, a session option, set by NewCUDASessionOptions). Beware:
	// the CUDA provider deliberately leaves shape arithmetic (Shape → Gather → Concat feeding a
	// Reshape, on graphs with dynamic dimensions) on the CPU, where it is cheaper, and the flag
	// rejects those nodes too; the parity check reports per graph whether a strict load works.
	NoCPUFallback bool
}

// Values of CUDAOptions.ArenaExtend.
const (
	ArenaSameAsRequested = "kSameAsRequested"
	ArenaNextPowerOfTwo  = "kNextPowerOfTwo"
)

// Values of CUDAOptions.ConvAlgoSearch.
const (
	ConvSearchHeuristic  = "HEURISTIC"
	ConvSearchExhaustive = "EXHAUSTIVE"
	ConvSearchDefault    = "DEFAULT"
)

// DefaultCUDAOptions are the app's settings for an instance on GPU deviceID: arenas that grow by
// what is asked (kSameAsRequested: two or four instances share one GPU without each holding
// power-of-two slack), heuristic convolution search (segment lengths vary, so an exhaustive search
// would rerun for nearly every segment), copies in the default stream and TF32 as ONNX Runtime
// ships them, and no arena cap.
func DefaultCUDAOptions(deviceID int) CUDAOptions {
	return CUDAOptions{
		DeviceID:            deviceID,
		ArenaExtend:         ArenaSameAsRequested,
		ConvAlgoSearch:      ConvSearchHeuristic,
		ConvUseMaxWorkspace: true,
		CopyInDefaultStream: true,
		TF32:                true,
	}
}

// CUDAOptionsFor returns the CUDA options of a SessionConfig: the defaults with its device and
// memory limit.
func CUDAOptionsFor(cfg SessionConfig) CUDAOptions {
	o := DefaultCUDAOptions(cfg.DeviceID)
	o.MemLimit = cfg.GPUMemLimit
	return o
}

// Map returns the options as ONNX Runtime's CUDA provider option keys and values, or an error
// naming the first value that is not valid.
func (o CUDAOptions) Map() (map[string]string, error) {
	if o.DeviceID < 0 {
		return nil, fmt.Errorf("CUDA device %d is not valid: GPU indices start at 0 (nvidia-smi lists them)", o.DeviceID)
	}
	if o.MemLimit < 0 {
		return nil, fmt.Errorf("CUDA memory limit %d bytes is not valid: use 0 for no limit or a positive size", o.MemLimit)
	}
	switch o.ArenaExtend {
	case ArenaSameAsRequested, ArenaNextPowerOfTwo:
	default:
		return nil, fmt.Errorf("CUDA arena growth %q is not valid: use %s or %s", o.ArenaExtend, ArenaSameAsRequested, ArenaNextPowerOfTwo)
	}
	switch o.ConvAlgoSearch {
	case ConvSearchHeuristic, ConvSearchExhaustive, ConvSearchDefault:
	default:
		return nil, fmt.Errorf("cuDNN convolution search %q is not valid: use %s, %s or %s", o.ConvAlgoSearch,
			ConvSearchHeuristic, ConvSearchExhaustive, ConvSearchDefault)
	}
	m := map[string]string{
		"device_id":                    strconv.Itoa(o.DeviceID),
		"arena_extend_strategy":        o.ArenaExtend,
		"cudnn_conv_algo_search":       o.ConvAlgoSearch,
		"cudnn_conv_use_max_workspace": onOff(o.ConvUseMaxWorkspace),
		"do_copy_in_default_stream":    onOff(o.CopyInDefaultStream),
		"use_tf32":                     onOff(o.TF32),
	}
	if o.MemLimit > 0 {
		m["gpu_mem_limit"] = strconv.FormatInt(o.MemLimit, 10)
	}
	return m, nil
}

func onOff(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// LogValue implements slog.LogValuer.
func (o CUDAOptions) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("device", o.DeviceID), slog.String("arena", o.ArenaExtend),
		slog.String("conv_search", o.ConvAlgoSearch), slog.Bool("tf32", o.TF32),
		slog.Bool("copy_in_default_stream", o.CopyInDefaultStream), slog.Bool("no_cpu_fallback", o.NoCPUFallback)}
	if o.MemLimit > 0 {
		attrs = append(attrs, slog.String("mem_limit", fmt.Sprintf("%.1f GiB", float64(o.MemLimit)/(1<<30))))
	}
	return slog.GroupValue(attrs...)
}

// AppendCUDA adds the CUDA provider with o to so. It fails with ErrProviderUnavailable (wrapped)
// when the options are not valid or the provider cannot be set up here (no CUDA provider library,
// or ONNX Runtime rejects an option); ONNX Runtime must be initialized.
func AppendCUDA(so *onnx.SessionOptions, o CUDAOptions) error {
	m, err := o.Map()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	opts, err := onnx.NewCUDAProviderOptions()
	if err != nil {
		return providerError(CUDA, err)
	}
	defer opts.Destroy()
	if err := opts.Update(m); err != nil {
		return providerError(CUDA, err)
	}
	if err := so.AppendExecutionProviderCUDA(opts); err != nil {
		return providerError(CUDA, err)
	}
	return nil
}

// NewCUDASessionOptions returns session options that run on CUDA with o: full graph optimization,
// and with o.NoCPUFallback, a load that fails when any node would run on the CPU. The caller
// destroys the options.
func NewCUDASessionOptions(o CUDAOptions) (*onnx.SessionOptions, error) {
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("create session options: %w (is ONNX Runtime initialized?)", err)
	}
	for _, step := range []func() error{
		func() error { return so.SetGraphOptimizationLevel(onnx.GraphOptimizationLevelEnableAll) },
		func() error { return AppendCUDA(so, o) },
		func() error {
			if !o.NoCPUFallback {
				return nil
			}
			return so.AddSessionConfigEntry("session.disable_cpu_ep_fallback", "1")
		},
	} {
		if err := step(); err != nil {
			so.Destroy()
			return nil, err
		}
	}
	return so, nil
}
