package textnorm

import "strings"

// digitNames are the Vietnamese names of the digits 0-9 as they are read on their own
// (phone numbers, codes) and in the hundreds place.
var digitNames = [10]string{"không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"}

// ReadCardinal reads a non-negative integer written as plain decimal digits (no separators, no
// sign) the way a Vietnamese narrator says it, with the rules of spoken Vietnamese:
//
//   - units after "mươi": 1 is "mốt", 4 is "tư", 5 is "lăm" (hai mươi mốt, hai mươi tư, hai mươi lăm);
//   - after "mười" only 5 changes: "mười lăm" (but "mười một", "mười bốn");
//   - a zero tens digit between hundreds and units is "linh" (or "lẻ", Options.ZeroTens);
//   - groups of three digits take "nghìn" (or "ngàn", Options.Thousand), "triệu", "tỷ"; a zero
//     group is skipped, and the next non-zero group is read in full with "không trăm"
//     (1.000.005 is "một triệu không trăm linh năm");
//   - above a billion the reading recurses: 10^12 is "một nghìn tỷ", 10^18 "một tỷ tỷ".
//
// Leading zeros are ignored; an empty or all-zero string reads "không". Characters other than
// ASCII digits are skipped.
func ReadCardinal(digits string, o Options) string {
	o = o.withDefaults()
	d := strings.TrimLeft(onlyDigits(digits), "0")
	if d == "" {
		return digitNames[0]
	}
	return strings.Join(readCardinal(nil, d, false, o), " ")
}

func onlyDigits(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			var b strings.Builder
			for j := 0; j < len(s); j++ {
				if s[j] >= '0' && s[j] <= '9' {
					b.WriteByte(s[j])
				}
			}
			return b.String()
		}
	}
	return s
}

// readCardinal appends the reading of d (no leading zeros unless full) to w. full means a
// higher part has already been read, so the first non-zero group is read with "không trăm".
func readCardinal(w []string, d string, full bool, o Options) []string {
	if len(d) > 9 {
		high := strings.TrimLeft(d[:len(d)-9], "0")
		low := d[len(d)-9:]
		if high != "" {
			w = readCardinal(w, high, full, o)
			w = append(w, "tỷ")
			full = true
		}
		return readBelowBillion(w, low, full, o)
	}
	return readBelowBillion(w, d, full, o)
}

// readBelowBillion reads up to nine digits as groups of three.
func readBelowBillion(w []string, d string, full bool, o Options) []string {
	for len(d)%3 != 0 {
		d = "0" + d
	}
	groups := len(d) / 3
	for g := 0; g < groups; g++ {
		h, t, u := int(d[3*g]-'0'), int(d[3*g+1]-'0'), int(d[3*g+2]-'0')
		if h == 0 && t == 0 && u == 0 {
			continue
		}
		w = readGroup(w, h, t, u, full, o)
		switch groups - 1 - g {
		case 1:
			w = append(w, o.Thousand)
		case 2:
			w = append(w, "triệu")
		}
		full = true
	}
	return w
}

// readGroup reads one group of three digits. full reads a zero hundreds digit ("không trăm")
// and uses "linh" for a zero tens digit; a leading group is read short (5 is "năm", not
// "không trăm linh năm").
func readGroup(w []string, h, t, u int, full bool, o Options) []string {
	hundreds := h > 0 || full
	if hundreds {
		w = append(w, digitNames[h], "trăm")
	}
	switch t {
	case 0:
		if u == 0 {
			break
		}
		if hundreds {
			w = append(w, o.ZeroTens)
		}
		w = append(w, digitNames[u])
	case 1:
		w = append(w, "mười")
		switch u {
		case 0:
		case 5:
			w = append(w, "lăm")
		default:
			w = append(w, digitNames[u])
		}
	default:
		w = append(w, digitNames[t], "mươi")
		switch u {
		case 0:
		case 1:
			w = append(w, "mốt")
		case 4:
			w = append(w, "tư")
		case 5:
			w = append(w, "lăm")
		default:
			w = append(w, digitNames[u])
		}
	}
	return w
}

// readDigits reads every digit on its own: "0912" is "không chín một hai".
func readDigits(d string) string {
	var b strings.Builder
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(digitNames[d[i]-'0'])
	}
	return b.String()
}

// readFraction reads the digits after a decimal comma. Short parts without a leading zero are
// read as a number (3,14 is "ba phẩy mười bốn"), the others digit by digit (0,05 is
// "không phẩy không năm"), as narrators do.
func readFraction(frac string, o Options) string {
	if len(frac) <= 2 && frac[0] != '0' {
		return ReadCardinal(frac, o)
	}
	return readDigits(frac)
}

// readDecimal reads an integer part and an optional fraction.
func readDecimal(intDigits, frac string, o Options) string {
	s := readInteger(intDigits, o)
	if frac != "" {
		s += " phẩy " + readFraction(frac, o)
	}
	return s
}

// readInteger reads an integer the way it is written: as a number, except for long codes (more
// than 18 digits) and numbers with a leading zero of three digits or more, which are read digit
// by digit ("007" is "không không bảy", "05" is "năm").
func readInteger(d string, o Options) string {
	if len(d) > 18 || (len(d) >= 3 && d[0] == '0') {
		return readDigits(d)
	}
	return ReadCardinal(d, o)
}

// readOrdinal reads n as an ordinal after "thứ": 1 is "nhất", 4 is "tư", the others cardinal.
func readOrdinal(d string, o Options) string {
	switch strings.TrimLeft(d, "0") {
	case "1":
		return "nhất"
	case "4":
		return "tư"
	}
	return readInteger(d, o)
}

// readMonth reads a month number: 4 is "tư" (tháng tư); the others are cardinal.
func readMonth(m int, o Options) string {
	if m == 4 {
		return "tư"
	}
	return ReadCardinal(itoa(m), o)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// atoi parses up to 9 ASCII digits; anything else gives -1.
func atoi(s string) int {
	if s == "" || len(s) > 9 {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// romanValue parses a canonical upper-case Roman numeral (I to MMMCMXCIX); 0 means it is not one.
func romanValue(s string) int {
	if s == "" || len(s) > 15 {
		return 0
	}
	val := map[byte]int{'I': 1, 'V': 5, 'X': 10, 'L': 50, 'C': 100, 'D': 500, 'M': 1000}
	total := 0
	for i := 0; i < len(s); i++ {
		v, ok := val[s[i]]
		if !ok {
			return 0
		}
		if i+1 < len(s) && val[s[i+1]] > v {
			total -= v
		} else {
			total += v
		}
	}
	if total <= 0 || total >= 4000 || toRoman(total) != s {
		return 0
	}
	return total
}

func toRoman(n int) string {
	vals := []int{1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1}
	syms := []string{"M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"}
	var b strings.Builder
	for i, v := range vals {
		for n >= v {
			b.WriteString(syms[i])
			n -= v
		}
	}
	return b.String()
}
