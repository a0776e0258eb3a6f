package textnorm

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// spoken returns, for each non-punctuation word, "source → spoken".
func pairs(r Result) []string {
	var out []string
	for _, w := range r.Words {
		if !w.Punct {
			out = append(out, r.Source[w.Src.Start:w.Src.End]+" → "+w.Text)
		}
	}
	return out
}

func TestEveryWordPointsAtTheTextItReads(t *testing.T) {
	r := New(Options{}).Normalize("Ngày 2/9/1945, giá 50.000đ/kg tại TP.HCM.")
	want := []string{
		"Ngày → Ngày",
		"2/9/1945 → hai tháng chín năm một nghìn chín trăm bốn mươi lăm",
		"giá → giá",
		"50.000đ/kg → năm mươi nghìn đồng một ki lô gam",
		"tại → tại",
		"TP.HCM → thành phố Hồ Chí Minh",
	}
	if got := pairs(r); !reflect.DeepEqual(got, want) {
		t.Errorf("words:\n got  %q\n want %q", got, want)
	}
}

func TestSpansIndexTheNFCFormOfDecomposedInput(t *testing.T) {
	nfd := norm.NFD.String("Việt Nam có 54 dân tộc.")
	r := New(Options{}).Normalize(nfd)
	if r.Source != norm.NFC.String(nfd) {
		t.Fatalf("Source is not the NFC form of the input")
	}
	if !norm.NFC.IsNormalString(r.Spoken) {
		t.Errorf("spoken form %q is not NFC", r.Spoken)
	}
	if got := pairs(r)[0]; got != "Việt → Việt" {
		t.Errorf("first word %q, want the NFC word read as itself", got)
	}
	if got := pairs(r)[3]; got != "54 → năm mươi tư" {
		t.Errorf("number word %q", got)
	}
}

func TestPunctuationCarriesSentenceAndParagraphBreaks(t *testing.T) {
	r := New(Options{}).Normalize("Một, hai. Ba?\n\nBốn")
	var got []string
	for _, w := range r.Words {
		if w.Punct {
			got = append(got, w.Text+" "+w.Break.String())
		}
	}
	want := []string{", clause", ". sentence", "? paragraph", ". paragraph"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("punctuation %q, want %q", got, want)
	}
	if last := r.Words[len(r.Words)-1]; last.Src.Start != len(r.Source) || last.Src.End != len(r.Source) {
		t.Errorf("the added final stop should have an empty span at the end, got %+v", last.Src)
	}
}

func TestEmptyAndBlankTextReadAsNothing(t *testing.T) {
	for _, in := range []string{"", "   \n\n ", "🙂🙂", "<|endoftext|>", "\"\"", "..."} {
		if r := New(Options{}).Normalize(in); r.Spoken != "" || len(r.Words) != 0 {
			t.Errorf("Normalize(%q) = %q, want nothing to read", in, r.Spoken)
		}
	}
}

func TestLexiconEntriesWinOverRules(t *testing.T) {
	n := New(Options{Lexicon: []LexEntry{
		{Pattern: "AI", Spoken: "trí tuệ nhân tạo"},
		{Pattern: "TP.HCM", Spoken: "Sài Gòn"},
		{Pattern: `(\d+)k\b`, Spoken: "$1 nghìn đồng", IsRegex: true},
		{Pattern: "Nguyễn Du", Spoken: "thi hào Nguyễn Du"},
	}})
	r := n.Normalize("AI ở TP.HCM bán 35k, ai cũng mua; AIR không đổi. Nguyễn Du.")
	want := "trí tuệ nhân tạo ở Sài Gòn bán ba mươi lăm nghìn đồng, ai cũng mua, a i rờ không đổi. thi hào Nguyễn Du."
	if r.Spoken != want {
		t.Errorf("spoken:\n got  %q\n want %q", r.Spoken, want)
	}
	var lex []string
	for _, w := range r.Words {
		if w.Lexicon {
			lex = append(lex, r.Source[w.Src.Start:w.Src.End])
		}
	}
	if want := []string{"AI", "TP.HCM", "35k", "Nguyễn Du"}; !reflect.DeepEqual(lex, want) {
		t.Errorf("lexicon words cover %q, want %q", lex, want)
	}
}

func TestLongerLexiconMatchWinsThenEarlierEntry(t *testing.T) {
	n := New(Options{Lexicon: []LexEntry{
		{Pattern: "Hà", Spoken: "sông"},
		{Pattern: "Hà Nội", Spoken: "thủ đô"},
		{Pattern: "Hà", Spoken: "không dùng"},
	}})
	if got := n.Normalize("Hà Nội và Hà Giang").Spoken; got != "thủ đô và sông Giang." {
		t.Errorf("got %q", got)
	}
}

