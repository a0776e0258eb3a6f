package studio

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/gpu"
	"github.com/viettts-studio/studio/inference/nvml"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/tokenizer"
	"github.com/viettts-studio/studio/inference/viettts"
)

// EngineSettings are the user's choices for synthesis.
type EngineSettings struct {
	// Bundle is the model bundle folder; empty is the installed model (home.Dirs.Model).
	Bundle string
	// Instances is the `instances` setting: "", "default", "auto" or a number.
	Instances string
	// Provider is "auto" (CUDA, then DirectML, then CPU) or one of them.
	Provider string
	DeviceID int
	// ORTLibrary is the `onnxruntime` setting (empty: search).
	ORTLibrary string
}

// VietTTSEngines prepares the VietTTS engines for the bundle of set on this machine: it loads ONNX
// Runtime, picks the provider, sizes the pool (NVML free memory on CUDA, cores on CPU) and returns
// a factory that builds one engine per instance, each with its own sessions.
func VietTTSEngines(ctx context.Context, dirs home.Dirs, set EngineSettings, log *slog.Logger) (Engines, error) {
	if log == nil {
		log = slog.Default()
	}
	dir := set.Bundle
	if dir == "" {
		dir = dirs.Model()
	}
	b, err := bundle.Open(dir)
	if err != nil {
		return Engines{}, err
	}
	if err := ort.Init(set.ORTLibrary); err != nil {
		return Engines{}, err
	}
	statuses := ort.Probe(set.DeviceID)
	prov := ort.Select(statuses)
	if set.Provider != "" && set.Provider != "auto" {
		want := ort.Provider(set.Provider)
		for _, st := range statuses {
			if st.Provider == want && !st.Available {
				return Engines{}, fmt.Errorf("the %s provider cannot run here: %s (%s); choose auto or cpu in Settings → Device", want, st.Reason, st.Fix)
			}
		}
		prov = want
	}
	hw := inference.Hardware{CUDA: prov == ort.CUDA, Cores: runtime.NumCPU(), ThreadsPerInstance: 1,
		FreeMemory: func() (uint64, uint64, bool) {
			info, err := nvml.Read()
			if err != nil || set.DeviceID >= len(info.Devices) {
				return 0, 0, false
			}
			d := info.Devices[set.DeviceID]
			return d.FreeBytes, d.TotalBytes, true
		}}
	size, reason, err := inference.ResolveSize(set.Instances, hw)
	if err != nil {
		return Engines{}, err
	}
	session := ort.SessionConfig{Provider: prov, DeviceID: set.DeviceID}
	if prov == ort.CPU {
		session.Threads = max(1, runtime.NumCPU()/size)
	}
	tok, err := tokenizer.Load(b.TokenizerPath())
	if err != nil {
		return Engines{}, err
	}
	e := Engines{ModelID: modelID(b), Size: size, Reason: reason.On(string(prov)), Tokens: tok}
	if len(b.Manifest.Voices) > 0 {
		e.DefaultVoice = b.Manifest.Voices[0].ID
	}
	opts := viettts.Options{Session: session, FP16: prov == ort.CUDA, VoiceDirs: []string{dirs.Voices},
		VoiceCache: filepath.Join(dirs.Cache, "voices"), Logger: log}
	e.Factory = viettts.Factory(dir, opts)
	if prov == ort.CUDA {
		measureCUDA(ctx, &e, set, log)
	}
	return e, nil
}

// warmupText is about as long as a segment gets (30 text tokens): the pool is sized so every
// instance has room for it.
const warmupText = "Sáng hôm ấy, trời trong xanh, những cánh đồng lúa chín vàng trải dài tới tận chân núi phía xa."

// measureCUDA sizes the pool on a GPU by measurement (issue 9): one instance is loaded and runs a
// long segment while NVML reads the memory it takes; the `instances` setting is then capped (or,
// with `auto`, grown) by what fits the free memory and adds throughput. The measured engines are
// handed to the pool, so none loads twice. When measuring fails, the estimate stands.
func measureCUDA(ctx context.Context, e *Engines, set EngineSettings, log *slog.Logger) {
	info, err := nvml.Read()
	if err != nil || set.DeviceID >= len(info.Devices) {
		log.Warn("cannot read GPU memory: the pool keeps its estimated size", "err", err)
		return
	}
	sz, err := gpu.MeasureSize(ctx, set.Instances, gpu.SizeProbe{
		Factory: e.Factory, Memory: gpu.DeviceMemory(set.DeviceID), Total: info.Devices[set.DeviceID].TotalBytes,
		Warmup: inference.Request{ID: "warm-up", Text: warmupText, Voice: e.DefaultVoice, Speed: 1, Seed: 1}, Logger: log,
	})
	if err != nil {
		log.Warn("measuring the GPU pool failed: the pool keeps its estimated size", "err", err)
		return
	}
	e.Size, e.Reason, e.Factory = sz.Size, sz.Reason.On(string(ort.CUDA)), sz.Factory(e.Factory)
}

// modelID names a bundle in render keys: its model id and the hash of its first graph, so a
// re-compiled or different bundle never reuses old renders.
func modelID(b *bundle.Bundle) string {
	id := b.Manifest.ModelID
	if len(b.Manifest.Graphs) > 0 && len(b.Manifest.Graphs[0].SHA256) >= 12 {
		id += "@" + b.Manifest.Graphs[0].SHA256[:12]
	}
	return id
}
