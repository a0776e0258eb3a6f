// Package system inspects the machine the app runs on: the ONNX Runtime library and its
// execution providers, the NVIDIA GPU and the CUDA libraries, the data folders and the installed
// model. `viettts-studio doctor` prints its report; the app shows it in settings and the status bar.
package system

import (
	"github.com/viettts-studio/studio/inference/bytesize"

	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/inference/nvml"
	"github.com/viettts-studio/studio/inference/ort"
)

// Report is what Diagnose finds; `doctor --json` prints it as is.
type Report struct {
	OS          string               `json:"os"`
	ORT         ORTReport            `json:"onnxruntime"`
	Providers   []ort.ProviderStatus `json:"providers"`
	Selected    ort.Provider         `json:"selected_provider"`
	GPU         GPUReport            `json:"gpu"`
	CUDALibs    []ort.LibraryCheck   `json:"cuda_libraries"`
	LibraryPath string               `json:"library_path_env"`
	Data        []FolderReport       `json:"data_folders"`
	Model       ModelReport          `json:"model"`
	Problems    []string             `json:"problems"`
}

// ORTReport is the ONNX Runtime library found.
type ORTReport struct {
	Path     string   `json:"path"`
	Version  string   `json:"version"`
	Searched []string `json:"searched,omitempty"`
	Error    string   `json:"error,omitempty"`
}

