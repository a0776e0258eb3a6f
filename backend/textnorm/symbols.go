package textnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// symbolWords are symbols read as words wherever they stand.
var symbolWords = map[rune]string{
	'&': "và", '+': "cộng", '=': "bằng", '@': "a còng", '%': "phần trăm", '‰': "phần nghìn",
	'°': "độ", '×': "nhân", '÷': "chia", '±': "cộng trừ", '≥': "lớn hơn hoặc bằng",
	'≤': "nhỏ hơn hoặc bằng", '≠': "khác", '≈': "xấp xỉ", '∞': "vô cực", '№': "số", '§': "mục",
	'½': "một phần hai", '¼': "một phần tư", '¾': "ba phần tư", '$': "đô la", '€': "ơ rô",
	'£': "bảng Anh", '¥': "yên",
}

// symbol reads a rune that is neither a letter, a digit nor a space: punctuation becomes a pause
// mark, known symbols become words, the rest (emoji, decoration, control-token brackets) is
// dropped.
func (s *state) symbol(t string, i int, r rune, size int) int {
	next := i + size
	switch r {
	case '<':
		if m := reCtrl.FindString(win(t, i)); m != "" {
			return i + len(m) // a model control-token look-alike: never reaches the model
		}
		if nr, _ := nextNonSpace(t, next); nr >= '0' && nr <= '9' {
			s.emit("nhỏ hơn", i, next)
		}
		return next
	case '>':
		if nr, _ := nextNonSpace(t, next); nr >= '0' && nr <= '9' {
			s.emit("lớn hơn", i, next)
		}
		return next
	case '$', '€', '£', '¥':
		if j, ok := s.moneyFirst(t, i, r, size); ok {
			return j
		}
	case '+':
		if next < len(t) && isDigit(t[next]) {
			if j, ok := s.phone(win(t, i), i); ok {
				return j
			}
		}
	case '#':
		if next < len(t) && isDigit(t[next]) {
			s.emit("số", i, next)
		}
		return next
	case '~':
		if nr, _ := nextNonSpace(t, next); nr >= '0' && nr <= '9' {
			if s.lastNum {
				s.emit("đến", i, next) // 10~20
			} else {
				s.emit("khoảng", i, next)
			}
		}
		return next
	case '-', '−', '–', '—', '‐', '‑':
		return s.dash(t, i, next)
	case '.', '…':
		return s.dot(t, i, r, next)
	case ',', '、', '，':
		s.punct(",", BreakClause, i, next)
		return next
	case ';', ':', '(', ')', '[', ']', '{', '}':
		s.punct(",", BreakClause, i, next)
		return next
	case '?', '!', '？', '！':
		mark := "?"
		if r == '!' || r == '！' {
			mark = "!"
		}
		if s.o.PlainStops {
			mark = "."
		}
		s.punct(mark, BreakSentence, i, next)
		return next
	case '/':
		// a rate after a number: "3 lần/ngày" is "ba lần một ngày"
		if s.lastNum || (s.numIdx >= 0 && s.numIdx >= len(s.words)-3) {
			if read, n, ok := unitRead(t[next:], false); ok {
				s.emit("trên "+read, i, next+n) // 2.500 người/km²
				return next + n
			}
			if nr, _ := utf8.DecodeRuneInString(t[next:]); unicode.IsLetter(nr) {
				s.emit("một", i, next)
			}
		}
		return next
	}
	if w, ok := symbolWords[r]; ok {
		s.emit(w, i, next)
	}
	return next
}

// dash reads a hyphen or dash: inside a word it separates ("Hà-Nội", "COVID-19"); between
// numbers it is a range ("đến"); before a number it is a minus ("âm"); at the start of a line it
// is a list bullet or a dialogue dash (dropped); elsewhere it is a pause.
func (s *state) dash(t string, i, next int) int {
	before := prevRune(t, i)
	after, _ := utf8.DecodeRuneInString(t[next:])
	if next >= len(t) {
		after = 0
	}
	if isAlnum(before) && isAlnum(after) {
		if p := s.prev(1); (strings.HasPrefix(p, "thứ ") || p == "chủ nhật") &&
			(strings.HasPrefix(t[next:], "CN") || (after == 'T' && next+1 < len(t) && t[next+1] >= '2' && t[next+1] <= '7')) {
			s.emit("đến", i, next) // T2-T6, T2-CN
		}
		return next
	}
	nr, nl := nextNonSpace(t, next)
	if nr >= '0' && nr <= '9' && !nl {
		if s.lastNum {
			s.emit("đến", i, next)
			return next
		}
		if after >= '0' && after <= '9' && !isAlnum(before) {
			s.emit("âm", i, next)
			return next
		}
	}
	if s.atClauseStart() {
		return next
	}
	s.punct(",", BreakClause, i, next)
	return next
}

// dot reads "." and "…": an ellipsis is a pause (or the end of a sentence before a capital
// letter or a line break); a dot between letters is "chấm" (file.txt); otherwise it ends a
// sentence.
func (s *state) dot(t string, i int, r rune, next int) int {
	j := next
	if r == '.' {
		for j < len(t) && t[j] == '.' {
			j++
		}
	}
	if r == '…' || j-i >= 2 {
		nr, nl := nextNonSpace(t, j)
		if nr == 0 || nl || unicode.IsUpper(nr) {
			s.punct(".", BreakSentence, i, j)
		} else {
			s.punct(",", BreakClause, i, j)
		}
		return j
	}
	before := prevRune(t, i)
	after, _ := utf8.DecodeRuneInString(t[next:])
	if next < len(t) && isAlnum(before) && unicode.IsLetter(after) && unicode.IsLower(after) {
		s.emit("chấm", i, next)
		return next
	}
	if before >= 'A' && before <= 'Z' && (i < 2 || !isAlnum(prevRune(t, i-1))) {
		// an initial inside a name ("Nguyễn V. Anh", "J. K. Rowling") does not end the sentence
		if nr, nl := nextNonSpace(t, next); !nl && unicode.IsUpper(nr) && !s.atClauseStart() {
			return next
		}
	}
	s.punct(".", BreakSentence, i, next)
	return next
}
