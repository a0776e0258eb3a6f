package document

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Encoding names a character encoding of a plain-text file.
type Encoding string

// The encodings decodeText reads. TCVN3 and VNI are the two legacy Vietnamese font encodings
// of the 1990s and 2000s that many old documents still use.
const (
	UTF8    Encoding = "utf-8"
	UTF16LE Encoding = "utf-16le"
	UTF16BE Encoding = "utf-16be"
	CP1258  Encoding = "windows-1258"
	TCVN3   Encoding = "tcvn3"
	VNI     Encoding = "vni"
)

// Encodings lists the encodings Options.Encoding accepts.
var Encodings = []Encoding{UTF8, UTF16LE, UTF16BE, CP1258, TCVN3, VNI}

// ParseEncoding turns a user's spelling of an encoding ("UTF8", "cp1258", "ABC", "VNI-Win",
// "TCVN5712-1") into an Encoding; ok is false for an unknown name.
func ParseEncoding(s string) (e Encoding, ok bool) {
	k := strings.NewReplacer("-", "", "_", "", " ", "", ".", "").Replace(strings.ToLower(s))
	switch k {
	case "", "auto":
		return "", true
	case "utf8":
		return UTF8, true
	case "utf16le", "utf16":
		return UTF16LE, true
	case "utf16be":
		return UTF16BE, true
	case "cp1258", "windows1258", "win1258", "1258":
		return CP1258, true
	case "tcvn3", "tcvn", "abc", "tcvn57121", "tcvn5712", "vn3":
		return TCVN3, true
	case "vni", "vniwin", "vniwindows":
		return VNI, true
	}
	return "", false
}

// decodeText turns the bytes of a text file into NFC UTF-8. With force empty it detects the
// encoding: a byte-order mark wins; then valid UTF-8; then UTF-16 by the pattern of zero bytes;
// then the legacy 8-bit encodings (Windows-1258, TCVN3, VNI) by how much of each decoding reads
// as Vietnamese syllables. Binary data fails with ErrNotText.
func decodeText(raw []byte, force Encoding) (string, Encoding, error) {
	enc := force
	switch {
	case enc != "":
		raw = stripBOM(raw, enc)
	case bytes.HasPrefix(raw, []byte{0xEF, 0xBB, 0xBF}):
		enc, raw = UTF8, raw[3:]
	case bytes.HasPrefix(raw, []byte{0xFF, 0xFE}):
		enc, raw = UTF16LE, raw[2:]
	case bytes.HasPrefix(raw, []byte{0xFE, 0xFF}):
		enc, raw = UTF16BE, raw[2:]
	default:
		enc = detect(raw)
	}
	if enc == "" {
		return "", "", fail(ErrNotText, "if it is a document, give it its proper extension (.docx, .pdf, ...); if it is text in an unusual encoding, choose the encoding by hand",
			"the content looks like binary data, not text in any supported encoding")
	}
	text := decodeAs(raw, enc)
	if force == "" && enc != UTF16LE && enc != UTF16BE && looksBinary(text) {
		return "", "", fail(ErrNotText, "if it is a document, give it its proper extension (.docx, .pdf, ...)",
			"the content holds control characters that text does not have")
	}
	return nfc(text), enc, nil
}

func stripBOM(raw []byte, enc Encoding) []byte {
	switch enc {
	case UTF8:
		return bytes.TrimPrefix(raw, []byte{0xEF, 0xBB, 0xBF})
	case UTF16LE:
		return bytes.TrimPrefix(raw, []byte{0xFF, 0xFE})
	case UTF16BE:
		return bytes.TrimPrefix(raw, []byte{0xFE, 0xFF})
	}
	return raw
}

func decodeAs(raw []byte, enc Encoding) string {
	switch enc {
	case UTF16LE, UTF16BE:
		var order binary.ByteOrder = binary.LittleEndian
		if enc == UTF16BE {
			order = binary.BigEndian
		}
		u := make([]uint16, len(raw)/2)
		for i := range u {
			u[i] = order.Uint16(raw[2*i:])
		}
		return string(utf16.Decode(u))
	case CP1258:
		s, err := charmap.Windows1258.NewDecoder().Bytes(raw)
		if err != nil {
			return string(bytes.ToValidUTF8(raw, []byte("\uFFFD")))
		}
		return string(s)
	case TCVN3:
		return decodeTable(raw, &tcvn3Table)
	case VNI:
		return decodeTable(raw, &vniTable)
	}
	return strings.ToValidUTF8(string(raw), "\uFFFD")
}

