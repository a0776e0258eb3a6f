// Package ort sets up ONNX Runtime for VietTTS Studio: it finds the shared library, initializes the
// process-wide environment once, and reports which execution providers can run here (CUDA,
// DirectML, CPU) and why the others cannot.
//
// One version of ONNX Runtime is used everywhere: 1.29.0 (see DESIGN.md fact 7).
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// WantVersion is the ONNX Runtime version the app is built and tested against.
const WantVersion = "1.29.0"

// EnvLibrary names the environment variable that points at the ONNX Runtime library.
const EnvLibrary = "VIETTTS_ORT_LIB"

// ErrNoLibrary is returned (wrapped) when no ONNX Runtime library can be found.
var ErrNoLibrary = errors.New("ONNX Runtime library not found")

// LibraryName is the file name of the core library on this platform.
func LibraryName() string {
	switch runtime.GOOS {
	case "windows":
		return "onnxruntime.dll"
	case "darwin":
		return "libonnxruntime.dylib"
	}
	return "libonnxruntime.so.1"
}

// platformDir is the folder of the project's lib/ tree for this platform.
func platformDir() string {
	arch := runtime.GOARCH
	if arch == "amd64" {
		arch = "x64"
	}
	goos := runtime.GOOS
	if goos == "windows" {
		return "windows-" + arch
	}
	return goos + "-" + arch
}

// FindLibrary returns the path of the ONNX Runtime library. It looks, in order, at the setting
// (a file or a folder holding it), the VIETTTS_ORT_LIB environment variable, the folder of the
// executable, and lib/<platform>/ in the working directory or any parent (a source checkout).
// searched lists every place it looked, for error messages and `doctor`.
func FindLibrary(setting string) (path string, searched []string, err error) {
	try := func(p string) bool {
		if p == "" {
			return false
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			p = filepath.Join(p, LibraryName())
		}
		abs, err := filepath.Abs(p)
		if err == nil {
			p = abs
		}
		searched = append(searched, p)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			path = p
			return true
		}
		return false
	}
	if setting != "" {
		if try(setting) {
			return path, searched, nil
		}
		return "", searched, fmt.Errorf("%w at %s (from the onnxruntime setting): fix the setting or clear it to search the default places", ErrNoLibrary, setting)
	}
	if env := os.Getenv(EnvLibrary); env != "" {
		if try(env) {
			return path, searched, nil
		}
		return "", searched, fmt.Errorf("%w at %s (from %s): fix or unset %s", ErrNoLibrary, env, EnvLibrary, EnvLibrary)
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		if try(filepath.Join(dir, LibraryName())) || try(filepath.Join(dir, "lib", LibraryName())) {
			return path, searched, nil
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if try(filepath.Join(dir, "lib", platformDir(), LibraryName())) {
				return path, searched, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", searched, fmt.Errorf("%w: looked in %s; install it with `make setup` (tools/setup.sh ort) or point %s at %s %s",
		ErrNoLibrary, strings.Join(searched, ", "), EnvLibrary, LibraryName(), WantVersion)
}

var (
	initMu   sync.Mutex
	initPath string
)

// Init initializes the process-wide ONNX Runtime environment from the library at libPath (empty:
// FindLibrary("")). It is idempotent and safe for concurrent callers; once initialized, later
// calls return nil, whatever path they name. A library that cannot be loaded gives an error that
// says which file failed and what to do; the process keeps running.
func Init(libPath string) error {
	initMu.Lock()
	defer initMu.Unlock()
	if onnx.IsInitialized() {
		return nil
	}
	if libPath == "" {
		p, _, err := FindLibrary("")
		if err != nil {
			return err
		}
		libPath = p
	}
	if err := checkLibraryFile(libPath); err != nil {
		return err
	}
	onnx.SetSharedLibraryPath(libPath)
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
		return fmt.Errorf("cannot load ONNX Runtime from %s: %w (is it ONNX Runtime %s for %s/%s? reinstall it with `make setup`)",
			libPath, err, WantVersion, runtime.GOOS, runtime.GOARCH)
	}
	initPath = libPath
	return nil
}

// checkLibraryFile rejects files that are plainly not a shared library before handing them to
// dlopen, which on some platforms aborts the process on garbage instead of returning an error.
func checkLibraryFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("cannot open ONNX Runtime library %s: %w", p, err)
	}
	defer f.Close()
	head := make([]byte, 4)
	if _, err := f.Read(head); err != nil {
		return fmt.Errorf("ONNX Runtime library %s is empty or unreadable: %w; reinstall it with `make setup`", p, err)
	}
	ok := false
	switch runtime.GOOS {
	case "windows":
		ok = head[0] == 'M' && head[1] == 'Z'
	case "darwin":
		ok = head[0] == 0xcf || head[0] == 0xca || head[3] == 0xcf
	default:
		ok = string(head) == "\x7fELF"
	}
	if !ok {
		return fmt.Errorf("%s is not a shared library (wrong or damaged file); reinstall ONNX Runtime %s with `make setup`", p, WantVersion)
	}
	return nil
}

// LibraryPath returns the path Init loaded, or "" before Init.
func LibraryPath() string {
	initMu.Lock()
	defer initMu.Unlock()
	return initPath
}

// Version returns the version string of the loaded ONNX Runtime, or "" before Init.
func Version() string {
	if !onnx.IsInitialized() {
		return ""
	}
	return onnx.GetVersion()
}
