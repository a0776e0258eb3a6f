package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/download"
	"github.com/viettts-studio/studio/inference/tinymodel"
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

// tinyOfficialFolder writes the published file set at the tiny test dimensions (tinymodel.WriteCheckpoint)
// into a temporary folder.
func tinyOfficialFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := tinymodel.WriteCheckpoint(dir); err != nil {
		t.Fatal(err)
	}
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

// hfRequests counts the requests a fake Hugging Face answered, by method.
type hfRequests struct {
	mu      sync.Mutex
	methods map[string]int
}

func (h *hfRequests) count(method string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if method == "" {
		n := 0
		for _, c := range h.methods {
			n += c
		}
		return n
	}
	return h.methods[method]
}

// hfServer serves dir like Hugging Face's resolve endpoint, publishing LFS hashes.
func hfServer(t *testing.T, dir string, requests *hfRequests) *httptest.Server {
	requests.methods = map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.mu.Lock()
		requests.methods[r.Method]++
		requests.mu.Unlock()
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
	var requests hfRequests
	srv := hfServer(t, t.TempDir(), &requests)
	t.Setenv("HF_ENDPOINT", srv.URL)
	_, stderr, code := runIn(t, t.TempDir(), "", "model", "download")
	if code != 2 || !strings.Contains(stderr, "CC BY-NC") || !strings.Contains(stderr, "--accept-license") || requests.count("") != 0 {
		t.Fatalf("code %d, %d requests\n%s", code, requests.count(""), stderr)
	}
}

// tinyOfficialServer serves a tiny checkpoint as Hugging Face would and points the download at it.
func tinyOfficialServer(t *testing.T, requests *hfRequests) *httptest.Server {
	src := tinyOfficialFolder(t)
	srv := hfServer(t, src, requests)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("VIETTTS_TOKENIZER_URL", srv.URL+"/tokenizer/"+compiler.FileTokenizer)
	// The published hashes are those of the real 2.3 GB files; this server has tiny ones, so the
	// table's hashes give way to the ones the server publishes.
	orig := officialFiles
	officialFiles = func(endpoint, tok string) []download.File { return tinymodel.OfficialFiles(orig(endpoint, tok)) }
	t.Cleanup(func() { officialFiles = orig })
	return srv
}

// outdate rewrites the manifest of the bundle in dir as an older version of the app wrote it.
func outdate(t *testing.T, dir string) {
	t.Helper()
	if err := tinymodel.Outdate(dir); err != nil {
		t.Fatal(err)
	}
}

