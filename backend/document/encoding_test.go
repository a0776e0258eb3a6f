package document

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"
)

const vietnamese = "Chương I: Việt Nam\n\nTiếng Việt là ngôn ngữ của người Việt. Những người đi xa quê hương vẫn nhớ mùi lúa mới, tiếng gà trưa và bữa cơm chiều.\nĐêm qua trời đổ mưa to, sáng nay đường làng ướt sũng; ông Đức dậy sớm ra đồng thăm ruộng."

// iconvEncode encodes text with the system's iconv, the independent reference for Windows-1258
// and TCVN 5712.
func iconvEncode(t *testing.T, text, to string) []byte {
	t.Helper()
	if _, err := exec.LookPath("iconv"); err != nil {
		t.Fatal("iconv is not installed: it comes with libc-bin (apt-get install libc-bin)")
	}
	cmd := exec.CommandContext(t.Context(), "iconv", "-f", "UTF-8", "-t", to)
	cmd.Stdin = strings.NewReader(text)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("iconv -t %s: %v: %s", to, err, errb.String())
	}
	return out.Bytes()
}

// vniEncode writes NFC Vietnamese text in VNI: the bare letter, then one byte for its modifier
// and tone. It is the inverse of vniTable, written from the encoding's definition.
func vniEncode(t *testing.T, text string) []byte {
	t.Helper()
	single := map[rune]byte{'ơ': 0xF4, 'Ơ': 0xD4, 'ư': 0xF6, 'Ư': 0xD6, 'đ': 0xF1, 'Đ': 0xD1,
		'í': 0xED, 'Í': 0xCD, 'ì': 0xEC, 'Ì': 0xCC, 'ỉ': 0xE6, 'Ỉ': 0xC6, 'ĩ': 0xF3, 'Ĩ': 0xD3,
		'ị': 0xF2, 'Ị': 0xD2, 'ỵ': 0xEE, 'Ỵ': 0xCE}
	tone := map[rune]byte{0x301: 0xF9, 0x300: 0xF8, 0x309: 0xFB, 0x303: 0xF5, 0x323: 0xEF}
	circ := map[rune]byte{0: 0xE2, 0x301: 0xE1, 0x300: 0xE0, 0x309: 0xE5, 0x303: 0xE3, 0x323: 0xE4}
	breve := map[rune]byte{0: 0xEA, 0x301: 0xE9, 0x300: 0xE8, 0x309: 0xFA, 0x303: 0xFC, 0x323: 0xEB}
	var out []byte
	for _, r := range norm.NFC.String(text) {
		if r < 0x80 {
			out = append(out, byte(r))
			continue
		}
		if c, ok := single[r]; ok {
			out = append(out, c)
			continue
		}
		d := []rune(norm.NFD.String(string(r)))
		base, mod, tn := d[0], rune(0), rune(0)
		for _, m := range d[1:] {
			switch m {
			case 0x302, 0x306, 0x31B:
				mod = m
			default:
				tn = m
			}
		}
		upper := base >= 'A' && base <= 'Z'
		shift := func(c byte) byte {
			if upper {
				return c - 0x20
			}
			return c
		}
		switch mod {
		case 0x31B: // horn: ơ or ư as one byte, then the tone
			h := map[rune]byte{'o': 0xF4, 'O': 0xD4, 'u': 0xF6, 'U': 0xD6}[base]
			out = append(out, h)
			if tn != 0 {
				out = append(out, shift(tone[tn]))
			}
		case 0x302:
			out = append(out, byte(base), shift(circ[tn]))
		case 0x306:
			out = append(out, byte(base), shift(breve[tn]))
		default:
			if base > 0x7F {
				t.Fatalf("VNI cannot write %q", r)
			}
			out = append(out, byte(base))
			if tn != 0 {
				out = append(out, shift(tone[tn]))
			}
		}
	}
	return out
}

func TestTCVN3TableAgreesWithIconv(t *testing.T) {
	for c := 0xA1; c <= 0xFF; c++ {
		cmd := exec.CommandContext(t.Context(), "iconv", "-f", "TCVN5712-1", "-t", "UTF-8")
		cmd.Stdin = bytes.NewReader([]byte{byte(c)})
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("iconv -f TCVN5712-1: %v (iconv comes with libc-bin)", err)
		}
		if got, want := nfc(tcvn3Table[c]), nfc(string(out)); got != want {
			t.Errorf("byte %#x decodes to %q, iconv says %q", c, got, want)
		}
	}
}

