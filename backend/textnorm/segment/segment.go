// Package segment cuts the spoken form of a text (a textnorm.Result) into synthesis segments:
// one segment is one LLM → flow → vocoder pass of the model.
//
// The rule is VietTTS's own (MODEL.md §2.2): sentences are packed greedily up to about 30 text
// tokens, a segment is not closed before it has 10, and a tail under 5 tokens joins the segment
// before it. Unlike VietTTS, a sentence longer than the maximum is cut at clause boundaries
// (commas, semicolons, colons, then before conjunctions such as "nhưng", "và", "vì"), and only as
// a last resort between words, always where the pieces are most even. A cut never falls inside a
// textnorm.Word, so a number, a date, an abbreviation or a lexicon entry is never split. Paragraph
// ends close a segment and become pause marks; the caller marks a chapter end with Options.Last.
//
// Lengths are measured in text tokens of the model's tokenizer through TokenCounter; Approx is a
// documented estimate for when the tokenizer is not loaded.
package segment

import (
	"math"
	"strings"
	"unicode"

	"github.com/viettts-studio/studio/backend/textnorm"
)

// TokenCounter measures text the way the model's text tokenizer does. CountTokens returns the
// number of text tokens of a spoken-form string; it must be safe for concurrent use and must not
// fail (inference/tokenizer.Tokenizer satisfies it).
type TokenCounter interface {
	CountTokens(text string) int
}

// Pause is the silence that follows a segment, from shortest to longest.
type Pause uint8

const (
	// PauseClause follows a segment cut inside a long sentence.
	PauseClause Pause = iota + 1
	// PauseSentence follows the end of a sentence.
	PauseSentence
	// PauseParagraph follows the end of a paragraph.
	PauseParagraph
	// PauseChapter follows the end of a chapter (set through Options.Last).
	PauseChapter
)

func (p Pause) String() string {
	switch p {
	case PauseClause:
		return "clause"
	case PauseSentence:
		return "sentence"
	case PauseParagraph:
		return "paragraph"
	case PauseChapter:
		return "chapter"
	}
	return "none"
}

// MarshalText writes the pause by name.
func (p Pause) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Options tune the segmenter; zero fields take VietTTS's values.
type Options struct {
	// MaxTokens is the length a segment should not exceed (default 30).
	MaxTokens int
	// MinTokens is the length below which a segment is not closed yet (default 10).
	MinTokens int
	// MergeTokens: a final piece shorter than this joins the segment before it (default 5).
	MergeTokens int
	// Last, when set, is the pause after the last segment, in place of the paragraph pause that
	// ends every text: PauseChapter at the end of a chapter, PauseSentence between the cells of a
	// table or the cues of a subtitle file.
	Last Pause
}

func (o Options) withDefaults() Options {
	if o.MaxTokens <= 0 {
		o.MaxTokens = 30
	}
	if o.MinTokens <= 0 {
		o.MinTokens = 10
	}
	if o.MinTokens > o.MaxTokens {
		o.MinTokens = o.MaxTokens
	}
	if o.MergeTokens <= 0 {
		o.MergeTokens = 5
	}
	return o
}

// Segment is one unit of synthesis.
type Segment struct {
	// Src covers the segment's words in the normalized source (textnorm.Result.Source).
	Src textnorm.Span `json:"src"`
	// Spoken is the text given to the model.
	Spoken string `json:"spoken"`
	// Words are the spoken words with their spans, for highlighting.
	Words []textnorm.Word `json:"words"`
	// Tokens is the length of Spoken in text tokens.
	Tokens int `json:"tokens"`
	// Pause is the silence after the segment.
	Pause Pause `json:"pause"`
}

// Split cuts r into segments. A nil tok uses Approx.
func Split(r textnorm.Result, tok TokenCounter, opts Options) []Segment {
	if tok == nil {
		tok = Approx{}
	}
	opts = opts.withDefaults()
	sp := splitter{tok: tok, o: opts}
	var out []Segment
	for _, para := range paragraphs(r.Words) {
		var pieces [][]textnorm.Word
		for _, sent := range sentences(para) {
			pieces = append(pieces, sp.cutLong(sent)...)
		}
		out = append(out, sp.pack(pieces)...)
	}
	if n := len(out); n > 0 && opts.Last != 0 {
		out[n-1].Pause = opts.Last
	}
	return out
}

