package textnorm

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCardinalFollowsSpokenRules(t *testing.T) {
	cases := []struct {
		in, want string
		o        Options
	}{
		{"0", "không", Options{}},
		{"000", "không", Options{}},
		{"4", "bốn", Options{}},
		{"10", "mười", Options{}},
		{"14", "mười bốn", Options{}},
		{"15", "mười lăm", Options{}},
		{"21", "hai mươi mốt", Options{}},
		{"24", "hai mươi tư", Options{}},
		{"25", "hai mươi lăm", Options{}},
		{"30", "ba mươi", Options{}},
		{"105", "một trăm linh năm", Options{}},
		{"105", "một trăm lẻ năm", Options{ZeroTens: "lẻ"}},
		{"1000", "một ngàn", Options{Thousand: "ngàn"}},
		{"1005", "một nghìn không trăm linh năm", Options{}},
		{"1000005", "một triệu không trăm linh năm", Options{}},
		{"1000500000", "một tỷ năm trăm nghìn", Options{}},
		{"1000000000000", "một nghìn tỷ", Options{}},
		{"1000000000000000000", "một tỷ tỷ", Options{}},
		{"1.234", "một nghìn hai trăm ba mươi tư", Options{}},
	}
	for _, c := range cases {
		if got := ReadCardinal(c.in, c.o); got != c.want {
			t.Errorf("ReadCardinal(%q, %+v) = %q, want %q", c.in, c.o, got, c.want)
		}
	}
}

func TestRomanValueAcceptsOnlyCanonicalNumerals(t *testing.T) {
	for s, want := range map[string]int{"I": 1, "IV": 4, "IX": 9, "XIV": 14, "XX": 20, "XXI": 21,
		"MCMXLV": 1945, "IIII": 0, "VV": 0, "IC": 0, "": 0, "ABC": 0} {
		if got := romanValue(s); got != want {
			t.Errorf("romanValue(%q) = %d, want %d", s, got, want)
		}
	}
}

// repoRoot walks up from the package directory to the module root.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// rvnVersion is the read-vietnamese-number release the differential test runs against.
const rvnVersion = "2.3.1"

// readVietnameseNumber returns the entry point of the npm package read-vietnamese-number,
// installing it into .cache/npm-rvn (git-ignored) the first time.
func readVietnameseNumber(t *testing.T) (node, entry string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the differential test runs the npm package read-vietnamese-number with it; " +
			"install Node.js and npm (Debian: apt-get install nodejs npm, or tools/setup.sh test)")
	}
	dir := filepath.Join(repoRoot(t), ".cache", "npm-rvn")
	entry = filepath.Join(dir, "node_modules", "read-vietnamese-number", "dist", "esm", "index.js")
	pkg := filepath.Join(dir, "node_modules", "read-vietnamese-number", "package.json")
	if b, err := os.ReadFile(pkg); err == nil && bytes.Contains(b, []byte(`"version": "`+rvnVersion+`"`)) {
		return node, entry
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm is not installed: it installs read-vietnamese-number for the differential test; " +
			"install npm (Debian: apt-get install npm, or tools/setup.sh test)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), npm, "install", "--no-audit", "--no-fund", "--no-save",
		"--prefix", dir, "read-vietnamese-number@"+rvnVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install read-vietnamese-number@%s into %s failed: %v\n%s\n"+
			"check the npm registry is reachable, or install it by hand with the same command", rvnVersion, dir, err, out)
	}
	return node, entry
}

// randomNumbers draws n integers below 10^15 with every length equally likely and zero groups
// made common, so the rules for "linh", "không trăm" and skipped groups are exercised.
func randomNumbers(n int) []string {
	rng := rand.New(rand.NewPCG(4, 2024))
	out := make([]string, 0, n)
	for len(out) < n {
		digits := 1 + rng.IntN(15)
		b := make([]byte, digits)
		for i := range b {
			switch {
			case rng.IntN(3) == 0:
				b[i] = '0'
			default:
				b[i] = byte('0' + rng.IntN(10))
			}
		}
		if digits > 1 && b[0] == '0' {
			b[0] = byte('1' + rng.IntN(9))
		}
		out = append(out, string(b))
	}
	return out
}

// TestReadCardinalAgreesWithReadVietnameseNumber reads 10,000 random numbers below 10^15 with
// ReadCardinal and with the independent npm package read-vietnamese-number (configured to the
// same word choices: tỷ, linh, nghìn) and requires the same words. docs/TEXTNORM.md lists the
// configuration differences and why they are not reading differences.
func TestReadCardinalAgreesWithReadVietnameseNumber(t *testing.T) {
	node, entry := readVietnameseNumber(t)
	nums := randomNumbers(10000)
	cmd := exec.CommandContext(t.Context(), node, filepath.Join("testdata", "rvn.mjs"), entry)
	cmd.Stdin = strings.NewReader(strings.Join(nums, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node testdata/rvn.mjs: %v\n%s", err, stderr.String())
	}
	theirs := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(theirs) != len(nums) {
		t.Fatalf("read-vietnamese-number returned %d readings for %d numbers", len(theirs), len(nums))
	}
	diff := 0
	for i, n := range nums {
		ours := ReadCardinal(n, Options{})
		if ours != theirs[i] {
			diff++
			if diff <= 20 {
				t.Errorf("%s: textnorm %q, read-vietnamese-number %q", n, ours, theirs[i])
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d readings differ", diff, len(nums))
	}
	t.Logf("%d numbers read identically by both", len(nums)-diff)
}

func BenchmarkReadCardinal(b *testing.B) {
	nums := randomNumbers(1000)
	for i := 0; b.Loop(); i++ {
		ReadCardinal(nums[i%len(nums)], Options{})
	}
}
