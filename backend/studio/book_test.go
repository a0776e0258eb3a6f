package studio

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/viettts-studio/studio/backend/audio/export"
	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/testengine"
)

// Asking for a segment's audio before anything was queued renders it in the interactive lane and
// returns that segment's own audio; the book of the project exports with every segment.
func TestAudioIsRenderedOnDemandAndTheBookExports(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, f := open(t)
	imp, err := s.Import(t.Context(), writeDoc(t), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	segs := segments(t, s, imp.Project.ID)
	g := segs[len(segs)-1]
	pcm, err := s.SegmentAudio(t.Context(), imp.Project.ID, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	id, err := testengine.Decode(pcm)
	if want := testengine.Identity(inference.Request{Text: g.Spoken, Voice: g.Voice, Speed: g.Speed, Seed: g.Seed}); err != nil || id != want {
		t.Fatalf("on-demand audio is not segment %d's", g.ID)
	}
	if f.Calls() != 1 {
		t.Fatalf("%d syntheses for one segment", f.Calls())
	}
	book, err := s.Book(t.Context(), imp.Project.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if book.Segments() != len(segs) || len(book.Chapters) != 2 || book.Chapters[1].Segments[len(book.Chapters[1].Segments)-1].ID != strconv.FormatInt(g.ID, 10) {
		t.Fatalf("book has %d segments in %d chapters", book.Segments(), len(book.Chapters))
	}
	out := filepath.Join(t.TempDir(), "book.wav")
	res, err := export.Export(t.Context(), book, out, export.Options{Format: export.WAV, Rate: 22050})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0].Seconds <= 0 {
		t.Fatalf("export %+v", res)
	}
	if f.Calls() != len(segs) {
		t.Fatalf("%d syntheses for %d segments", f.Calls(), len(segs))
	}
}
