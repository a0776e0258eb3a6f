package textnorm

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// letterNames are the Vietnamese names used when an acronym is spelled out (VTV: "vê tê vê").
var letterNames = map[rune]string{
	'a': "a", 'ă': "á", 'â': "ớ", 'b': "bê", 'c': "xê", 'd': "dê", 'đ': "đê", 'e': "e", 'ê': "ê",
	'f': "ép", 'g': "gờ", 'h': "hát", 'i': "i", 'j': "gi", 'k': "ca", 'l': "lờ", 'm': "mờ",
	'n': "nờ", 'o': "o", 'ô': "ô", 'ơ': "ơ", 'p': "pê", 'q': "quy", 'r': "rờ", 's': "ét",
	't': "tê", 'u': "u", 'ư': "ư", 'v': "vê", 'w': "vê kép", 'x': "ích", 'y': "i", 'z': "dét",
}

// letterNamesAlone are the names of a letter that stands on its own (hạng B, vitamin C).
var letterNamesAlone = map[rune]string{'g': "giê", 'l': "e lờ", 'm': "em", 'n': "en", 'r': "e rờ", 'y': "i dài"}

// spell reads the letters of an acronym one by one.
func spell(s string) string {
	var parts []string
	for _, r := range strings.ToLower(s) {
		if name, ok := letterNames[r]; ok {
			parts = append(parts, name)
		} else if unicode.IsLetter(r) {
			parts = append(parts, string(r))
		}
	}
	if len(parts) == 1 {
		r, _ := utf8.DecodeRuneInString(strings.ToLower(s))
		if alone, ok := letterNamesAlone[r]; ok {
			return alone
		}
	}
	return strings.Join(parts, " ")
}

// readCode reads a letters-and-digits code: "U23" → "u hai mươi ba", "H5N1" → "hát năm nờ một",
// "A320" → "a ba hai không"; runs of two digits or fewer read as numbers, longer runs digit by
// digit; letter runs that are Vietnamese syllables are kept as words.
func readCode(code string, o Options) string {
	var parts []string
	for code != "" {
		r, _ := utf8.DecodeRuneInString(code)
		j := 0
		digit := r >= '0' && r <= '9'
		for j < len(code) {
			r2, size := utf8.DecodeRuneInString(code[j:])
			if (r2 >= '0' && r2 <= '9') != digit || !isAlnum(r2) {
				break
			}
			j += size
		}
		if j == 0 { // a rune that is neither: skip it
			_, size := utf8.DecodeRuneInString(code)
			code = code[size:]
			continue
		}
		run := code[:j]
		code = code[j:]
		switch {
		case digit && len(run) <= 2:
			parts = append(parts, readInteger(run, o))
		case digit:
			parts = append(parts, readDigits(run))
		default:
			if _, known := abbrevExact[run]; !known && isUpper(run) && len(run) <= 3 {
				parts = append(parts, spell(run)) // "SE1" is "ét e một", not "se một"
			} else {
				parts = append(parts, readLetters(run))
			}
		}
	}
	return strings.Join(parts, " ")
}

// readLetters reads a run of letters: a known abbreviation, a Vietnamese word (an upper-case
// heading word is lower-cased), or an acronym spelled out.
func readLetters(run string) string {
	if a, ok := abbrevExact[run]; ok {
		return a
	}
	if a, ok := loanWords[strings.ToLower(run)]; ok {
		return a
	}
	if isUpper(run) {
		lower := strings.ToLower(run)
		if utf8.RuneCountInString(run) > 1 && isSyllable(lower) {
			return lower
		}
		if utf8.RuneCountInString(run) == 1 && (!isASCIIUpper(run) || run == "Y") {
			return run // "Ừ", "Ở", "Y" (Y tế): a Vietnamese word
		}
		return spell(run)
	}
	return run
}

func isUpper(s string) bool {
	has := false
	for _, r := range s {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsUpper(r) {
			has = true
		}
	}
	return has
}

func isASCIIUpper(s string) bool { return len(s) == 1 && s[0] >= 'A' && s[0] <= 'Z' }

