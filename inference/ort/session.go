package ort

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/viettts-studio/studio/inference"
)

// SessionConfig is how one pool instance runs its graphs.
type SessionConfig struct {
	// Provider runs the graphs; CPU when empty.
	Provider Provider
	// DeviceID is the GPU index for CUDA and DirectML.
	DeviceID int
	// GPUMemLimit caps the CUDA arena of each session in bytes; 0 leaves it unlimited.
	GPUMemLimit int64
	// Threads is the number of intra-op threads per session on the CPU (0: ONNX Runtime's default,
	// one per core). With several instances, give each cores/instances.
	Threads int
}

func (c SessionConfig) provider() Provider {
	if c.Provider == "" {
		return CPU
	}
	return c.Provider
}

// LogValue implements slog.LogValuer.
func (c SessionConfig) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("provider", string(c.provider()))}
	switch c.provider() {
	case CPU:
		attrs = append(attrs, slog.Int("threads", c.Threads))
	default:
		attrs = append(attrs, slog.Int("device", c.DeviceID))
		if c.GPUMemLimit > 0 {
			attrs = append(attrs, slog.String("mem_limit", fmt.Sprintf("%.1f GiB", float64(c.GPUMemLimit)/(1<<30))))
		}
	}
	return slog.GroupValue(attrs...)
}

// NewSessionOptions returns session options for cfg: full graph optimization, the provider with CPU
// fallback disabled (a graph that cannot run on the GPU fails instead of running slowly), CUDA with
// arena_extend_strategy kSameAsRequested (the arena grows by what is asked, not by powers of two)
// and the memory limit, DirectML with memory patterns off and sequential execution, and on the CPU
// the thread count. The caller destroys the options.
func NewSessionOptions(cfg SessionConfig) (*onnx.SessionOptions, error) {
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("create session options: %w (is ONNX Runtime initialized?)", err)
	}
	if err := configure(so, cfg); err != nil {
		so.Destroy()
		return nil, err
	}
	return so, nil
}

func configure(so *onnx.SessionOptions, cfg SessionConfig) error {
	if err := so.SetGraphOptimizationLevel(onnx.GraphOptimizationLevelEnableAll); err != nil {
		return err
	}
	switch cfg.provider() {
	case CPU:
		if cfg.Threads > 0 {
			if err := so.SetIntraOpNumThreads(cfg.Threads); err != nil {
				return err
			}
			if err := so.SetInterOpNumThreads(1); err != nil {
				return err
			}
		}
		return nil
	case CUDA:
		// The CPU provider stays allowed: the CUDA provider leaves shape arithmetic (Shape →
		// Gather → Concat feeding a Reshape) on the CPU on purpose, and a strict load would refuse
		// every synthesis graph. ort.Probe is what proves the provider really runs.
		return AppendCUDA(so, CUDAOptionsFor(cfg))
	case DirectML:
		if err := so.SetMemPattern(false); err != nil {
			return err
		}
		if err := so.SetExecutionMode(onnx.ExecutionModeSequential); err != nil {
			return err
		}
		if err := so.AppendExecutionProviderDirectML(cfg.DeviceID); err != nil {
			return providerError(DirectML, err)
		}
		return nil
	}
	return fmt.Errorf("unknown provider %q: use cuda, directml or cpu", cfg.Provider)
}

// ErrProviderUnavailable is returned (wrapped) when the chosen provider cannot be set up here.
var ErrProviderUnavailable = errors.New("execution provider unavailable")

func providerError(p Provider, err error) error {
	return fmt.Errorf("%w: %s cannot run here: %v (run `viettts-studio doctor` to see why, or choose the cpu provider)",
		ErrProviderUnavailable, p, err)
}

// Session is one loaded graph with its input and output names, run with cancellation.
// Run may be called from several goroutines at once (ONNX Runtime sessions are thread-safe).
type Session struct {
	name    string
	sess    *onnx.DynamicAdvancedSession
	Inputs  []onnx.InputOutputInfo
	Outputs []onnx.InputOutputInfo
}

