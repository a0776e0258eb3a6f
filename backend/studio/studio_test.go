package studio

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/testengine"
)

const novel = `# Chương 1

Ông Nguyễn Văn A sinh năm 1945 tại TP.HCM. Ông làm việc ở UBND phường.

Ngày 2/9/2024, ông đọc sách trong 3 giờ.

# Chương 2

Cô giáo dạy học sinh lớp 12. Trường THPT có 1.200 học sinh.
`

func open(t *testing.T) (*Studio, *testengine.Factory) {
	t.Helper()
	dirs, err := home.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	f := testengine.NewFactory(testengine.Config{Latency: time.Millisecond})
	s, err := Open(t.Context(), dirs, Engines{Factory: f.New, ModelID: "test", Size: 2, Reason: inference.Reason{Text: "test"}, DefaultVoice: "nam"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, f
}

func writeDoc(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "truyen.md")
	if err := os.WriteFile(p, []byte(novel), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func segments(t *testing.T, s *Studio, project int64) []store.Segment {
	t.Helper()
	chs, err := s.Store().Chapters(t.Context(), project)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Segment
	for _, c := range chs {
		gs, err := s.Store().Segments(t.Context(), store.SegmentQuery{ChapterID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, gs...)
	}
	return out
}

// checkAudio proves every done segment's render holds its own request's audio.
func checkAudio(t *testing.T, s *Studio, segs []store.Segment) {
	t.Helper()
	for _, g := range segs {
		if g.State != store.StateDone {
			t.Fatalf("segment %d is %s (%s)", g.ID, g.State, g.Error)
		}
		r, ok, err := s.Store().RenderOf(t.Context(), g.RenderHash)
		if err != nil || !ok {
			t.Fatalf("segment %d: render %q missing: %v", g.ID, g.RenderHash, err)
		}
		pcm, err := s.Cache().Load(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		id, err := testengine.Decode(pcm)
		want := testengine.Identity(inference.Request{Text: g.Spoken, Voice: g.Voice, Speed: g.Speed, Seed: g.Seed})
		if err != nil || id != want {
			t.Fatalf("segment %d (%q) holds another segment's audio", g.ID, g.Spoken)
		}
	}
}

func TestAnImportedDocumentIsNarratedSegmentBySegment(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, _ := open(t)
	imp, err := s.Import(t.Context(), writeDoc(t), ImportOptions{Queue: true})
	if err != nil {
		t.Fatal(err)
	}
	if imp.Chapters != 2 || imp.Segments < 3 || imp.Project.Title == "" {
		t.Fatalf("imported %+v", imp)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	segs := segments(t, s, imp.Project.ID)
	checkAudio(t, s, segs)
	for _, g := range segs {
		if strings.ContainsAny(g.Spoken, "0123456789") || g.Voice != "nam" {
			t.Errorf("segment %+v", g)
		}
	}
}

// A lexicon entry re-renders exactly the segments whose reading it changes.
func TestALexiconEntryReRendersOnlyTheSegmentsItChanges(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, f := open(t)
	imp, err := s.Import(t.Context(), writeDoc(t), ImportOptions{Queue: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := map[int64]store.Segment{}
	var want []int64
	for _, g := range segments(t, s, imp.Project.ID) {
		before[g.ID] = g
		if strings.Contains(g.Source, "Nguyễn Văn A") {
			want = append(want, g.ID)
		}
	}
	calls := f.Calls()
	changed, err := s.AddLexiconEntry(t.Context(), store.LexiconEntry{Pattern: "Nguyễn Văn A", Spoken: "Nguyễn Văn Ây"})
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != len(want) || len(want) == 0 || changed[0] != want[0] {
		t.Fatalf("changed %v, want %v", changed, want)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := segments(t, s, imp.Project.ID)
	checkAudio(t, s, after)
	for _, g := range after {
		was := before[g.ID]
		edited := g.ID == want[0]
		if edited != (g.RenderHash != was.RenderHash) {
			t.Errorf("segment %d %q: render changed=%v, edited=%v", g.ID, g.Spoken, g.RenderHash != was.RenderHash, edited)
		}
		if edited && !strings.Contains(g.Spoken, "Văn Ây") {
			t.Errorf("edited segment reads %q", g.Spoken)
		}
	}
	if got := f.Calls() - calls; got != len(want) {
		t.Errorf("%d syntheses after the lexicon change, want %d", got, len(want))
	}
}

func TestAnEmptyDocumentIsRefusedWithAReason(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, _ := open(t)
	p := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(p, []byte("   \n\n"), 0o644)
	if _, err := s.Import(t.Context(), p, ImportOptions{}); err == nil {
		t.Fatal("an empty document was imported")
	}
}
