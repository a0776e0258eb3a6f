package document

import (
	"strings"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

var charmapWindows1252 = charmap.Windows1252

// Vietnamese syllable check, used to score candidate decodings of legacy text. It accepts the
// syllables of standard orthography: an optional onset, a vowel group and an optional final
// consonant, with at most one tone mark.

var (
	onsets = []string{"ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr", "qu",
		"b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x"}
	codas       = []string{"ng", "nh", "ch", "c", "m", "n", "p", "t", ""}
	vowelGroups = map[string]bool{}
)

func init() {
	for _, v := range strings.Fields(`a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe
		oi ôi ơi oo ua uâ uă ue uê ui uô uơ uy ưa ưi ươ ưu yê iêu oai oay oeo uây uôi ươi ươu uya
		uyê uyu yêu oao uai uao uay uoi uêu`) {
		vowelGroups[v] = true
	}
}

// isVietnameseSyllable reports whether w (a word, any case) is a Vietnamese syllable.
func isVietnameseSyllable(w string) bool {
	d := norm.NFD.String(strings.ToLower(w))
	var base strings.Builder
	tones := 0
	for _, r := range d {
		switch r {
		case '\u0300', '\u0301', '\u0303', '\u0309', '\u0323':
			tones++
		default:
			base.WriteRune(r)
		}
	}
	if tones > 1 {
		return false
	}
	s := norm.NFC.String(base.String())
	for _, r := range s {
		if !strings.ContainsRune("aăâbcdđeêghiklmnoôơpqrstuưvxy", r) {
			return false
		}
	}
	for _, on := range append(onsets, "") {
		if !strings.HasPrefix(s, on) {
			continue
		}
		rest := s[len(on):]
		for _, co := range codas {
			if strings.HasSuffix(rest, co) && vowelGroups[rest[:len(rest)-len(co)]] {
				return true
			}
		}
		// "gi" and "qu" may give their vowel to the rime: "gì", "giếng".
		if on == "gi" && rest == "" {
			return true
		}
	}
	return false
}

// tcvn3Table maps the bytes 0x80-0xFF of TCVN3 (ABC, TCVN 5712:1993 VN3), the encoding of the
// .VnTime fonts, to Unicode. The lower-case letters with tones sit at 0xB5-0xFE, the bare
// modified letters at 0xA1-0xAE and five spacing tone marks at 0xB0-0xB4 (decoded to combining
// marks, composed by NFC). Upper-case letters with tones belong to VN1 and are rare in ABC files
// (which used the separate .VnTimeH fonts for capitals); they are decoded as VN1 has them. The
// block 0x80-0x9F, unused by VN3, decodes as Windows-1252, because ABC text saved from Windows
// keeps its curly quotes and dashes there.
var tcvn3Table = func() [256]string {
	var t [256]string
	const high = "ĂÂÊÔƠƯĐăâêôơưđẰ\u0300\u0309\u0303\u0301\u0323àảãáạẲằẳẵắẴẮẦẨẪẤỀặầẩẫấậèỂẻẽéẹềểễếệìỉỄẾỒĩíịòỔỏõóọồổỗốộờởỡớợùỖủũúụừửữứựỳỷỹýỵỐ"
	rs := []rune(high)
	for i, r := range rs {
		t[0xA1+i] = string(r)
	}
	t[0xA0] = "\u00A0"
	for c := 0x80; c < 0xA0; c++ {
		t[c] = cp1252(byte(c))
	}
	return t
}()

// vniTable maps the bytes 0x80-0xFF of VNI (VNI-Windows) to Unicode. VNI writes a vowel with
// diacritics as the bare ASCII vowel followed by one byte for its modifier and tone, drawn with
// the glyph of a Windows-1252 letter ("Vieät" for "Việt"); those bytes decode to combining marks
// that NFC composes. A few letters are single bytes: ơ ư đ and the i and ỵ forms.
var vniTable = func() [256]string {
	var t [256]string
	for c := 0x80; c < 0x100; c++ {
		t[c] = cp1252(byte(c))
	}
	const (
		grave, acute, tilde, hook, dot = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"
		circ, breve                    = "\u0302", "\u0306"
	)
	marks := map[byte]string{
		0xF9: acute, 0xF8: grave, 0xFB: hook, 0xF5: tilde, 0xEF: dot,
		0xE2: circ, 0xE1: circ + acute, 0xE0: circ + grave, 0xE5: circ + hook, 0xE3: circ + tilde, 0xE4: circ + dot,
		0xEA: breve, 0xE9: breve + acute, 0xE8: breve + grave, 0xFA: breve + hook, 0xFC: breve + tilde, 0xEB: breve + dot,
	}
	for c, m := range marks {
		t[c] = m
		t[c-0x20] = m // the upper-case glyph of the same mark, used after capitals
	}
	letters := map[byte]string{
		0xF4: "ơ", 0xD4: "Ơ", 0xF6: "ư", 0xD6: "Ư", 0xF1: "đ", 0xD1: "Đ",
		0xED: "í", 0xCD: "Í", 0xEC: "ì", 0xCC: "Ì", 0xE6: "ỉ", 0xC6: "Ỉ", 0xF3: "ĩ", 0xD3: "Ĩ",
		0xF2: "ị", 0xD2: "Ị", 0xEE: "ỵ", 0xCE: "Ỵ",
	}
	for c, l := range letters {
		t[c] = l
	}
	return t
}()

// cp1252 decodes one byte of Windows-1252.
func cp1252(c byte) string {
	s, err := charmapWindows1252.NewDecoder().Bytes([]byte{c})
	if err != nil || len(s) == 0 {
		return "\uFFFD"
	}
	return string(s)
}
