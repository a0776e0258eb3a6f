package textnorm

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The rules below read from a position where a token starts. Each one either consumes a prefix
// of the text, emitting its words, or leaves the text alone. Patterns are anchored with ^ and run
// on a short window so that a failed attempt costs little (the regexp backtracker clears state in
// proportion to its input): 64 bytes hold the longest number, date, phone number or document
// number with what follows it.

const window = 64

func win(t string, i int) string {
	end := i + window
	if end >= len(t) {
		return t[i:]
	}
	for end > i && !utf8.RuneStart(t[end]) {
		end--
	}
	return t[i:end]
}

var (
	reISODate    = regexp.MustCompile(`^(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})`)
	reMeridiem   = regexp.MustCompile(`^ ?(AM|PM|am|pm|SA|CH)`)
	reDMY        = regexp.MustCompile(`^(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{4}|\d{2})`)
	reDayRange   = regexp.MustCompile(`^(\d{1,2}) ?[-–] ?(\d{1,2})([/.])(\d{1,2})(?:[/.](\d{4}))?`)
	reMonthYear  = regexp.MustCompile(`^(\d{1,2})/(\d{4})`)
	reDayMonth   = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})`)
	reSlashPair  = regexp.MustCompile(`^(\d+)/(\d+)`)
	reClock      = regexp.MustCompile(`^(\d{1,2}):(\d{2})(?::(\d{2}))?`)
	reHour       = regexp.MustCompile(`^(\d{1,2})([hg])(\d{1,2})?(?:ph|p|')?`)
	reDayPart    = regexp.MustCompile(`^\s+(sáng|trưa|chiều|tối|đêm|khuya)`)
	rePhone      = regexp.MustCompile(`^(?:\+84[ .-]?|0)\d{1,4}(?:[ .-]?\d{2,4}){1,4}`)
	reHotline    = regexp.MustCompile(`^1[89]00[ .]?\d{2,4}(?:[ .]?\d{2,4})?`)
	reTimes      = regexp.MustCompile(`^ ?[x×] ?\d`)
	reRoundClock = regexp.MustCompile(`^24/24(h?)`)
	rePlate      = regexp.MustCompile(`^(\d{2})([A-ZĐ]{1,2}\d?)-(\d{3}\.?\d{2})`)
	reCode       = regexp.MustCompile(`^\d+(?:/[0-9A-Za-zĐđ]+(?:-[0-9A-Za-zĐđ]+)*)+`)

	reNumDots    = regexp.MustCompile(`^\d{1,3}(?:\.\d{3})+(?:,\d+)?`)
	reNumCommas  = regexp.MustCompile(`^\d{1,3}(?:,\d{3}){2,}(?:\.\d+)?`)
	reNumSpaces  = regexp.MustCompile(`^\d{1,3}(?:[ \x{00A0}\x{202F}]\d{3})+(?:,\d+)?`)
	reNumComma   = regexp.MustCompile(`^\d+,\d+`)
	reNumVersion = regexp.MustCompile(`^\d+(?:\.\d+){2,}`)
	reNumDot     = regexp.MustCompile(`^\d+\.\d+`)
	reNumPlain   = regexp.MustCompile(`^\d+`)

	reURL    = regexp.MustCompile(`^(?:[Hh][Tt][Tt][Pp][Ss]?://|[Ww][Ww][Ww]\.)[^\s<>"'“”()\[\]{}]+`)
	reEmail  = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	reDomain = regexp.MustCompile(`^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|net|org|vn|edu|gov|info|io|biz)(?:\.vn)?(?:/[^\s<>"'“”()\[\]{}]*)?`)
	reCtrl   = regexp.MustCompile(`^<\|[^<>|\n]{0,80}\|>`)
)

// dateWords are the words after which d/m reads as a date.
var dateWords = []string{"ngày", "hôm", "mùng", "mồng", "từ", "đến", "tới", "sáng", "trưa", "chiều",
	"tối", "đêm", "khuya", "trước", "sau", "hạn", "dịp", "lễ", "tết", "thứ hai", "thứ ba", "thứ tư",
	"thứ năm", "thứ sáu", "thứ bảy", "chủ nhật", "vào", "nay", "kể từ", "cho đến", "và"}

