package studio

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/viettts-studio/studio/backend/home"
	"github.com/viettts-studio/studio/inference/tinymodel"
)

// installTiny installs a tiny random-weight bundle as the app's model in a fresh data folder.
func installTiny(t *testing.T) home.Dirs {
	t.Helper()
	t.Setenv(home.EnvHome, t.TempDir())
	dirs, err := home.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if err := dirs.Ensure(); err != nil {
		t.Fatal(err)
	}
	if err := tinymodel.Build(t.Context(), dirs.Model(), tinymodel.Options{}); errors.Is(err, tinymodel.ErrNoRanks) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// writeClip writes a 4 s, 16 kHz, 16-bit mono WAV of a voiced sound: harmonics of a gliding pitch
// under a syllable-like envelope.
func writeClip(t *testing.T, path string) {
	t.Helper()
	const rate, n = 16000, 4 * 16000
	data := make([]byte, 2*n)
	phase := 0.0
	for i := range n {
		tt := float64(i) / rate
		f0 := 140 + 30*math.Sin(2*math.Pi*0.7*tt)
		phase += 2 * math.Pi * f0 / rate
		v := 0.0
		for h := 1.0; h <= 8; h++ {
			v += math.Sin(h*phase) / h
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3*tt)
		binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(v*env*6000)))
	}
	hdr := make([]byte, 44)
	copy(hdr, "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(36+len(data)))
	copy(hdr[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(hdr[16:], 16)
	binary.LittleEndian.PutUint16(hdr[20:], 1)
	binary.LittleEndian.PutUint16(hdr[22:], 1)
	binary.LittleEndian.PutUint32(hdr[24:], rate)
	binary.LittleEndian.PutUint32(hdr[28:], rate*2)
	binary.LittleEndian.PutUint16(hdr[32:], 2)
	binary.LittleEndian.PutUint16(hdr[34:], 16)
	copy(hdr[36:], "data")
	binary.LittleEndian.PutUint32(hdr[40:], uint32(len(data)))
	if err := os.WriteFile(path, append(hdr, data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestModelInfoAndVerify(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	s, _ := open(t)
	if m := s.Model(); m.Installed || m.Problem != "" {
		t.Fatalf("no model yet, got %+v", m)
	}
	if _, err := s.InstallModel(t.Context(), t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "llm.pt") {
		t.Errorf("installing from a folder without the checkpoint: %v", err)
	}
	if err := tinymodel.Build(t.Context(), s.dirs.Model(), tinymodel.Options{}); errors.Is(err, tinymodel.ErrNoRanks) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	m := s.Model()
	if !m.Installed || !m.Random || m.Graphs < 5 || m.Voices != 2 || m.Bytes <= 0 || m.Dir != s.dirs.Model() {
		t.Fatalf("installed tiny model: %+v", m)
	}
	var last ModelProgress
	if err := s.VerifyModel(t.Context(), func(p ModelProgress) { last = p }); err != nil {
		t.Fatal(err)
	}
	if last.Stage != "verify" || last.What == "" {
		t.Errorf("verify progress: %+v", last)
	}
	f, err := os.OpenFile(filepath.Join(s.dirs.Model(), "hift.onnx"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	if err := s.VerifyModel(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "hift") {
		t.Errorf("a changed graph passed verification: %v", err)
	}
}

// A voice is cloned from a real WAV clip with the bundle's speech tokenizer and speaker embedding,
// listed after the built-in voices, and previewed through a pool instance once synthesis restarts.
func TestVoicesCloneAndPreview(t *testing.T) {
	dirs := installTiny(t)
	e, err := VietTTSEngines(t.Context(), dirs, EngineSettings{Instances: "1", Provider: "cpu"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), dirs, e, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	vs, err := s.Voices()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].ID != "lan" || !vs[0].BuiltIn || vs[0].Name != "Giọng lan" || vs[0].Seconds <= 0 {
		t.Fatalf("built-in voices: %+v", vs)
	}
	pcm, err := s.Preview(t.Context(), "lan", "")
	if err != nil || len(pcm) == 0 {
		t.Fatalf("preview of a built-in voice: %d samples, %v", len(pcm), err)
	}

	clip := filepath.Join(t.TempDir(), "mai-anh.wav")
	writeClip(t, clip)
	v, err := s.CloneVoice(t.Context(), "Giọng Mai Anh!", clip)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "giọng-mai-anh" || v.Name != "Giọng Mai Anh!" || v.Source != "mai-anh.wav" || v.BuiltIn || v.Seconds < 2.5 {
		t.Fatalf("cloned voice: %+v", v)
	}
	if vs, _ := s.Voices(); len(vs) != 3 || vs[2].ID != v.ID {
		t.Fatalf("voices after cloning: %+v", vs)
	}
	p := Preferences{Language: "vi", Theme: "dark", Provider: "auto", Instances: "default", Voice: v.ID}
	if _, err := s.SetPreferences(t.Context(), p); err != nil {
		t.Fatalf("choosing the cloned voice for new documents: %v", err)
	}
	p.Voice = "không-có"
	if _, err := s.SetPreferences(t.Context(), p); err == nil || !strings.Contains(err.Error(), "lan, minh, "+v.ID) {
		t.Errorf("choosing an unknown voice: %v", err)
	}
	if err := s.RestartEngines(t.Context()); err != nil {
		t.Fatal(err)
	}
	if pcm, err := s.Preview(t.Context(), v.ID, "Chào bạn."); err != nil || len(pcm) == 0 {
		t.Fatalf("preview of the cloned voice: %d samples, %v", len(pcm), err)
	}
	if _, err := s.Preview(t.Context(), "không-có", ""); err == nil {
		t.Error("previewing an unknown voice succeeded")
	}
	if _, err := s.CloneVoice(t.Context(), "x", filepath.Join(t.TempDir(), "missing.wav")); err == nil {
		t.Error("cloning from a missing clip succeeded")
	}
}

func TestPreviewWithoutModelSaysWhatToDo(t *testing.T) {
	t.Setenv(home.EnvHome, t.TempDir())
	dirs, _ := home.Resolve()
	s, err := Open(t.Context(), dirs, Engines{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if _, err := s.Preview(t.Context(), "lan", ""); !errors.Is(err, ErrNoEngines) {
		t.Errorf("preview without a model: %v", err)
	}
	if err := s.RestartEngines(t.Context()); !errors.Is(err, ErrNoEngines) {
		t.Errorf("restart without a model: %v", err)
	}
}

func TestVoiceID(t *testing.T) {
	for in, want := range map[string]string{
		"Giọng Mai Anh!":           "giọng-mai-anh",
		"  --Nam  Bộ 2-- ":         "nam-bộ-2",
		"***":                      "voice",
		strings.Repeat("ạ", 50):    strings.Repeat("ạ", 40),
		"Gio\u0301ng (decomposed)": "gióng-decomposed",
	} {
		if got := VoiceID(in); got != want {
			t.Errorf("VoiceID(%q) = %q, want %q", in, got, want)
		}
	}
}
