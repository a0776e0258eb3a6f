package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// build writes a small bundle into dir with two graphs, a tokenizer and a voice.
func build(t *testing.T, dir string, graphData string) *Manifest {
	t.Helper()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteGraph(GraphFlowEstimator, "fp32", []byte("estimator "+graphData)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteGraph(GraphHiFT, "fp32", []byte("hift "+graphData)); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "multilingual.tiktoken")
	os.WriteFile(src, []byte("IQ== 0\nIg== 1\n"), 0o644)
	if _, err := w.CopyFile(t.Context(), src, "tokenizer.tiktoken", RoleTokenizer, "", nil); err != nil {
		t.Fatal(err)
	}
	fw, err := w.CreateFile("voices/nu.wav", RoleVoice)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte("RIFF...."))
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{ModelID: "random-tiny", Compiler: "test", Random: true, Seed: 1,
		Dims: json.RawMessage(`{"mel_bins":80}`), Tokenizer: "tokenizer.tiktoken", License: "none",
		Voices: []Voice{{ID: "nu", Path: "voices/nu.wav"}}}
	if err := w.Commit(m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestACommittedBundleOpensAndVerifies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "models", "viettts")
	build(t, dir, "v1")
	b, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Manifest.GraphNames(); strings.Join(got, ",") != "flow_estimator,hift" {
		t.Fatalf("graphs %v", got)
	}
	p, err := b.GraphPath(GraphHiFT)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(p); string(data) != "hift v1" {
		t.Fatalf("hift graph holds %q", data)
	}
	if _, err := b.GraphPath(GraphLLMDecode); err == nil || !strings.Contains(err.Error(), "has no graph llm_decode") {
		t.Fatalf("missing graph: %v", err)
	}
	if data, _ := os.ReadFile(b.TokenizerPath()); !strings.HasPrefix(string(data), "IQ==") {
		t.Fatalf("tokenizer holds %q", data)
	}
	var calls int
	if err := VerifyContext(t.Context(), dir, func(string, int64, int64) { calls++ }); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("verify reported no progress")
	}
	if _, err := os.Stat(dir + partialSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staging folder left behind: %v", err)
	}
	if b.Manifest.Format != FormatVersion || b.Manifest.Created.IsZero() {
		t.Fatalf("manifest not completed: %+v", b.Manifest)
	}
}

func TestVerifyNamesACorruptGraph(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viettts")
	build(t, dir, "v1")
	p := filepath.Join(dir, "flow_estimator.onnx")
	data, _ := os.ReadFile(p)
	data[0] ^= 0xff // same size: Open cannot tell, Verify must
	os.WriteFile(p, data, 0o644)
	if _, err := Open(dir); err != nil {
		t.Fatalf("Open checks sizes only, got %v", err)
	}
	err := Verify(dir)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "graph flow_estimator.onnx is corrupt (sha256 mismatch)") ||
		!strings.Contains(err.Error(), "reinstall") {
		t.Fatalf("got %v", err)
	}
}

func TestOpenNoticesMissingAndTruncatedFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viettts")
	build(t, dir, "v1")
	os.Remove(filepath.Join(dir, "voices", "nu.wav"))
	os.WriteFile(filepath.Join(dir, "hift.onnx"), []byte("hi"), 0o644)
	_, err := Open(dir)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"voice voices/nu.wav is missing", "graph hift.onnx has 2 bytes, the manifest says 7"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
}

func TestAnInterruptedBuildIsNeverABundleAndStartsOver(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viettts")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteGraph(GraphHiFT, "fp32", []byte("half")); err != nil {
		t.Fatal(err)
	}
	// The process dies here: no Commit, no Abort.
	_, err = Open(dir)
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("got %v", err)
	}
	// The next install removes the leftovers and succeeds.
	build(t, dir, "v2")
	if err := Verify(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hift.onnx")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "hift.onnx")); string(data) != "hift v2" {
		t.Fatalf("hift.onnx holds %q", data)
	}
}

func TestAbortRemovesTheStagingFolderAndKeepsTheOldBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viettts")
	build(t, dir, "v1")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteGraph(GraphHiFT, "fp32", []byte("new"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + partialSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staging left: %v", err)
	}
	if err := Verify(dir); err != nil {
		t.Fatalf("old bundle damaged by an aborted install: %v", err)
	}
}

func TestCommitReplacesAnOlderBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viettts")
	build(t, dir, "v1")
	build(t, dir, "v2")
	if data, _ := os.ReadFile(filepath.Join(dir, "hift.onnx")); string(data) != "hift v2" {
		t.Fatalf("hift.onnx holds %q", data)
	}
	if _, err := os.Stat(dir + oldSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("previous bundle left behind: %v", err)
	}
}

func TestACrashDuringTheSwapKeepsTheOldBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viettts")
	build(t, dir, "v1")
	// Commit moved the old bundle aside and died before moving the new one in.
	os.Rename(dir, dir+oldSuffix)
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := Verify(dir); err != nil {
		t.Fatalf("old bundle not recovered: %v", err)
	}
}

func TestRejectsManifestsThatPointOutsideTheBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viettts")
	build(t, dir, "v1")
	m, _ := ReadManifest(dir)
	m.Files = append(m.Files, File{Path: "../../etc/passwd", Size: 1, SHA256: strings.Repeat("0", 64)})
	b, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644)
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "not inside the bundle") {
		t.Fatalf("got %v", err)
	}
	os.WriteFile(filepath.Join(dir, ManifestFile), []byte("{"), 0o644)
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
}

func TestNoBundleSaysHowToInstallOne(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "model download") {
		t.Fatalf("got %v", err)
	}
}

func TestVerifyStopsWhenCanceled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viettts")
	build(t, dir, "v1")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := VerifyContext(ctx, dir, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestNeverReplacesAFolderThatIsNotABundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Documents")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "novel.docx"), []byte("precious"), 0o644)
	_, err := Create(dir)
	if err == nil || !strings.Contains(err.Error(), "not a model bundle") {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "novel.docx")); string(b) != "precious" {
		t.Fatal("user file touched")
	}
	// An empty folder is fine.
	empty := filepath.Join(t.TempDir(), "empty")
	os.MkdirAll(empty, 0o755)
	build(t, empty, "v1")
	if err := Verify(empty); err != nil {
		t.Fatal(err)
	}
}

// A bundle written by another version of the app, in another format, is refused as outdated (not
// as damaged), with what to do.
func TestABundleOfAnotherFormatIsOutdated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "viettts")
	build(t, dir, "v1")
	path := filepath.Join(dir, ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["format"] = FormatVersion - 1
	data, _ = json.Marshal(m)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir)
	if !errors.Is(err, ErrOutdated) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "model rebuild") {
		t.Fatalf("got %v", err)
	}
}