// codeWords are the words after which 12/2023/NĐ-CP reads as a document number.
var codeWords = []string{"số", "nghị định", "quyết định", "thông tư", "công văn", "chỉ thị",
	"nghị quyết", "luật", "văn bản", "hiệu", "mã", "biển"}

// numeric reads a token that starts with a digit.
func (s *state) numeric(t string, i int) (int, bool) {
	if prevRune(t, i) != 0 && isAlnum(prevRune(t, i)) {
		return 0, false
	}
	w := win(t, i)
	// The byte after the digits tells which rules can apply; most numbers skip all but the last.
	k := 0
	for k < len(w) && isDigit(w[k]) {
		k++
	}
	var c byte
	if k < len(w) {
		c = w[k]
	}
	if w[0] == '0' || w[0] == '1' {
		if j, ok := s.phone(w, i); ok {
			return j, true
		}
	}
	if k == 2 && (c >= 'A' && c <= 'Z' || c == 0xC4) { // Đ starts with 0xC4
		if j, ok := s.plate(w, i); ok {
			return j, true
		}
	}
	if c == '/' {
		if j, ok := s.code(w, i); ok {
			return j, true
		}
	}
	if c == '/' || c == '.' || c == '-' || c == ' ' || c == 0xE2 { // 0xE2 starts "–"
		if j, ok := s.date(t, w, i); ok {
			return s.rangeAfter(t, j), true
		}
	}
	if c == ':' || c == 'h' || c == 'g' {
		if j, ok := s.clock(t, w, i); ok {
			return s.rangeAfter(t, j), true
		}
	}
	if j, ok := s.number(t, w, i); ok {
		return s.rangeAfter(t, s.timesAfter(t, j)), true
	}
	return 0, false
}

// timesAfter reads "x" between two numbers (1920x1080, 3 x 4) as "nhân".
func (s *state) timesAfter(t string, j int) int {
	m := reTimes.FindString(win(t, j))
	if m == "" {
		return j
	}
	k := j + len(m) - 1
	s.emit("nhân", j, k)
	return k
}

// rangeAfter reads a dash between two numbers ("10-20", "8h-10h", "1945–1975") as "đến" and
// returns where the next number starts; otherwise it returns j unchanged.
func (s *state) rangeAfter(t string, j int) int {
	k := j
	if k < len(t) && t[k] == ' ' {
		k++
	}
	dash := 0
	switch {
	case strings.HasPrefix(t[k:], "-"):
		dash = 1
	case strings.HasPrefix(t[k:], "–"), strings.HasPrefix(t[k:], "—"):
		dash = len("–")
	}
	if dash == 0 {
		return j
	}
	d := k + dash
	if d < len(t) && t[d] == ' ' {
		d++
	}
	if d >= len(t) || t[d] < '0' || t[d] > '9' {
		return j
	}
	if p := s.prev(3) + " " + s.prev(2); p == "tỷ số" || p == "tỉ số" ||
		s.inClause(6, "thắng", "thua", "hòa", "hoà", "gỡ") && !s.inClause(2, "từ") {
		return d // a score: "tỷ số 2-1", "thắng Thái Lan 3-2" are read "hai một", "ba hai"
	}
	s.emit("đến", k, k+dash)
	return d
}

// phone reads a Vietnamese phone number digit by digit, in its written groups.
func (s *state) phone(w string, i int) (int, bool) {
	if m := reHotline.FindString(w); m != "" && boundary(w, len(m)) && len(onlyDigits(m)) >= 6 && len(onlyDigits(m)) <= 10 {
		groups := strings.FieldsFunc(m, func(r rune) bool { return r == ' ' || r == '.' })
		if len(groups) == 1 {
			groups = []string{m[:4], m[4:]}
		}
		for k, g := range groups {
			groups[k] = readDigits(g)
		}
		s.emitNum(strings.Join(groups, ", "), i, i+len(m))
		return i + len(m), true
	}
	m := rePhone.FindString(w)
	if m == "" || !boundary(w, len(m)) {
		return 0, false
	}
	if len(m) < len(w) && (w[len(m)] == '.' || w[len(m)] == ',') && len(m)+1 < len(w) && isDigit(w[len(m)+1]) {
		return 0, false
	}
	plus := strings.HasPrefix(m, "+84")
	local := strings.TrimLeft(strings.TrimPrefix(m, "+84"), " .-")
	digits := onlyDigits(local)
	n := len(digits)
	if plus {
		n++
	}
	if n < 9 || n > 11 || (!plus && strings.ContainsAny(m, ".") && strings.Count(m, ".") < 2) {
		return 0, false
	}
	groups := strings.FieldsFunc(local, func(r rune) bool { return r == ' ' || r == '.' || r == '-' })
	if len(groups) == 1 {
		g := groups[0]
		switch {
		case len(g) == 10:
			groups = []string{g[:4], g[4:7], g[7:]}
		case len(g) == 11:
			groups = []string{g[:4], g[4:7], g[7:]}
		case len(g) == 9:
			groups = []string{g[:3], g[3:6], g[6:]}
		}
	}
	var parts []string
	if plus {
		parts = append(parts, "cộng tám mươi tư")
	}
	for _, g := range groups {
		parts = append(parts, readDigits(g))
	}
	s.emitNum(strings.Join(parts, ", "), i, i+len(m))
	return i + len(m), true
}

