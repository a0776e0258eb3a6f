package cli

import (
	"github.com/viettts-studio/studio/backend/narration"
	"github.com/viettts-studio/studio/inference/tinymodel"

	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/viettts-studio/studio/backend/audio"
	"github.com/viettts-studio/studio/backend/document"
	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/viettts"
)

var (
	tinyOnce sync.Once
	tinyDir  string
	tinyErr  error
	tinyRoot string
)

// TestMain removes the shared tiny bundle after the package's tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if tinyRoot != "" {
		os.RemoveAll(tinyRoot)
	}
	os.Exit(code)
}

// tinyModel builds, once per test binary, a tiny random-weight bundle (inference/tinymodel) with
// the real tokenizer ranks and two random 5 s voices, lan and minh.
func tinyModel(t *testing.T) string {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Skipf("ONNX Runtime not available (%v): run tools/setup.sh ort", err)
	}
	ranks := tinymodel.FindRanks()
	if ranks == "" {
		t.Skip(tinymodel.RanksHint)
	}
	tinyOnce.Do(func() {
		root, err := os.MkdirTemp("", "cli-tiny-")
		if err != nil {
			tinyErr = err
			return
		}
		tinyRoot = root
		tinyDir = filepath.Join(root, "bundle")
		tinyErr = tinymodel.Build(context.Background(), tinyDir, tinymodel.Options{Ranks: ranks, Seed: 3, VoiceTokens: 125})
	})
	if tinyErr != nil {
		t.Fatalf("compile the tiny bundle: %v", tinyErr)
	}
	return tinyDir
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(t.Context(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func makeDocx(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("pandoc"); err != nil {
		t.Skip("pandoc not installed: run tools/setup.sh test")
	}
	dir := t.TempDir()
	md := filepath.Join(dir, "truyen.md")
	os.WriteFile(md, []byte("# Chương một\n\nXin chào Việt Nam. Hôm nay trời đẹp.\n\n# Chương hai\n\nChúng tôi có 3 con mèo.\n"), 0o644)
	docx := filepath.Join(dir, "truyen.docx")
	if out, err := exec.Command("pandoc", md, "-o", docx).CombinedOutput(); err != nil {
		t.Fatalf("pandoc: %v\n%s", err, out)
	}
	return docx
}

// wavSamples reads the 16-bit PCM data of a WAV file written by convert, checking its header.
func wavSamples(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("%s is not a canonical WAV file", path)
	}
	if ch, rate, bits := binary.LittleEndian.Uint16(b[22:]), binary.LittleEndian.Uint32(b[24:]), binary.LittleEndian.Uint16(b[34:]); ch != 1 || rate != 22050 || bits != 16 {
		t.Fatalf("WAV is %d ch %d Hz %d bit, want mono 22050 Hz 16 bit", ch, rate, bits)
	}
	if n := binary.LittleEndian.Uint32(b[40:]); int(n) != len(b)-44 {
		t.Fatalf("data chunk says %d bytes, file has %d", n, len(b)-44)
	}
	return b[44:]
}

func TestConvertNarratesADocxIntoAWavWhoseLengthFollowsTheTokens(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	model := tinyModel(t)
	docx := makeDocx(t)
	out1 := filepath.Join(t.TempDir(), "a.wav")
	code, _, stderr := runCLI(t, "convert", docx, "--bundle", model, "--provider", "cpu", "--voice", "minh", "--seed", "5", "--max-speech-tokens", "40", "--format", "wav", "--rate", "22050", "--loudness", "off", "--trim=false", "--out", out1)
	if code != 0 {
		t.Fatalf("convert exited %d: %s", code, stderr)
	}
	pcm := wavSamples(t, out1)

	// The expected length: for each segment, int(N·22050/25/256)·256 samples for its N speech
	// tokens, plus the pause after it. The engine is deterministic in the seed, so running the same
	// segments through it gives the token counts convert saw.
	doc, err := document.Import(t.Context(), docx, document.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := viettts.New(t.Context(), model, viettts.Options{Session: ort.SessionConfig{Provider: ort.CPU}, MaxSpeechTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	chapters := documentSegments(doc, e.Tokenizer())
	book := &audio.Book{}
	nsegs := 0
	for _, c := range chapters {
		ch := audio.Chapter{Title: c.Title}
		for i, s := range c.Segments {
			a, err := e.Synthesize(t.Context(), inference.Request{ID: "x", Text: s.Spoken, Voice: "minh", Speed: 1, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			n := int(float64(a.Tokens)/25*22050/256) * 256
			if len(a.Samples) != n {
				t.Errorf("segment %d: %d samples for %d tokens, want %d", i, len(a.Samples), a.Tokens, n)
			}
			ch.Segments = append(ch.Segments, audio.Segment{Break: narration.AudioBreak(s.Pause), Audio: audio.SourceFunc(func(context.Context) ([]float32, error) {
				return make([]float32, n), nil
			})})
			nsegs++
		}
		book.Chapters = append(book.Chapters, ch)
	}
	if len(book.Chapters) != 2 || nsegs < 4 {
		t.Fatalf("%d chapters and %d segments from the docx, want 2 chapters and ≥ 4 segments", len(book.Chapters), nsegs)
	}
	// The segments laid out with the audio package's pauses, as the export does.
	tl, err := audio.Assemble(t.Context(), book, audio.Settings{}, func(int, []float32) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := int64(len(pcm) / 2); got != tl.Length {
		t.Errorf("WAV has %d samples, want %d from the token counts and pauses", got, tl.Length)
	}

	// The same seed again: byte-identical; another seed: different.
	out2 := filepath.Join(t.TempDir(), "b.wav")
	if code, _, stderr := runCLI(t, "convert", "--bundle", model, "--provider", "cpu", "--voice", "minh", "--seed", "5", "--max-speech-tokens", "40", "--format", "wav", "--rate", "22050", "--loudness", "off", "--trim=false", "--out", out2, docx); code != 0 {
		t.Fatalf("convert exited %d: %s", code, stderr)
	}
	b1, _ := os.ReadFile(out1)
	b2, _ := os.ReadFile(out2)
	if !bytes.Equal(b1, b2) {
		t.Error("the same seed gave different files")
	}
	out3 := filepath.Join(t.TempDir(), "c.wav")
	if code, _, stderr := runCLI(t, "convert", docx, "--bundle", model, "--provider", "cpu", "--voice", "minh", "--seed", "6", "--max-speech-tokens", "40", "--format", "wav", "--rate", "22050", "--loudness", "off", "--trim=false", "--out", out3); code != 0 {
		t.Fatalf("convert exited %d: %s", code, stderr)
	}
	b3, _ := os.ReadFile(out3)
	if bytes.Equal(b1, b3) {
		t.Error("another seed gave the same file")
	}
}

func TestConvertFailsClearlyWithoutAModel(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	tinyModel(t) // ONNX Runtime and ranks present
	docx := makeDocx(t)
	code, _, stderr := runCLI(t, "convert", docx, "--provider", "cpu")
	if code != 1 || !strings.Contains(stderr, "no model installed") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "convert", filepath.Join(t.TempDir(), "missing.docx"))
	if code != 1 || stderr == "" {
		t.Errorf("missing document: exit %d, stderr %q", code, stderr)
	}
}

func TestVoicesListsAndClones(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	model := tinyModel(t)
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox not installed")
	}
	clip := filepath.Join(t.TempDir(), "toi.wav")
	if out, err := exec.Command("sox", "-n", "-r", "44100", "-b", "16", clip, "synth", "4", "sine", "130-170", "tremolo", "3", "50", "vol", "0.5").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	code, stdout, stderr := runCLI(t, "voices", "add", "--bundle", model, "--provider", "cpu", "Giọng Tôi", clip)
	if code != 0 || !strings.Contains(stdout, "giọng-tôi") {
		t.Fatalf("voices add: exit %d, %s %s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "voices", "--bundle", model)
	for _, id := range []string{"lan", "minh", "giọng-tôi"} {
		if code != 0 || !strings.Contains(stdout, id) {
			t.Errorf("voices list misses %s: %s", id, stdout)
		}
	}
	short := filepath.Join(t.TempDir(), "short.wav")
	exec.Command("sox", "-n", "-r", "22050", "-b", "16", short, "synth", "1", "sine", "150").Run()
	code, _, stderr = runCLI(t, "voices", "add", "--bundle", model, "--provider", "cpu", "Ngắn", short)
	if code != 1 || !strings.Contains(stderr, "at least 3 s") {
		t.Errorf("short clip: exit %d, %s", code, stderr)
	}
}

func TestBenchReportsStagesOnATinyBundle(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	model := tinyModel(t)
	code, stdout, stderr := runCLI(t, "bench", "--bundle", model, "--provider", "cpu", "--segments", "1", "--speech-tokens", "20",
		"--decode-steps", "1", "--instances", "1,2")
	if code != 0 {
		t.Fatalf("bench exited %d: %s", code, stderr)
	}
	for _, want := range []string{"llm prefill", "llm decode (per token)", "flow estimator (per step)", "vocoder",
		"host code outside ORT", "RTF", "K=600", "2 instance(s)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("bench output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestHelperCLI runs the CLI with the arguments after "--" when started as a helper process by a
// test that needs a fresh process (ONNX Runtime loads once per process).
func TestHelperCLI(t *testing.T) {
	if os.Getenv("VIETTTS_CLI_HELPER") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(Run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr))
}

func TestConvertWithAWrongOnnxRuntimeLibrarySaysWhatToDo(t *testing.T) {
	docx := makeDocx(t)
	fake := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	os.WriteFile(fake, []byte("not a library"), 0o644)
	for name, env := range map[string]string{"wrong file": fake, "missing file": filepath.Join(t.TempDir(), "none.so")} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCLI$", "--", "convert", docx, "--provider", "cpu")
		cmd.Env = append(os.Environ(), "VIETTTS_CLI_HELPER=1", "VIETTTS_ORT_LIB="+env, home.EnvHome+"="+t.TempDir())
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("%s: err %v, output %s", name, err, out)
		}
		if !strings.Contains(string(out), "ONNX Runtime") || !strings.Contains(string(out), "VIETTTS_ORT_LIB") && !strings.Contains(string(out), "make setup") {
			t.Errorf("%s: the message does not say what to do: %s", name, out)
		}
		t.Logf("%s: %s", name, strings.TrimSpace(string(out)))
	}
}
