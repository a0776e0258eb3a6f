package narration

import (
	"context"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/document"
	"github.com/viettts-studio/studio/backend/textnorm"
	"github.com/viettts-studio/studio/backend/textnorm/segment"
)

const sample = `# Chương 1: Khởi đầu

Năm 2024, dân số Việt Nam đạt 101 triệu người. Hà Nội có diện tích 3.359 km².

Anh ấy hỏi: "Bạn có khỏe không?"

# Chương 2: Tiếp theo

Ngày 2/9/1945 là ngày Quốc khánh.
`

func plan(t *testing.T, src string, opts Options) []Chapter {
	t.Helper()
	doc, err := document.Parse(context.Background(), strings.NewReader(src), int64(len(src)), "sample.md", document.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return Plan(doc, textnorm.New(textnorm.Options{}), nil, opts)
}

func TestEveryChapterBecomesSegmentsWhoseSpansPointIntoTheirSource(t *testing.T) {
	chs := plan(t, sample, Options{})
	if len(chs) != 2 || chs[0].Title != "Chương 1: Khởi đầu" || chs[1].Title != "Chương 2: Tiếp theo" {
		t.Fatalf("chapters: %+v", chs)
	}
	for _, ch := range chs {
		if len(ch.Segments) == 0 {
			t.Fatalf("chapter %q has no segments", ch.Title)
		}
		for _, s := range ch.Segments {
			for _, w := range s.Words {
				if w.Src.End > len(s.Source) || w.Src.Start > w.Src.End {
					t.Fatalf("word %+v outside source %q", w, s.Source)
				}
			}
			if strings.ContainsAny(s.Spoken, "0123456789") {
				t.Errorf("digits left in spoken form %q", s.Spoken)
			}
		}
		if last := ch.Segments[len(ch.Segments)-1]; last.Pause != segment.PauseChapter {
			t.Errorf("chapter %q ends with pause %v", ch.Title, last.Pause)
		}
	}
	first := chs[0].Segments[0]
	if !strings.Contains(first.Spoken, "hai nghìn không trăm hai mươi tư") {
		t.Errorf("year not read: %q", first.Spoken)
	}
}

func TestTitlesAreReadWhenAsked(t *testing.T) {
	chs := plan(t, sample, Options{ReadTitles: true})
	s := chs[1].Segments[0]
	if s.Block != -1 || s.Kind != document.Heading || !strings.Contains(s.Spoken, "Chương hai") {
		t.Fatalf("first segment of chapter 2: %+v", s)
	}
}