// plate reads a vehicle registration plate digit by digit: 29A-123.45 is "hai chín a, một hai ba
// bốn năm"; 51G1-234.56, 30E-12345.
func (s *state) plate(w string, i int) (int, bool) {
	m := rePlate.FindStringSubmatch(w)
	if m == nil || !boundary(w, len(m[0])) {
		return 0, false
	}
	text := readDigits(m[1]) + " " + readCode(m[2], s.o) + ", " + readDigits(m[3])
	s.emitNum(text, i, i+len(m[0]))
	return i + len(m[0]), true
}

// code reads a document number after "số", "Nghị định", ...: 12/2023/NĐ-CP.
func (s *state) code(w string, i int) (int, bool) {
	if !s.after(codeWords...) {
		return 0, false
	}
	m := reCode.FindString(w)
	if m == "" || !boundary(w, len(m)) || !strings.ContainsAny(m, "/") {
		return 0, false
	}
	var parts []string
	for _, p := range strings.Split(m, "/") {
		parts = append(parts, s.readCodePart(p))
	}
	s.emitNum(strings.Join(parts, " trên "), i, i+len(m))
	return i + len(m), true
}

func (s *state) readCodePart(p string) string {
	if a, ok := abbrevExact[p]; ok {
		return a
	}
	var out []string
	for _, q := range strings.Split(p, "-") {
		switch {
		case q == "":
		case isAllDigits(q):
			out = append(out, readInteger(q, s.o))
		default:
			if a, ok := abbrevExact[q]; ok {
				out = append(out, a)
			} else {
				out = append(out, readCode(q, s.o))
			}
		}
	}
	return strings.Join(out, " ")
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func validDate(d, m int) bool { return d >= 1 && d <= 31 && m >= 1 && m <= 12 }

// dateText reads day, month and year; "ngày" is left out when the text already says it.
func (s *state) dateText(d, m int, year string) string {
	var b strings.Builder
	if !s.after("ngày", "hôm", "mùng", "mồng") {
		b.WriteString("ngày ")
	}
	b.WriteString(ReadCardinal(itoa(d), s.o))
	b.WriteString(" tháng ")
	b.WriteString(readMonth(m, s.o))
	if year != "" {
		b.WriteString(" năm ")
		b.WriteString(readInteger(year, s.o))
	}
	return b.String()
}

// date reads dates: 2024-03-05, 5/3/2024, 05-03-2024, 5.3.2024, 1-5/6/2024, 3/2024, 5/3.
func (s *state) date(t, w string, i int) (int, bool) {
	if m := reISODate.FindStringSubmatch(w); m != nil && m[2] == m[4] && boundary(w, len(m[0])) {
		d, mo := atoi(m[5]), atoi(m[3])
		if validDate(d, mo) {
			s.emitNum(s.dateText(d, mo, m[1]), i, i+len(m[0]))
			return i + len(m[0]), true
		}
	}
	if m := reDMY.FindStringSubmatch(w); m != nil && m[2] == m[4] && boundary(w, len(m[0])) &&
		!(len(m[0]) < len(w) && (w[len(m[0])] == '/' || w[len(m[0])] == '.') && len(m[0])+1 < len(w) && isDigit(w[len(m[0])+1])) {
		d, mo := atoi(m[1]), atoi(m[3])
		if validDate(d, mo) && (len(m[5]) == 4 || m[2] == "/") {
			s.emitNum(s.dateText(d, mo, m[5]), i, i+len(m[0]))
			return i + len(m[0]), true
		}
	}
	if m := reDayRange.FindStringSubmatch(w); m != nil && boundary(w, len(m[0])) {
		d1, d2, mo := atoi(m[1]), atoi(m[2]), atoi(m[4])
		if validDate(d1, mo) && validDate(d2, mo) && d1 < d2 && (m[3] == "/" || m[5] != "") {
			var b strings.Builder
			if !s.after("ngày", "mùng", "mồng") {
				b.WriteString("ngày ")
			}
			b.WriteString(ReadCardinal(itoa(d1), s.o))
			b.WriteString(" đến ngày ")
			b.WriteString(ReadCardinal(itoa(d2), s.o))
			b.WriteString(" tháng ")
			b.WriteString(readMonth(mo, s.o))
			if m[5] != "" {
				b.WriteString(" năm ")
				b.WriteString(readInteger(m[5], s.o))
			}
			s.emitNum(b.String(), i, i+len(m[0]))
			return i + len(m[0]), true
		}
	}
	if m := reRoundClock.FindStringSubmatch(w); m != nil && boundary(w, len(m[0])) {
		text := "hai mươi tư trên hai mươi tư"
		if m[1] != "" {
			text += " giờ"
		}
		s.emitNum(text, i, i+len(m[0]))
		return i + len(m[0]), true
	}
	if m := reMonthYear.FindStringSubmatch(w); m != nil && boundary(w, len(m[0])) && s.after("quý") {
		s.emitNum(readInteger(m[1], s.o)+" năm "+readInteger(m[2], s.o), i, i+len(m[0]))
		return i + len(m[0]), true
	}
	if m := reMonthYear.FindStringSubmatch(w); m != nil && boundary(w, len(m[0])) {
		mo := atoi(m[1])
		if mo >= 1 && mo <= 12 {
			text := "tháng " + readMonth(mo, s.o) + " năm " + readInteger(m[2], s.o)
			if s.after("tháng") {
				text = readMonth(mo, s.o) + " năm " + readInteger(m[2], s.o)
			}
			s.emitNum(text, i, i+len(m[0]))
			return i + len(m[0]), true
		}
	}
	if m := reSlashPair.FindStringSubmatch(w); m != nil && boundary(w, len(m[0])) &&
		!(len(m[0]) < len(w) && w[len(m[0])] == '/') {
		a, b := m[1], m[2]
		d, mo := atoi(a), atoi(b)
		short := reDayMonth.MatchString(w) && len(a) <= 2 && len(b) <= 2
		switch {
		case short && validDate(d, mo) && s.after(dateWords...):
			s.emitNum(s.dateText(d, mo, ""), i, i+len(m[0]))
		case a == "24" && b == "7":
			s.emitNum("hai mươi tư trên bảy", i, i+len(m[0]))
		case short && validDate(d, mo) && !(d < mo && mo <= 4) && !s.after("chiếm", "khoảng", "gần", "hơn", "được", "đạt", "còn", "mất"):
			s.emitNum(s.dateText(d, mo, ""), i, i+len(m[0]))
		default:
			s.emitNum(s.ratio(a, b), i, i+len(m[0]))
		}
		return i + len(m[0]), true
	}
	return 0, false
}

// ratio reads a/b: a fraction ("một phần tư") when a < b ≤ 10, otherwise "a trên b" (scores,
// blood pressure).
func (s *state) ratio(a, b string) string {
	x, y := atoi(a), atoi(b)
	if x >= 0 && y > 0 && x < y && y <= 10 {
		den := ReadCardinal(b, s.o)
		if y == 4 {
			den = "tư"
		}
		return readInteger(a, s.o) + " phần " + den
	}
	return readInteger(a, s.o) + " trên " + readInteger(b, s.o)
}

// clock reads times: 08:30, 14:05:30, 8h, 8h30, 8g sáng, 8g30.
func (s *state) clock(t, w string, i int) (int, bool) {
	if m := reClock.FindStringSubmatch(w); m != nil && boundary(w, len(m[0])) {
		h, mi, sec := atoi(m[1]), atoi(m[2]), -1
		if m[3] != "" {
			sec = atoi(m[3])
		}
		if h <= 24 && mi <= 59 && sec <= 59 {
			text, end := s.timeText(h, mi, sec), len(m[0])
			if mm := reMeridiem.FindStringSubmatch(w[end:]); mm != nil && boundary(w, end+len(mm[0])) {
				switch mm[1] {
				case "AM", "am", "SA":
					text += " sáng"
				default:
					text += " chiều"
				}
				end += len(mm[0])
			}
			s.emitNum(text, i, i+end)
			return i + end, true
		}
	}
	if m := reHour.FindStringSubmatch(w); m != nil && boundary(w, len(m[0])) {
		h, mi := atoi(m[1]), -1
		if m[3] != "" {
			mi = atoi(m[3])
		}
		if h > 24 || mi > 59 {
			return 0, false
		}
		if m[2] == "g" && mi < 0 && !reDayPart.MatchString(w[len(m[0]):]) {
			return 0, false // 8g without minutes or a time of day is 8 grams
		}
		if mi < 0 {
			mi = 0
		}
		s.emitNum(s.timeText(h, mi, -1), i, i+len(m[0]))
		return i + len(m[0]), true
	}
	return 0, false
}

func (s *state) timeText(h, m, sec int) string {
	text := ReadCardinal(itoa(h), s.o) + " giờ"
	if m > 0 || sec > 0 {
		text += " " + ReadCardinal(itoa(m), s.o) + " phút"
	}
	if sec > 0 {
		text += " " + ReadCardinal(itoa(sec), s.o) + " giây"
	}
	return text
}

// literal is a written number.
type literal struct {
	end     int    // bytes consumed from the token start
	digits  string // integer part, digits only
	frac    string // fraction digits, "" for an integer
	version string // a dotted version such as 2.0.1, read with "chấm"
}

// parseLiteral recognizes 1.000.000, 1 000 000, 1,000,000.5, 3,14, 5.67, 2.0.1 and 42.
func parseLiteral(w string) (literal, bool) {
	ok := func(m string) bool { return m != "" && boundaryNum(w, len(m)) }
	if m := reNumDots.FindString(w); ok(m) {
		ip, fp, _ := strings.Cut(m, ",")
		return literal{end: len(m), digits: onlyDigits(ip), frac: fp}, true
	}
	if m := reNumCommas.FindString(w); ok(m) {
		ip, fp, _ := strings.Cut(m, ".")
		return literal{end: len(m), digits: onlyDigits(ip), frac: fp}, true
	}
	if m := reNumSpaces.FindString(w); ok(m) {
		ip, fp, _ := strings.Cut(m, ",")
		return literal{end: len(m), digits: onlyDigits(ip), frac: fp}, true
	}
	if m := reNumComma.FindString(w); ok(m) {
		ip, fp, _ := strings.Cut(m, ",")
		return literal{end: len(m), digits: ip, frac: fp}, true
	}
	if m := reNumVersion.FindString(w); ok(m) {
		return literal{end: len(m), version: m}, true
	}
	if m := reNumDot.FindString(w); ok(m) {
		ip, fp, _ := strings.Cut(m, ".")
		return literal{end: len(m), digits: ip, frac: fp}, true
	}
	if m := reNumPlain.FindString(w); m != "" {
		return literal{end: len(m), digits: m}, true
	}
	return literal{}, false
}

// boundaryNum: a number ends where no digit follows, nor a separator followed by a digit.
func boundaryNum(w string, j int) bool {
	if j >= len(w) {
		return true
	}
	if isDigit(w[j]) {
		return false
	}
	if (w[j] == '.' || w[j] == ',') && j+1 < len(w) && isDigit(w[j+1]) {
		return false
	}
	return true
}

func (s *state) readLiteral(l literal) string {
	if l.version != "" {
		parts := strings.Split(l.version, ".")
		for k, p := range parts {
			parts[k] = readInteger(p, s.o)
		}
		return strings.Join(parts, " chấm ")
	}
	if l.frac == "" {
		switch {
		case s.after("thứ"):
			return readOrdinal(l.digits, s.o)
		case s.after("tháng"):
			if m := atoi(l.digits); m >= 1 && m <= 12 {
				return readMonth(m, s.o)
			}
		}
	}
	return readDecimal(l.digits, l.frac, s.o)
}

// money suffixes and symbols, longest first.
var moneySuffix = []struct{ sym, read string }{
	{"VNĐ", "đồng"}, {"VND", "đồng"}, {"vnđ", "đồng"}, {"vnd", "đồng"}, {"đồng", "đồng"},
	{"USD", "đô la Mỹ"}, {"usd", "đô la Mỹ"}, {"EUR", "ơ rô"}, {"euro", "ơ rô"},
	{"đ", "đồng"}, {"$", "đô la"}, {"€", "ơ rô"}, {"£", "bảng Anh"}, {"¥", "yên"},
}

var moneyPrefix = map[rune]string{'$': "đô la", '€': "ơ rô", '£': "bảng Anh", '¥': "yên"}

// magnitudes written after an amount: 50k, 5tr, 2 tỷ.
var magnitudes = []struct {
	sym      string
	read     string
	attached bool // only without a space
}{
	{"nghìn", "", false}, {"ngàn", "", false}, {"triệu", "triệu", false}, {"tỷ", "tỷ", false},
	{"tỉ", "tỷ", false}, {"tr", "triệu", true}, {"k", "", true}, {"K", "", true},
}

// units after a number, longest first; read is the spoken unit.
var units = []struct {
	sym, read string
	attached  bool // only without a space (s, h)
}{
	{"km/h", "ki lô mét trên giờ", false}, {"m/s", "mét trên giây", false},
	{"km²", "ki lô mét vuông", false}, {"km2", "ki lô mét vuông", false},
	{"cm²", "xăng ti mét vuông", false}, {"cm2", "xăng ti mét vuông", false},
	{"cm³", "xăng ti mét khối", false}, {"cm3", "xăng ti mét khối", false},
	{"m²", "mét vuông", false}, {"m2", "mét vuông", false}, {"m³", "mét khối", false}, {"m3", "mét khối", false},
	{"mmHg", "mi li mét thủy ngân", false}, {"kWh", "ki lô oát giờ", false}, {"mAh", "mi li am pe giờ", false},
	{"Mbps", "mê ga bít trên giây", false}, {"Gbps", "gi ga bít trên giây", false},
	{"kcal", "ki lô ca lo", false}, {"inch", "inh", false},
	{"GHz", "gi ga héc", false}, {"MHz", "mê ga héc", false}, {"kHz", "ki lô héc", false},
	{"km", "ki lô mét", false}, {"cm", "xăng ti mét", false}, {"mm", "mi li mét", false}, {"nm", "na nô mét", false},
	{"kg", "ki lô gam", false}, {"mg", "mi li gam", false}, {"ml", "mi li lít", false},
	{"°C", "độ xê", false}, {"℃", "độ xê", false}, {"°F", "độ ép", false}, {"°", "độ", false},
	{"ha", "héc ta", false}, {"MB", "mê ga bai", false}, {"GB", "gi ga bai", false}, {"KB", "ki lô bai", false},
	{"TB", "tê ra bai", false}, {"kW", "ki lô oát", false}, {"MW", "mê ga oát", false}, {"kV", "ki lô vôn", false},
	{"Hz", "héc", false}, {"dB", "đê xi ben", false}, {"ms", "mi li giây", true},
	{"m", "mét", false}, {"g", "gam", false}, {"l", "lít", false}, {"L", "lít", false},
	{"W", "oát", false}, {"V", "vôn", false}, {"s", "giây", true}, {"h", "giờ", true},
}

// unitRead returns the spoken form of a unit symbol at the start of w (with a boundary after it).
func unitRead(w string, spaced bool) (string, int, bool) {
	for _, u := range units {
		if strings.HasPrefix(w, u.sym) && (!spaced || !u.attached) && boundary(w, len(u.sym)) {
			return u.read, len(u.sym), true
		}
	}
	return "", 0, false
}

// skipGap returns how many bytes of a single space (ASCII or no-break) start w.
func skipGap(w string) int {
	switch {
	case strings.HasPrefix(w, " "):
		return 1
	case strings.HasPrefix(w, "\u00A0"), strings.HasPrefix(w, "\u202F"):
		return len("\u00A0")
	}
	return 0
}

// number reads a written number with what follows it: percent, money, magnitude, unit, a rate
// ("50.000đ/kg").
func (s *state) number(t, w string, i int) (int, bool) {
	l, ok := parseLiteral(w)
	if !ok {
		return 0, false
	}
	text := s.readLiteral(l)
	j := l.end
	text, j = s.suffixes(w, text, j)
	s.emitNum(text, i, i+j)
	return i + j, true
}

// suffixes appends percent, magnitude, currency, unit and rate words after an amount read at
// w[:j], and returns the text and the new end.
func (s *state) suffixes(w, text string, j int) (string, int) {
	gap := skipGap(w[j:])
	rest := w[j+gap:]
	if strings.HasPrefix(rest, "%") {
		return text + " phần trăm", j + gap + 1
	}
	if strings.HasPrefix(rest, "‰") {
		return text + " phần nghìn", j + gap + len("‰")
	}
	// magnitude (50k, 5tr, 5tr5) then an optional currency
	money := false
	for _, m := range magnitudes {
		if !strings.HasPrefix(rest, m.sym) || (m.attached && gap > 0) {
			continue
		}
		k := len(m.sym)
		extra := ""
		if m.sym == "tr" && k < len(rest) && isDigit(rest[k]) && boundary(rest, k+1) {
			extra = " " + digitNames[rest[k]-'0'] + " trăm nghìn"
			k++
		}
		if !boundary(rest, k) {
			continue
		}
		if !m.attached {
			// "5 triệu" is ordinary words unless a currency follows
			g2 := skipGap(rest[k:])
			if _, _, ok := currencyAt(rest[k+g2:]); !ok {
				break
			}
		}
		read := m.read
		if read == "" {
			read = s.o.Thousand
		}
		text += " " + read + extra
		j += gap + k
		money = true
		gap = skipGap(w[j:])
		rest = w[j+gap:]
		break
	}
	measured := false
	if read, n, ok := currencyAt(rest); ok {
		text += " " + read
		j += gap + n
		money = true
	} else if !money {
		if read, n, ok := unitRead(rest, gap > 0); ok {
			text += " " + read
			j += gap + n
			measured = true
		}
	}
	if (money || measured) && strings.HasPrefix(w[j:], "/") {
		if per, n := s.perUnit(w[j+1:]); n > 0 {
			if measured {
				per = "trên" + strings.TrimPrefix(per, "một")
			}
			text += " " + per
			j += 1 + n
		}
	}
	return text, j
}

// currencyAt recognizes a currency symbol or code at the start of w.
func currencyAt(w string) (string, int, bool) {
	for _, c := range moneySuffix {
		if strings.HasPrefix(w, c.sym) && boundary(w, len(c.sym)) {
			return c.read, len(c.sym), true
		}
	}
	return "", 0, false
}

// perUnit reads the unit of a rate after "/": "kg" → "một ki lô gam", "cp" → "một cổ phiếu".
func (s *state) perUnit(w string) (string, int) {
	if read, n, ok := unitRead(w, false); ok {
		return "một " + read, n
	}
	j := 0
	for j < len(w) {
		r, size := utf8.DecodeRuneInString(w[j:])
		if !unicode.IsLetter(r) {
			break
		}
		j += size
	}
	if j == 0 || !boundary(w, j) {
		return "", 0
	}
	word := w[:j]
	if a, ok := abbrevExact[word]; ok {
		return "một " + a, j
	}
	if a, ok := perWords[word]; ok {
		return "một " + a, j
	}
	return "một " + strings.ToLower(word), j
}

var perWords = map[string]string{"cp": "cổ phiếu", "CP": "cổ phiếu", "ng": "người", "th": "tháng", "sp": "sản phẩm", "lít": "lít"}

// moneyFirst reads an amount written after its currency: $50, € 20, $1,5 triệu.
func (s *state) moneyFirst(t string, i int, r rune, size int) (int, bool) {
	cur, ok := moneyPrefix[r]
	if !ok {
		return 0, false
	}
	j := i + size
	j += skipGap(t[j:])
	if j >= len(t) || !isDigit(t[j]) {
		return 0, false
	}
	w := win(t, j)
	l, ok := parseLiteral(w)
	if !ok {
		return 0, false
	}
	text := readDecimal(l.digits, l.frac, s.o)
	if l.version != "" {
		return 0, false
	}
	k := l.end
	gap := skipGap(w[k:])
	for _, m := range magnitudes {
		if strings.HasPrefix(w[k+gap:], m.sym) && (!m.attached || gap == 0) && boundary(w[k+gap:], len(m.sym)) {
			read := m.read
			if read == "" {
				read = s.o.Thousand
			}
			text += " " + read
			k += gap + len(m.sym)
			break
		}
	}
	s.emitNum(text+" "+cur, i, j+k)
	return s.rangeAfter(t, j+k), true
}
