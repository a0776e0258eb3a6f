package textnorm

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected column of testdata/golden.tsv with the current output")

// goldenCase is one line of testdata/golden.tsv.
type goldenCase struct {
	line     int
	input    string
	expected string
	opts     Options
}

// goldenFile keeps every line so that -update can rewrite the file in place.
type goldenFile struct {
	lines []string
	cases []goldenCase
}

func readGolden(t *testing.T, path string) goldenFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var g goldenFile
	var opts Options
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		g.lines = append(g.lines, line)
		switch {
		case strings.HasPrefix(line, "#!"):
			opts = parseDirective(t, n, strings.TrimSpace(line[2:]))
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			in, exp, ok := strings.Cut(line, "\t")
			if !ok {
				t.Fatalf("%s:%d: no tab between input and expected output", path, n)
			}
			in = strings.ReplaceAll(in, `\n`, "\n")
			g.cases = append(g.cases, goldenCase{line: n, input: in, expected: exp, opts: opts})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return g
}

func parseDirective(t *testing.T, line int, d string) Options {
	var o Options
	for _, f := range strings.Fields(d) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "thousand":
			o.Thousand = v
		case "zerotens":
			o.ZeroTens = v
		case "skipurls":
			o.SkipURLs = true
		case "plainstops":
			o.PlainStops = true
		default:
			t.Fatalf("golden.tsv:%d: unknown option %q", line, k)
		}
	}
	return o
}

// TestGolden reads every case of testdata/golden.tsv the way a narrator would and compares the
// spoken form; -update rewrites the expected column (review the diff before committing).
func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "golden.tsv")
	g := readGolden(t, path)
	if len(g.cases) < 300 {
		t.Fatalf("golden.tsv has %d cases; the acceptance bar is 300", len(g.cases))
	}
	changed := 0
	for _, c := range g.cases {
		got := New(c.opts).Normalize(c.input).Spoken
		if *update {
			if got != c.expected {
				changed++
				in := strings.ReplaceAll(c.input, "\n", `\n`)
				g.lines[c.line-1] = in + "\t" + got
			}
			continue
		}
		if got != c.expected {
			t.Errorf("golden.tsv:%d: %q\n  got  %q\n  want %q", c.line, c.input, got, c.expected)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(strings.Join(g.lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %d expected outputs in %s", changed, path)
	}
}

// TestGoldenCoversEveryCategory keeps the golden file honest: each section must keep cases.
func TestGoldenCoversEveryCategory(t *testing.T) {
	g := readGolden(t, filepath.Join("testdata", "golden.tsv"))
	sections := map[string]int{}
	current := ""
	for i, line := range g.lines {
		if strings.HasPrefix(line, "# --- ") {
			current = strings.TrimPrefix(line, "# --- ")
			continue
		}
		for _, c := range g.cases {
			if c.line == i+1 {
				sections[current]++
			}
		}
	}
	for _, want := range []string{"cardinal", "decimals", "ordinals", "fractions", "ranges", "dates",
		"date ranges", "times", "money", "units", "phone", "Roman", "abbreviations", "unknown acronyms",
		"symbols", "URLs", "emoji", "punctuation", "news", "literature", "law", "technical"} {
		found := false
		for name, n := range sections {
			if strings.HasPrefix(name, want) && n >= 5 {
				found = true
			}
		}
		if !found {
			t.Errorf("golden.tsv has no section %q with at least 5 cases (sections: %v)", want, fmt.Sprint(sections))
		}
	}
}
