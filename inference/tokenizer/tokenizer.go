// Package tokenizer turns a spoken-form text segment into the text token ids the VietTTS LLM reads
// (MODEL.md §3): a tiktoken byte-pair encoding over the 58,836 ranks of the model's
// multilingual.tiktoken file, a GPT-2 style pre-tokenizer, and the Whisper/CosyVoice special tokens
// appended after the ranks.
//
// User text is never turned into special ids: a "<|en|>" typed in a document is encoded as the
// characters it is made of. Special ids are reachable only by name through SpecialID.
package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// RanksCount is the number of byte-pair ranks in VietTTS's multilingual.tiktoken.
const RanksCount = 58836

// Tokenizer encodes text. It is immutable after Load and safe for concurrent use.
type Tokenizer struct {
	ranks    map[string]int
	specials map[string]int
	nRanks   int
}

// Load reads a tiktoken ranks file (one "base64-token rank" pair per line) and appends the special
// tokens of MODEL.md §3 after the highest rank.
func Load(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open tokenizer ranks: %w (the model bundle's tokenizer file is missing: reinstall the model)", err)
	}
	defer f.Close()
	t, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	return t, nil
}

// Read parses a tiktoken ranks stream; see Load.
func Read(r io.Reader) (*Tokenizer, error) {
	t := &Tokenizer{ranks: make(map[string]int, RanksCount)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		tok, rank, ok := bytes.Cut(b, []byte{' '})
		if !ok {
			return nil, fmt.Errorf("line %d: want \"base64-token rank\", got %q", line, truncate(b))
		}
		raw, err := base64.StdEncoding.DecodeString(string(tok))
		if err != nil && len(bytes.Trim(tok, "=")) == 0 {
			// The VietTTS file lists the empty token as a bare "=", which Python's lenient decoder
			// reads as b"". It can never match a piece, but it holds a rank.
			raw, err = nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: token is not base64: %w", line, err)
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(rank)))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("line %d: rank %q is not a non-negative integer", line, truncate(rank))
		}
		if _, dup := t.ranks[string(raw)]; dup {
			return nil, fmt.Errorf("line %d: token %q listed twice", line, tok)
		}
		t.ranks[string(raw)] = n
		if n+1 > t.nRanks {
			t.nRanks = n + 1
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ranks: %w", err)
	}
	if len(t.ranks) == 0 {
		return nil, errors.New("no ranks in file: it is empty or not a tiktoken ranks file")
	}
	for b := 0; b < 256; b++ {
		if _, ok := t.ranks[string([]byte{byte(b)})]; !ok {
			return nil, fmt.Errorf("byte 0x%02x has no rank: not a byte-level BPE ranks file", b)
		}
	}
	t.specials = make(map[string]int, 1800)
	for i, name := range specialTokens() {
		t.specials[name] = t.nRanks + i
	}
	return t, nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// VocabSize is the number of ids the tokenizer can produce: ranks plus special tokens
// (60,510 for VietTTS; the model's embedding table has 60,515 rows).
func (t *Tokenizer) VocabSize() int { return t.nRanks + len(t.specials) }

// SpecialID returns the id of a special token such as "<|endoftext|>" or "<|vi|>".
func (t *Tokenizer) SpecialID(name string) (int, bool) {
	id, ok := t.specials[name]
	return id, ok
}

// Encode returns the token ids of text, NFC-normalized first. Special-token strings in text are
// encoded as plain text.
func (t *Tokenizer) Encode(text string) []int {
	text = norm.NFC.String(text)
	ids := make([]int, 0, len(text)/2+1)
	for _, piece := range pretokenize(text) {
		ids = t.appendPiece(ids, []byte(piece))
	}
	return ids
}

// CountTokens is the number of ids Encode returns for text (the segmenter's measure of length).
func (t *Tokenizer) CountTokens(text string) int { return len(t.Encode(text)) }