// OpenSession loads the graph at path with cfg's options. The session's inputs and outputs are the
// graph's, in the graph's order. Errors name the file and say what to do.
func OpenSession(path string, cfg SessionConfig) (*Session, error) {
	name := filepath.Base(path)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("graph %s is missing (%w): reinstall the model or run `viettts-studio model verify`", name, err)
	}
	ins, outs, err := onnx.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("graph %s cannot be read (%v): the file is damaged; run `viettts-studio model verify` and reinstall", name, err)
	}
	so, err := NewSessionOptions(cfg)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	inNames, outNames := names(ins), names(outs)
	s, err := onnx.NewDynamicAdvancedSession(path, inNames, outNames, so)
	if err != nil {
		return nil, classifyOpen(name, cfg, err)
	}
	return &Session{name: name, sess: s, Inputs: ins, Outputs: outs}, nil
}

func classifyOpen(name string, cfg SessionConfig, err error) error {
	msg := err.Error()
	if isOOM(msg) {
		return &inference.Error{Class: inference.ClassOutOfMemory,
			Err: fmt.Errorf("not enough memory to load %s on %s: %w (run fewer instances or free GPU memory)", name, cfg.provider(), err)}
	}
	if cfg.provider() != CPU && (strings.Contains(msg, "fallback") || strings.Contains(msg, "provider")) {
		return fmt.Errorf("%w: graph %s cannot run on %s: %v", ErrProviderUnavailable, name, cfg.provider(), err)
	}
	return fmt.Errorf("cannot load graph %s: %w (the file may be damaged: run `viettts-studio model verify`)", name, err)
}

func names(infos []onnx.InputOutputInfo) []string {
	out := make([]string, len(infos))
	for i, in := range infos {
		out[i] = in.Name
	}
	return out
}

// Name is the graph's file name.
func (s *Session) Name() string { return s.name }

// InputIndex returns the position of the named input, or -1.
func (s *Session) InputIndex(name string) int { return index(s.Inputs, name) }

// OutputIndex returns the position of the named output, or -1.
func (s *Session) OutputIndex(name string) int { return index(s.Outputs, name) }

func index(infos []onnx.InputOutputInfo, name string) int {
	for i, in := range infos {
		if in.Name == name {
			return i
		}
	}
	return -1
}

// Run runs the graph on inputs, writing into outputs (nil entries are allocated by ONNX Runtime and
// must be destroyed by the caller). When ctx is done during the run, the run is terminated through
// RunOptions.Terminate and Run returns an error wrapping ctx.Err(). Other failures are classified
// (*inference.Error): out of memory, a dead device, or transient.
func (s *Session) Run(ctx context.Context, inputs, outputs []onnx.Value) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	ro, err := onnx.NewRunOptions()
	if err != nil {
		return inference.Errorf(inference.ClassInstanceDead, "%s: create run options: %w", s.name, err)
	}
	defer ro.Destroy()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		ro.Terminate()
	})
	err = s.sess.RunWithOptions(inputs, outputs, ro)
	if !stop() {
		<-fired
	}
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", s.name, ctxErr)
	}
	return ClassifyRunError(s.name, err)
}

// ClassifyRunError turns an ONNX Runtime run failure into an *inference.Error from its text.
func ClassifyRunError(graph string, err error) error {
	msg := err.Error()
	switch {
	case isOOM(msg):
		return &inference.Error{Class: inference.ClassOutOfMemory, Err: fmt.Errorf("%s ran out of memory: %w", graph, err)}
	case isDeviceFault(msg):
		return &inference.Error{Class: inference.ClassInstanceDead, Err: fmt.Errorf("%s: the device failed: %w", graph, err)}
	case strings.Contains(msg, "Invalid rank") || strings.Contains(msg, "Got invalid dimensions") ||
		strings.Contains(msg, "Unexpected input data type") || strings.Contains(msg, "input name cannot be empty"):
		return &inference.Error{Class: inference.ClassInstanceDead,
			Err: fmt.Errorf("%s rejected its inputs (%w): the model bundle does not match this version of the app; reinstall the model", graph, err)}
	}
	return &inference.Error{Class: inference.ClassTransient, Err: fmt.Errorf("%s: %w", graph, err)}
}

func isOOM(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "out of memory") || strings.Contains(m, "failed to allocate memory") ||
		strings.Contains(m, "bfcarena") && strings.Contains(m, "available memory") ||
		strings.Contains(m, "cudaerrormemoryallocation") || strings.Contains(m, "std::bad_alloc")
}

func isDeviceFault(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"cuda failure", "cudnn failure", "cublas failure", "illegal memory access",
		"cudaerror", "device lost", "dxgi_error", "launch failure", "unspecified launch"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// Close releases the session.
func (s *Session) Close() error {
	if s == nil || s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	return err
}