// GPUReport is what NVML says.
type GPUReport struct {
	Driver  string        `json:"driver,omitempty"`
	CUDA    string        `json:"cuda,omitempty"`
	Devices []nvml.Device `json:"devices,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// FolderReport is one data folder and whether the app can write there.
type FolderReport struct {
	Role     string `json:"role"`
	Path     string `json:"path"`
	Writable bool   `json:"writable"`
	Error    string `json:"error,omitempty"`
}

// ModelReport says which model bundles are installed.
type ModelReport struct {
	Folder  string   `json:"folder"`
	Bundles []string `json:"bundles"`
}

// Diagnose inspects this machine. It never fails: what it cannot check it reports.
func Diagnose(dirs home.Dirs) Report {
	r := Report{OS: runtime.GOOS + "/" + runtime.GOARCH}
	path, searched, err := ort.FindLibrary("")
	r.ORT.Path, r.ORT.Searched = path, searched
	if err == nil {
		err = ort.Init(path)
	}
	if err != nil {
		r.ORT.Error = err.Error()
		r.Problems = append(r.Problems, "ONNX Runtime: "+err.Error())
	} else {
		r.ORT.Version = ort.Version()
		if r.ORT.Version != ort.WantVersion {
			r.Problems = append(r.Problems, fmt.Sprintf("ONNX Runtime is %s; the app is tested with %s: run `make setup`", r.ORT.Version, ort.WantVersion))
		}
		r.Providers = ort.Probe(0)
		r.Selected = ort.Select(r.Providers)
	}
	info, gerr := nvml.Read()
	if gerr != nil {
		r.GPU.Error = gerr.Error()
	} else {
		r.GPU = GPUReport{Driver: info.DriverVersion, CUDA: info.CUDAVersion, Devices: info.Devices}
	}
	r.CUDALibs = ort.CheckCUDALibraries()
	_, r.LibraryPath = ort.LibraryPathVar()
	for _, f := range []struct{ role, path string }{
		{"settings and database", dirs.Config}, {"logs", dirs.Logs}, {"models", dirs.Models},
		{"renders", dirs.Renders}, {"voices", dirs.Voices},
	} {
		fr := FolderReport{Role: f.role, Path: f.path}
		if err := writable(f.path); err != nil {
			fr.Error = err.Error()
			r.Problems = append(r.Problems, fmt.Sprintf("cannot write %s folder %s: %v (set %s to another folder)", f.role, f.path, err, home.EnvHome))
		} else {
			fr.Writable = true
		}
		r.Data = append(r.Data, fr)
	}
	r.Model.Folder = dirs.Models
	if entries, err := os.ReadDir(dirs.Models); err == nil {
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(dirs.Models, e.Name(), "manifest.json")); e.IsDir() && err == nil {
				r.Model.Bundles = append(r.Model.Bundles, e.Name())
			}
		}
	}
	return r
}

// writable creates dir if needed and checks a file can be created in it.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// Print writes the report for a person.
func (r Report) Print(w io.Writer) {
	ok := func(b bool) string {
		if b {
			return "ok  "
		}
		return "--  "
	}
	fmt.Fprintf(w, "VietTTS Studio doctor (%s)\n\n", r.OS)
	fmt.Fprintln(w, "ONNX Runtime")
	if r.ORT.Error != "" {
		fmt.Fprintf(w, "  %s%s\n", ok(false), r.ORT.Error)
	} else {
		fmt.Fprintf(w, "  %slibrary %s\n  %sversion %s\n", ok(true), r.ORT.Path, ok(r.ORT.Version == ort.WantVersion), r.ORT.Version)
	}
	fmt.Fprintln(w, "\nExecution providers")
	for _, p := range r.Providers {
		if p.Available {
			sel := ""
			if p.Provider == r.Selected {
				sel = "  (selected)"
			}
			fmt.Fprintf(w, "  %s%s%s\n", ok(true), p.Provider, sel)
			continue
		}
		fmt.Fprintf(w, "  %s%s: %s\n", ok(false), p.Provider, p.Reason)
		if p.Fix != "" {
			fmt.Fprintf(w, "        fix: %s\n", p.Fix)
		}
	}
	fmt.Fprintln(w, "\nGPU")
	if r.GPU.Error != "" {
		fmt.Fprintf(w, "  %sno NVIDIA GPU: %s\n", ok(false), r.GPU.Error)
	} else {
		fmt.Fprintf(w, "  %sdriver %s, CUDA %s\n", ok(true), r.GPU.Driver, r.GPU.CUDA)
		for _, d := range r.GPU.Devices {
			fmt.Fprintf(w, "  %sGPU %d: %s, %s free of %s\n", ok(true), d.Index, d.Name, bytesize.FormatU(d.FreeBytes), bytesize.FormatU(d.TotalBytes))
		}
	}
	fmt.Fprintln(w, "\nCUDA 13 / cuDNN 9 libraries (needed by the CUDA provider)")
	var missing []string
	for _, l := range r.CUDALibs {
		if l.Loaded {
			fmt.Fprintf(w, "  %s%s\n", ok(true), l.Name)
			continue
		}
		missing = append(missing, l.Name)
		where := l.Error
		if l.FoundAt != "" {
			where = "found at " + l.FoundAt + " but not on the library path: add its folder to the library path"
		}
		fmt.Fprintf(w, "  %s%s: %s\n", ok(false), l.Name, where)
	}
	name, _ := ort.LibraryPathVar()
	if len(missing) > 0 {
		fmt.Fprintf(w, "\n  To synthesize on an NVIDIA GPU: %s.\n", ort.CUDAFix)
		fmt.Fprintf(w, "  Looked on %s=%q, the system library path, and %s.\n", name, r.LibraryPath, strings.Join(append([]string{}, ort.CUDASearchDirs()...), ", "))
		fmt.Fprintln(w, "  Without them the app runs on the CPU, much slower than real time.")
	}
	fmt.Fprintln(w, "\nData folders")
	for _, f := range r.Data {
		if f.Writable {
			fmt.Fprintf(w, "  %s%-22s %s\n", ok(true), f.Role, f.Path)
		} else {
			fmt.Fprintf(w, "  %s%-22s %s: %s\n", ok(false), f.Role, f.Path, f.Error)
		}
	}
	fmt.Fprintln(w, "\nModel")
	if len(r.Model.Bundles) == 0 {
		fmt.Fprintf(w, "  %sno model installed in %s: run `viettts-studio model download` (asks you to accept the CC BY-NC licence)\n", ok(false), r.Model.Folder)
		fmt.Fprintln(w, "        or `viettts-studio model install --from DIR` with the official VietTTS files")
	} else {
		for _, b := range r.Model.Bundles {
			fmt.Fprintf(w, "  %s%s (check it with `viettts-studio model verify`)\n", ok(true), b)
		}
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w, "\nProblems")
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}
}
