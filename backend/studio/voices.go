package studio

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/viettts"
)

// VoiceInfo is one voice of the Voices view.
type VoiceInfo struct {
	ID      string  `json:"id"`
	Name    string  `json:"name"`
	BuiltIn bool    `json:"builtIn"`
	Source  string  `json:"source"`  // the clip a cloned voice was made from
	Seconds float64 `json:"seconds"` // length of its prompt (0 when prepared on first use)
}

// voiceSeconds is the length of a voice prompt of frames mel frames (22.05 kHz, hop 256).
func voiceSeconds(frames int) float64 { return float64(frames) * 256 / inference.SampleRate }

// Voices lists the installed model's built-in voices, then the user's cloned voices. Damaged voice
// files are skipped (and logged).
func (s *Studio) Voices() ([]VoiceInfo, error) {
	var out []VoiceInfo
	if b, err := bundle.Open(s.dirs.Model()); err == nil {
		for _, bv := range b.Manifest.Voices {
			vi := VoiceInfo{ID: bv.ID, Name: bv.ID, BuiltIn: true}
			if strings.EqualFold(filepath.Ext(bv.Path), viettts.VoiceExt) {
				if v, err := viettts.ReadVoice(b.Path(bv.Path)); err == nil {
					vi.Name, vi.Seconds = v.Name, voiceSeconds(v.Frames())
				} else {
					s.log.Warn("built-in voice unreadable", "voice", bv.ID, "err", err)
				}
			}
			out = append(out, vi)
		}
	}
	users, errs := viettts.ListVoices(s.dirs.Voices)
	for _, err := range errs {
		s.log.Warn("voice file skipped", "err", err)
	}
	for _, v := range users {
		out = append(out, VoiceInfo{ID: v.ID, Name: v.Name, Source: v.Source, Seconds: voiceSeconds(v.Frames())})
	}
	return out, nil
}

// PreviewText is the sentence voice previews read.
const PreviewText = "Xin chào, đây là giọng đọc của VietTTS Studio."

// Preview synthesizes text (PreviewText when empty) with voice on a pool instance. It waits for a
// free instance, so it comes after the segment each instance is rendering.
func (s *Studio) Preview(ctx context.Context, voice, text string) ([]float32, error) {
	if text = strings.TrimSpace(norm.NFC.String(text)); text == "" {
		text = PreviewText
	}
	s.mu.RLock()
	pool := s.pool
	s.mu.RUnlock()
	if pool == nil {
		return nil, fmt.Errorf("cannot preview: %w", ErrNoEngines)
	}
	lease, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	a, err := lease.Synthesize(ctx, inference.Request{ID: "preview-" + voice, Text: text, Voice: voice, Speed: 1, Seed: SeedOf(text)})
	if err != nil {
		return nil, fmt.Errorf("previewing voice %s: %w", voice, err)
	}
	return a.Samples, nil
}

// CloneVoice makes a voice named name from an audio clip (wav, flac, mp3, ogg; 3-30 s of one
// speaker) with the installed model's speech tokenizer and speaker embedding, and saves it to the
// user's voice folder. Running engines see it after RestartEngines.
func (s *Studio) CloneVoice(ctx context.Context, name, clip string) (VoiceInfo, error) {
	name = strings.TrimSpace(norm.NFC.String(name))
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(clip), filepath.Ext(clip))
	}
	samples, rate, err := viettts.DecodeClip(clip)
	if err != nil {
		return VoiceInfo{}, err
	}
	if err := ort.Init(""); err != nil {
		return VoiceInfo{}, err
	}
	c, err := viettts.OpenCloner(s.dirs.Model(), ort.SessionConfig{Provider: ort.CPU, Threads: 1})
	if err != nil {
		return VoiceInfo{}, err
	}
	defer c.Close()
	v, err := c.Clone(ctx, samples, rate, VoiceID(name), name)
	if err != nil {
		return VoiceInfo{}, err
	}
	v.Source = filepath.Base(clip)
	if err := viettts.WriteVoice(s.dirs.Voices, v); err != nil {
		return VoiceInfo{}, err
	}
	return VoiceInfo{ID: v.ID, Name: v.Name, Source: v.Source, Seconds: voiceSeconds(v.Frames())}, nil
}

// RestartEngines restarts synthesis with the engines it runs now, so they load voices added since.
func (s *Studio) RestartEngines(ctx context.Context) error {
	s.mu.RLock()
	e := s.engines
	s.mu.RUnlock()
	if e.Factory == nil {
		return ErrNoEngines
	}
	return s.SetEngines(ctx, e)
}

// VoiceID makes a file-safe voice id from a display name: lower-case letters (Vietnamese letters
// kept) and digits, other runs turned into "-", at most 40 letters.
func VoiceID(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(norm.NFC.String(name)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	r := []rune(strings.Trim(b.String(), "-"))
	if len(r) > 40 {
		r = r[:40]
	}
	if id := strings.TrimRight(string(r), "-"); id != "" {
		return id
	}
	return "voice"
}
