package studio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/backend/store"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/testengine"
	"github.com/viettts-studio/studio/inference/viettts"
)

// addVoices installs cloned voices with these ids, so knownVoice accepts them.
func addVoices(t *testing.T, s *Studio, ids ...string) {
	t.Helper()
	for _, id := range ids {
		v := &viettts.Voice{ID: id, Name: id, Tokens: []int32{1, 2, 3}, Mel: make([]float32, 80*4), XVector: make([]float32, 192)}
		if err := viettts.WriteVoice(s.dirs.Voices, v); err != nil {
			t.Fatal(err)
		}
	}
}

func byChapter(t *testing.T, s *Studio, project int64) (chapters []store.Chapter, segs map[int64][]store.Segment) {
	t.Helper()
	chapters, err := s.Store().Chapters(t.Context(), project)
	if err != nil {
		t.Fatal(err)
	}
	segs = map[int64][]store.Segment{}
	for _, g := range segments(t, s, project) {
		segs[g.ChapterID] = append(segs[g.ChapterID], g)
	}
	return chapters, segs
}

// Changing one chapter's voice re-renders that chapter's segments with the new voice and nothing
// else; an unknown voice is refused and changes nothing.
func TestAChaptersNewVoiceReRendersOnlyThatChapter(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, f := open(t)
	addVoices(t, s, "nam", "nữ")
	imp, err := s.Import(t.Context(), writeDoc(t), ImportOptions{Queue: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	chapters, before := byChapter(t, s, imp.Project.ID)
	if len(chapters) != 2 {
		t.Fatalf("%d chapters", len(chapters))
	}
	first, second := chapters[0].ID, chapters[1].ID

	_, err = s.SetReading(t.Context(), store.Reading{ProjectID: imp.Project.ID, ChapterID: second, Voice: "không-có"})
	if err == nil || !strings.Contains(err.Error(), "không-có") || !strings.Contains(err.Error(), "nữ") {
		t.Fatalf("an unknown voice: %v", err)
	}
	if _, now := byChapter(t, s, imp.Project.ID); !sameSegments(before[second], now[second]) {
		t.Fatal("a refused voice changed the chapter")
	}

	calls := f.Calls()
	// The voice comes decomposed (NFD) and is stored composed.
	changed, err := s.SetReading(t.Context(), store.Reading{ProjectID: imp.Project.ID, ChapterID: second, Voice: "nu\u031b\u0303"})
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != len(before[second]) || changed[0] != before[second][0].ID {
		t.Fatalf("changed %v, want the %d segments of chapter 2", changed, len(before[second]))
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, after := byChapter(t, s, imp.Project.ID)
	checkAudio(t, s, append(after[first], after[second]...))
	if !sameSegments(before[first], after[first]) {
		t.Error("chapter 1 changed")
	}
	for i, g := range after[second] {
		if g.Voice != "nữ" || g.RenderHash == before[second][i].RenderHash {
			t.Errorf("segment %d of chapter 2 reads with %q, render %s (was %s)", g.ID, g.Voice, g.RenderHash, before[second][i].RenderHash)
		}
	}
	if got := f.Calls() - calls; got != len(changed) {
		t.Errorf("%d syntheses after the voice change, want %d", got, len(changed))
	}

	rs, err := s.Readings(t.Context(), imp.Project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Voice != "" || rs[0].Voices["nữ"] != len(changed) || rs[first].Voice != "nam" || rs[second].Voice != "nữ" || rs[second].Speed != 1 {
		t.Errorf("readings %+v", rs)
	}
	if again, err := s.SetReading(t.Context(), store.Reading{ProjectID: imp.Project.ID, ChapterID: second, Voice: "nữ"}); err != nil || len(again) != 0 {
		t.Errorf("the voice the chapter has: %v %v", again, err)
	}

	// A speed for the whole document keeps each chapter's voice and renders everything again.
	calls = f.Calls()
	all, err := s.SetReading(t.Context(), store.Reading{ProjectID: imp.Project.ID, Speed: 1.2})
	if err != nil || len(all) != len(before[first])+len(before[second]) {
		t.Fatalf("a new speed re-rendered %v: %v", all, err)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, after = byChapter(t, s, imp.Project.ID)
	checkAudio(t, s, append(after[first], after[second]...))
	if after[first][0].Voice != "nam" || after[second][0].Voice != "nữ" || after[first][0].Speed != 1.2 {
		t.Errorf("after the speed change: %+v %+v", after[first][0], after[second][0])
	}
	if got := f.Calls() - calls; got != len(all) {
		t.Errorf("%d syntheses after the speed change, want %d", got, len(all))
	}
	rs, _ = s.Readings(t.Context(), imp.Project.ID)
	if rs[0].Speed != 1.2 || len(rs[0].Parts) != 2 || rs[0].Parts[0].Speed != 1.2 {
		t.Errorf("readings after the speed change: %+v", rs[0])
	}
}

func sameSegments(a, b []store.Segment) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Spans, y.Spans = nil, nil
		if x.ID != y.ID || x.Voice != y.Voice || x.State != y.State || x.RenderHash != y.RenderHash || x.Seconds != y.Seconds {
			return false
		}
	}
	return true
}

// A segment being synthesized with the old voice when the voice changes never keeps that audio:
// its result comes after the new voice's render and is discarded.
func TestASynthesisOfTheOldVoiceIsDiscarded(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	dirs, err := home.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	old := func(c testengine.Call) bool {
		return c.Req.Voice == "nam" && strings.HasPrefix(c.Req.Text, "Cô giáo")
	}
	f := testengine.NewFactory(testengine.Config{Latency: time.Millisecond,
		Started: func(c testengine.Call) {
			if old(c) {
				close(started)
			}
		},
		Fault: func(c testengine.Call) error {
			if old(c) {
				<-release
			}
			return nil
		}})
	s, err := Open(t.Context(), dirs, Engines{Factory: f.New, ModelID: "test", Size: 2, Reason: inference.Reason{Text: "test"}, DefaultVoice: "nam"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	addVoices(t, s, "nam", "nữ")
	imp, err := s.Import(t.Context(), writeDoc(t), ImportOptions{Queue: true})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-t.Context().Done():
		t.Fatal("the chapter 2 sentence never started")
	}
	chapters, _ := byChapter(t, s, imp.Project.ID)
	if _, err := s.SetReading(t.Context(), store.Reading{ProjectID: imp.Project.ID, ChapterID: chapters[1].ID, Voice: "nữ"}); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	close(release)
	// Stop waits for the old synthesis to end and try to settle.
	if err := s.Scheduler().Stop(t.Context()); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	_, after := byChapter(t, s, imp.Project.ID)
	checkAudio(t, s, after[chapters[1].ID])
	for _, g := range after[chapters[1].ID] {
		if g.Voice != "nữ" {
			t.Errorf("segment %d reads with %s", g.ID, g.Voice)
		}
	}
}
