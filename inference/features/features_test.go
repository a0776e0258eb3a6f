package features

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The fixtures come from tools/fixtures/features/make.py (torch/torchaudio references).

func readF32(t testing.TB, name string) []float32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".f32"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func shape(t testing.TB, name string) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	var s []int
	if err := json.Unmarshal(meta[name], &s); err != nil {
		t.Fatalf("meta %s: %v", name, err)
	}
	return s
}

// closeTo checks got against want element by element: |got−want| ≤ 1e-4·max(|want|, 1), i.e. 1e-4
// relative for values of magnitude ≥ 1 and 1e-4 absolute below (log features cross zero).
func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range want {
		d := math.Abs(float64(got[i])-float64(want[i])) / math.Max(1, math.Abs(float64(want[i])))
		if d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	t.Logf("%s: worst relative error %.2e at %d (got %g, want %g)", what, worst, at, got[at], want[at])
	if !(worst <= 1e-4) {
		t.Errorf("%s: error %.2e at %d exceeds 1e-4 (got %g, want %g)", what, worst, at, got[at], want[at])
	}
}

func TestKaldiFbankMatchesTorchaudio(t *testing.T) {
	m, err := KaldiFbank(readF32(t, "in16k"))
	if err != nil {
		t.Fatal(err)
	}
	s := shape(t, "fbank")
	if m.Rows != s[0] || m.Cols != s[1] {
		t.Fatalf("shape %dx%d, want %v", m.Rows, m.Cols, s)
	}
	closeTo(t, "fbank", m.Data, readF32(t, "fbank"))
}

func TestWhisperLogMelMatchesTorch(t *testing.T) {
	m, err := WhisperLogMel(readF32(t, "in16k"))
	if err != nil {
		t.Fatal(err)
	}
	s := shape(t, "whisper")
	if m.Rows != s[0] || m.Cols != s[1] {
		t.Fatalf("shape %dx%d, want %v", m.Rows, m.Cols, s)
	}
	closeTo(t, "whisper", m.Data, readF32(t, "whisper"))
}

func TestPromptMelMatchesTorch(t *testing.T) {
	m, err := PromptMel(readF32(t, "in22k"))
	if err != nil {
		t.Fatal(err)
	}
	s := shape(t, "promptmel")
	if m.Rows != s[0] || m.Cols != s[1] {
		t.Fatalf("shape %dx%d, want %v", m.Rows, m.Cols, s)
	}
	closeTo(t, "prompt mel", m.Data, readF32(t, "promptmel"))
}

func TestResampleMatchesTorchaudio(t *testing.T) {
	in := readF32(t, "in16k")[:8000]
	got, err := Resample(in, 16000, 22050)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "16k→22.05k", got, readF32(t, "resample16to22"))
	got, err = Resample(readF32(t, "in44k"), 44100, 16000)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "44.1k→16k", got, readF32(t, "resample44to16"))
}

func TestShortAudioIsAnErrorNotAPanic(t *testing.T) {
	short := make([]float32, 100)
	if _, err := KaldiFbank(short); err == nil {
		t.Error("KaldiFbank accepted 100 samples")
	}
	if _, err := WhisperLogMel(short); err == nil {
		t.Error("WhisperLogMel accepted 100 samples")
	}
	if _, err := PromptMel(short); err == nil {
		t.Error("PromptMel accepted 100 samples")
	}
	if _, err := Resample(short, 0, 16000); err == nil {
		t.Error("Resample accepted rate 0")
	}
}

func BenchmarkPromptMel5s(b *testing.B) {
	x := make([]float32, 5*22050)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.05))
	}
	for b.Loop() {
		if _, err := PromptMel(x); err != nil {
			b.Fatal(err)
		}
	}
}
