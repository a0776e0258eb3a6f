package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/audio/player"
	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/studio"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/testengine"
	"github.com/viettts-studio/studio/inference/viettts"
)

// event is one event the app sent to the window.
type event struct {
	name string
	data any
}

// testApp is the bound App over a real studio (SQLite in a temp dir, the test engine) with its
// window events captured instead of sent to Wails.
type testApp struct {
	*App
	mu     sync.Mutex
	events []event
	got    chan struct{}
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	t.Setenv(home.EnvHome, t.TempDir())
	dirs, err := home.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if err := dirs.Ensure(); err != nil {
		t.Fatal(err)
	}
	f := testengine.NewFactory(testengine.Config{Latency: time.Millisecond})
	st, err := studio.Open(t.Context(), dirs, studio.Engines{Factory: f.New, ModelID: "test", Size: 1, Reason: inference.Reason{Text: "test"}, DefaultVoice: "nam"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl := player.New(player.Options{})
	ta := &testApp{App: NewApp(dirs, st, pl, slog.New(slog.DiscardHandler)), got: make(chan struct{}, 100)}
	ta.emit = func(name string, data any) {
		ta.mu.Lock()
		ta.events = append(ta.events, event{name, data})
		ta.mu.Unlock()
		ta.got <- struct{}{}
	}
	t.Cleanup(func() {
		ta.shutdown(context.Background())
		st.Close(context.Background())
		pl.Close()
	})
	return ta
}

// waitFor waits until an event named name has come and returns it.
func (ta *testApp) waitFor(t *testing.T, name string) any {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		ta.mu.Lock()
		for _, e := range ta.events {
			if e.name == name {
				ta.mu.Unlock()
				return e.data
			}
		}
		ta.mu.Unlock()
		select {
		case <-ta.got:
		case <-timeout:
			t.Fatalf("no %q event within 30 s; got %v", name, ta.events)
		}
	}
}

func TestDroppedDocumentsAreImportedAndClipsBecomeVoices(t *testing.T) {
	ta := newTestApp(t)
	doc := filepath.Join(t.TempDir(), "truyen.txt")
	if err := os.WriteFile(doc, []byte("Truyện ngắn\n\nNgày xưa có một cô bé. Cô bé sống bên bờ sông.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clip := filepath.Join(t.TempDir(), "giong.wav")
	if err := os.WriteFile(clip, []byte("RIFF...."), 0o644); err != nil {
		t.Fatal(err)
	}
	ta.onDrop([]string{doc, clip})
	imp := ta.waitFor(t, "import").(ImportResult)
	if imp.Error != "" || imp.ProjectID == 0 || imp.JobID == 0 || imp.Segments == 0 || imp.Path != doc {
		t.Errorf("import of the dropped document: %+v", imp)
	}
	v := ta.waitFor(t, "voice").(VoiceEvent)
	if v.Clip != clip || v.Error == "" || v.Voice != nil {
		t.Errorf("a clip that is not audio, with no model installed: %+v", v)
	}
	jobs, err := ta.Jobs()
	if err != nil || len(jobs) != 1 || jobs[0].Title == "" {
		t.Errorf("jobs after the drop: %+v, %v", jobs, err)
	}
}

func TestDeviceChangeRestartsSynthesisAndReports(t *testing.T) {
	ta := newTestApp(t)
	p, err := ta.Preferences()
	if err != nil {
		t.Fatal(err)
	}
	p.Theme = "light"
	if err := ta.SetPreferences(p); err != nil {
		t.Fatal(err)
	}
	ta.mu.Lock()
	n := len(ta.events)
	ta.mu.Unlock()
	if n != 0 {
		t.Errorf("a theme change restarted synthesis: %v", ta.events)
	}
	p.Instances = "2"
	if err := ta.SetPreferences(p); err != nil {
		t.Fatal(err)
	}
	// no model is installed here: the restart fails and says what to do, and the running engines stay
	e := ta.waitFor(t, "engines").(EnginesEvent)
	if e.Error == "" || !strings.Contains(e.Error, "install") {
		t.Errorf("restart without a model: %+v", e)
	}
	if !e.Running {
		t.Errorf("a failed restart stopped synthesis: %+v", e)
	}
	if err := ta.SetPreferences(studio.Preferences{Language: "de", Theme: "dark", Provider: "auto", Instances: "default"}); err == nil {
		t.Error("an unknown language was accepted")
	}
}

func TestExportGoesToTheOutputFolder(t *testing.T) {
	ta := newTestApp(t)
	if got := ta.exportTarget("Sách", ".mp3", false); got != "" {
		t.Errorf("without an output folder the export asks: got %q", got)
	}
	out := filepath.Join(t.TempDir(), "Sách nói")
	p, _ := ta.Preferences()
	p.OutputDir = out
	if err := ta.SetPreferences(p); err != nil {
		t.Fatal(err)
	}
	if got, want := ta.exportTarget("Truyện: Kiều / tập 1", ".mp3", false), filepath.Join(out, "Truyện_ Kiều _ tập 1.mp3"); got != want {
		t.Errorf("export file %q, want %q", got, want)
	}
	if got, want := ta.exportTarget("Kiều", ".mp3", true), filepath.Join(out, "Kiều"); got != want {
		t.Errorf("per-chapter export folder %q, want %q", got, want)
	}
	for in, want := range map[string]string{"": "audiobook", " .. ": "audiobook", "a\x01b": "a_b"} {
		if got := safeFileName(in); got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCoverImagesAreCheckedBeforeExport(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "bia.png")
	os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0o644)
	if b, err := readCover(png); err != nil || len(b) == 0 {
		t.Errorf("a PNG cover: %v", err)
	}
	txt := filepath.Join(dir, "bia.txt")
	os.WriteFile(txt, []byte("không phải ảnh"), 0o644)
	if _, err := readCover(txt); err == nil || !strings.Contains(err.Error(), "JPEG or PNG") {
		t.Errorf("a text file as cover: %v", err)
	}
	if _, err := readCover(filepath.Join(dir, "missing.jpg")); err == nil {
		t.Error("a missing cover was accepted")
	}
}

func TestDroppedFoldersImportTheirDocumentsInNameOrder(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"b/chương 2.txt", "a/chương 1.md", "a/ảnh.png", ".git/config.txt", "c.docx"} {
		p := filepath.Join(root, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	single := filepath.Join(t.TempDir(), "note.rtf")
	got := expandFolders([]string{root, single})
	want := []string{filepath.Join(root, "a/chương 1.md"), filepath.Join(root, "b/chương 2.txt"), filepath.Join(root, "c.docx"), single}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("expandFolders = %q, want %q", got, want)
	}
}

func TestOneModelOperationAtATime(t *testing.T) {
	ta := newTestApp(t)
	ta.modelBusy.Store(true) // as while a download runs
	if err := ta.VerifyModel(); !errors.Is(err, errModelBusy) {
		t.Errorf("a second model operation: %v", err)
	}
	ta.modelBusy.Store(false)
	if err := ta.VerifyModel(); err != nil {
		t.Fatal(err)
	}
	// no model is installed: verification ends with an event that says so, and frees the slot
	ev := ta.waitFor(t, "model").(ModelEvent)
	if !ev.Finished || ev.Error == "" {
		t.Errorf("verifying a missing model: %+v", ev)
	}
	ta.wg.Wait()
	if ta.modelBusy.Load() {
		t.Error("the model slot stayed taken after the operation ended")
	}
}

// Without a kept checkpoint a rebuild ends with an event that says to download again; the kept
// download is removed on request, but not while a model operation runs.
func TestRebuildAndRemoveTheKeptCheckpoint(t *testing.T) {
	ta := newTestApp(t)
	if err := ta.RebuildModel(); err != nil {
		t.Fatal(err)
	}
	ev := ta.waitFor(t, "model").(ModelEvent)
	if !ev.Finished || !strings.Contains(ev.Error, "download the model again") || ev.Model == nil || ev.Model.CanRebuild {
		t.Errorf("rebuilding without a checkpoint: %+v", ev)
	}
	ta.wg.Wait()

	kept := studio.ModelDownloads(ta.dirs)
	if err := os.MkdirAll(kept, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(kept, "llm.pt.part"), make([]byte, 1000), 0o644)
	if m := ta.Model(); m.KeptBytes != 1000 || m.CanRebuild {
		t.Fatalf("an unfinished download: %+v", m)
	}
	ta.modelBusy.Store(true) // as while a download writes there
	if _, err := ta.RemoveModelSource(); !errors.Is(err, errModelBusy) {
		t.Errorf("removing the download while it runs: %v", err)
	}
	ta.modelBusy.Store(false)
	m, err := ta.RemoveModelSource()
	if err != nil || m.KeptBytes != 0 {
		t.Fatalf("after removing: %+v %v", m, err)
	}
	if _, err := os.Stat(kept); !os.IsNotExist(err) {
		t.Errorf("the download is still there: %v", err)
	}
	if ta.modelBusy.Load() {
		t.Error("the model slot stayed taken")
	}
}

// The document view shows each chapter's voice and the document's ("" when they differ); a new
// voice for one chapter says which sentences it renders again.
func TestAChapterCanBeReadWithAnotherVoice(t *testing.T) {
	ta := newTestApp(t)
	for _, id := range []string{"nam", "nữ"} {
		v := &viettts.Voice{ID: id, Name: id, Tokens: []int32{1}, Mel: make([]float32, 80), XVector: make([]float32, 192)}
		if err := viettts.WriteVoice(ta.dirs.Voices, v); err != nil {
			t.Fatal(err)
		}
	}
	doc := filepath.Join(t.TempDir(), "truyen.md")
	if err := os.WriteFile(doc, []byte("# Một\n\nCâu thứ nhất. Câu thứ hai.\n\n# Hai\n\nCâu thứ ba.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	imp := ta.ImportFiles([]string{doc})
	if len(imp) != 1 || imp[0].Error != "" {
		t.Fatalf("import: %+v", imp)
	}
	p, err := ta.Project(imp[0].ProjectID)
	if err != nil || len(p.Chapters) != 2 || p.Reading.Voice != "nam" || p.Chapters[1].Reading.Voice != "nam" {
		t.Fatalf("project %+v %v", p, err)
	}
	if _, err := ta.SetReading(p.ID, p.Chapters[1].ID, "không-có", 0); err == nil {
		t.Error("an unknown voice was accepted")
	}
	ids, err := ta.SetReading(p.ID, p.Chapters[1].ID, "nữ", 0)
	if err != nil || len(ids) != p.Chapters[1].Reading.Segments {
		t.Fatalf("re-rendered %v (chapter has %d segments): %v", ids, p.Chapters[1].Reading.Segments, err)
	}
	p, _ = ta.Project(p.ID)
	if p.Reading.Voice != "" || p.Reading.Voices["nữ"] != len(ids) || p.Chapters[0].Reading.Voice != "nam" || p.Chapters[1].Reading.Voice != "nữ" {
		t.Errorf("readings after the change: %+v", p)
	}
	if s := ta.Status(); s.InstancesReasonCode.Text != s.InstancesReason {
		t.Errorf("status reason %+v", s)
	}
}

func TestANewTakeAndBackToTheFirst(t *testing.T) {
	ta := newTestApp(t)
	doc := filepath.Join(t.TempDir(), "lan-doc.md")
	if err := os.WriteFile(doc, []byte("Câu thứ nhất. Câu thứ hai.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	imp := ta.ImportFiles([]string{doc})
	if len(imp) != 1 || imp[0].Error != "" {
		t.Fatalf("import: %+v", imp)
	}
	if err := ta.studio.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	p, err := ta.Project(imp[0].ProjectID)
	if err != nil {
		t.Fatal(err)
	}
	segs, err := ta.Segments(p.Chapters[0].ID)
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments %+v %v", segs, err)
	}
	id := segs[0].ID
	first, _ := ta.studio.Store().Segment(t.Context(), id)
	tk, err := ta.NewTake(id)
	if err != nil || tk != (studio.Takes{SegmentID: id, Count: 2, Current: 1}) {
		t.Fatalf("new take: %+v %v", tk, err)
	}
	if err := ta.studio.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	second, _ := ta.studio.Store().Segment(t.Context(), id)
	if second.State != "done" || second.RenderHash == first.RenderHash {
		t.Fatalf("after the new take: %+v", second)
	}
	tk, err = ta.UseTake(id, 0)
	if err != nil || tk.Current != 0 || tk.Count != 2 {
		t.Fatalf("use take 1: %+v %v", tk, err)
	}
	back, _ := ta.studio.Store().Segment(t.Context(), id)
	if back.State != "done" || back.RenderHash != first.RenderHash {
		t.Fatalf("back on take 1: %+v", back)
	}
	if tk, err := ta.Takes(id); err != nil || tk.Current != 0 || tk.Count != 2 {
		t.Fatalf("takes: %+v %v", tk, err)
	}
	if _, err := ta.UseTake(id, 5); err == nil {
		t.Fatal("take 6 of 2 was used")
	}
}
