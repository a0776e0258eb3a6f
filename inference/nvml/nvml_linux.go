//go:build linux && cgo

package nvml

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef void* nvmlDevice_t;

static void *lib;
static int (*p_init)(void);
static int (*p_shutdown)(void);
static int (*p_count)(unsigned int *);
static int (*p_handle)(unsigned int, nvmlDevice_t *);
static int (*p_name)(nvmlDevice_t, char *, unsigned int);
static int (*p_mem)(nvmlDevice_t, nvmlMemory_t *);
static int (*p_driver)(char *, unsigned int);
static int (*p_cuda)(int *);

static int nv_open(void) {
	if (lib) return 0;
	lib = dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_LOCAL);
	if (!lib) return -1;
	p_init = dlsym(lib, "nvmlInit_v2");
	p_shutdown = dlsym(lib, "nvmlShutdown");
	p_count = dlsym(lib, "nvmlDeviceGetCount_v2");
	p_handle = dlsym(lib, "nvmlDeviceGetHandleByIndex_v2");
	p_name = dlsym(lib, "nvmlDeviceGetName");
	p_mem = dlsym(lib, "nvmlDeviceGetMemoryInfo");
	p_driver = dlsym(lib, "nvmlSystemGetDriverVersion");
	p_cuda = dlsym(lib, "nvmlSystemGetCudaDriverVersion");
	if (!p_init || !p_shutdown || !p_count || !p_handle || !p_name || !p_mem) return -2;
	return 0;
}
static int nv_init(void) { return p_init(); }
static int nv_shutdown(void) { return p_shutdown(); }
static int nv_count(unsigned int *n) { return p_count(n); }
static int nv_device(unsigned int i, char *name, unsigned int len, nvmlMemory_t *m) {
	nvmlDevice_t d;
	int r = p_handle(i, &d);
	if (r) return r;
	r = p_name(d, name, len);
	if (r) return r;
	return p_mem(d, m);
}
static int nv_driver(char *buf, unsigned int len) { return p_driver ? p_driver(buf, len) : -1; }
static int nv_cuda(int *v) { return p_cuda ? p_cuda(v) : -1; }
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

var mu sync.Mutex

// Read returns the driver version and every GPU with its memory. It returns ErrNoDriver (wrapped)
// on machines without an NVIDIA driver.
func Read() (Info, error) {
	mu.Lock()
	defer mu.Unlock()
	switch C.nv_open() {
	case -1:
		return Info{}, fmt.Errorf("%w: libnvidia-ml.so.1", ErrNoDriver)
	case -2:
		return Info{}, fmt.Errorf("libnvidia-ml.so.1 lacks the NVML functions this app needs: update the NVIDIA driver")
	}
	if r := C.nv_init(); r != 0 {
		return Info{}, fmt.Errorf("NVML init failed (code %d): is the NVIDIA driver loaded? (nvidia-smi should list the GPU)", int(r))
	}
	defer C.nv_shutdown()
	var info Info
	buf := (*C.char)(C.malloc(96))
	defer C.free(unsafe.Pointer(buf))
	if C.nv_driver(buf, 96) == 0 {
		info.DriverVersion = C.GoString(buf)
	}
	var cv C.int
	if C.nv_cuda(&cv) == 0 {
		info.CUDAVersion = fmt.Sprintf("%d.%d", int(cv)/1000, int(cv)%1000/10)
	}
	var n C.uint
	if r := C.nv_count(&n); r != 0 {
		return info, fmt.Errorf("NVML cannot count GPUs (code %d)", int(r))
	}
	for i := 0; i < int(n); i++ {
		var m C.nvmlMemory_t
		if r := C.nv_device(C.uint(i), buf, 96, &m); r != 0 {
			return info, fmt.Errorf("NVML cannot read GPU %d (code %d)", i, int(r))
		}
		info.Devices = append(info.Devices, Device{
			Index: i, Name: C.GoString(buf),
			TotalBytes: uint64(m.total), FreeBytes: uint64(m.free), UsedBytes: uint64(m.used),
		})
	}
	return info, nil
}
