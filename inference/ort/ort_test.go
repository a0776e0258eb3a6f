package ort

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindLibraryHonoursTheEnvironmentVariable(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, LibraryName())
	if err := os.WriteFile(lib, []byte("\x7fELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvLibrary, dir)
	got, _, err := FindLibrary("")
	if err != nil || got != lib {
		t.Fatalf("FindLibrary = %q, %v; want %q", got, err, lib)
	}
}

func TestFindLibraryNamesWhereItLookedWhenTheSettingIsWrong(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "nope", LibraryName())
	_, searched, err := FindLibrary(bad)
	if !errors.Is(err, ErrNoLibrary) {
		t.Fatalf("err = %v; want ErrNoLibrary", err)
	}
	if len(searched) != 1 || searched[0] != bad || !strings.Contains(err.Error(), "setting") {
		t.Fatalf("searched %v, err %v", searched, err)
	}
}

func TestFindLibraryFindsTheCheckoutsLibFolder(t *testing.T) {
	t.Setenv(EnvLibrary, "")
	p, _, err := FindLibrary("")
	if err != nil {
		t.Fatalf("run `tools/setup.sh ort` first: %v", err)
	}
	if !strings.Contains(p, filepath.Join("lib", platformDir())) {
		t.Fatalf("found %s, not the checkout's lib folder", p)
	}
}

func TestInitRejectsAFileThatIsNotALibrary(t *testing.T) {
	bad := filepath.Join(t.TempDir(), LibraryName())
	os.WriteFile(bad, []byte("this is not a shared library"), 0o644)
	err := checkLibraryFile(bad)
	if err == nil || !strings.Contains(err.Error(), "not a shared library") {
		t.Fatalf("err = %v", err)
	}
}

// With the real library: Init works, reports 1.29.0, and the probe finds CPU and explains CUDA.
func TestInitAndProbeWithTheRealLibrary(t *testing.T) {
	if err := Init(""); err != nil {
		t.Fatalf("run `tools/setup.sh ort` first: %v", err)
	}
	if err := Init("/does/not/matter"); err != nil {
		t.Fatalf("second Init: %v", err)
	}
	if v := Version(); v != WantVersion {
		t.Fatalf("ONNX Runtime version %q, want %s", v, WantVersion)
	}
	st := Probe(0)
	if Select(st) == "" {
		t.Fatal("no provider selected")
	}
	for _, s := range st {
		if s.Provider == CPU && !s.Available {
			t.Fatal("CPU provider unavailable")
		}
		if !s.Available && s.Reason == "" {
			t.Fatalf("%s unavailable without a reason", s.Provider)
		}
		// The reason and the fix are codes of ProviderReasons whose text is the English one.
		if !s.Available {
			if _, ok := ProviderReasons[s.Why.Code]; !ok || s.Why.Text != s.Reason || strings.ContainsAny(s.Reason, "{}") {
				t.Errorf("%s: reason %q has the code %+v", s.Provider, s.Reason, s.Why)
			}
			if s.Fix != "" {
				if _, ok := ProviderReasons[s.How.Code]; !ok || s.How.Text != s.Fix || strings.ContainsAny(s.Fix, "{}") {
					t.Errorf("%s: fix %q has the code %+v", s.Provider, s.Fix, s.How)
				}
			}
		}
	}
	if _, err := os.Stat("/dev/nvidiactl"); err != nil {
		for _, s := range st {
			if s.Provider == CUDA && s.Available {
				t.Fatal("CUDA reported available on a machine without an NVIDIA device")
			}
		}
		if Select(st) != CPU {
			t.Fatalf("selected %s without a GPU", Select(st))
		}
	}
}

func TestProbeModelRunsOnCPU(t *testing.T) {
	if err := Init(""); err != nil {
		t.Fatal(err)
	}
	if err := trySession(nil); err != nil {
		t.Fatalf("the probe model does not load: %v", err)
	}
}