// Vietnamese syllable structure: onset, vowel nucleus (with glides), coda.
var (
	onsets = []string{"ngh", "ng", "gh", "gi", "kh", "nh", "ph", "th", "tr", "ch", "qu",
		"b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x"}
	codas = []string{"ng", "nh", "ch", "c", "m", "n", "p", "t"}
)

func isVowel(r rune) bool {
	return strings.ContainsRune("aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵ", r)
}

// isSyllable reports whether a lower-case word has the shape of one Vietnamese syllable, which
// tells a heading word ("CHƯƠNG") from an acronym ("THPT").
func isSyllable(w string) bool {
	rest := w
	for _, on := range onsets {
		if strings.HasPrefix(rest, on) {
			rest = rest[len(on):]
			break
		}
	}
	vowels := 0
	for rest != "" {
		r, size := utf8.DecodeRuneInString(rest)
		if !isVowel(r) {
			break
		}
		vowels++
		rest = rest[size:]
	}
	if vowels == 0 || vowels > 3 {
		return false
	}
	if rest == "" {
		return true
	}
	for _, c := range codas {
		if rest == c {
			return true
		}
	}
	return false
}

// romanWords are the words after which a Roman numeral is read as a number.
var romanWords = []string{"thế kỷ", "thế kỉ", "chương", "phần", "quyển", "tập", "khóa", "khoá", "đại hội",
	"quý", "mục", "bài", "hồi", "kỳ", "kì", "cấp", "loại", "hạng", "nhóm", "vòng", "đợt", "giai đoạn",
	"phụ lục", "thế chiến", "chiến tranh thế giới", "thứ", "tiết", "chuyên đề", "học kỳ", "học kì",
	"quân khu", "quân đoàn", "vùng", "khu vực", "số", "điều", "đệ", "thiên niên kỷ", "lớp", "tầng", "phiên"}

// lettered reads a token that starts with a letter: URLs and e-mail addresses, abbreviations,
// Roman numerals in context, codes.
func (s *state) lettered(t string, i int) (int, bool) {
	if prevRune(t, i) != 0 && isAlnum(prevRune(t, i)) {
		return 0, false
	}
	w := win(t, i)
	if j, ok := s.url(t, i); ok {
		return j, true
	}
	if j, ok := s.abbreviation(t, w, i); ok {
		return j, true
	}
	if j, ok := s.roman(t, w, i); ok {
		return j, true
	}
	return 0, false
}

// abbreviation reads the longest entry of the shipped abbreviation list that starts here.
func (s *state) abbreviation(t, w string, i int) (int, bool) {
	r, _ := utf8.DecodeRuneInString(w)
	for _, a := range abbrevByRune[r] {
		if !strings.HasPrefix(w, a.key) {
			continue
		}
		end := len(a.key)
		dotted := strings.HasSuffix(a.key, ".")
		if !dotted && !boundary(w, end) {
			continue
		}
		if a.place {
			// "Q.1", "P. Bến Nghé", but not "loại X." at the end of a sentence
			if r2, nl := nextNonSpace(w, end); nl || !(unicode.IsUpper(r2) || unicode.IsDigit(r2)) {
				continue
			}
		} else if dotted && !boundary(w, end) {
			if r2, _ := utf8.DecodeRuneInString(w[end:]); unicode.IsLower(r2) || unicode.IsDigit(r2) {
				continue
			}
		}
		s.emit(a.read, i, i+end)
		if strings.HasSuffix(a.key, ".") && a.ends {
			// "v.v." at the end of a sentence also ends it
			if r2, nl := nextNonSpace(t, i+end); r2 == 0 || nl || unicode.IsUpper(r2) {
				s.punct(".", BreakSentence, i+end-1, i+end)
			}
		}
		return i + end, true
	}
	return 0, false
}

