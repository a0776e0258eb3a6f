//go:build cgo && !windows

package ort

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
static const char *try_load(const char *name) {
	void *h = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
	if (!h) return dlerror();
	dlclose(h);
	return 0;
}
*/
import "C"

import (
	"errors"
	"unsafe"
)

// tryLoad loads and unloads a shared library, returning the loader's error.
func tryLoad(name string) error {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	if msg := C.try_load(cs); msg != nil {
		return errors.New(shortErr(C.GoString(msg)))
	}
	return nil
}
