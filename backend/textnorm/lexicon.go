package textnorm

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// LexEntry is one lexicon entry: text matching Pattern is read as Spoken, before any rule.
//
// A plain pattern matches the exact text (case-sensitive: "AI" is not "ai") as whole words: it
// does not match inside a longer word. A regular-expression pattern (Go RE2 syntax) matches
// anywhere; Spoken may refer to its groups as $1 or ${name}. Spoken is itself normalized, so it
// may contain digits; an empty Spoken deletes the matched text from the reading.
type LexEntry struct {
	Pattern string `json:"pattern"`
	Spoken  string `json:"spoken"`
	IsRegex bool   `json:"isRegex,omitempty"`
}

type lexRule struct {
	entry LexEntry
	index int
	re    *regexp.Regexp
}

type lexMatch struct {
	start, end int
	rule       int
	spoken     string
}

// ErrBadLexEntry is wrapped by the errors of ValidateLexicon and Normalizer.LexiconErrors.
var ErrBadLexEntry = errors.New("unusable lexicon entry")

func compileEntry(e LexEntry) (*regexp.Regexp, error) {
	if strings.TrimSpace(e.Pattern) == "" {
		return nil, fmt.Errorf("%w: the pattern is empty; type the word to replace", ErrBadLexEntry)
	}
	if !e.IsRegex {
		return nil, nil
	}
	re, err := regexp.Compile(e.Pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: the regular expression %q does not compile (%v); fix it or untick \"regular expression\" to match the text literally",
			ErrBadLexEntry, e.Pattern, err)
	}
	if re.MatchString("") {
		return nil, fmt.Errorf("%w: the regular expression %q matches empty text; make it require at least one character",
			ErrBadLexEntry, e.Pattern)
	}
	return re, nil
}

// ValidateLexicon checks entries the way New does and returns every problem, each naming the
// entry (1-based) and saying how to fix it; nil if all entries are usable.
func ValidateLexicon(entries []LexEntry) error {
	_, errs := compileLexicon(entries)
	return errors.Join(errs...)
}

func compileLexicon(entries []LexEntry) ([]lexRule, []error) {
	var rules []lexRule
	var errs []error
	for i, e := range entries {
		// the text is matched in NFC, so the entry must be NFC too (a pattern typed with
		// combining marks would otherwise never match)
		e.Pattern, e.Spoken = norm.NFC.String(e.Pattern), norm.NFC.String(e.Spoken)
		re, err := compileEntry(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("lexicon entry %d (%q): %w", i+1, e.Pattern, err))
			continue
		}
		rules = append(rules, lexRule{entry: e, index: i, re: re})
	}
	return rules, errs
}

// lexiconMatches finds where lexicon entries apply in src: leftmost first, then the longest, then
// the earliest entry; matches do not overlap.
func (n *Normalizer) lexiconMatches(src string) []lexMatch {
	if len(n.lex) == 0 {
		return nil
	}
	var all []lexMatch
	for k, r := range n.lex {
		all = append(all, r.find(src, k)...)
	}
	sort.SliceStable(all, func(a, b int) bool {
		if all[a].start != all[b].start {
			return all[a].start < all[b].start
		}
		if la, lb := all[a].end-all[a].start, all[b].end-all[b].start; la != lb {
			return la > lb
		}
		return all[a].rule < all[b].rule
	})
	out := all[:0]
	last := 0
	for _, m := range all {
		if m.start >= last {
			out = append(out, m)
			last = m.end
		}
	}
	return out
}

