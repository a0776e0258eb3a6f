package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runInspect(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("VIETTTS_STUDIO_HOME", t.TempDir())
	var out, errb bytes.Buffer
	code = Run(t.Context(), append([]string{"inspect"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestInspectShowsChaptersSegmentsSpokenFormsAndPauses(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "documents", "sample.md")
	out, errs, code := runInspect(t, src, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// The JSON as a consumer reads it (pauses and breaks are names).
	type seg struct {
		Source string `json:"source"`
		Src    struct{ Start, End int }
		Spoken string `json:"spoken"`
		Pause  string `json:"pause"`
	}
	var rep struct {
		Title    string `json:"title"`
		Chapters []struct {
			TitleSegments []seg `json:"title_segments"`
			Blocks        []struct {
				Text     string `json:"text"`
				Segments []seg  `json:"segments"`
			} `json:"blocks"`
		} `json:"chapters"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if rep.Title != "Chuyện làng ven sông" || len(rep.Chapters) != 3 {
		t.Fatalf("title %q with %d chapters", rep.Title, len(rep.Chapters))
	}
	ch := rep.Chapters[1]
	if len(ch.TitleSegments) == 0 {
		t.Fatal("the chapter title has no segments")
	}
	var spoken []string
	for _, b := range ch.Blocks {
		if len(b.Segments) == 0 && b.Text != "" {
			t.Errorf("block %q has no segments", b.Text)
		}
		for _, s := range b.Segments {
			if got := b.Text[s.Src.Start:s.Src.End]; got != s.Source {
				t.Errorf("segment source %q is not its span %q of the block", s.Source, got)
			}
			spoken = append(spoken, s.Spoken)
		}
	}
	all := strings.Join(spoken, " ")
	if !strings.Contains(all, "mười tám nghìn đồng") {
		t.Errorf("spoken forms lack the table text: %s", all)
	}
	last := ch.Blocks[len(ch.Blocks)-1].Segments
	if p := last[len(last)-1].Pause; p != "chapter" {
		t.Errorf("the chapter's last segment ends with a %s pause, want chapter", p)
	}
}

func TestInspectReadsALegacyEncodingWhenToldTo(t *testing.T) {
	// "Vieät Nam" is VNI; without --encoding the bytes could pass for Windows-1258 text.
	p := filepath.Join(t.TempDir(), "vni.txt")
	if err := os.WriteFile(p, []byte("Vi\x65\xe4t Nam ng\xe0y m\x6f\xe2i."), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runInspect(t, "--encoding", "VNI", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Việt Nam") || !strings.Contains(out, "encoding vni") {
		t.Errorf("output does not show the VNI text decoded:\n%s", out)
	}
}

func TestInspectRejectsWhatItCannotRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(p, []byte("xin chào"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := runInspect(t, "--encoding", "koi8-r", p); code != 2 || !strings.Contains(errs, "unknown encoding") {
		t.Errorf("unknown encoding: exit %d, %q", code, errs)
	}
	if _, errs, code := runInspect(t, filepath.Join(t.TempDir(), "missing.docx")); code != 1 || !strings.Contains(errs, "missing.docx") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
}

func TestInspectShowsSubtitleCueTimes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "phim.srt")
	if err := os.WriteFile(p, []byte("1\n00:01:02,500 --> 00:01:04,000\nXin chào.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runInspect(t, p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "00:01:02.500 → 00:01:04.000") || !strings.Contains(out, "Xin chào.") {
		t.Errorf("output lacks the cue and its times:\n%s", out)
	}
}
