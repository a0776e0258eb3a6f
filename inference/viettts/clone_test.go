package viettts

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/ort"
)

// makeClip renders a clip with sox: a voiced-like tone with vibrato (sox synth), seconds long, at
// rate, written as the file type of name's extension, with leading and trailing silence.
func makeClip(t *testing.T, name string, seconds float64, rate int, silent bool) string {
	t.Helper()
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skip("sox not installed: run tools/setup.sh test")
	}
	p := filepath.Join(t.TempDir(), name)
	vol := "0.5"
	if silent {
		vol = "0"
	}
	args := []string{"-n", "-r", itoa(rate), "-c", "2"}
	if filepath.Ext(name) != ".mp3" {
		args = append(args, "-b", "16")
	}
	args = append(args, p, "synth", ftoa(seconds), "sine", "120-180", "sine", "240-360",
		"tremolo", "3", "60", "vol", vol, "pad", "0.4", "0.4")
	if out, err := exec.Command("sox", args...).CombinedOutput(); err != nil {
		t.Fatalf("sox %v: %v\n%s", args, err, out)
	}
	return p
}

func itoa(n int) string     { return strconv.Itoa(n) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func TestDecodeClipReadsWavMp3AndFlacAsMono(t *testing.T) {
	for _, name := range []string{"a.wav", "a.flac", "a.mp3"} {
		x, rate, err := DecodeClip(makeClip(t, name, 2, 44100, false))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		secs := float64(len(x)) / float64(rate)
		if rate != 44100 || secs < 2.7 || secs > 2.9 {
			t.Errorf("%s: %d samples at %d Hz (%.2f s), want about 2.8 s at 44100", name, len(x), rate, secs)
		}
	}
	if _, _, err := DecodeClip(filepath.Join("testdata", "meta.json")); !errors.Is(err, ErrUnusableClip) {
		t.Errorf("a JSON file as a clip: %v", err)
	}
}

func cloner(t *testing.T) *Cloner {
	dir := standinBundle(t)
	c, err := OpenCloner(dir, ort.SessionConfig{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCloneMakesAVoiceFromAClip(t *testing.T) {
	c := cloner(t)
	x, rate, err := DecodeClip(makeClip(t, "me.wav", 7, 48000, false))
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Clone(t.Context(), x, rate, "me", "Giọng của tôi")
	if err != nil {
		t.Fatal(err)
	}
	// The span is 3-5 s of the 7 s of sound: 75-125 tokens at 25 Hz, 258-431 mel frames.
	if n := len(v.Tokens); n < 75 || n > 126 {
		t.Errorf("%d prompt tokens, want 75-125", n)
	}
	if f := v.Frames(); f < 258 || f > 431 {
		t.Errorf("%d prompt frames, want 258-431", f)
	}
	if v.Name != "Giọng của tôi" || v.ID != "me" {
		t.Errorf("id %q name %q", v.ID, v.Name)
	}
	// The clone is usable by the engine.
	e := newEngine(t, standinBundle(t))
	if err := e.AddVoice(v); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Synthesize(t.Context(), inference.Request{Text: "Chào bạn.", Voice: "me", Seed: 1}); err != nil {
		t.Fatal(err)
	}
}

func TestCloneRefusesShortOrSilentClips(t *testing.T) {
	c := cloner(t)
	for name, path := range map[string]string{
		"short":  makeClip(t, "short.wav", 1.5, 22050, false),
		"silent": makeClip(t, "silent.wav", 5, 22050, true),
		"8 kHz":  makeClip(t, "phone.wav", 5, 8000, false),
	} {
		x, rate, err := DecodeClip(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Clone(t.Context(), x, rate, "x", "x")
		if !errors.Is(err, ErrUnusableClip) {
			t.Errorf("%s clip: err %v, want ErrUnusableClip", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// FuzzDecodeClip feeds arbitrary bytes, behind each format's magic, to the clip decoder: a clip or
// ErrUnusableClip, never a panic.
func FuzzDecodeClip(f *testing.F) {
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x22\x56\x00\x00"))
	f.Add([]byte("fLaC\x00\x00\x00\x22"))
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00"))
	f.Add([]byte{0xff, 0xfb, 0x90, 0x44, 0x00})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "clip")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		x, rate, err := DecodeClip(p)
		if err != nil && !errors.Is(err, ErrUnusableClip) {
			t.Fatalf("error %v is not ErrUnusableClip", err)
		}
		if err == nil && (rate <= 0 || len(x) > int(maxClipSeconds*float64(rate))+1) {
			t.Fatalf("decoded %d samples at %d Hz", len(x), rate)
		}
	})
}
