package segment

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/textnorm"
	"github.com/viettts-studio/studio/inference/tokenizer"
)

var norm = textnorm.New(textnorm.Options{})

// modelTokenizer loads the model's tokenizer ranks when the repository has them
// (.cache/tokenizer/multilingual.tiktoken, fetched by tools/fixtures/features/fetch_tokenizer.sh).
func modelTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, ".cache", "tokenizer", "multilingual.tiktoken")
		if _, err := os.Stat(p); err == nil {
			tok, err := tokenizer.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("tokenizer ranks not found: run tools/fixtures/features/fetch_tokenizer.sh (make test does)")
		}
		dir = parent
	}
}

// checkSegments asserts what every segmentation keeps: all words, in order, each exactly once;
// no segment starts with punctuation; spans and token counts are right.
func checkSegments(t *testing.T, r textnorm.Result, segs []Segment, tok TokenCounter) {
	t.Helper()
	var words []textnorm.Word
	for i, s := range segs {
		if len(s.Words) == 0 {
			t.Fatalf("segment %d is empty", i)
		}
		if s.Words[0].Punct {
			t.Errorf("segment %d %q starts with punctuation", i, s.Spoken)
		}
		if s.Spoken != textnorm.Join(s.Words) {
			t.Errorf("segment %d: Spoken %q is not its words", i, s.Spoken)
		}
		if s.Tokens != tok.CountTokens(s.Spoken) {
			t.Errorf("segment %d: Tokens %d, counter says %d", i, s.Tokens, tok.CountTokens(s.Spoken))
		}
		if s.Src.Start != s.Words[0].Src.Start || s.Src.End < s.Src.Start || s.Src.End > len(r.Source) {
			t.Errorf("segment %d: span %+v", i, s.Src)
		}
		if s.Pause == 0 {
			t.Errorf("segment %d has no pause mark", i)
		}
		words = append(words, s.Words...)
	}
	if !reflect.DeepEqual(words, r.Words) && !(len(words) == 0 && len(r.Words) == 0) {
		t.Fatalf("segments do not hold the words of the text in order")
	}
}

func TestShortSentencesArePackedUpToTheLimit(t *testing.T) {
	r := norm.Normalize("Tôi đi học. Trời mưa to. Mẹ gọi về. Em bé ngủ say. Gió thổi mạnh. Lá rơi đầy sân. Chim hót trên cành.")
	segs := Split(r, Approx{}, Options{})
	checkSegments(t, r, segs, Approx{})
	if len(segs) < 2 {
		t.Fatalf("got %d segment(s), want the sentences packed into several", len(segs))
	}
	for _, s := range segs[:len(segs)-1] {
		if s.Tokens > 30 || s.Tokens <= 10 {
			t.Errorf("segment %q has %d tokens, want (10, 30]", s.Spoken, s.Tokens)
		}
		if s.Pause != PauseSentence {
			t.Errorf("segment %q ends a sentence but has pause %s", s.Spoken, s.Pause)
		}
	}
}

func TestLongSentenceIsCutAtCommasNotSentWhole(t *testing.T) {
	r := norm.Normalize("Sáng nay, khi mặt trời vừa lên khỏi rặng tre đầu làng, những người nông dân đã ra đồng gặt lúa, " +
		"trẻ con chạy theo sau bắt châu chấu, còn các bà các mẹ thì ở nhà nấu cơm và chuẩn bị nước uống cho cả nhà.")
	segs := Split(r, Approx{}, Options{})
	checkSegments(t, r, segs, Approx{})
	if len(segs) < 3 {
		t.Fatalf("a %d-word sentence became %d segment(s)", len(r.Words), len(segs))
	}
	commas := 0
	for k, s := range segs[:len(segs)-1] {
		last := s.Words[len(s.Words)-1]
		if last.Punct && last.Text == "," {
			commas++
		} else if next := segs[k+1].Words[0].Text; !conjunctions[next] {
			t.Errorf("segment %q is cut neither after a comma nor before a conjunction (%q)", s.Spoken, next)
		}
		if s.Pause != PauseClause {
			t.Errorf("segment %q cut inside a sentence has pause %s", s.Spoken, s.Pause)
		}
		if s.Tokens > 30 {
			t.Errorf("segment %q has %d tokens", s.Spoken, s.Tokens)
		}
	}
	if commas < 2 {
		t.Errorf("only %d cuts after commas: %q", commas, spokenOf(segs))
	}
}