func decodeTable(raw []byte, table *[256]string) string {
	var b strings.Builder
	b.Grow(len(raw) * 2)
	for _, c := range raw {
		if c < 0x80 {
			b.WriteByte(c)
		} else {
			b.WriteString(table[c])
		}
	}
	return b.String()
}

// detect picks the encoding of a file without a byte-order mark, or "" for binary data.
func detect(raw []byte) Encoding {
	sample := raw
	if len(sample) > 256<<10 {
		sample = sample[:256<<10]
		// Do not cut a UTF-8 sequence or a UTF-16 pair in the middle.
		for i := 0; i < 4 && len(sample) > 0 && !utf8.Valid(sample); i++ {
			sample = sample[:len(sample)-1]
		}
	}
	if enc := detectUTF16(sample); enc != "" {
		return enc
	}
	if bytes.IndexByte(sample, 0) >= 0 {
		return ""
	}
	if utf8.Valid(sample) || mostlyUTF8(sample) {
		return UTF8
	}
	best, bestScore := Encoding(""), 0.0
	for _, enc := range []Encoding{CP1258, TCVN3, VNI} {
		s := vietnameseScore(nfc(decodeAs(sample, enc)))
		if s > bestScore {
			best, bestScore = enc, s
		}
	}
	if bestScore <= 0 {
		// Nothing reads as Vietnamese: Windows-1258 is a superset of Latin-1 for Western text.
		if looksBinary(decodeAs(sample, CP1258)) {
			return ""
		}
		return CP1258
	}
	return best
}

// mostlyUTF8 reports whether b is UTF-8 with a few stray bytes (a Windows-1252 quote pasted into
// a UTF-8 file): valid multi-byte sequences outnumber invalid bytes twenty to one. Legacy
// Vietnamese text almost never forms valid multi-byte sequences.
func mostlyUTF8(b []byte) bool {
	valid, invalid := 0, 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			invalid++
		case n > 1:
			valid++
		}
		b = b[n:]
	}
	return valid >= 20*invalid && valid > 0
}

// detectUTF16 recognizes UTF-16 without a byte-order mark: text in Latin script has a zero
// byte in most even (big-endian) or odd (little-endian) positions, and Vietnamese letters
// outside Latin-1 sit at 0x1E00-0x1EFF or 0x01xx, so their high byte repeats.
func detectUTF16(b []byte) Encoding {
	if len(b) < 4 {
		return ""
	}
	n := len(b) / 2
	zeroEven, zeroOdd := 0, 0
	for i := 0; i+1 < len(b); i += 2 {
		if b[i] == 0 {
			zeroEven++
		}
		if b[i+1] == 0 {
			zeroOdd++
		}
	}
	var enc Encoding
	switch {
	case zeroOdd*10 >= n*3 && zeroEven*10 < n:
		enc = UTF16LE
	case zeroEven*10 >= n*3 && zeroOdd*10 < n:
		enc = UTF16BE
	default:
		return ""
	}
	// Binary data can have the same zero pattern; text is mostly Latin letters, Vietnamese
	// letters, combining marks and punctuation.
	latin := 0
	for _, r := range decodeAs(b, enc) {
		if r < 0x250 || (r >= 0x300 && r < 0x370) || (r >= 0x1E00 && r < 0x1F00) || (r >= 0x2000 && r < 0x2070) {
			latin++
		}
	}
	if latin*10 < n*6 {
		return ""
	}
	return enc
}

// looksBinary reports whether decoded text holds control characters that text files do not.
func looksBinary(s string) bool {
	bad, total := 0, 0
	for _, r := range s {
		total++
		if r == '\uFFFD' || (unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' && r != '\f' && r != 0x1A) {
			bad++
		}
	}
	return total > 0 && bad*100 > total
}

// vietnameseScore rates how much a decoded text reads as Vietnamese: each word that is a valid
// syllable with Vietnamese diacritics counts for it, each word holding a letter outside the
// Vietnamese alphabet counts against it (the mojibake of a wrong decoding: "ViÖt", "Vieät").
func vietnameseScore(s string) float64 {
	good, bad := 0, 0
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) }) {
		ascii := true
		for i := 0; i < len(w); i++ {
			if w[i] >= 0x80 {
				ascii = false
				break
			}
		}
		if ascii {
			continue
		}
		if isVietnameseSyllable(w) {
			good++
		} else {
			bad++
		}
	}
	if good+bad == 0 {
		return 0
	}
	return float64(good-2*bad) / float64(good+bad)
}
