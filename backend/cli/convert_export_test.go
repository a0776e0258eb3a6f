package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/audio"
)

func exportTestBook() *audio.Book {
	seg := func(id string) audio.Segment {
		return audio.Segment{ID: id, Text: "Xin chào.", Audio: audio.SourceFunc(func(context.Context) ([]float32, error) {
			p := make([]float32, audio.Rate/2)
			for i := range p {
				p[i] = float32(0.2 * float64(i%50) / 50)
			}
			return p, nil
		})}
	}
	return &audio.Book{Title: "Sách", Chapters: []audio.Chapter{
		{Title: "Một", Segments: []audio.Segment{seg("a"), seg("b")}},
		{Title: "Hai", Segments: []audio.Segment{seg("c")}},
	}}
}

func TestExportFlagsWriteTheBookAndSayWhere(t *testing.T) {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	f := registerExportFlags(fs)
	if err := fs.Parse([]string{"--format", "wav", "--split", "chapters", "--subtitles", "vtt",
		"--loudness", "ebu", "--author", "Tác giả"}); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errs}
	dir := t.TempDir()
	if err := f.exportBook(t.Context(), env, exportTestBook(), filepath.Join(dir, "sach")); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "sach 01 - Một.wav") || !strings.Contains(lines[2], "-23 LUFS") {
		t.Fatalf("unexpected output:\n%s", out.String())
	}
	for _, name := range []string{"sach 01 - Một.wav", "sach 02 - Hai.wav", "sach 01 - Một.vtt", "sach 02 - Hai.vtt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
}

func TestExportFlagsRefuseWhatCannotBeDone(t *testing.T) {
	for _, args := range [][]string{
		{"--format", "aiff"}, {"--loudness", "loud"}, {"--subtitles", "ass"}, {"--format", "mp3", "--bitrate", "100"},
		{"--format", "wav", "--cover", "/nonexistent/cover.jpg"},
	} {
		fs := flag.NewFlagSet("convert", flag.ContinueOnError)
		f := registerExportFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
		dir := t.TempDir()
		if err := f.exportBook(t.Context(), env, exportTestBook(), filepath.Join(dir, "x")); err == nil {
			t.Errorf("%v accepted", args)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%v left %d files", args, len(entries))
		}
	}
}
