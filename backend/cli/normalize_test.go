package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalizePrintsTheSpokenForm(t *testing.T) {
	out, errOut, code := run(t, "Ngày 2/9/1945, giá 50.000đ.\n", "normalize")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "Ngày hai tháng chín năm một nghìn chín trăm bốn mươi lăm, giá năm mươi nghìn đồng.\n"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestNormalizeJSONGivesWordsWithSpans(t *testing.T) {
	in := "Có 1005 người ở TP.HCM."
	out, errOut, code := run(t, in, "normalize", "--json", "--zero-tens", "lẻ", "--thousand", "ngàn")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Source string
		Spoken string
		Words  []struct {
			Text string
			Src  struct{ Start, End int }
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if res.Spoken != "Có một ngàn không trăm lẻ năm người ở thành phố Hồ Chí Minh." {
		t.Errorf("spoken %q", res.Spoken)
	}
	found := map[string]string{}
	for _, w := range res.Words {
		found[res.Source[w.Src.Start:w.Src.End]] = w.Text
	}
	if found["1005"] != "một ngàn không trăm lẻ năm" || found["TP.HCM"] != "thành phố Hồ Chí Minh" {
		t.Errorf("spans do not map the source to its reading: %v", found)
	}
}

func TestNormalizeSegmentsWithLexiconFile(t *testing.T) {
	lex := filepath.Join(t.TempDir(), "lexicon.tsv")
	if err := os.WriteFile(lex, []byte("# người dùng\nAI\ttrí tuệ nhân tạo\n/(\\d+)k/\t$1 nghìn đồng\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "AI giá 35k.\n\nChương hai.", "normalize", "--segments", "--lexicon", lex)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "trí tuệ nhân tạo giá ba mươi lăm nghìn đồng.\t[19 tokens, paragraph]\nChương hai.\t[5 tokens, paragraph]\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestNormalizeRejectsBadInputWithAHint(t *testing.T) {
	lex := filepath.Join(t.TempDir(), "bad.tsv")
	if err := os.WriteFile(lex, []byte("/(unclosed/\tx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"normalize", "--thousand", "k"}, "--thousand must be nghìn or ngàn"},
		{[]string{"normalize", "file.txt"}, "the text is read from stdin"},
		{[]string{"normalize", "--lexicon", lex}, "does not compile"},
		{[]string{"normalize", "--lexicon", filepath.Join(t.TempDir(), "missing.tsv")}, "lexicon"},
	} {
		_, errOut, code := run(t, "x", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want it to say %q", c.args, code, errOut, c.want)
		}
	}
}
