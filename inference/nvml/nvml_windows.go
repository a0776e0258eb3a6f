//go:build windows

package nvml

import (
	"fmt"
	"sync"
	"syscall"
	"unsafe"
)

var (
	mu  sync.Mutex
	dll = syscall.NewLazyDLL("nvml.dll")
)

type memory struct{ total, free, used uint64 }

func call(name string, args ...uintptr) (int, error) {
	p := dll.NewProc(name)
	if err := p.Find(); err != nil {
		return 0, err
	}
	r, _, _ := p.Call(args...)
	return int(r), nil
}

// Read returns the driver version and every GPU with its memory, through nvml.dll (installed with
// the NVIDIA driver in System32). It returns ErrNoDriver (wrapped) without an NVIDIA driver.
func Read() (Info, error) {
	mu.Lock()
	defer mu.Unlock()
	if err := dll.Load(); err != nil {
		return Info{}, fmt.Errorf("%w: nvml.dll", ErrNoDriver)
	}
	if r, err := call("nvmlInit_v2"); err != nil || r != 0 {
		return Info{}, fmt.Errorf("NVML init failed (code %d, %v): is the NVIDIA driver installed?", r, err)
	}
	defer call("nvmlShutdown")
	var info Info
	buf := make([]byte, 96)
	if r, _ := call("nvmlSystemGetDriverVersion", uintptr(unsafe.Pointer(&buf[0])), 96); r == 0 {
		info.DriverVersion = cstring(buf)
	}
	var cv int32
	if r, _ := call("nvmlSystemGetCudaDriverVersion", uintptr(unsafe.Pointer(&cv))); r == 0 {
		info.CUDAVersion = fmt.Sprintf("%d.%d", cv/1000, cv%1000/10)
	}
	var n uint32
	if r, err := call("nvmlDeviceGetCount_v2", uintptr(unsafe.Pointer(&n))); err != nil || r != 0 {
		return info, fmt.Errorf("NVML cannot count GPUs (code %d)", r)
	}
	for i := uint32(0); i < n; i++ {
		var h uintptr
		if r, _ := call("nvmlDeviceGetHandleByIndex_v2", uintptr(i), uintptr(unsafe.Pointer(&h))); r != 0 {
			return info, fmt.Errorf("NVML cannot open GPU %d (code %d)", i, r)
		}
		var m memory
		call("nvmlDeviceGetName", h, uintptr(unsafe.Pointer(&buf[0])), 96)
		if r, _ := call("nvmlDeviceGetMemoryInfo", h, uintptr(unsafe.Pointer(&m))); r != 0 {
			return info, fmt.Errorf("NVML cannot read GPU %d memory (code %d)", i, r)
		}
		info.Devices = append(info.Devices, Device{Index: int(i), Name: cstring(buf),
			TotalBytes: m.total, FreeBytes: m.free, UsedBytes: m.used})
	}
	return info, nil
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