func TestSentenceWithoutCommasIsCutBeforeAConjunction(t *testing.T) {
	r := norm.Normalize("Người nông dân chăm chỉ làm việc suốt từ sáng sớm tinh mơ đến tận tối mịt mà vẫn không đủ ăn " +
		"nhưng họ chưa bao giờ than thở với bất kỳ ai trong làng về cuộc sống vất vả của mình.")
	segs := Split(r, Approx{}, Options{})
	checkSegments(t, r, segs, Approx{})
	starts := map[string]bool{}
	for _, s := range segs[1:] {
		starts[s.Words[0].Text] = true
	}
	if !starts["nhưng"] && !starts["mà"] {
		t.Errorf("no segment starts at a conjunction: %q", spokenOf(segs))
	}
}

func spokenOf(segs []Segment) []string {
	var out []string
	for _, s := range segs {
		out = append(out, s.Spoken)
	}
	return out
}

func TestNumbersDatesAndLexiconEntriesAreNeverCut(t *testing.T) {
	n := textnorm.New(textnorm.Options{Lexicon: []textnorm.LexEntry{{Pattern: "Hội đồng Bảo an Liên Hợp Quốc", Spoken: "hội đồng bảo an liên hợp quốc"}}})
	r := n.Normalize("Ngày 31/12/2024 lúc 23:59:59 Hội đồng Bảo an Liên Hợp Quốc công bố khoản viện trợ 1.234.567.891.234 đồng cho 987.654.321 người dân trong vùng lũ 2024.")
	segs := Split(r, Approx{}, Options{MaxTokens: 12, MinTokens: 4, MergeTokens: 2})
	checkSegments(t, r, segs, Approx{})
	for _, s := range segs {
		for _, w := range s.Words {
			if src := r.Source[w.Src.Start:w.Src.End]; strings.Contains(s.Spoken, w.Text) && w.Src.End > s.Src.End {
				t.Errorf("word %q (%q) crosses the end of segment %q", w.Text, src, s.Spoken)
			}
		}
	}
	// the long readings stay whole, each in one segment
	for _, whole := range []string{"một nghìn hai trăm ba mươi tư tỷ năm trăm sáu mươi bảy triệu tám trăm chín mươi mốt nghìn hai trăm ba mươi tư đồng",
		"hội đồng bảo an liên hợp quốc", "ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi tư"} {
		found := false
		for _, s := range segs {
			found = found || strings.Contains(s.Spoken, whole)
		}
		if !found {
			t.Errorf("%q was cut: %q", whole, spokenOf(segs))
		}
	}
}

func TestParagraphAndChapterEndsBecomePauses(t *testing.T) {
	r := norm.Normalize("Chương I\n\nĐêm ấy trời tối. Gió lạnh.\n\nSáng hôm sau, nắng lên.")
	segs := Split(r, Approx{}, Options{Last: PauseChapter})
	checkSegments(t, r, segs, Approx{})
	var got []string
	for _, s := range segs {
		got = append(got, s.Spoken+" | "+s.Pause.String())
	}
	want := []string{
		"Chương một. | paragraph",
		"Đêm ấy trời tối. Gió lạnh. | paragraph",
		"Sáng hôm sau, nắng lên. | chapter",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("segments:\n got  %q\n want %q", got, want)
	}
	if src := r.Source[segs[1].Src.Start:segs[1].Src.End]; src != "Đêm ấy trời tối. Gió lạnh." {
		t.Errorf("segment 1 source %q", src)
	}
}

