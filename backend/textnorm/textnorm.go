// Package textnorm turns written Vietnamese into the spoken form that VietTTS reads: numbers,
// dates, times, money, units, phone numbers, Roman numerals, abbreviations, acronyms, symbols,
// URLs and e-mail addresses become words, emoji and model control-token look-alikes are dropped,
// and punctuation is reduced to the marks that shape prosody (MODEL.md §2.1).
//
// Every spoken word keeps a span (byte offsets) into the NFC form of the source text, so the app
// can highlight the text being read and show the spoken form beside it. A user lexicon (a word or
// a regular expression → its spoken form) wins over every rule; Changed tells which segments a
// lexicon edit affects, so only those are rendered again.
//
// The sub-package segment cuts a Result into synthesis segments.
//
// A Normalizer is immutable after New and safe for concurrent use.
package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Options are the reading choices a user can make. The zero value reads like a northern
// broadcast narrator: "nghìn", "linh", URLs spoken, ? and ! kept.
type Options struct {
	// Thousand is the word for 1000: "nghìn" (default) or "ngàn" (southern usage).
	Thousand string `json:"thousand,omitempty"`
	// ZeroTens is the word for a zero tens digit between hundreds and units (105): "linh"
	// (default) or "lẻ".
	ZeroTens string `json:"zeroTens,omitempty"`
	// SkipURLs drops URLs and e-mail addresses instead of reading them out.
	SkipURLs bool `json:"skipURLs,omitempty"`
	// PlainStops turns "?" and "!" into "." as VietTTS's own front end does. By default they are
	// kept, so questions keep their intonation.
	PlainStops bool `json:"plainStops,omitempty"`
	// Lexicon entries win over every rule. Matches are taken leftmost first, then the longest,
	// then the earliest entry.
	Lexicon []LexEntry `json:"lexicon,omitempty"`
}

func (o Options) withDefaults() Options {
	if o.Thousand != "ngàn" {
		o.Thousand = "nghìn"
	}
	if o.ZeroTens != "lẻ" {
		o.ZeroTens = "linh"
	}
	return o
}

// Span is a half-open byte range [Start, End) of Result.Source.
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Break is the boundary that follows a word.
type Break uint8

const (
	// BreakNone: the next word follows in the same clause.
	BreakNone Break = iota
	// BreakClause: a comma-like pause (comma, semicolon, colon, dash, parenthesis).
	BreakClause
	// BreakSentence: the end of a sentence (. ? ! or a line break).
	BreakSentence
	// BreakParagraph: the end of a paragraph (a blank line, or the end of the text).
	BreakParagraph
)

func (b Break) String() string {
	switch b {
	case BreakClause:
		return "clause"
	case BreakSentence:
		return "sentence"
	case BreakParagraph:
		return "paragraph"
	}
	return "none"
}

// MarshalText writes the break by name.
func (b Break) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// Word is the smallest unit that keeps a span: one source word read as it is, or the whole
// reading of a number, date, time, abbreviation or lexicon entry (then Text has several
// syllables, and a segment is never cut inside it), or a punctuation mark kept for prosody.
type Word struct {
	// Text is the spoken form, NFC.
	Text string `json:"text"`
	// Src is where the word comes from in Result.Source. Words are ordered by Src.Start; words
	// the normalizer adds (a final full stop) have an empty span.
	Src Span `json:"src"`
	// Punct marks a punctuation word (",", ".", "?", "!"), written without a space before it.
	Punct bool `json:"punct,omitempty"`
	// Break is the boundary after this word; only punctuation words have one.
	Break Break `json:"break,omitempty"`
	// Lexicon is set on words produced by a lexicon entry.
	Lexicon bool `json:"lexicon,omitempty"`
}

// Result is the spoken form of a text.
type Result struct {
	// Source is the NFC form of the input (bytes that are not UTF-8 replaced by U+FFFD); spans
	// index it.
	Source string `json:"source"`
	// Spoken is the text to synthesize: the words joined by spaces, punctuation attached.
	Spoken string `json:"spoken"`
	Words  []Word `json:"words"`
}

// Join writes words as spoken text: separated by spaces, punctuation attached to the word before.
func Join(words []Word) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 && !w.Punct {
			b.WriteByte(' ')
		}
		b.WriteString(w.Text)
	}
	return b.String()
}

