package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/checkpoint/checkpointtest"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/download"
)

// runIn runs the CLI with VIETTTS_STUDIO_HOME=home.
func runIn(t *testing.T, home, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("VIETTTS_STUDIO_HOME", home)
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestModelBuildRandomInfoAndVerify(t *testing.T) {
	home := t.TempDir()
	out := filepath.Join(t.TempDir(), "tiny")
	stdout, stderr, code := runIn(t, home, "", "model", "build-random", "--dims", "tiny", "--out", out, "--seed", "4")
	if code != 0 || !strings.Contains(stdout, "built random-tiny") {
		t.Fatalf("code %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = runIn(t, home, "", "model", "info", "--dir", out, "--json")
	var m bundle.Manifest
	if code != 0 || json.Unmarshal([]byte(stdout), &m) != nil || m.Seed != 4 || len(m.Graphs) == 0 {
		t.Fatalf("code %d\n%s%s", code, stdout, stderr)
	}
	if stdout, _, code = runIn(t, home, "", "model", "info", "--dir", out); code != 0 || !strings.Contains(stdout, "random (seed 4)") {
		t.Fatalf("info:\n%s", stdout)
	}
	if stdout, stderr, code = runIn(t, home, "", "model", "verify", "--dir", out); code != 0 || !strings.Contains(stdout, "intact") {
		t.Fatalf("code %d\n%s%s", code, stdout, stderr)
	}
	p := filepath.Join(out, "hift.onnx")
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 0x55
	os.WriteFile(p, data, 0o644)
	_, stderr, code = runIn(t, home, "", "model", "verify", "--dir", out)
	if code != 1 || !strings.Contains(stderr, "graph hift.onnx is corrupt (sha256 mismatch)") {
		t.Fatalf("code %d\n%s", code, stderr)
	}
}

func TestModelCommandsWithoutAModelSayHowToGetOne(t *testing.T) {
	_, stderr, code := runIn(t, t.TempDir(), "", "model", "info")
	if code != 1 || !strings.Contains(stderr, "model download") {
		t.Fatalf("code %d\n%s", code, stderr)
	}
	_, stderr, code = runIn(t, t.TempDir(), "", "model", "install")
	if code != 2 || !strings.Contains(stderr, "--from DIR is required") {
		t.Fatalf("code %d\n%s", code, stderr)
	}
}

// tinyOfficialFolder writes the published file set at tiny size: the three checkpoints (PyTorch
// format), config.yaml, a tokenizer and a voice sample.
func tinyOfficialFolder(t *testing.T) string {
	t.Helper()
	d := compiler.TinyDims()
	dir := t.TempDir()
	for name, specs := range map[string][]compiler.ParamSpec{
		compiler.FileLLM: compiler.LLMSpecs(d), compiler.FileFlow: compiler.FlowSpecs(d), compiler.FileHiFT: compiler.HiFTCheckpointSpecs(d),
	} {
		w := compiler.RandomWeights(specs, 1, nil).(checkpointtest.Tensors)
		if err := checkpointtest.Write(filepath.Join(dir, name), w); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf("sample_rate: %d\ntext_encoder_input_size: %d\nllm_input_size: %d\nllm_output_size: %d\nspk_embed_dim: %d\n"+
		"llm: !new:viettts.llm.llm.TransformerLM\n    text_token_size: %d\n    speech_token_size: %d\n",
		d.SampleRate, d.LLM.TextEmbed, d.LLM.Model, d.LLM.Model, d.SpeakerEmbed, d.LLM.TextVocab, d.SpeechTokens)
	os.WriteFile(filepath.Join(dir, compiler.FileConfig), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(dir, compiler.FileTokenizer), []byte("IQ== 0\nIg== 1\n"), 0o644)
	return dir
}

func TestModelInstallFromAFolder(t *testing.T) {
	home := t.TempDir()
	src := tinyOfficialFolder(t)
	os.MkdirAll(filepath.Join(src, "samples"), 0o755)
	os.WriteFile(filepath.Join(src, "samples", "quynh.wav"), []byte("RIFF"), 0o644)
	stdout, stderr, code := runIn(t, home, "", "model", "install", "--from", src, "--dims", "tiny")
	if code != 0 || !strings.Contains(stdout, "installed dangvansam/viet-tts") {
		t.Fatalf("code %d\n%s%s", code, stdout, stderr)
	}
	stdout, _, code = runIn(t, home, "", "model", "info")
	for _, want := range []string{"dangvansam/viet-tts", "CC-BY-NC-4.0", "llm_prefill", "hift", "voices    1 quynh", "source    llm.pt"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("info lacks %q:\n%s", want, stdout)
		}
	}
	if _, stderr, code = runIn(t, home, "", "model", "verify"); code != 0 {
		t.Fatalf("verify: %s", stderr)
	}
}

// hfServer serves dir like Hugging Face's resolve endpoint, publishing LFS hashes.
func hfServer(t *testing.T, dir string, requests *int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*requests++
		name, ok := strings.CutPrefix(r.URL.Path, "/"+download.Repo+"/resolve/main/")
		if !ok {
			name, ok = strings.CutPrefix(r.URL.Path, "/tokenizer/")
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.Base(name)))
		if !ok || err != nil {
			http.NotFound(w, r)
			return
		}
		sum, _, _ := bundle.HashFile(r.Context(), filepath.Join(dir, filepath.Base(name)))
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestModelDownloadNeedsTheLicenceAccepted(t *testing.T) {
	requests := 0
	srv := hfServer(t, t.TempDir(), &requests)
	t.Setenv("HF_ENDPOINT", srv.URL)
	_, stderr, code := runIn(t, t.TempDir(), "", "model", "download")
	if code != 2 || !strings.Contains(stderr, "CC BY-NC") || !strings.Contains(stderr, "--accept-license") || requests != 0 {
		t.Fatalf("code %d, %d requests\n%s", code, requests, stderr)
	}
}

func TestModelDownloadFetchesVerifiesAndInstalls(t *testing.T) {
	src := tinyOfficialFolder(t)
	requests := 0
	srv := hfServer(t, src, &requests)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("VIETTTS_TOKENIZER_URL", srv.URL+"/tokenizer/"+compiler.FileTokenizer)
	// The published hashes are those of the real 2.3 GB files; this server has tiny ones, so the
	// table's hashes give way to the ones the server publishes.
	orig := officialFiles
	officialFiles = func(endpoint, tok string) []download.File {
		var out []download.File
		for _, f := range orig(endpoint, tok) {
			if f.Name == compiler.FileSpeechTokenizer || f.Name == compiler.FileSpeechEmbedding {
				continue
			}
			f.SHA256, f.Size = "", 0
			out = append(out, f)
		}
		return out
	}
	t.Cleanup(func() { officialFiles = orig })
	home := t.TempDir()
	stdout, stderr, code := runIn(t, home, "", "model", "download", "--accept-license", "--dims", "tiny")
	if code != 0 || !strings.Contains(stdout, "installed dangvansam/viet-tts") || !strings.Contains(stderr, "llm.pt: ") {
		t.Fatalf("code %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code = runIn(t, home, "", "model", "verify"); code != 0 {
		t.Fatalf("verify: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(home, "cache", "downloads", "viet-tts", "llm.pt")); !os.IsNotExist(err) {
		t.Fatalf("downloads kept without --keep-downloads: %v", err)
	}
}