func TestShortTailJoinsThePreviousSegment(t *testing.T) {
	r := norm.Normalize("Những cánh đồng lúa chín vàng trải dài tít tắp đến tận chân trời xa. Ừ.")
	segs := Split(r, Approx{}, Options{})
	checkSegments(t, r, segs, Approx{})
	if len(segs) != 1 || !strings.HasSuffix(segs[0].Spoken, "Ừ.") {
		t.Errorf("the 2-token tail should join the sentence before it: %q", spokenOf(segs))
	}
}

func TestEmptyTextHasNoSegments(t *testing.T) {
	if segs := Split(norm.Normalize(" \n "), nil, Options{}); len(segs) != 0 {
		t.Errorf("got %d segments for blank text", len(segs))
	}
}

func TestSegmentsMeasuredWithTheModelTokenizerStayWithinTheLimit(t *testing.T) {
	tok := modelTokenizer(t)
	text := novel(64 << 10)
	r := norm.Normalize(text)
	segs := Split(r, tok, Options{})
	checkSegments(t, r, segs, tok)
	over := 0
	for _, s := range segs {
		if s.Tokens > 30+10 && len(s.Words) > 1 {
			over++
			t.Errorf("segment of %d tokens: %q", s.Tokens, s.Spoken)
		}
	}
	t.Logf("%d segments from %d KB", len(segs), len(text)>>10)
}

// TestApproxIsCloseToTheModelTokenizer keeps the fallback estimate honest: over a novel-like
// text it must count within 15% of the real tokenizer.
func TestApproxIsCloseToTheModelTokenizer(t *testing.T) {
	tok := modelTokenizer(t)
	r := norm.Normalize(novel(32 << 10))
	var real, approx int
	for _, s := range Split(r, tok, Options{}) {
		real += s.Tokens
		approx += Approx{}.CountTokens(s.Spoken)
	}
	ratio := float64(approx) / float64(real)
	t.Logf("approx/real = %d/%d = %.3f", approx, real, ratio)
	if ratio < 0.85 || ratio > 1.15 {
		t.Errorf("Approx counts %d tokens where the tokenizer counts %d (ratio %.2f): recalibrate it", approx, real, ratio)
	}
}

func FuzzSplit(f *testing.F) {
	for _, s := range []string{"", "Một. Hai, ba.\n\nBốn", "a, b, c, d, e, f, g, h, i, k, l, m, n, o, p, q, r, s, t",
		strings.Repeat("chữ ", 100), "1.234.567 đồng; 2/9/1945"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max < 1 || max > 200 {
			max = 30
		}
		r := norm.Normalize(in)
		checkSegments(t, r, Split(r, Approx{}, Options{MaxTokens: max}), Approx{})
	})
}

func TestLastReplacesThePauseAfterTheText(t *testing.T) {
	r := norm.Normalize("Ô thứ nhất của bảng.")
	segs := Split(r, Approx{}, Options{Last: PauseSentence})
	if len(segs) != 1 || segs[0].Pause != PauseSentence {
		t.Fatalf("a table cell should end with a sentence pause, got %+v", segs)
	}
	if segs := Split(r, Approx{}, Options{}); segs[0].Pause != PauseParagraph {
		t.Errorf("without Last a text ends with a paragraph pause, got %s", segs[0].Pause)
	}
}

func TestAWordCutNeverOrphansAShortSide(t *testing.T) {
	r := norm.Normalize("Trời đã về chiều. Món nợ 856.774.000.000 đồng đè nặng lên vai người cha già suốt bốn năm trời.")
	segs := Split(r, Approx{}, Options{})
	checkSegments(t, r, segs, Approx{})
	for _, s := range segs {
		if strings.HasSuffix(s.Spoken, "Món nợ") || s.Spoken == "Món nợ" {
			t.Errorf("the subject was cut off its number: %q", spokenOf(segs))
		}
	}
}