type splitter struct {
	tok TokenCounter
	o   Options
}

func (sp splitter) count(words []textnorm.Word) int { return sp.tok.CountTokens(textnorm.Join(words)) }

// paragraphs splits words after each paragraph break.
func paragraphs(words []textnorm.Word) [][]textnorm.Word {
	return cutAfter(words, textnorm.BreakParagraph)
}

// sentences splits words after each sentence (or paragraph) break.
func sentences(words []textnorm.Word) [][]textnorm.Word {
	return cutAfter(words, textnorm.BreakSentence)
}

func cutAfter(words []textnorm.Word, b textnorm.Break) [][]textnorm.Word {
	var out [][]textnorm.Word
	start := 0
	for i, w := range words {
		if w.Punct && w.Break >= b {
			out = append(out, words[start:i+1])
			start = i + 1
		}
	}
	if start < len(words) {
		out = append(out, words[start:])
	}
	return out
}

// conjunctions are the words before which a long sentence may be cut when it has no comma to
// cut at.
var conjunctions = map[string]bool{
	"nhưng": true, "và": true, "mà": true, "thì": true, "vì": true, "nên": true, "để": true,
	"hoặc": true, "hay": true, "song": true, "tuy": true, "còn": true, "rồi": true, "nếu": true,
	"khi": true, "bởi": true, "nhằm": true, "tuy nhiên": true, "nhưng mà": true,
}

// glue are words that announce what follows them (a date, a number, a name); a cut right after
// one is the last resort.
var glue = map[string]bool{
	"ngày": true, "tháng": true, "năm": true, "lúc": true, "số": true, "thứ": true, "chương": true,
	"phần": true, "điều": true, "khoản": true, "mục": true, "quý": true, "kỷ": true, "ông": true,
	"bà": true, "anh": true, "chị": true, "cô": true, "chú": true, "bác": true, "em": true, "các": true,
	"những": true, "một": true, "mỗi": true, "từ": true, "đến": true, "tại": true, "của": true,
}

// cutLong returns a sentence as it is when it fits, otherwise cut into pieces that fit.
func (sp splitter) cutLong(words []textnorm.Word) [][]textnorm.Word {
	if len(words) == 0 {
		return nil
	}
	if len(words) <= 64 && sp.count(words) <= sp.o.MaxTokens {
		return [][]textnorm.Word{words}
	}
	// Per-word estimates make the cut search linear; pieces are measured exactly afterwards.
	cum := make([]int, len(words)+1)
	for i, w := range words {
		t := w.Text
		if i > 0 && !w.Punct {
			t = " " + t
		}
		cum[i+1] = cum[i] + sp.tok.CountTokens(t)
	}
	var out [][]textnorm.Word
	var rec func(lo, hi int)
	rec = func(lo, hi int) {
		if hi-lo <= 1 || cum[hi]-cum[lo] <= sp.o.MaxTokens && (hi-lo > 64 || sp.count(words[lo:hi]) <= sp.o.MaxTokens) {
			out = append(out, words[lo:hi])
			return
		}
		k := sp.bestCut(words, cum, lo, hi)
		if k < 0 {
			out = append(out, words[lo:hi]) // one word and its punctuation: nothing to cut
			return
		}
		rec(lo, k)
		rec(k, hi)
	}
	rec(0, len(words))
	return out
}