func TestModelDownloadFetchesVerifiesAndInstalls(t *testing.T) {
	var requests hfRequests
	tinyOfficialServer(t, &requests)
	home := t.TempDir()
	stdout, stderr, code := runIn(t, home, "", "model", "download", "--accept-license", "--dims", "tiny")
	if code != 0 || !strings.Contains(stdout, "installed dangvansam/viet-tts") || !strings.Contains(stderr, "llm.pt: ") {
		t.Fatalf("code %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code = runIn(t, home, "", "model", "verify"); code != 0 {
		t.Fatalf("verify: %s", stderr)
	}
	kept := filepath.Join(home, "cache", "downloads", "viet-tts")
	if _, err := os.Stat(filepath.Join(kept, "llm.pt")); err != nil {
		t.Fatalf("the download was not kept: %v", err)
	}
	// A second download finds the files there and intact, and transfers nothing.
	gets := requests.count(http.MethodGet)
	_, stderr, code = runIn(t, home, "", "model", "download", "--accept-license", "--dims", "tiny")
	if code != 0 || !strings.Contains(stderr, "llm.pt: already downloaded and verified") || requests.count(http.MethodGet) != gets {
		t.Fatalf("code %d, %d files fetched again\n%s", code, requests.count(http.MethodGet)-gets, stderr)
	}
	_, stderr, code = runIn(t, home, "", "model", "download", "--accept-license", "--dims", "tiny", "--keep-downloads=false")
	if _, err := os.Stat(kept); code != 0 || !os.IsNotExist(err) {
		t.Fatalf("downloads kept with --keep-downloads=false (code %d, %v)\n%s", code, err, stderr)
	}
}

// After an update that changes the bundle format, `model rebuild` compiles the kept download
// again with the network gone; `model remove-source` deletes it, and a rebuild then says to
// download again.
func TestModelRebuildCompilesTheKeptDownloadWithoutTheNetwork(t *testing.T) {
	var requests hfRequests
	srv := tinyOfficialServer(t, &requests)
	home := t.TempDir()
	if stdout, stderr, code := runIn(t, home, "", "model", "download", "--accept-license", "--dims", "tiny"); code != 0 {
		t.Fatalf("code %d\n%s%s", code, stdout, stderr)
	}
	kept := filepath.Join(home, "cache", "downloads", "viet-tts")
	stdout, _, _ := runIn(t, home, "", "model", "info")
	if !strings.Contains(stdout, "kept      "+kept) || !strings.Contains(stdout, "model remove-source") {
		t.Fatalf("info does not tell about the kept download:\n%s", stdout)
	}
	model := filepath.Join(home, "cache", "models", "viet-tts")
	outdate(t, model)
	_, stderr, code := runIn(t, home, "", "model", "info")
	if code != 1 || !strings.Contains(stderr, "`viettts-studio model rebuild` compiles it again without downloading") {
		t.Fatalf("info on an outdated bundle: code %d\n%s", code, stderr)
	}

	srv.Close()
	before := requests.count("")
	stdout, stderr, code = runIn(t, home, "", "model", "rebuild")
	if code != 0 || !strings.Contains(stdout, "rebuilt dangvansam/viet-tts") || !strings.Contains(stdout, "from the kept download in "+kept) {
		t.Fatalf("rebuild: code %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "[1/") || !strings.Contains(stderr, "hashing llm.pt") || requests.count("") != before {
		t.Errorf("rebuild progress or network use (%d requests):\n%s", requests.count("")-before, stderr)
	}
	if _, stderr, code = runIn(t, home, "", "model", "verify"); code != 0 {
		t.Fatalf("verify after the rebuild: %s", stderr)
	}
	m, err := bundle.ReadManifest(model)
	if err != nil || m.Format != bundle.FormatVersion {
		t.Fatalf("rebuilt manifest: %v", err)
	}
	if d, err := compiler.DimsOf(m); err != nil || d.LLM.Model != compiler.TinyDims().LLM.Model {
		t.Errorf("rebuilt at other dimensions: %v", err)
	}

	stdout, stderr, code = runIn(t, home, "", "model", "remove-source")
	if code != 0 || !strings.Contains(stdout, "removed the kept download in "+kept) || !strings.Contains(stdout, "model download` again") {
		t.Fatalf("remove-source: code %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(kept); !os.IsNotExist(err) {
		t.Fatalf("the download is still there: %v", err)
	}
	outdate(t, model)
	_, stderr, code = runIn(t, home, "", "model", "rebuild")
	if code != 1 || !strings.Contains(stderr, "no checkpoint is kept") || !strings.Contains(stderr, "model download") {
		t.Fatalf("rebuild without a checkpoint: code %d\n%s", code, stderr)
	}
}

func TestModelRebuildUsesTheFolderOfTheLastInstallAndSaysHowToFreeSpace(t *testing.T) {
	home := t.TempDir()
	src := tinyOfficialFolder(t)
	if stdout, stderr, code := runIn(t, home, "", "model", "install", "--from", src, "--dims", "tiny"); code != 0 {
		t.Fatalf("code %d\n%s%s", code, stdout, stderr)
	}
	outdate(t, filepath.Join(home, "cache", "models", "viet-tts"))
	stdout, stderr, code := runIn(t, home, "", "model", "rebuild")
	if code != 0 || !strings.Contains(stdout, "from your folder "+src) {
		t.Fatalf("rebuild: code %d\n%s%s", code, stdout, stderr)
	}
	if stdout, _, code = runIn(t, home, "", "model", "rebuild"); code != 0 || !strings.Contains(stdout, "already built from your folder "+src+" by this version: nothing to rebuild") {
		t.Fatalf("rebuilding an up-to-date bundle: code %d\n%s", code, stdout)
	}
	_, stderr, code = runIn(t, home, "", "model", "rebuild", "--help")
	if code != 0 || !strings.Contains(stderr, "model remove-source") || !strings.Contains(stderr, "-dims") {
		t.Fatalf("rebuild --help: code %d\n%s", code, stderr)
	}
	stdout, _, code = runIn(t, home, "", "model", "remove-source")
	if _, err := os.Stat(filepath.Join(src, "llm.pt")); code != 0 || err != nil || !strings.Contains(stdout, "your folder "+src+", which is left as it is") {
		t.Fatalf("remove-source with a folder install: code %d, %v\n%s", code, err, stdout)
	}
}