func TestVNIDecodesTheWellKnownByteSequences(t *testing.T) {
	for in, want := range map[string]string{
		"Vieät Nam":    "Việt Nam",
		"Tieáng Vieät": "Tiếng Việt",
		"ñöôøng":       "đường",
		"Ñaø Naüng":    "Đà Nẵng",
		"HOÀ CHÍ MINH": "HỒ CHÍ MINH",
		"nöôùc":        "nước",
		"thaéng lôïi":  "thắng lợi",
		"khoûe maïnh":  "khỏe mạnh",
		"Bình Thuaän":  "Bình Thuận",
		"yù kieán":     "ý kiến",
		"TRÖÔØNG HOÏC": "TRƯỜNG HỌC",
	} {
		// The strings above are VNI text as a Western font shows it; take their bytes.
		b, err := cp1252Bytes(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := nfc(decodeAs(b, VNI)); got != want {
			t.Errorf("VNI %q decodes to %q, want %q", in, got, want)
		}
	}
}

// cp1252Bytes returns the Windows-1252 bytes whose glyphs are s: how VNI text looks when read
// with a Western font.
func cp1252Bytes(s string) ([]byte, error) {
	return charmapWindows1252.NewEncoder().Bytes([]byte(s))
}

func TestLegacyEncodingsRoundTrip(t *testing.T) {
	// Every lower- and upper-case Vietnamese letter with every tone.
	var all strings.Builder
	for _, base := range "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY" {
		for _, tone := range []string{"", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"} {
			all.WriteString(norm.NFC.String(string(base) + tone))
			all.WriteByte(' ')
		}
	}
	all.WriteString("đ Đ")
	text := all.String()
	if got := nfc(decodeAs(vniEncode(t, text), VNI)); got != text {
		t.Errorf("VNI round trip:\n got %q\nwant %q", got, text)
	}
	lower := strings.ToLower(text)
	if got := nfc(decodeAs(iconvEncode(t, lower, "TCVN5712-1"), TCVN3)); got != lower {
		t.Errorf("TCVN3 round trip:\n got %q\nwant %q", got, lower)
	}
	if got := nfc(decodeAs(iconvEncode(t, text, "WINDOWS-1258"), CP1258)); got != text {
		t.Errorf("Windows-1258 round trip:\n got %q\nwant %q", got, text)
	}
}

func utf16Bytes(s string, be, bom bool) []byte {
	var order binary.AppendByteOrder = binary.LittleEndian
	if be {
		order = binary.BigEndian
	}
	var out []byte
	if bom {
		out = order.AppendUint16(out, 0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

func TestTextFilesAreDetectedInEveryEncoding(t *testing.T) {
	// TCVN3 has no capitals with tone marks (ABC files set capitals in a separate font), so its
	// sample is lower case, as real ABC text mostly is.
	lower := strings.ToLower(vietnamese)
	cases := []struct {
		name string
		raw  []byte
		want Encoding
		text string
	}{
		{"utf-8", []byte(vietnamese), UTF8, vietnamese},
		{"utf-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, vietnamese...), UTF8, vietnamese},
		{"utf-8 in NFD", []byte(norm.NFD.String(vietnamese)), UTF8, vietnamese},
		{"utf-16le with BOM", utf16Bytes(vietnamese, false, true), UTF16LE, vietnamese},
		{"utf-16be with BOM", utf16Bytes(vietnamese, true, true), UTF16BE, vietnamese},
		{"utf-16le without BOM", utf16Bytes(vietnamese, false, false), UTF16LE, vietnamese},
		{"utf-16be without BOM", utf16Bytes(vietnamese, true, false), UTF16BE, vietnamese},
		{"windows-1258", iconvEncode(t, vietnamese, "WINDOWS-1258"), CP1258, vietnamese},
		{"tcvn3", iconvEncode(t, lower, "TCVN5712-1"), TCVN3, lower},
		{"vni", vniEncode(t, vietnamese), VNI, vietnamese},
		// A stray Windows-1252 quote (0x93) in a UTF-8 file: UTF-8, the stray byte replaced.
		{"utf-8 with a stray byte", []byte(strings.Replace(vietnamese, "Đêm", "\x93Đêm", 1)), UTF8, strings.Replace(vietnamese, "Đêm", "\uFFFDĐêm", 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := Parse(t.Context(), bytes.NewReader(c.raw), int64(len(c.raw)), "sample.txt", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if doc.Encoding != c.want {
				t.Errorf("detected %s, want %s", doc.Encoding, c.want)
			}
			text, _, _ := decodeText(c.raw, c.want)
			if text != c.text {
				t.Errorf("decoded text differs:\n got %q\nwant %q", text, c.text)
			}
			if !strings.Contains(doc.Text(), "ông") || !norm.NFC.IsNormalString(doc.Text()) {
				t.Errorf("imported text is not NFC Vietnamese: %q", doc.Text())
			}
		})
	}
}

func TestEncodingOverrideWins(t *testing.T) {
	// Latin-1 letters that are also valid Windows-1258: read as VNI on request.
	raw := vniEncode(t, vietnamese)
	doc, err := Parse(t.Context(), bytes.NewReader(raw), int64(len(raw)), "x.txt", Options{Encoding: CP1258})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Encoding != CP1258 || strings.Contains(doc.Text(), "Việt") {
		t.Fatalf("override ignored: %s, %q", doc.Encoding, doc.Text())
	}
	for _, name := range []string{"VNI-Win", "ABC", "TCVN5712-1", "cp1258", "UTF_16BE"} {
		if _, ok := ParseEncoding(name); !ok {
			t.Errorf("ParseEncoding(%q) is unknown", name)
		}
	}
	if _, ok := ParseEncoding("koi8-r"); ok {
		t.Error("ParseEncoding accepts an encoding it cannot read")
	}
}

func TestBinaryGarbageIsNotText(t *testing.T) {
	garbage := make([]byte, 64<<10)
	x := uint32(2463534242)
	for i := range garbage {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		garbage[i] = byte(x)
	}
	_, err := Parse(context.Background(), bytes.NewReader(garbage), int64(len(garbage)), "garbage.txt", Options{})
	if !errors.Is(err, ErrNotText) {
		t.Fatalf("got %v, want ErrNotText", err)
	}
	if !strings.Contains(err.Error(), "binary") {
		t.Errorf("message does not say what happened: %v", err)
	}
}
