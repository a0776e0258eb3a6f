package audio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/viettts-studio/studio/inference/dsp"
)

func constant(n int, v float32) []float32 {
	p := make([]float32, n)
	for i := range p {
		p[i] = v
	}
	return p
}

func src(p []float32) Source {
	return SourceFunc(func(context.Context) ([]float32, error) { return p, nil })
}

func TestAssembleLaysOutPausesAndChapters(t *testing.T) {
	book := &Book{Chapters: []Chapter{
		{Title: "Một", Segments: []Segment{
			{ID: "a", Audio: src(constant(1000, 0.5)), Break: BreakClause},
			{ID: "b", Audio: src(constant(2000, 0.5)), Break: BreakParagraph},
			{ID: "c", Audio: src(constant(3000, 0.5))},
		}},
		{Title: "Hai", Segments: []Segment{{ID: "d", Audio: src(constant(500, 0.5))}}},
	}}
	var got []float32
	chapterOf := map[int]int{}
	tl, err := Assemble(t.Context(), book, Settings{Pauses: Pauses{Sentence: 100 * time.Millisecond}},
		func(ch int, p []float32) error {
			chapterOf[ch] += len(p)
			got = append(got, p...)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	head, clause, para, chap := Samples(DefaultPauses.Head), Samples(DefaultPauses.Clause), Samples(DefaultPauses.Paragraph), Samples(DefaultPauses.Chapter)
	wantStarts := []int64{head, head + 1000 + clause, head + 3000 + clause + para,
		head + 6000 + clause + para + chap + head}
	for i, s := range tl.Segments {
		if s.Start != wantStarts[i] {
			t.Errorf("segment %s starts at %d, want %d", s.ID, s.Start, wantStarts[i])
		}
	}
	if tl.Chapters[1].Start != tl.Chapters[0].End || tl.Length != int64(len(got)) || tl.Chapters[1].End != tl.Length {
		t.Errorf("chapters %+v do not tile the %d samples", tl.Chapters, len(got))
	}
	if int64(chapterOf[0]) != tl.Chapters[0].End {
		t.Errorf("chapter 0 emitted %d samples, spans %d", chapterOf[0], tl.Chapters[0].End)
	}
	// The sentence pause setting is used; the others keep their defaults.
	if p := (Pauses{Sentence: 100 * time.Millisecond}).After(BreakSentence, false); p != 100*time.Millisecond {
		t.Errorf("sentence pause %v", p)
	}
	for _, s := range tl.Segments {
		for i := s.Start; i < s.End; i++ {
			if got[i] != 0.5 {
				t.Fatalf("segment %s sample %d is %v", s.ID, i, got[i])
			}
		}
	}
}

func TestAssembleNamesTheSegmentThatFailed(t *testing.T) {
	boom := errors.New("render file missing")
	book := &Book{Chapters: []Chapter{{Title: "Một", Segments: []Segment{
		{ID: "ok", Audio: src(constant(10, 0.1))},
		{ID: "bad", Audio: SourceFunc(func(context.Context) ([]float32, error) { return nil, boom })},
	}}}}
	_, err := Assemble(t.Context(), book, Settings{}, func(int, []float32) error { return nil })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `"bad"`) || !strings.Contains(err.Error(), "segment 2") {
		t.Fatalf("error %v does not name the segment", err)
	}
}

func TestTrimKeepsTheSoundAndAMargin(t *testing.T) {
	pcm := append(append(make([]float32, Rate), constant(Rate/2, 0.3)...), make([]float32, Rate)...)
	got := TrimSegment(pcm, Trim{Enabled: true})
	keep := int(Samples(30 * time.Millisecond))
	if want := Rate/2 + 2*keep; abs(len(got)-want) > Rate/100 {
		t.Fatalf("trimmed to %d samples, want about %d", len(got), want)
	}
	if len(TrimSegment(make([]float32, 1000), Trim{Enabled: true})) != 0 {
		t.Fatal("a silent segment was not trimmed to nothing")
	}
	if len(TrimSegment(pcm, Trim{})) != len(pcm) {
		t.Fatal("disabled trimming changed the segment")
	}
}

func abs(x int) int { return max(x, -x) }

func writeF32(t testing.TB, p []float32) string {
	t.Helper()
	b := make([]byte, 4*len(p))
	for i, v := range p {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	path := filepath.Join(t.TempDir(), "x.f32")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ffmpegLoudness measures raw float32 mono PCM at rate with ffmpeg's ebur128 filter.
func ffmpegLoudness(t testing.TB, p []float32, rate int) float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostats", "-f", "f32le", "-ar", strconv.Itoa(rate), "-ac", "1",
		"-i", writeF32(t, p), "-af", "ebur128", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	s := string(out)
	m := regexp.MustCompile(`I:\s+(-?[\d.]+) LUFS`).FindAllStringSubmatch(s, -1)
	if m == nil {
		t.Fatalf("no loudness in ffmpeg output:\n%s", s)
	}
	v, _ := strconv.ParseFloat(m[len(m)-1][1], 64)
	return v
}

func sox(t testing.TB, rate int, args ...string) []float32 {
	t.Helper()
	cmd := exec.Command("sox", append([]string{"-R", "-n", "-t", "f32", "-r", strconv.Itoa(rate), "-c", "1", "-"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sox %v: %v", args, err)
	}
	p := make([]float32, len(out)/4)
	for i := range p {
		p[i] = math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
	}
	return p
}

func TestMeterAgreesWithFFmpeg(t *testing.T) {
	for _, tool := range []string{"sox", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	cases := []struct {
		name string
		args []string
	}{
		{"1 kHz sine at -20 dBFS", []string{"synth", "5", "sine", "1000", "gain", "-20"}},
		{"pink noise with pauses", []string{"synth", "8", "pinknoise", "tremolo", "0.5", "100", "gain", "-n", "-6"}},
		{"quiet speech-band noise", []string{"synth", "6", "pinknoise", "band", "300", "3000", "tremolo", "4", "80", "gain", "-n", "-30"}},
	}
	for _, c := range cases {
		for _, rate := range []int{22050, 44100, 48000} {
			t.Run(fmt.Sprintf("%s at %d Hz", c.name, rate), func(t *testing.T) {
				p := sox(t, rate, c.args...)
				// Add a silent stretch so the gates have something to remove.
				p = append(p, make([]float32, rate*2)...)
				m := NewMeter(rate)
				m.Write(p)
				got, want := m.Integrated(), ffmpegLoudness(t, p, rate)
				if math.Abs(got-want) > 0.1 {
					t.Fatalf("meter %.2f LUFS, ffmpeg ebur128 %.2f LUFS", got, want)
				}
			})
		}
	}
	if l := NewMeter(Rate).Integrated(); !math.IsInf(l, -1) {
		t.Fatalf("an empty stream measures %v, want -Inf", l)
	}
}

// truePeak8x is an independent true-peak estimate: 8× oversampling with the resampler.
func truePeak8x(t testing.TB, p []float32, rate int) float64 {
	up, err := dsp.Resample(p, rate, 8*rate)
	if err != nil {
		t.Fatal(err)
	}
	var pk float64
	for _, v := range up {
		pk = math.Max(pk, math.Abs(float64(v)))
	}
	return pk
}

func runLimiter(t testing.TB, p []float32, rate int, gain, ceiling float64, chunk int) ([]float32, *Limiter) {
	var out []float32
	l, err := NewLimiter(rate, gain, ceiling, func(q []float32) error { out = append(out, q...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	for len(p) > 0 {
		n := min(chunk, len(p))
		if err := l.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return out, l
}

func TestLimiterKeepsTruePeaksUnderTheCeiling(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rate := 44100
	// Dense material that will be pushed 12 dB over the ceiling: a square-ish wave whose
	// intersample peaks exceed its samples, bursts of noise, and a lone click.
	p := make([]float32, rate*3)
	for i := range p {
		s := math.Sin(2 * math.Pi * 5512.5 * float64(i) / float64(rate)) // samples at ±0.707 of the true peak
		p[i] = float32(0.5*s + 0.1*rng.NormFloat64())
		if i/4410%3 == 0 {
			p[i] *= 0.1
		}
	}
	p[rate] = 1
	ceiling := math.Pow(10, -3.0/20)
	out, l := runLimiter(t, p, rate, 4, ceiling, 1000)
	if len(out) != len(p) {
		t.Fatalf("limiter returned %d samples for %d", len(out), len(p))
	}
	// The detector sees 4 points per sample and the gain moves between them: allow 0.25 dB.
	if pk := truePeak8x(t, out, rate); pk > ceiling*math.Pow(10, 0.25/20) {
		t.Fatalf("true peak %.2f dBTP after limiting, ceiling -3 dBTP", DB(pk))
	}
	if l.Reduced == 0 || DB(l.PeakIn) < 6 {
		t.Fatalf("the limiter saw a peak of %.1f dBTP and reduced %d samples; the test signal should need it", DB(l.PeakIn), l.Reduced)
	}
}

func TestLimiterIsTransparentUnderTheCeiling(t *testing.T) {
	rate := 22050
	p := make([]float32, rate)
	for i := range p {
		p[i] = float32(0.2 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	out, l := runLimiter(t, p, rate, 1.5, 1, 777)
	for i := range p {
		if want := float32(float64(p[i]) * 1.5); out[i] != want {
			t.Fatalf("sample %d: %v, want %v (gain only)", i, out[i], want)
		}
	}
	if l.Reduced != 0 {
		t.Fatalf("reduced %d samples of a signal 8 dB under the ceiling", l.Reduced)
	}
}

// FuzzLimiter checks the limiter's promises on arbitrary input: as many samples out as in, and
// the true peak under the ceiling (within the detector's 4× resolution).
func FuzzLimiter(f *testing.F) {
	f.Add([]byte{0, 255, 0, 255, 128, 1, 2, 3}, uint8(8), uint16(17))
	f.Add([]byte("VietTTS Studio: tiếng Việt"), uint8(40), uint16(3))
	f.Add(make([]byte, 300), uint8(1), uint16(64))
	f.Fuzz(func(t *testing.T, data []byte, gain uint8, chunk uint16) {
		p := make([]float32, len(data))
		for i, b := range data {
			p[i] = (float32(b) - 128) / 128
		}
		ceiling := 0.5
		out, _ := runLimiter(t, p, 22050, float64(gain)/8+0.1, ceiling, int(chunk)+1)
		if len(out) != len(p) {
			t.Fatalf("%d samples out for %d in", len(out), len(p))
		}
		for i, v := range out {
			if math.Abs(float64(v)) > ceiling*1.0001 {
				t.Fatalf("sample %d is %v over the ceiling %v", i, v, ceiling)
			}
		}
	})
}

func TestPresetsByName(t *testing.T) {
	for name, want := range map[string]float64{"acx": -20, "audiobook": -20, "podcast": -16, "EBU": -23} {
		p, err := PresetByName(name)
		if err != nil || p.LUFS != want {
			t.Errorf("%s: %+v %v", name, p, err)
		}
	}
	if p, err := PresetByName("off"); err != nil || p.Enabled() || p.Gain(-30) != 1 {
		t.Errorf("off: %+v %v", p, err)
	}
	if _, err := PresetByName("loud"); err == nil {
		t.Error("an unknown preset was accepted")
	}
	if g := PresetEBU.Gain(-33); math.Abs(DB(g)-10) > 1e-9 {
		t.Errorf("gain from -33 to -23 LUFS is %.3f dB", DB(g))
	}
}

func TestBookTextsAreNFC(t *testing.T) {
	nfd := "Tie\u0302\u0301ng Vie\u0323\u0302t"
	b := &Book{Title: nfd, Chapters: []Chapter{{Title: nfd, Segments: []Segment{{Text: nfd}}}}}
	b.Normalize()
	if b.Title != "Tiếng Việt" || b.Chapters[0].Title != "Tiếng Việt" || b.Chapters[0].Segments[0].Text != "Tiếng Việt" {
		t.Fatalf("not NFC: %q %q %q", b.Title, b.Chapters[0].Title, b.Chapters[0].Segments[0].Text)
	}
}
