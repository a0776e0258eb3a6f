//go:build windows

package ort

import "syscall"

// tryLoad loads and unloads a DLL, returning the loader's error.
func tryLoad(name string) error {
	h, err := syscall.LoadLibrary(name)
	if err != nil {
		return err
	}
	return syscall.FreeLibrary(h)
}
