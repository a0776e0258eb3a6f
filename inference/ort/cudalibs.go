package ort

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// cudaFixCode is the code of ProviderReasons that says how to make the CUDA 13 and cuDNN 9
// libraries loadable on this platform.
var cudaFixCode = func() string {
	if runtime.GOOS == "windows" {
		return "cuda-libraries-fix-windows"
	}
	return "cuda-libraries-fix"
}()

// CUDAFix tells the user how to make the CUDA 13 and cuDNN 9 libraries loadable.
var CUDAFix = ProviderReasons[cudaFixCode]

// LibraryCheck is one library the CUDA provider needs, and whether it loads.
type LibraryCheck struct {
	Name   string
	Loaded bool
	// Error is the loader's message when it does not load.
	Error string
	// FoundAt is a file of that name found off the library path, if any: adding its folder to the
	// library path is then the fix.
	FoundAt string
}

// cudaLibraries are what libonnxruntime_providers_cuda (ORT 1.29, CUDA 13) loads.
func cudaLibraries() []string {
	if runtime.GOOS == "windows" {
		return []string{"cudart64_13.dll", "cublas64_13.dll", "cublasLt64_13.dll", "curand64_10.dll", "cufft64_12.dll", "cudnn64_9.dll"}
	}
	return []string{"libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libcufft.so.12", "libcudnn.so.9"}
}

func cudaProviderLibrary() string {
	if runtime.GOOS == "windows" {
		return "onnxruntime_providers_cuda.dll"
	}
	return "libonnxruntime_providers_cuda.so"
}

// CheckCUDALibraries tries to load each library the CUDA provider needs and, for those that do not
// load, looks for them in the usual install folders.
func CheckCUDALibraries() []LibraryCheck {
	var out []LibraryCheck
	for _, name := range cudaLibraries() {
		c := LibraryCheck{Name: name}
		if err := tryLoad(name); err != nil {
			c.Error = err.Error()
			c.FoundAt = findOffPath(name)
		} else {
			c.Loaded = true
		}
		out = append(out, c)
	}
	return out
}

// CUDASearchDirs are the folders searched for CUDA libraries that are not on the library path.
func CUDASearchDirs() []string {
	if runtime.GOOS == "windows" {
		var dirs []string
		for _, pattern := range []string{`C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v13*\bin`, `C:\Program Files\NVIDIA\CUDNN\v9*\bin\13*`} {
			m, _ := filepath.Glob(pattern)
			dirs = append(dirs, m...)
		}
		return dirs
	}
	patterns := []string{"/usr/local/cuda-13*/targets/x86_64-linux/lib", "/usr/local/cuda/lib64", "/usr/local/cuda-13*/lib64",
		"/usr/lib/x86_64-linux-gnu", "/opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib",
		"/usr/local/lib/python3*/dist-packages/nvidia/*/lib"}
	var dirs []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		dirs = append(dirs, m...)
	}
	return dirs
}

func findOffPath(name string) string {
	for _, d := range CUDASearchDirs() {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// LibraryPathVar is the environment variable the dynamic loader searches.
func LibraryPathVar() (name, value string) {
	if runtime.GOOS == "windows" {
		return "PATH", os.Getenv("PATH")
	}
	return "LD_LIBRARY_PATH", os.Getenv("LD_LIBRARY_PATH")
}

func shortErr(s string) string {
	if i := strings.Index(s, ": cannot open shared object file"); i >= 0 {
		return "not found on the library path"
	}
	return s
}
