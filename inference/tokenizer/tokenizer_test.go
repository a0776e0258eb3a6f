package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ranksPath finds VietTTS's ranks file: $VIETTTS_TOKENIZER_RANKS, or .cache/tokenizer in the
// repository (tools/fixtures/features/fetch_tokenizer.sh puts it there; `make test` runs it).
func ranksPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VIETTTS_TOKENIZER_RANKS"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, ".cache", "tokenizer", "multilingual.tiktoken")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("tokenizer ranks not found: run tools/fixtures/features/fetch_tokenizer.sh (make test does)")
		}
		dir = parent
	}
}

func load(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Load(ranksPath(t))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type golden struct {
	VocabSize int `json:"vocab_size"`
	Cases     []struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	} `json:"cases"`
	Specials map[string]int `json:"specials"`
}

func readGolden(t *testing.T) golden {
	b, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestEncodeMatchesTiktoken(t *testing.T) {
	tok := load(t)
	g := readGolden(t)
	if len(g.Cases) < 50 {
		t.Fatalf("golden file has %d cases, want ≥ 50", len(g.Cases))
	}
	for _, c := range g.Cases {
		// The goldens are tiktoken on the raw string; the runtime NFC-normalizes first, and every
		// golden text is already NFC.
		if !norm.NFC.IsNormalString(c.Text) {
			t.Fatalf("golden text %q is not NFC", c.Text)
		}
		if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
		}
		if n := tok.CountTokens(c.Text); n != len(c.IDs) {
			t.Errorf("CountTokens(%q) = %d, want %d", c.Text, n, len(c.IDs))
		}
	}
}

func TestSpecialTokensFollowTheRanksInModelOrder(t *testing.T) {
	tok := load(t)
	g := readGolden(t)
	if tok.VocabSize() != g.VocabSize || tok.VocabSize() != 60510 {
		t.Errorf("VocabSize = %d, want %d (tiktoken) and 60510 (MODEL.md §3)", tok.VocabSize(), g.VocabSize)
	}
	for name, want := range g.Specials {
		if got, ok := tok.SpecialID(name); !ok || got != want {
			t.Errorf("SpecialID(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if _, ok := tok.SpecialID("<|not-a-token|>"); ok {
		t.Error("SpecialID accepted an unknown name")
	}
}

func TestUserTextNeverBecomesSpecialIDs(t *testing.T) {
	tok := load(t)
	for _, text := range []string{"<|endoftext|>", "a <|vi|> b", "<|TTS/B|><|0.00|>"} {
		for _, id := range tok.Encode(text) {
			if id >= RanksCount {
				t.Errorf("Encode(%q) produced special id %d", text, id)
			}
		}
	}
}

func TestEncodeNormalizesToNFC(t *testing.T) {
	tok := load(t)
	composed := "Việt Nam"
	decomposed := norm.NFD.String(composed)
	if composed == decomposed {
		t.Fatal("test text has no decomposable characters")
	}
	if a, b := tok.Encode(composed), tok.Encode(decomposed); !slices.Equal(a, b) {
		t.Errorf("NFD input encodes differently: %v vs %v", b, a)
	}
}

func TestPretokenizerLeavesLastSpaceToTheNextWord(t *testing.T) {
	cases := map[string][]string{
		"a  b":     {"a", " ", " b"},
		"a\n\nb":   {"a", "\n", "\n", "b"},
		"a \n b":   {"a", " \n", " b"},
		"end   ":   {"end", "   "},
		"x\tyz":    {"x", "\t", "yz"},
		"it's 12!": {"it", "'s", " 12", "!"},
		" ?!":      {" ?!"},
		"'x":       {"'", "x"},
	}
	for in, want := range cases {
		if got := pretokenize(in); !slices.Equal(got, want) {
			t.Errorf("pretokenize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadRejectsFilesThatAreNotRanks(t *testing.T) {
	for name, content := range map[string]string{
		"empty":      "",
		"no rank":    "IQ==\n",
		"bad base64": "!!! 0\n",
		"bad rank":   "IQ== x\n",
		"few bytes":  "IQ== 0\nIg== 1\n",
	} {
		if _, err := Read(strings.NewReader(content)); err == nil {
			t.Errorf("%s: Read accepted %q", name, content)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.tiktoken")); err == nil {
		t.Error("Load accepted a missing file")
	}
}

// FuzzRead feeds arbitrary bytes to the ranks parser: it must return a tokenizer or an error, never
// panic.
func FuzzRead(f *testing.F) {
	f.Add([]byte("IQ== 0\nIg== 1\n"))
	f.Add([]byte(""))
	f.Add([]byte("=== 5\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := Read(strings.NewReader(string(b)))
		if err == nil && tok.VocabSize() <= 0 {
			t.Fatal("tokenizer with empty vocabulary")
		}
	})
}

// FuzzEncode checks that any text splits into pieces that cover it exactly and encodes to ids that
// are all ranks.
func FuzzEncode(f *testing.F) {
	tok := load(f)
	for _, s := range []string{"Xin chào Việt Nam.", "a  b\n\n c", "<|en|>", "\xff\xfe", "'s'S 12 ?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		if strings.Join(pretokenize(s), "") != s {
			t.Fatalf("pieces of %q do not cover it", s)
		}
		for _, id := range tok.Encode(s) {
			if id < 0 || id >= RanksCount {
				t.Fatalf("Encode(%q) gave id %d", s, id)
			}
		}
	})
}