func TestEmptySpokenDeletesTheMatch(t *testing.T) {
	n := New(Options{Lexicon: []LexEntry{{Pattern: `\[\d+\]`, IsRegex: true}}})
	if got := n.Normalize("Câu có chú thích[12] ở đây.").Spoken; got != "Câu có chú thích ở đây." {
		t.Errorf("got %q", got)
	}
}

func TestBadLexiconEntriesAreReportedAndLeftOut(t *testing.T) {
	entries := []LexEntry{
		{Pattern: "(unclosed", Spoken: "x", IsRegex: true},
		{Pattern: "  ", Spoken: "y"},
		{Pattern: "a*", Spoken: "z", IsRegex: true},
		{Pattern: "VTV", Spoken: "đài truyền hình"},
	}
	err := ValidateLexicon(entries)
	if !errors.Is(err, ErrBadLexEntry) {
		t.Fatalf("ValidateLexicon error %v does not wrap ErrBadLexEntry", err)
	}
	for _, want := range []string{"entry 1", "does not compile", "entry 2", "empty", "entry 3", "matches empty text"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	n := New(Options{Lexicon: entries})
	if len(n.LexiconErrors()) != 3 {
		t.Errorf("LexiconErrors = %v, want 3", n.LexiconErrors())
	}
	if got := n.Normalize("VTV").Spoken; got != "đài truyền hình." {
		t.Errorf("the usable entry should still apply, got %q", got)
	}
	if ValidateLexicon(entries[3:]) != nil {
		t.Error("a valid lexicon reported an error")
	}
}

func TestChangedNamesExactlyTheSegmentsALexiconEditAffects(t *testing.T) {
	sources := []string{
		"AI đang thay đổi thế giới.",       // 0: AI
		"Ai cũng biết điều đó.",            // 1: "ai" is not "AI"
		"Giá 35k một cốc.",                 // 2: regex k
		"Hà Nội mùa thu.",                  // 3: Hà Nội
		"Không có gì để thay.",             // 4: nothing
		"Trí tuệ nhân tạo và AI.",          // 5: AI
		"Đường về Hà Nội xa lắm, 20k nữa.", // 6: both
	}
	oldLex := []LexEntry{{Pattern: "AI", Spoken: "ây ai"}, {Pattern: "Hà Nội", Spoken: "thủ đô"}}
	cases := []struct {
		name   string
		newLex []LexEntry
		want   []int
	}{
		{"unchanged", oldLex, nil},
		{"spoken form edited", []LexEntry{{Pattern: "AI", Spoken: "trí tuệ nhân tạo"}, {Pattern: "Hà Nội", Spoken: "thủ đô"}}, []int{0, 5}},
		{"entry removed", []LexEntry{{Pattern: "AI", Spoken: "ây ai"}}, []int{3, 6}},
		{"regex added", append(append([]LexEntry(nil), oldLex...), LexEntry{Pattern: `(\d+)k`, Spoken: "$1 nghìn đồng", IsRegex: true}), []int{2, 6}},
		{"regex that reads like the rules", append(append([]LexEntry(nil), oldLex...), LexEntry{Pattern: `(\d+)k`, Spoken: "$1 nghìn", IsRegex: true}), nil},
		{"entry that reads like the rules", []LexEntry{{Pattern: "AI", Spoken: "ây ai"}, {Pattern: "Hà Nội", Spoken: "thủ đô"}, {Pattern: "thế giới", Spoken: "thế giới"}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Changed(Options{}, oldLex, c.newLex, sources); !reflect.DeepEqual(got, c.want) {
				t.Errorf("Changed = %v, want %v", got, c.want)
			}
		})
	}
}

func TestChangedSeesReorderedEntries(t *testing.T) {
	a := []LexEntry{{Pattern: "Hà", Spoken: "một"}, {Pattern: "Hà", Spoken: "hai"}}
	b := []LexEntry{a[1], a[0]}
	if got := Changed(Options{}, a, b, []string{"Hà Giang", "Cao Bằng"}); !reflect.DeepEqual(got, []int{0}) {
		t.Errorf("Changed = %v, want [0]", got)
	}
}

func TestNormalizerIsSafeForConcurrentUse(t *testing.T) {
	n := New(Options{Lexicon: []LexEntry{{Pattern: "AI", Spoken: "ây ai"}}})
	g := readGolden(t, filepath.Join("testdata", "golden.tsv"))
	want := make([]string, len(g.cases))
	for i, c := range g.cases {
		want[i] = n.Normalize(c.input).Spoken
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, c := range g.cases {
				if got := n.Normalize(c.input).Spoken; got != want[i] {
					t.Errorf("concurrent Normalize(%q) = %q, want %q", c.input, got, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// checkResult asserts the invariants every Result keeps, whatever the input.
func checkResult(t *testing.T, in string, r Result) {
	t.Helper()
	if !utf8.ValidString(r.Source) {
		t.Fatalf("Source of %q is not UTF-8", in)
	}
	if !norm.NFC.IsNormalString(r.Source) {
		t.Fatalf("Source of %q is not NFC", in)
	}
	if !norm.NFC.IsNormalString(r.Spoken) {
		t.Fatalf("spoken form %q of %q is not NFC", r.Spoken, in)
	}
	if strings.Contains(r.Spoken, "<|") || strings.Contains(r.Spoken, "|>") {
		t.Fatalf("spoken form %q of %q contains a control-token look-alike", r.Spoken, in)
	}
	if r.Spoken != Join(r.Words) {
		t.Fatalf("Spoken %q is not the join of its words", r.Spoken)
	}
	prev := 0
	for i, w := range r.Words {
		if w.Text == "" {
			t.Fatalf("word %d of %q is empty", i, in)
		}
		if w.Src.Start < 0 || w.Src.End > len(r.Source) || w.Src.Start > w.Src.End {
			t.Fatalf("word %d %q of %q has span %+v outside [0, %d]", i, w.Text, in, w.Src, len(r.Source))
		}
		if w.Src.Start < prev {
			t.Fatalf("word %d %q of %q starts at %d, before the previous word (%d)", i, w.Text, in, w.Src.Start, prev)
		}
		prev = w.Src.Start
		if i == 0 && w.Punct {
			t.Fatalf("%q reads as %q: it starts with punctuation", in, r.Spoken)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "Ngày 2/9/1945", "50.000đ/kg", "<|endoftext|>", "TP.HCM v.v.",
		"0912 345 678", "thế kỷ XX", "1-5/6/2024", "8h30", "-5°C", "$1,5 triệu", "a\n\nb", "🙂",
		"https://vnexpress.net/a-b", "x@y.vn", "1920x1080", "quý I/2024", "T2-CN", "<|", "|>"} {
		f.Add(s, false)
	}
	f.Add("AI và ai 35k", true)
	f.Fuzz(func(t *testing.T, in string, lex bool) {
		o := Options{}
		if lex {
			o.Lexicon = []LexEntry{{Pattern: "AI", Spoken: "ây ai"}, {Pattern: `(\d+)k`, Spoken: "$1 nghìn", IsRegex: true}}
		}
		checkResult(t, in, New(o).Normalize(in))
	})
}

func TestInvariantsHoldForEveryGoldenCase(t *testing.T) {
	g := readGolden(t, filepath.Join("testdata", "golden.tsv"))
	for _, c := range g.cases {
		checkResult(t, c.input, New(c.opts).Normalize(c.input))
	}
}

// BenchmarkNormalizeHostileRuns measures inputs built to defeat the scanner (long runs of dots,
// at signs, slashes, dashes, brackets, control-token look-alikes, digits): their cost per byte
// should stay close to ordinary text's. Run: go test ./backend/textnorm -run '^$' -bench Hostile
func BenchmarkNormalizeHostileRuns(b *testing.B) {
	n := New(Options{})
	for _, c := range []struct{ name, unit string }{
		{"dots", "a."}, {"at", "a@"}, {"slashes", "1/"}, {"dashes", "- "}, {"brackets", "(["},
		{"control", "<|"}, {"digits", "1"}, {"roman", "I "}, {"domains", "x.com "}, {"dates", "1/2/2024 "},
	} {
		text := strings.Repeat(c.unit, (100<<10)/len(c.unit))
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				n.Normalize(text)
			}
		})
	}
}

func TestLexiconEntriesTypedDecomposedStillMatch(t *testing.T) {
	n := New(Options{Lexicon: []LexEntry{{Pattern: norm.NFD.String("Nguyễn Du"), Spoken: norm.NFD.String("đại thi hào Nguyễn Du")}}})
	r := n.Normalize("Truyện Kiều của Nguyễn Du.")
	if r.Spoken != "Truyện Kiều của đại thi hào Nguyễn Du." || !norm.NFC.IsNormalString(r.Spoken) {
		t.Errorf("got %q", r.Spoken)
	}
}