// bestCut picks where to cut words[lo:hi] (the cut is before index k). It prefers, in order: after
// a clause mark (a comma, a semicolon: the text's own pause); then, with both sides at least
// MinTokens long, before a conjunction, between any two words, after a word that announces what
// follows ("ngày", "số"); the two sides most even. A cut that is not at a clause mark never leaves
// a side shorter than MergeTokens ("Món nợ | 755 triệu đồng…" would orphan the subject): such a
// range stays whole, over the limit. It returns -1 when there is no acceptable cut.
func (sp splitter) bestCut(words []textnorm.Word, cum []int, lo, hi int) int {
	total := cum[hi] - cum[lo]
	best := -1
	var bestKey [3]int
	for k := lo + 1; k < hi; k++ {
		if words[k].Punct {
			continue // never start a piece with punctuation
		}
		class := 3
		switch {
		case words[k-1].Punct && words[k-1].Break >= textnorm.BreakClause:
			class = 1
		case conjunctions[strings.ToLower(words[k].Text)] && !words[k-1].Punct:
			class = 2
		case glue[strings.ToLower(words[k-1].Text)]:
			class = 4 // "ngày | 2 tháng 9", "Chương | bốn": keep a word with the number it announces
		}
		left := cum[k] - cum[lo]
		right := total - left
		short := 0
		if class > 1 {
			if left < sp.o.MergeTokens || right < sp.o.MergeTokens {
				continue
			}
			if left < sp.o.MinTokens || right < sp.o.MinTokens {
				short = 1
			}
		}
		key := [3]int{short, class, abs(left - right)}
		if best < 0 || less(key, bestKey) {
			best, bestKey = k, key
		}
	}
	return best
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// pack merges the pieces of one paragraph into segments with VietTTS's greedy rule.
func (sp splitter) pack(pieces [][]textnorm.Word) []Segment {
	var segs [][]textnorm.Word
	var cur []textnorm.Word
	c := 0 // tokens of cur
	for _, p := range pieces {
		if len(cur) == 0 {
			cur = append([]textnorm.Word(nil), p...)
			c = sp.count(cur)
			continue
		}
		joined := append(append([]textnorm.Word(nil), cur...), p...)
		n := sp.count(joined)
		if n > sp.o.MaxTokens && (c > sp.o.MinTokens || n > sp.o.MaxTokens+sp.o.MinTokens) {
			segs = append(segs, cur)
			cur = append([]textnorm.Word(nil), p...)
			c = sp.count(cur)
			continue
		}
		cur, c = joined, n
	}
	if len(cur) > 0 {
		if len(segs) > 0 && c < sp.o.MergeTokens {
			segs[len(segs)-1] = append(segs[len(segs)-1], cur...)
		} else {
			segs = append(segs, cur)
		}
	}
	out := make([]Segment, 0, len(segs))
	for _, words := range segs {
		out = append(out, sp.segment(words))
	}
	return out
}

func (sp splitter) segment(words []textnorm.Word) Segment {
	s := Segment{Words: words, Spoken: textnorm.Join(words)}
	s.Tokens = sp.tok.CountTokens(s.Spoken)
	s.Src = textnorm.Span{Start: words[0].Src.Start, End: words[0].Src.End}
	for _, w := range words {
		if w.Src.End > s.Src.End {
			s.Src.End = w.Src.End
		}
	}
	last := words[len(words)-1]
	switch {
	case !last.Punct || last.Break <= textnorm.BreakClause:
		s.Pause = PauseClause
	case last.Break == textnorm.BreakSentence:
		s.Pause = PauseSentence
	default:
		s.Pause = PauseParagraph
	}
	return s
}

// Approx estimates text tokens without the model's tokenizer: 1.75 tokens per syllable (a run of
// letters or digits) plus one per punctuation mark, rounded up. MODEL.md §2.3 measured 1.75 to 2.0
// tokens per Vietnamese syllable with the shipped ranks ("Xin chào Việt Nam." is 7 tokens); the
// estimate is an approximation for tests and for the time before a model is installed, not a
// substitute for inference/tokenizer.
type Approx struct{}

// CountTokens implements TokenCounter.
func (Approx) CountTokens(text string) int {
	syllables, marks := 0, 0
	in := false
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			if !in {
				syllables++
			}
			in = true
		case unicode.IsSpace(r):
			in = false
		default:
			in = false
			marks++
		}
	}
	return int(math.Ceil(1.75*float64(syllables))) + marks
}
