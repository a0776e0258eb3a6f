// Package nvml reads the NVIDIA GPUs of this machine through the driver's NVML library
// (libnvidia-ml.so.1 on Linux, nvml.dll on Windows), loaded at run time so the app starts and
// works on machines without an NVIDIA driver. The pool sizes itself from the free memory it reports.
package nvml

import "errors"

// ErrNoDriver is returned when the NVML library cannot be loaded: no NVIDIA driver is installed.
var ErrNoDriver = errors.New("NVIDIA driver not found (NVML library not loadable)")

// Device is one GPU as NVML reports it.
type Device struct {
	Index      int
	Name       string
	TotalBytes uint64
	FreeBytes  uint64
	UsedBytes  uint64
}

// Info is a snapshot of the driver and its GPUs.
type Info struct {
	DriverVersion string
	// CUDAVersion is the highest CUDA version the driver supports, e.g. "13.0".
	CUDAVersion string
	Devices     []Device
}
