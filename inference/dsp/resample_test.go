package dsp

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func readF32(t testing.TB, name string) []float32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%v (regenerate with python3 tools/fixtures/resample/make.py)", err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func TestResampleMatchesTorchaudio(t *testing.T) {
	for _, p := range [][2]int{{16000, 22050}, {22050, 16000}, {22050, 44100}, {22050, 48000}} {
		t.Run(fmt.Sprintf("%d to %d", p[0], p[1]), func(t *testing.T) {
			in := readF32(t, fmt.Sprintf("in_%d.f32", p[0]))
			want := readF32(t, fmt.Sprintf("out_%d_%d.f32", p[0], p[1]))
			got, err := Resample(in, p[0], p[1])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d samples, torchaudio gives %d", len(got), len(want))
			}
			worst, at := 0.0, 0
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > worst {
					worst, at = d, i
				}
			}
			if worst > 1e-4 {
				t.Fatalf("largest difference from torchaudio is %.3g at sample %d (got %v, want %v)", worst, at, got[at], want[at])
			}
			t.Logf("largest difference from torchaudio: %.3g", worst)
		})
	}
}

func TestStreamingInChunksEqualsOneShot(t *testing.T) {
	in := readF32(t, "in_22050.f32")
	for _, to := range []int{16000, 44100, 48000} {
		want, err := Resample(in, 22050, to)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewResampler(22050, to, Options{})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, uint64(to)))
		for round := range 2 { // the second round proves Reset forgets the first stream
			var got []float32
			for rest := in; len(rest) > 0; {
				n := min(len(rest), rng.IntN(700))
				got = r.Process(got, rest[:n])
				rest = rest[n:]
			}
			got = r.Flush(got)
			if len(got) != len(want) {
				t.Fatalf("→%d round %d: streamed %d samples, one-shot %d", to, round, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("→%d round %d: sample %d streamed %v, one-shot %v", to, round, i, got[i], want[i])
				}
			}
			r.Reset()
		}
	}
}

func sine(rate int, freq float64, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(0.5 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return out
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

func TestDownsamplingRemovesWhatCannotBeRepresented(t *testing.T) {
	// A 10 kHz tone has no place at 16 kHz (Nyquist 8 kHz): it must be filtered out, not folded
	// back to 6 kHz as an interpolator without a low-pass filter would do.
	out, err := Resample(sine(22050, 10000, 22050), 22050, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if r := rms(out[1000 : len(out)-1000]); r > 0.01 {
		t.Fatalf("10 kHz tone at 16 kHz keeps RMS %.3f; want < 0.01 (input RMS 0.354)", r)
	}
}

func TestUpsamplingKeepsTheSignal(t *testing.T) {
	for _, to := range []int{44100, 48000} {
		in := sine(22050, 1000, 22050)
		out, err := Resample(in, 22050, to)
		if err != nil {
			t.Fatal(err)
		}
		ref := sine(to, 1000, len(out))
		var noise float64
		for i := 500; i < len(out)-500; i++ {
			d := float64(out[i] - ref[i])
			noise += d * d
		}
		noise = math.Sqrt(noise / float64(len(out)-1000))
		if snr := 20 * math.Log10(rms(ref)/noise); snr < 60 {
			t.Fatalf("1 kHz tone 22050 → %d: SNR %.1f dB, want ≥ 60", to, snr)
		}
	}
}

func TestEqualRatesPassThrough(t *testing.T) {
	in := []float32{0.1, -0.2, 0.3}
	out, err := Resample(in, 22050, 22050)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || out[0] != in[0] || out[2] != in[2] {
		t.Fatalf("got %v, want %v", out, in)
	}
}

func TestBadRatesAreRefused(t *testing.T) {
	if _, err := NewResampler(0, 22050, Options{}); err == nil {
		t.Fatal("a zero rate was accepted")
	}
	if _, err := NewResampler(22050, 100003*7, Options{}); err == nil {
		t.Fatal("a ratio needing a huge filter bank was accepted")
	}
}

func BenchmarkResample(b *testing.B) {
	in := sine(22050, 440, 22050*10)
	for _, to := range []int{16000, 44100, 48000} {
		b.Run(fmt.Sprintf("22050 to %d", to), func(b *testing.B) {
			r, _ := NewResampler(22050, to, Options{})
			out := make([]float32, 0, r.OutputLen(int64(len(in)))+1024)
			b.SetBytes(int64(len(in)) * 4)
			for b.Loop() {
				r.Reset()
				out = r.Flush(r.Process(out[:0], in))
			}
			b.ReportMetric(float64(len(in))/22050*float64(b.N)/b.Elapsed().Seconds(), "audio-s/s")
		})
	}
}

func TestInterpolatorAgreesWithResampler(t *testing.T) {
	in := readF32(t, "in_22050.f32")
	up, err := Resample(in, 22050, 4*22050)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := NewInterpolator(4)
	if err != nil {
		t.Fatal(err)
	}
	x := func(i int) float64 {
		if i < 0 || i >= len(in) {
			return 0
		}
		return float64(in[i])
	}
	for n := 0; n < len(in); n += 37 {
		for k := range 4 {
			var v float64
			for j, tap := range ip.Taps[k] {
				v += tap * x(n+ip.Offsets[k]+j)
			}
			if d := math.Abs(v - float64(up[4*n+k])); d > 1e-6 {
				t.Fatalf("sample %d phase %d: interpolator %v, resampler %v", n, k, v, up[4*n+k])
			}
		}
	}
	if ip.Gain < 1 || ip.Gain > 2 || ip.Reach < 6 || ip.Reach > 10 {
		t.Fatalf("unexpected gain %.3f or reach %d", ip.Gain, ip.Reach)
	}
}
