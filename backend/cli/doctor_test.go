package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/system"
)

// run runs the CLI as the binary would, with VIETTTS_STUDIO_HOME in a temp dir.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("VIETTTS_STUDIO_HOME", t.TempDir())
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestHelpListsTheCommands(t *testing.T) {
	out, _, code := run(t, "", "--help")
	if code != 0 || !strings.Contains(out, "doctor") || !strings.Contains(out, "version") {
		t.Fatalf("code %d, help:\n%s", code, out)
	}
}

func TestUnknownCommandFailsWithUsage(t *testing.T) {
	_, errOut, code := run(t, "", "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("code %d, stderr:\n%s", code, errOut)
	}
}

func TestVersionPrintsTheVersion(t *testing.T) {
	out, _, code := run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "viettts-studio ") {
		t.Fatalf("code %d, out %q", code, out)
	}
}

// On a machine like CI's (no GPU) doctor reports ONNX Runtime 1.29.0 with the CPU provider, no
// GPU, and says how to get GPU synthesis.
func TestDoctorOnAMachineWithoutGPU(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this machine has an NVIDIA GPU; the GPU report is checked by make gpu-check")
	}
	out, errOut, code := run(t, "", "doctor")
	if code != 0 {
		t.Fatalf("doctor exited %d:\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"version 1.29.0", "cpu  (selected)", "no NVIDIA GPU", "libcudnn.so.9",
		"To synthesize on an NVIDIA GPU", "LD_LIBRARY_PATH", "no model installed"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	js, _, code := run(t, "", "doctor", "--json")
	var r system.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil || code != 0 {
		t.Fatalf("doctor --json: code %d, %v\n%s", code, err, js)
	}
	if r.ORT.Version != "1.29.0" || r.Selected != "cpu" || len(r.GPU.Devices) != 0 {
		t.Fatalf("report %+v", r)
	}
}

func TestDoctorFailsClearlyWithAWrongLibrary(t *testing.T) {
	t.Setenv("VIETTTS_ORT_LIB", "/nonexistent/libonnxruntime.so.1")
	r := system.Diagnose(mustDirs(t))
	if r.ORT.Error == "" || !strings.Contains(r.ORT.Error, "VIETTTS_ORT_LIB") {
		t.Fatalf("error %q does not name the variable to fix", r.ORT.Error)
	}
}

func mustDirs(t *testing.T) home.Dirs {
	t.Helper()
	t.Setenv("VIETTTS_STUDIO_HOME", t.TempDir())
	d, err := home.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Every command and model subcommand answers -h with its usage and exit status 0 (nothing else
// runs), and a flag it does not know with status 2.
func TestEveryCommandAnswersHelp(t *testing.T) {
	cmds := [][]string{{"model", "install"}, {"model", "download"}, {"model", "rebuild"}, {"model", "remove-source"},
		{"model", "verify"}, {"model", "info"}, {"model", "build-random"}}
	for _, c := range commands() {
		if c.Name != "model" && c.Name != "version" {
			cmds = append(cmds, []string{c.Name})
		}
	}
	for _, args := range cmds {
		_, errOut, code := run(t, "", append(slices.Clone(args), "-h")...)
		if code != 0 || !strings.Contains(errOut, "usage: viettts-studio "+strings.Join(args, " ")) {
			t.Errorf("%v -h: code %d, stderr:\n%s", args, code, errOut)
		}
		_, errOut, code = run(t, "", append(slices.Clone(args), "--no-such-flag")...)
		if code != 2 || !strings.Contains(errOut, "no-such-flag") {
			t.Errorf("%v --no-such-flag: code %d, stderr:\n%s", args, code, errOut)
		}
	}
}