// appendPiece byte-pair encodes one pre-token: adjacent parts are merged lowest rank first
// (leftmost on ties) until no adjacent pair has a rank.
func (t *Tokenizer) appendPiece(ids []int, piece []byte) []int {
	if r, ok := t.ranks[string(piece)]; ok {
		return append(ids, r)
	}
	// bounds[i] is the start of part i; the last entry is len(piece).
	bounds := make([]int, len(piece)+1)
	for i := range bounds {
		bounds[i] = i
	}
	const none = int(^uint(0) >> 1)
	pairRank := func(i int) int {
		if i+2 >= len(bounds) {
			return none
		}
		if r, ok := t.ranks[string(piece[bounds[i]:bounds[i+2]])]; ok {
			return r
		}
		return none
	}
	rks := make([]int, len(bounds)-1)
	for i := range rks {
		rks[i] = pairRank(i)
	}
	for len(bounds) > 2 {
		best, at := none, -1
		for i, r := range rks[:len(bounds)-2] {
			if r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		bounds = append(bounds[:at+1], bounds[at+2:]...)
		rks = append(rks[:at+1], rks[at+2:]...)
		rks[at] = pairRank(at)
		if at > 0 {
			rks[at-1] = pairRank(at - 1)
		}
	}
	for i := 0; i+1 < len(bounds); i++ {
		// Every single byte has a rank (checked in Read), so every part resolves.
		ids = append(ids, t.ranks[string(piece[bounds[i]:bounds[i+1]])])
	}
	return ids
}

// pretokenize splits text the way the pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// does, without a look-ahead engine: in a whitespace run followed by a non-space character, the last
// whitespace character is left for the next piece.
func pretokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		n := matchAt(s, i)
		out = append(out, s[i:i+n])
		i += n
	}
	return out
}

func isSpace(r rune) bool  { return unicode.Is(unicode.White_Space, r) }
func isLetter(r rune) bool { return unicode.IsLetter(r) }
func isNumber(r rune) bool { return unicode.IsNumber(r) }
func isOther(r rune) bool  { return !isSpace(r) && !isLetter(r) && !isNumber(r) }

// matchAt returns the byte length of the pre-token starting at s[i:] (always ≥ 1).
func matchAt(s string, i int) int {
	if s[i] == '\'' {
		rest := s[i+1:]
		for _, c := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
			if len(rest) >= len(c) && rest[:len(c)] == c {
				return 1 + len(c)
			}
		}
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	next, _ := utf8.DecodeRuneInString(s[i+size:])
	hasNext := i+size < len(s)
	for _, class := range [...]func(rune) bool{isLetter, isNumber, isOther} {
		start := -1
		switch {
		case r == ' ' && hasNext && class(next):
			start = i + size
		case class(r):
			start = i
		}
		if start >= 0 {
			return runEnd(s, start, class) - i
		}
	}
	// Whitespace: take the run, but leave its last character to a following non-space.
	end := runEnd(s, i, isSpace)
	if end == len(s) {
		return end - i
	}
	_, lastSize := utf8.DecodeLastRuneInString(s[:end])
	if end-lastSize > i {
		return end - lastSize - i
	}
	return end - i
}

// runEnd returns the end of the run of runes in class starting at s[i:].
func runEnd(s string, i int, class func(rune) bool) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !class(r) {
			break
		}
		i += size
	}
	return i
}

// whisperLanguages are the first 100 language codes of the tokenizer's language table, in order.
var whisperLanguages = [...]string{
	"en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it",
	"id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur",
	"hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr", "az", "sl", "kn",
	"et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si",
	"km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
	"ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha",
	"ba", "jw", "su", "yue",
}

// specialTokens lists the special tokens in id order (MODEL.md §3).
func specialTokens() []string {
	s := []string{"<|endoftext|>", "<|startoftranscript|>"}
	for _, l := range whisperLanguages {
		s = append(s, "<|"+l+"|>")
	}
	for _, e := range [...]string{"ASR", "AED", "SER", "Speech", "/Speech", "BGM", "/BGM", "Laughter",
		"/Laughter", "Applause", "/Applause", "HAPPY", "SAD", "ANGRY", "NEUTRAL"} {
		s = append(s, "<|"+e+"|>")
	}
	s = append(s, "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
		"<|nospeech|>", "<|notimestamps|>")
	for i := 1; i <= 30; i++ {
		s = append(s, fmt.Sprintf("<|SPECIAL_TOKEN_%d|>", i))
	}
	for _, v := range [...]string{"B", "O", "Q", "A", "CO", "CL", "H"} {
		s = append(s, "<|TTS/"+v+"|>")
	}
	for i := 1; i <= 13; i++ {
		s = append(s, fmt.Sprintf("<|TTS/SP%02d|>", i))
	}
	for i := 0; i <= 1500; i++ {
		s = append(s, fmt.Sprintf("<|%d.%02d|>", i/50, (i%50)*2))
	}
	return s
}