// Normalizer reads Vietnamese text aloud. Build it with New.
type Normalizer struct {
	opts    Options
	lex     []lexRule
	lexErrs []error
}

// New builds a normalizer. Lexicon entries that cannot be used (an empty pattern, a regular
// expression that does not compile) are left out and reported by LexiconErrors; check entries
// when the user types them with ValidateLexicon.
func New(opts Options) *Normalizer {
	opts = opts.withDefaults()
	n := &Normalizer{opts: opts}
	n.lex, n.lexErrs = compileLexicon(opts.Lexicon)
	return n
}

// Options returns the options the normalizer was built with (defaults filled in).
func (n *Normalizer) Options() Options { return n.opts }

// LexiconErrors lists the lexicon entries New left out, with the reason.
func (n *Normalizer) LexiconErrors() []error { return n.lexErrs }

// Normalize returns the spoken form of text. The text is NFC-normalized first; spans index the
// NFC form, returned as Result.Source.
func (n *Normalizer) Normalize(text string) Result {
	src := text
	if !utf8.ValidString(src) { // bytes that are not UTF-8 read as U+FFFD, as everywhere else
		src = strings.ToValidUTF8(src, "\uFFFD")
	}
	if !norm.NFC.IsNormalString(src) {
		src = norm.NFC.String(src)
	}
	s := &state{n: n, o: n.opts, src: src, numIdx: -1}
	matches := n.lexiconMatches(src)
	i, m := 0, 0
	for i < len(src) {
		if m < len(matches) && matches[m].start <= i {
			if matches[m].start == i {
				s.emitLexicon(matches[m])
				i = matches[m].end
			}
			m++
			continue
		}
		limit := len(src)
		if m < len(matches) {
			limit = matches[m].start
		}
		next := s.step(src[:limit], i)
		if next <= i { // a rule must consume; never loop
			_, size := utf8.DecodeRuneInString(src[i:])
			next = i + size
		}
		i = next
	}
	s.finish()
	return Result{Source: src, Spoken: Join(s.words), Words: s.words}
}

// state is one Normalize call in progress.
type state struct {
	n     *Normalizer
	o     Options
	src   string
	words []Word
	// lastNum is set when the last word read a number, date or time (for ranges: "10-20").
	lastNum bool
	// numIdx is the index of the last word that read a number (-1: none).
	numIdx int
}

// emit appends a spoken word for src[start:end].
func (s *state) emit(text string, start, end int) {
	text = cleanSpoken(text)
	if text == "" {
		return
	}
	s.words = append(s.words, Word{Text: text, Src: Span{start, end}})
	s.lastNum = false
}

// emitNum appends a word that reads a number, date or time.
func (s *state) emitNum(text string, start, end int) {
	s.emit(text, start, end)
	s.lastNum = true
	s.numIdx = len(s.words) - 1
}

// punct appends a punctuation word, merging it with a punctuation word right before it (the
// stronger mark wins) and dropping it at the start of the text (a line-leading dot).
func (s *state) punct(mark string, brk Break, start, end int) {
	s.lastNum = false
	if len(s.words) == 0 {
		return
	}
	last := &s.words[len(s.words)-1]
	if last.Punct {
		if brk > last.Break {
			if brk >= BreakSentence && last.Break < BreakSentence {
				last.Text = mark
			}
			last.Break = brk
		}
		if end > last.Src.End {
			last.Src.End = end
		}
		return
	}
	s.words = append(s.words, Word{Text: mark, Src: Span{start, end}, Punct: true, Break: brk})
}

// stop ends a sentence with a full stop if it has no end mark yet.
func (s *state) stop(brk Break, start, end int) {
	if len(s.words) == 0 {
		return
	}
	last := &s.words[len(s.words)-1]
	if last.Punct && last.Break >= BreakSentence {
		if brk > last.Break {
			last.Break = brk
		}
		return
	}
	s.punct(".", brk, start, end)
}

func (s *state) finish() {
	if len(s.words) == 0 {
		return
	}
	n := len(s.src)
	s.stop(BreakParagraph, n, n)
	last := &s.words[len(s.words)-1]
	last.Break = BreakParagraph
}

// prev returns the text of the k-th last non-punctuation word of the current clause, lower-case
// ("" if there is none or a punctuation mark comes first).
func (s *state) prev(k int) string {
	for i := len(s.words) - 1; i >= 0; i-- {
		if s.words[i].Punct {
			return ""
		}
		if k == 1 {
			return strings.ToLower(s.words[i].Text)
		}
		k--
	}
	return ""
}

