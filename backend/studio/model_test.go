package studio

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/download"
	"github.com/viettts-studio/studio/inference/tinymodel"
)

// tinyCheckpoint writes the published file set at the tiny test dimensions (tinymodel.WriteCheckpoint)
// into a temporary folder.
func tinyCheckpoint(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := tinymodel.WriteCheckpoint(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// hfLog counts the requests a fake Hugging Face answered, by method.
type hfLog struct {
	mu      sync.Mutex
	methods map[string]int
}

func (l *hfLog) count(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.methods[method]
}

// hfServer serves dir like Hugging Face's resolve endpoint, publishing the LFS sha256 of each file.
func hfServer(t *testing.T, dir string) (*httptest.Server, *hfLog) {
	log := &hfLog{methods: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.mu.Lock()
		log.methods[r.Method]++
		log.mu.Unlock()
		name, ok := strings.CutPrefix(r.URL.Path, "/"+download.Repo+"/resolve/main/")
		if !ok {
			name, ok = strings.CutPrefix(r.URL.Path, "/tokenizer/")
		}
		path := filepath.Join(dir, filepath.Base(name))
		data, err := os.ReadFile(path)
		if !ok || err != nil {
			http.NotFound(w, r)
			return
		}
		sum, _, _ := bundle.HashFile(r.Context(), path)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	return srv, log
}

// tinyInstalls makes downloads and folder installs compile at the tiny dimensions, and the
// download take the hashes the test server publishes (the table's are those of the real files)
// and skip the publisher's two ONNX models, which the tiny checkpoint does not have.
func tinyInstalls(t *testing.T) {
	d := compiler.TinyDims()
	origFiles, origDims := officialFiles, installDims
	officialFiles = func(endpoint, tok string) []download.File {
		return tinymodel.OfficialFiles(origFiles(endpoint, tok))
	}
	installDims = &d
	t.Cleanup(func() { officialFiles, installDims = origFiles, origDims })
}

// makeOutdated rewrites the bundle's manifest as an older version of the app wrote it.
func makeOutdated(t *testing.T, dir string) {
	t.Helper()
	if err := tinymodel.Outdate(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Open(dir); !errors.Is(err, bundle.ErrOutdated) {
		t.Fatalf("a format-1 manifest opens as %v", err)
	}
}

func sizeOf(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		st, _ := e.Info()
		n += st.Size()
	}
	return n
}

// The scenario of an app update that changes the bundle format, for a narrator on a slow line:
// the download stays, so the outdated bundle is compiled again without the network; once the
// download is removed, the app says to download again.
func TestADownloadedModelIsRebuiltAfterAnUpdateWithoutTheNetwork(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	tinyInstalls(t)
	s, _ := open(t)
	published := tinyCheckpoint(t)
	srv, hf := hfServer(t, published)
	tok := srv.URL + "/tokenizer/" + compiler.FileTokenizer

	m, err := s.DownloadModel(t.Context(), srv.URL, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept := ModelDownloads(s.dirs)
	if !m.Installed || m.Outdated || !m.CanRebuild || !m.SourceDownloaded || m.SourceDir != kept || m.KeptDir != kept {
		t.Fatalf("after the download: %+v", m)
	}
	if want := sizeOf(t, published); m.KeptBytes != want {
		t.Errorf("the kept download takes %d bytes, the published files %d", m.KeptBytes, want)
	}
	for _, name := range []string{compiler.FileLLM, compiler.FileFlow, compiler.FileHiFT, compiler.FileConfig, compiler.FileTokenizer} {
		if _, err := os.Stat(filepath.Join(kept, name)); err != nil {
			t.Errorf("%s was not kept: %v", name, err)
		}
	}

	// Downloading again finds every file there and intact: the server is asked, not read from.
	gets := hf.count(http.MethodGet)
	var stages []string
	if _, err := s.DownloadModel(t.Context(), srv.URL, tok, func(p ModelProgress) { stages = append(stages, p.Stage) }); err != nil {
		t.Fatal(err)
	}
	if got := hf.count(http.MethodGet); got != gets {
		t.Errorf("a second download fetched %d files again", got-gets)
	}
	if strings.Contains(strings.Join(stages, " "), "download") {
		t.Errorf("a second download reported transfers: %v", stages)
	}

	makeOutdated(t, s.dirs.Model())
	m = s.Model()
	if m.Installed || !m.Outdated || !m.CanRebuild || m.SourceDir != kept || !strings.Contains(m.Problem, "older version") {
		t.Fatalf("an outdated bundle with its download kept: %+v", m)
	}

	srv.Close()
	var compiled int
	m, err = s.RebuildModel(t.Context(), func(p ModelProgress) {
		if p.Stage != "compile" {
			t.Errorf("a rebuild reported stage %q", p.Stage)
		}
		compiled++
	})
	if err != nil {
		t.Fatalf("rebuilding without the network: %v", err)
	}
	if !m.Installed || m.Outdated || compiled == 0 {
		t.Fatalf("after the rebuild (%d steps): %+v", compiled, m)
	}
	b, err := bundle.Open(s.dirs.Model())
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Format != bundle.FormatVersion || b.Manifest.ModelID != compiler.ModelID || b.Manifest.Tokenizer == "" {
		t.Errorf("rebuilt manifest: %+v", b.Manifest)
	}
	if d, err := compiler.DimsOf(b.Manifest); err != nil || d.LLM.Model != compiler.TinyDims().LLM.Model {
		t.Errorf("rebuilt at other dimensions than the bundle it replaced: %+v %v", d, err)
	}
	if err := s.VerifyModel(t.Context(), nil); err != nil {
		t.Errorf("the rebuilt bundle does not verify: %v", err)
	}

	freed, err := s.RemoveModelSource()
	if err != nil {
		t.Fatal(err)
	}
	if freed != sizeOf(t, published) {
		t.Errorf("removing the download freed %d bytes, want %d", freed, sizeOf(t, published))
	}
	if _, err := os.Stat(kept); !os.IsNotExist(err) {
		t.Errorf("the download is still there: %v", err)
	}
	m = s.Model()
	if !m.Installed || m.CanRebuild || m.KeptBytes != 0 || m.SourceDir != "" || m.SourceProblem != "" {
		t.Fatalf("after removing the download: %+v", m)
	}

	makeOutdated(t, s.dirs.Model())
	if m = s.Model(); !m.Outdated || m.CanRebuild || !strings.Contains(m.Problem, "download it again") {
		t.Errorf("an outdated bundle without a kept checkpoint: %+v", m)
	}
	_, err = s.RebuildModel(t.Context(), nil)
	if !errors.Is(err, ErrNoModelSource) || !strings.Contains(err.Error(), "download the model again") {
		t.Fatalf("rebuilding without a checkpoint: %v", err)
	}
}

// A model installed from the user's folder is rebuilt from that folder, which the app never
// copies nor deletes; when the folder no longer holds the files, the app says which is missing.
func TestAModelInstalledFromAFolderIsRebuiltFromThatFolder(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	tinyInstalls(t)
	s, _ := open(t)
	folder := tinyCheckpoint(t)
	m, err := s.InstallModel(t.Context(), folder, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Installed || !m.CanRebuild || m.SourceDir != folder || m.SourceDownloaded || m.KeptBytes != 0 {
		t.Fatalf("after installing from a folder: %+v", m)
	}
	makeOutdated(t, s.dirs.Model())
	if m, err = s.RebuildModel(t.Context(), nil); err != nil || !m.Installed {
		t.Fatalf("rebuilding from the folder: %v %+v", err, m)
	}

	// The folder is the user's: removing the kept source leaves it, and the record, alone.
	if freed, err := s.RemoveModelSource(); err != nil || freed != 0 {
		t.Fatalf("removing the source of a folder install: freed %d, %v", freed, err)
	}
	if _, err := os.Stat(filepath.Join(folder, compiler.FileLLM)); err != nil {
		t.Fatalf("the user's folder was touched: %v", err)
	}
	if m = s.Model(); !m.CanRebuild || m.SourceDir != folder {
		t.Fatalf("the folder was forgotten: %+v", m)
	}

	os.Remove(filepath.Join(folder, compiler.FileFlow))
	makeOutdated(t, s.dirs.Model())
	m = s.Model()
	if m.CanRebuild || !strings.Contains(m.SourceProblem, "flow.pt is missing") || !strings.Contains(m.SourceProblem, folder) {
		t.Fatalf("a folder without flow.pt: %+v", m)
	}
	if _, err := s.RebuildModel(t.Context(), nil); !errors.Is(err, ErrNoModelSource) || !strings.Contains(err.Error(), "flow.pt is missing") {
		t.Fatalf("rebuilding from a folder without flow.pt: %v", err)
	}
	os.RemoveAll(folder)
	if m = s.Model(); m.CanRebuild || !strings.Contains(m.SourceProblem, folder+" the model was installed from no longer exists") {
		t.Fatalf("a folder that is gone: %+v", m)
	}
}

// A download that did not finish cannot rebuild the model, and the message says so.
func TestAnUnfinishedDownloadDoesNotRebuild(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, _ := open(t)
	kept := ModelDownloads(s.dirs)
	os.MkdirAll(kept, 0o755)
	for _, name := range []string{compiler.FileFlow, compiler.FileHiFT, compiler.FileConfig, compiler.FileLLM + ".part"} {
		os.WriteFile(filepath.Join(kept, name), []byte("partial"), 0o644)
	}
	m := s.Model()
	if m.CanRebuild || m.KeptBytes != 4*int64(len("partial")) || !strings.Contains(m.SourceProblem, "llm.pt did not finish downloading") {
		t.Fatalf("an unfinished download: %+v", m)
	}
	_, err := s.RebuildModel(t.Context(), nil)
	if !errors.Is(err, ErrNoModelSource) || !strings.Contains(err.Error(), "download the model again") {
		t.Fatalf("rebuilding from an unfinished download: %v", err)
	}
	if _, err := os.Stat(s.dirs.Model()); !os.IsNotExist(err) {
		t.Errorf("a failed rebuild left a model folder: %v", err)
	}
	// A download recorded as the source and then deleted by hand is simply not kept any more.
	if err := RecordSource(s.dirs.Model(), compiler.Source{Dir: kept}, true); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(kept)
	if m = s.Model(); m.CanRebuild || m.SourceDir != "" || m.SourceProblem != "" || m.KeptBytes != 0 {
		t.Errorf("a recorded download deleted by hand: %+v", m)
	}
}
