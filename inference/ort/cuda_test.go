package ort

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDefaultCUDAOptionsMapToTheProviderKeys(t *testing.T) {
	o := CUDAOptionsFor(SessionConfig{Provider: CUDA, DeviceID: 1, GPUMemLimit: 3 << 30})
	m, err := o.Map()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"device_id": "1", "arena_extend_strategy": "kSameAsRequested", "cudnn_conv_algo_search": "HEURISTIC",
		"cudnn_conv_use_max_workspace": "1", "do_copy_in_default_stream": "1", "use_tf32": "1",
		"gpu_mem_limit": "3221225472",
	}
	if len(m) != len(want) {
		t.Errorf("got %d options %v, want %d", len(m), m, len(want))
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	o.MemLimit, o.TF32, o.CopyInDefaultStream = 0, false, false
	m, err = o.Map()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m["gpu_mem_limit"]; ok {
		t.Errorf("no memory limit still sets gpu_mem_limit=%s", m["gpu_mem_limit"])
	}
	if m["use_tf32"] != "0" || m["do_copy_in_default_stream"] != "0" {
		t.Errorf("switched-off flags map to %q and %q", m["use_tf32"], m["do_copy_in_default_stream"])
	}
}

func TestInvalidCUDAOptionsAreRejectedWithWhatToUse(t *testing.T) {
	for name, mod := range map[string]func(*CUDAOptions){
		"negative device": func(o *CUDAOptions) { o.DeviceID = -1 },
		"negative limit":  func(o *CUDAOptions) { o.MemLimit = -5 },
		"arena":           func(o *CUDAOptions) { o.ArenaExtend = "grow" },
		"conv search":     func(o *CUDAOptions) { o.ConvAlgoSearch = "fast" },
		"zero value":      func(o *CUDAOptions) { *o = CUDAOptions{} },
	} {
		o := DefaultCUDAOptions(0)
		mod(&o)
		if _, err := o.Map(); err == nil {
			t.Errorf("%s: accepted %+v", name, o)
		}
	}
}

func TestAppendCUDAWithoutTheProviderLibraryFailsAsUnavailable(t *testing.T) {
	initForTest(t)
	if _, err := os.Stat(filepath.Join(filepath.Dir(LibraryPath()), cudaProviderLibrary())); err == nil {
		t.Skip("the CUDA provider library is installed here; the gpu-tagged tests cover this machine")
	}
	so, err := NewCUDASessionOptions(DefaultCUDAOptions(0))
	if err == nil {
		so.Destroy()
		t.Fatal("CUDA session options were created without the CUDA provider library")
	}
	if !errors.Is(err, ErrProviderUnavailable) {
		t.Errorf("error %v does not wrap ErrProviderUnavailable", err)
	}
	bad := DefaultCUDAOptions(0)
	bad.ArenaExtend = "x"
	if _, err := NewCUDASessionOptions(bad); !errors.Is(err, ErrProviderUnavailable) {
		t.Errorf("invalid options: %v", err)
	}
}
