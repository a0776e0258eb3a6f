package render

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/internal/testfs"
)

func inputs() Inputs {
	return Inputs{Model: "viettts-0.1", Voice: "nu-mien-bac", Text: "Xin chào Việt Nam", Speed: 1, Seed: 42, Pipeline: "p1"}
}

func TestKeyChangesWithEveryInputAndIgnoresUnicodeForm(t *testing.T) {
	base := KeyOf(inputs())
	if !base.Valid() {
		t.Fatalf("key %q is not valid", base)
	}
	if KeyOf(inputs()) != base {
		t.Fatal("same inputs, different key")
	}
	nfd := inputs()
	nfd.Text = "Xin cha\u0300o Vie\u0323\u0302t Nam"
	if KeyOf(nfd) != base {
		t.Fatal("NFD and NFC text gave different keys")
	}
	changes := []func(*Inputs){
		func(i *Inputs) { i.Model = "viettts-0.2" },
		func(i *Inputs) { i.Voice = "nam" },
		func(i *Inputs) { i.Text += "." },
		func(i *Inputs) { i.Speed = 1.1 },
		func(i *Inputs) { i.Seed = 43 },
		func(i *Inputs) { i.Pipeline = "p2" },
		func(i *Inputs) { i.Model, i.Voice = "viettts-0.1nu", "-mien-bac" }, // no concatenation collisions
	}
	for n, change := range changes {
		in := inputs()
		change(&in)
		if KeyOf(in) == base {
			t.Errorf("change %d did not change the key", n)
		}
	}
}

func samples(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.Sin(float64(i) / 7))
	}
	return s
}

func TestRenderWrittenTwiceIsByteIdentical(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := KeyOf(inputs())
	e1, err := c.Put(k, samples(2205))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(c.Path(e1.Name))
	st1, _ := os.Stat(c.Path(e1.Name))
	e2, err := c.Put(k, samples(2205))
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(c.Path(e2.Name))
	st2, _ := os.Stat(c.Path(e2.Name))
	if e1 != e2 || !bytes.Equal(first, second) {
		t.Fatalf("entries %+v %+v differ or bytes differ", e1, e2)
	}
	if !os.SameFile(st1, st2) {
		t.Fatal("a cache hit rewrote the file")
	}
	// Another cache, another directory: the same bytes.
	c2, _ := Open(t.TempDir())
	e3, _ := c2.Put(k, samples(2205))
	third, _ := os.ReadFile(c2.Path(e3.Name))
	if !bytes.Equal(first, third) || e3.SHA256 != e1.SHA256 {
		t.Fatal("rendering the same samples elsewhere gave other bytes")
	}
	if err := c.Verify(e1); err != nil {
		t.Fatal(err)
	}
	got, err := c.Load(e1.Name)
	if err != nil || len(got) != 2205 || got[100] != samples(2205)[100] {
		t.Fatalf("load: %d samples, %v", len(got), err)
	}
	if left, _ := filepath.Glob(filepath.Join(c.Dir(), "*", "*"+tempSuffix)); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestVerifyFindsMissingAndCorruptFiles(t *testing.T) {
	c, _ := Open(t.TempDir())
	e, _ := c.Put(KeyOf(inputs()), samples(100))
	b, _ := os.ReadFile(c.Path(e.Name))
	b[60] ^= 1
	os.WriteFile(c.Path(e.Name), b, 0o644)
	if err := c.Verify(e); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped bit: %v", err)
	}
	os.Remove(c.Path(e.Name))
	if err := c.Verify(e); !errors.Is(err, ErrMissing) {
		t.Fatalf("removed file: %v", err)
	}
}

func TestCleanTempRemovesInterruptedWrites(t *testing.T) {
	c, _ := Open(t.TempDir())
	e, _ := c.Put(KeyOf(inputs()), samples(10))
	leftover := c.Path(e.Name) + ".123" + tempSuffix
	os.WriteFile(leftover, []byte("half"), 0o644)
	n, err := c.CleanTemp()
	if err != nil || n != 1 {
		t.Fatalf("cleaned %d, %v", n, err)
	}
	if _, err := os.Stat(c.Path(e.Name)); err != nil {
		t.Fatal("clean removed a real render")
	}
}

func TestRenderFilesAreWAVThatFFprobeReads(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (tools/setup.sh test installs ffmpeg)")
	}
	c, _ := Open(t.TempDir())
	e, _ := c.Put(KeyOf(inputs()), samples(22050))
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels,duration",
		"-of", "default=noprint_wrappers=1", c.Path(e.Name)).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	for _, want := range []string{"codec_name=pcm_f32le", "sample_rate=22050", "channels=1", "duration=1.000000"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ffprobe output lacks %s:\n%s", want, out)
		}
	}
}

func TestDecodeWAVReadsInt16FromSox(t *testing.T) {
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox not installed (tools/setup.sh test installs it)")
	}
	path := filepath.Join(t.TempDir(), "tone.wav")
	if out, err := exec.Command("sox", "-n", "-r", "22050", "-c", "1", "-b", "16", path, "synth", "0.1", "sine", "440").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(path)
	s, rate, err := DecodeWAV(b)
	if err != nil || rate != 22050 || len(s) != 2205 {
		t.Fatalf("decode: %d samples at %d, %v", len(s), rate, err)
	}
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(EncodeWAV(samples(16)))
	f.Add(EncodeWAV(nil))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata\xff\xff\xff\xff"))
	f.Add([]byte("RIFF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _, err := DecodeWAV(b)
		if err == nil && len(s) > len(b) {
			t.Fatalf("%d samples from %d bytes", len(s), len(b))
		}
	})
}

// On a full disk a render fails with ErrNoSpace and leaves nothing behind, the probe says the disk
// is still full, and once space is freed the probe and the same render succeed.
func TestAFullDiskIsReportedAndLeavesNothing(t *testing.T) {
	dir := testfs.Tmpfs(t, "256k")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	samples := make([]float32, 22050) // 1 s: 88 KB
	for i := range samples {
		samples[i] = float32(math.Sin(float64(i) * 0.05))
	}
	k := KeyOf(inputs())
	filler := testfs.Fill(t, dir)
	_, err = c.Put(k, samples)
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "free some space") {
		t.Fatalf("Put on a full disk: %v", err)
	}
	if err := c.Probe(EncodedSize(len(samples))); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Probe on a full disk: %v", err)
	}
	var left []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != filler {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Fatalf("a failed render left %v", left)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := c.Probe(EncodedSize(len(samples))); err != nil {
		t.Fatalf("Probe with space: %v", err)
	}
	e, err := c.Put(k, samples)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(e); err != nil || e.Bytes != EncodedSize(len(samples)) {
		t.Fatalf("render after the disk was freed: %+v, %v", e, err)
	}
}