// roman reads a Roman numeral after a word such as "thế kỷ", "Chương", "Phần", "Quý", or at the
// start of a line as a list heading ("II. Nội dung").
func (s *state) roman(t, w string, i int) (int, bool) {
	j := 0
	for j < len(w) && strings.IndexByte("IVXLCDM", w[j]) >= 0 {
		j++
	}
	if j == 0 || !boundary(w, j) {
		return 0, false
	}
	v := romanValue(w[:j])
	if v == 0 {
		return 0, false
	}
	numeral := w[:j]
	restricted := strings.Trim(numeral, "IVX") != "" // L, C, D, M only after "thế kỷ"
	switch {
	case s.after("thế kỷ", "thế kỉ", "thiên niên kỷ"):
	case restricted:
		return 0, false
	case s.after("thứ"):
		s.emitNum(readOrdinal(itoa(v), s.o), i, i+j)
		return i + j, true
	case s.after(romanWords...):
	case foreignName(s.prev(1), s.lastText()):
		// Louis XIV, Elizabeth II, Napoleon III
	case s.atClauseStart() && j < len(w) && (w[j] == '.' || w[j] == ')'):
		r, nl := nextNonSpace(w, j+1)
		if r == 0 || nl || !unicode.IsLetter(r) {
			return 0, false
		}
		s.emitNum(ReadCardinal(itoa(v), s.o), i, i+j)
		s.punct(".", BreakSentence, i+j, i+j+1)
		return i + j + 1, true
	default:
		return 0, false
	}
	text, end := ReadCardinal(itoa(v), s.o), j
	if m := reSlashYear.FindStringSubmatch(w[j:]); m != nil && boundary(w, j+len(m[0])) {
		text += " năm " + readInteger(m[1], s.o) // quý I/2024
		end += len(m[0])
	}
	s.emitNum(text, i, i+end)
	return i + end, true
}

var reSlashYear = regexp.MustCompile(`^/(\d{4})`)

// foreignName reports whether the word before (lower-cased and as written) is a capitalized name
// in plain ASCII letters, as in "Louis XIV".
func foreignName(lower, written string) bool {
	if len(written) < 3 || written[0] < 'A' || written[0] > 'Z' {
		return false
	}
	for i := 1; i < len(written); i++ {
		if written[i] < 'a' || written[i] > 'z' {
			return false
		}
	}
	return lower == strings.ToLower(written)
}

// wordRun reads a run of letters and digits (with apostrophes inside) as one word.
func (s *state) wordRun(t string, i int) int {
	j := i
	for j < len(t) {
		r, size := utf8.DecodeRuneInString(t[j:])
		if isAlnum(r) {
			j += size
			continue
		}
		if (r == '\'' || r == '’') && j > i && j+size < len(t) {
			r2, _ := utf8.DecodeRuneInString(t[j+size:])
			if unicode.IsLetter(r2) {
				j += size
				continue
			}
		}
		break
	}
	if j == i {
		_, size := utf8.DecodeRuneInString(t[i:])
		return i + size
	}
	run := t[i:j]
	hasDigit, hasLetter := false, false
	for _, r := range run {
		if r >= '0' && r <= '9' {
			hasDigit = true
		} else if unicode.IsLetter(r) {
			hasLetter = true
		}
	}
	switch {
	case hasDigit && hasLetter:
		s.emit(readCode(run, s.o), i, j)
	case hasDigit:
		s.emitNum(readInteger(onlyDigits(run), s.o), i, j)
	default:
		text := readLetters(run)
		if len(run) == 2 && isUpper(run) && run[0] < 0x80 && run[1] < 0x80 && text == strings.ToLower(run) && !capsNeighbour(t, i, j) {
			text = spell(run) // "IP", "UK": a two-letter acronym, unless it sits in an upper-case heading
		}
		if text == run {
			// a word of the NFC source read as it is: letters and marks only, nothing to clean
			s.words = append(s.words, Word{Text: run, Src: Span{i, j}})
			s.lastNum = false
			return j
		}
		s.emit(text, i, j)
	}
	return j
}