func (r lexRule) find(src string, k int) []lexMatch {
	var out []lexMatch
	if r.re != nil {
		for _, m := range r.re.FindAllStringSubmatchIndex(src, -1) {
			if m[1] <= m[0] {
				continue
			}
			spoken := string(r.re.ExpandString(nil, r.entry.Spoken, src, m))
			out = append(out, lexMatch{start: m[0], end: m[1], rule: k, spoken: spoken})
		}
		return out
	}
	p := r.entry.Pattern
	for from := 0; from < len(src); {
		j := strings.Index(src[from:], p)
		if j < 0 {
			break
		}
		start, end := from+j, from+j+len(p)
		if wordEdges(src, start, end) {
			out = append(out, lexMatch{start: start, end: end, rule: k, spoken: r.entry.Spoken})
			from = end
		} else {
			from = start + 1
			for from < len(src) && src[from]&0xC0 == 0x80 {
				from++
			}
		}
	}
	return out
}

// wordEdges reports whether src[start:end] is not glued to a letter or digit on a side where
// the match itself begins or ends with one.
func wordEdges(src string, start, end int) bool {
	first, last := src[start:end], src[start:end]
	if isAlnumPrefix(first) && start > 0 && isAlnum(prevRune(src, start)) {
		return false
	}
	if isAlnumSuffix(last) && !boundary(src, end) {
		return false
	}
	return true
}

func isAlnumPrefix(s string) bool {
	for _, r := range s {
		return isAlnum(r)
	}
	return false
}

func isAlnumSuffix(s string) bool {
	r := prevRune(s, len(s))
	return r != 0 && isAlnum(r)
}

// emitLexicon appends the reading of a lexicon match as one word (never cut by the segmenter).
func (s *state) emitLexicon(m lexMatch) {
	text := s.n.plainReading(m.spoken)
	if text == "" {
		return
	}
	s.words = append(s.words, Word{Text: text, Src: Span{m.start, m.end}, Lexicon: true})
	s.lastNum = false
}

// plainReading normalizes a lexicon entry's spoken form with the rules only (no lexicon, so
// entries cannot recurse), without the final full stop.
func (n *Normalizer) plainReading(spoken string) string {
	if strings.TrimSpace(spoken) == "" {
		return ""
	}
	plain := &Normalizer{opts: n.opts}
	plain.opts.Lexicon = nil
	words := plain.Normalize(spoken).Words
	for len(words) > 0 && words[len(words)-1].Punct {
		words = words[:len(words)-1]
	}
	return Join(words)
}

// Changed tells which of sources (segment source texts) read differently under newLex than
// under oldLex, with the other options the same, and returns their indexes in order. Only those
// segments need to be rendered again. Sources that no added, removed or edited entry can match
// are skipped without normalizing them.
func Changed(opts Options, oldLex, newLex []LexEntry, sources []string) []int {
	oldOpts, newOpts := opts, opts
	oldOpts.Lexicon, newOpts.Lexicon = oldLex, newLex
	before, after := New(oldOpts), New(newOpts)
	diff, orderKept := lexiconDiff(oldLex, newLex)
	probe := New(Options{Lexicon: diff})
	var out []int
	for i, src := range sources {
		if orderKept && len(probe.lexiconMatches(norm.NFC.String(src))) == 0 {
			continue
		}
		if before.Normalize(src).Spoken != after.Normalize(src).Spoken {
			out = append(out, i)
		}
	}
	return out
}

// lexiconDiff returns the entries in one lexicon and not the other, and whether the entries in
// both keep their relative order (if not, precedence may change anywhere they match).
func lexiconDiff(a, b []LexEntry) ([]LexEntry, bool) {
	inA, inB := map[LexEntry]int{}, map[LexEntry]int{}
	for _, e := range a {
		inA[e]++
	}
	for _, e := range b {
		inB[e]++
	}
	var diff []LexEntry
	var commonA, commonB []LexEntry
	for _, e := range a {
		if inB[e] == 0 {
			diff = append(diff, e)
		} else {
			commonA = append(commonA, e)
		}
	}
	for _, e := range b {
		if inA[e] == 0 {
			diff = append(diff, e)
		} else {
			commonB = append(commonB, e)
		}
	}
	kept := len(commonA) == len(commonB)
	for i := 0; kept && i < len(commonA); i++ {
		kept = commonA[i] == commonB[i]
	}
	return diff, kept
}