// lastText returns the last word as written ("" after punctuation or at the start).
func (s *state) lastText() string {
	if len(s.words) == 0 || s.words[len(s.words)-1].Punct {
		return ""
	}
	return s.words[len(s.words)-1].Text
}

// after reports whether the last words of the current clause are one of the phrases
// (lower-case, single spaces).
func (s *state) after(phrases ...string) bool {
	p1 := s.prev(1)
	if p1 == "" {
		return false
	}
	p2 := s.prev(2)
	for _, p := range phrases {
		if p == p1 {
			return true
		}
		if p2 != "" && p == p2+" "+p1 {
			return true
		}
	}
	return false
}

// inClause reports whether one of words (lower-case, one word each) is among the last n words
// of the current clause.
func (s *state) inClause(n int, words ...string) bool {
	for i := len(s.words) - 1; i >= 0 && n > 0; i-- {
		w := s.words[i]
		if w.Punct {
			return false
		}
		last := strings.ToLower(w.Text)
		if k := strings.LastIndexByte(last, ' '); k >= 0 {
			last = last[k+1:]
		}
		for _, x := range words {
			if last == x {
				return true
			}
		}
		n--
	}
	return false
}

// atClauseStart reports whether nothing but punctuation (or nothing) comes before.
func (s *state) atClauseStart() bool {
	return len(s.words) == 0 || s.words[len(s.words)-1].Punct
}

// cleanSpoken keeps spoken text free of control-token look-alikes and returns it NFC.
func cleanSpoken(t string) string {
	if strings.ContainsAny(t, "<>|") {
		t = strings.Map(func(r rune) rune {
			if r == '<' || r == '>' || r == '|' {
				return ' '
			}
			return r
		}, t)
		t = strings.Join(strings.Fields(t), " ")
	}
	if !norm.NFC.IsNormalString(t) {
		t = norm.NFC.String(t)
	}
	return t
}

// step reads from t[i:] (t ends where the next lexicon match starts) and returns where it
// stopped.
func (s *state) step(t string, i int) int {
	r, size := utf8.DecodeRuneInString(t[i:])
	switch {
	case r == '\n' || r == '\r' || unicode.IsSpace(r):
		return s.space(t, i)
	case r >= '0' && r <= '9':
		if j, ok := s.numeric(t, i); ok {
			return j
		}
		return s.wordRun(t, i)
	case isLetter(r):
		if j, ok := s.lettered(t, i); ok {
			return j
		}
		return s.wordRun(t, i)
	case r == utf8.RuneError && size <= 1:
		return i + 1
	}
	return s.symbol(t, i, r, size)
}

// space handles a run of white space: one line break ends a sentence, a blank line a paragraph.
func (s *state) space(t string, i int) int {
	j, lines := i, 0
	for j < len(t) {
		r, size := utf8.DecodeRuneInString(t[j:])
		if !(r == '\n' || r == '\r' || unicode.IsSpace(r)) {
			break
		}
		if r == '\n' || r == '\u2028' || r == '\u2029' {
			lines++
		}
		j += size
	}
	switch {
	case lines >= 2:
		s.stop(BreakParagraph, i, i+1)
	case lines == 1:
		s.stop(BreakSentence, i, i+1)
	}
	return j
}

func isLetter(r rune) bool { return unicode.IsLetter(r) }

func isAlnum(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// boundary reports whether t[j:] does not continue a word (end, or a rune that is not a
// letter, digit or combining mark).
func boundary(t string, j int) bool {
	if j >= len(t) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(t[j:])
	return !isAlnum(r)
}

// prevRune returns the rune before byte i of t (0 at the start).
func prevRune(t string, i int) rune {
	if i == 0 {
		return 0
	}
	r, _ := utf8.DecodeLastRuneInString(t[:i])
	return r
}

// nextNonSpace returns the first rune at or after j that is not a space, and whether a line
// break came before it.
func nextNonSpace(t string, j int) (rune, bool) {
	nl := false
	for j < len(t) {
		r, size := utf8.DecodeRuneInString(t[j:])
		if r == '\n' {
			nl = true
		}
		if !unicode.IsSpace(r) {
			return r, nl
		}
		j += size
	}
	return 0, true
}