// capsNeighbour reports whether the word before t[i:j] or the word after it, on the same line,
// is an upper-case word of two letters or more (the words of a heading).
func capsNeighbour(t string, i, j int) bool {
	k := i
	for k > 0 && (t[k-1] == ' ' || t[k-1] == '\t') {
		k--
	}
	end := k
	for k > 0 {
		r, size := utf8.DecodeLastRuneInString(t[:k])
		if !unicode.IsLetter(r) {
			break
		}
		k -= size
	}
	if w := t[k:end]; utf8.RuneCountInString(w) >= 2 && isUpper(w) {
		return true
	}
	k = j
	for k < len(t) && (t[k] == ' ' || t[k] == '\t') {
		k++
	}
	start := k
	for k < len(t) {
		r, size := utf8.DecodeRuneInString(t[k:])
		if !unicode.IsLetter(r) {
			break
		}
		k += size
	}
	w := t[start:k]
	return utf8.RuneCountInString(w) >= 2 && isUpper(w)
}

// url reads (or skips) URLs, e-mail addresses and bare domain names.
func (s *state) url(t string, i int) (int, bool) {
	// URLs, addresses and domains are one run of non-space text with a dot or an @ in it, and
	// start where such a run starts (or after an opening bracket or quote): trying every letter
	// inside "a.b.c.d…" would make long runs quadratic.
	if p := prevRune(t, i); p != 0 && !unicode.IsSpace(p) && !strings.ContainsRune("([{\"'“‘<:,;", p) {
		return 0, false
	}
	end := i
	for end < len(t) && end-i < 512 && t[end] != ' ' && t[end] != '\n' && t[end] != '\t' && t[end] != '\r' {
		end++
	}
	w := t[i:end]
	if !strings.ContainsAny(w, ".@") {
		return 0, false
	}
	if end < len(t) {
		w = t[i : end+1] // one rune of context after the token for the boundary checks
	}
	m := reURL.FindString(w)
	email := false
	if m == "" {
		if m = reEmail.FindString(w); m != "" {
			email = true
		} else if m = reDomain.FindString(w); m == "" {
			return 0, false
		}
	}
	m = strings.TrimRight(m, ".,;:!?")
	if m == "" || !boundary(w, len(m)) && !strings.ContainsAny(w[len(m):len(m)+1], ".,;:!?") {
		return 0, false
	}
	if !s.o.SkipURLs {
		s.emit(readURL(m, email), i, i+len(m))
	}
	return i + len(m), true
}

var urlWords = map[string]string{"com": "com", "vn": "vê en", "net": "nét", "org": "o rờ gờ",
	"edu": "e đu", "gov": "gờ o vê", "io": "i o", "www": "vê kép vê kép vê kép", "info": "in pho",
	"gmail": "gờ meo", "yahoo": "da hu", "facebook": "phây búc", "youtube": "diu túp", "google": "gu gồ"}

// readURL reads a URL or an e-mail address: the scheme is left out, "." is "chấm", "/" is
// "gạch chéo", "@" is "a còng"; a query string is left out.
func readURL(u string, email bool) string {
	lower := strings.ToLower(u)
	for _, p := range []string{"https://", "http://"} {
		lower = strings.TrimPrefix(lower, p)
	}
	if !email {
		// a narrator says where to go, not the path: read the host only
		if k := strings.IndexAny(lower, "/?#"); k >= 0 {
			lower = lower[:k]
		}
	}
	var parts []string
	word := func(run string) {
		if run == "" {
			return
		}
		if r, ok := urlWords[run]; ok {
			parts = append(parts, r)
			return
		}
		if isAllDigits(run) {
			parts = append(parts, readDigits(run))
			return
		}
		if len(run) <= 3 && !isSyllable(run) {
			parts = append(parts, spell(run))
			return
		}
		parts = append(parts, run)
	}
	start := 0
	for k := 0; k < len(lower); k++ {
		c := lower[k]
		sep := ""
		switch c {
		case '.':
			sep = "chấm"
		case '/':
			sep = "gạch chéo"
		case '@':
			sep = "a còng"
		case '-':
			sep = "gạch ngang"
		case '_':
			sep = "gạch dưới"
		case ':':
			sep = "hai chấm"
		default:
			if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 {
				continue
			}
		}
		word(lower[start:k])
		if sep != "" {
			parts = append(parts, sep)
		}
		start = k + 1
	}
	word(lower[start:])
	return strings.Join(parts, " ")
}
