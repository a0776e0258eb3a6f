package viettts

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/inference/bundle"
)

// Voice is the conditioning of one speaker (MODEL.md §4.6): the speech tokens and 80-bin mel of a
// 3-5 s prompt clip, and its CAM++ x-vector. The flow reads all three; the LLM only the x-vector.
type Voice struct {
	// ID is the file stem: what Request.Voice names.
	ID string `json:"id"`
	// Name is the display name (NFC).
	Name string `json:"name"`
	// Source says where the voice came from ("built-in", or the clip a user cloned it from).
	Source string `json:"source,omitempty"`
	// Tokens are the prompt's speech tokens, in [0, 4096).
	Tokens []int32 `json:"-"`
	// Mel is the prompt's mel, Frames × 80, row-major (frame-major).
	Mel []float32 `json:"-"`
	// XVector is the speaker embedding (192 floats, not normalized).
	XVector []float32 `json:"-"`
}

// Frames is the number of prompt mel frames.
func (v *Voice) Frames() int { return len(v.Mel) / melBins }

// VoiceExt is the extension of voice files.
const VoiceExt = ".bin"

// The file format: the magic line, a little-endian uint32 header length, the JSON header, then the
// tokens (int32), the mel (float32, frames × 80) and the x-vector (float32), all little-endian.
var voiceMagic = []byte("VIETTTS-VOICE 1\n")

type voiceHeader struct {
	Name    string `json:"name"`
	Source  string `json:"source,omitempty"`
	Tokens  int    `json:"tokens"`
	Frames  int    `json:"frames"`
	MelBins int    `json:"mel_bins"`
	XVector int    `json:"xvector"`
}

// Limits that keep a damaged or hostile file from asking for absurd allocations: a prompt of at most
// 60 s.
const (
	maxVoiceTokens = 60 * tokenRate
	maxVoiceFrames = 60 * sampleRate / melHop
	xvectorDim     = 192
	speechTokens   = 4096
)

// Validate checks shapes and ranges.
func (v *Voice) Validate() error {
	switch {
	case len(v.Tokens) == 0 || len(v.Tokens) > maxVoiceTokens:
		return fmt.Errorf("voice %q has %d prompt tokens, want 1-%d", v.ID, len(v.Tokens), maxVoiceTokens)
	case len(v.Mel) == 0 || len(v.Mel)%melBins != 0 || v.Frames() > maxVoiceFrames:
		return fmt.Errorf("voice %q has a prompt mel of %d values, want frames × %d with at most %d frames", v.ID, len(v.Mel), melBins, maxVoiceFrames)
	case len(v.XVector) != xvectorDim:
		return fmt.Errorf("voice %q has an x-vector of %d values, want %d", v.ID, len(v.XVector), xvectorDim)
	}
	for _, t := range v.Tokens {
		if t < 0 || t >= speechTokens {
			return fmt.Errorf("voice %q has speech token %d outside [0, %d)", v.ID, t, speechTokens)
		}
	}
	for _, x := range v.Mel {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("voice %q has a non-finite prompt mel value", v.ID)
		}
	}
	for _, x := range v.XVector {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("voice %q has a non-finite x-vector value", v.ID)
		}
	}
	return nil
}

// WriteVoice writes v to dir/<v.ID>.voice atomically (temp file, sync, rename).
func WriteVoice(dir string, v *Voice) error {
	if err := validID(v.ID); err != nil {
		return err
	}
	if err := v.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create voice folder: %w", err)
	}
	var buf bytes.Buffer
	if err := EncodeVoice(&buf, v); err != nil {
		return err
	}
	final := filepath.Join(dir, v.ID+VoiceExt)
	tmp, err := os.CreateTemp(dir, ".voice-*")
	if err != nil {
		return fmt.Errorf("write voice %q: %w", v.ID, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write voice %q: %w", v.ID, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write voice %q: %w", v.ID, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write voice %q: %w", v.ID, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("write voice %q: %w", v.ID, err)
	}
	return nil
}

func validID(id string) error {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, `/\:*?"<>|`) || strings.HasPrefix(id, ".") {
		return fmt.Errorf("voice id %q is not usable as a file name: use 1-64 letters, digits, '-' or '_'", id)
	}
	return nil
}

// EncodeVoice writes v in the voice file format.
func EncodeVoice(w io.Writer, v *Voice) error {
	h, err := json.Marshal(voiceHeader{Name: norm.NFC.String(v.Name), Source: v.Source, Tokens: len(v.Tokens),
		Frames: v.Frames(), MelBins: melBins, XVector: len(v.XVector)})
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(voiceMagic)
	binary.Write(bw, binary.LittleEndian, uint32(len(h)))
	bw.Write(h)
	binary.Write(bw, binary.LittleEndian, v.Tokens)
	binary.Write(bw, binary.LittleEndian, v.Mel)
	binary.Write(bw, binary.LittleEndian, v.XVector)
	return bw.Flush()
}

// ErrNotVoice is returned (wrapped) for a file that is not a voice file or is damaged.
var ErrNotVoice = errors.New("not a VietTTS Studio voice file")

// DecodeVoice reads a voice in the voice file format; id becomes its ID.
func DecodeVoice(r io.Reader, id string) (*Voice, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(voiceMagic))
	if _, err := io.ReadFull(br, magic); err != nil || !bytes.Equal(magic, voiceMagic) {
		return nil, fmt.Errorf("%w (bad header)", ErrNotVoice)
	}
	var n uint32
	if err := binary.Read(br, binary.LittleEndian, &n); err != nil || n > 1<<16 {
		return nil, fmt.Errorf("%w (bad header length)", ErrNotVoice)
	}
	hb := make([]byte, n)
	if _, err := io.ReadFull(br, hb); err != nil {
		return nil, fmt.Errorf("%w (truncated header)", ErrNotVoice)
	}
	var h voiceHeader
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("%w (header: %v)", ErrNotVoice, err)
	}
	if h.MelBins != melBins || h.XVector != xvectorDim || h.Tokens <= 0 || h.Tokens > maxVoiceTokens ||
		h.Frames <= 0 || h.Frames > maxVoiceFrames {
		return nil, fmt.Errorf("%w (header sizes tokens=%d frames=%d mel=%d xvector=%d are out of range)",
			ErrNotVoice, h.Tokens, h.Frames, h.MelBins, h.XVector)
	}
	v := &Voice{ID: id, Name: norm.NFC.String(h.Name), Source: h.Source,
		Tokens: make([]int32, h.Tokens), Mel: make([]float32, h.Frames*melBins), XVector: make([]float32, xvectorDim)}
	for _, dst := range []any{v.Tokens, v.Mel, v.XVector} {
		if err := binary.Read(br, binary.LittleEndian, dst); err != nil {
			return nil, fmt.Errorf("%w (truncated data)", ErrNotVoice)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w (trailing data)", ErrNotVoice)
	}
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotVoice, err)
	}
	return v, nil
}

// ReadVoice reads dir/<id>.voice.
func ReadVoice(path string) (*Voice, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	id := strings.TrimSuffix(filepath.Base(path), VoiceExt)
	v, err := DecodeVoice(f, id)
	if err != nil {
		return nil, fmt.Errorf("voice file %s: %w (delete it and add the voice again)", path, err)
	}
	return v, nil
}

// ListVoices reads every voice file in the given folders, earlier folders first; a later voice
// with an id already seen is skipped. Missing folders are skipped; damaged files are reported in
// errs and skipped.
func ListVoices(dirs ...string) (voices []*Voice, errs []error) {
	seen := map[string]bool{}
	for _, dir := range dirs {
		if dir == "" {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "*"+VoiceExt))
		sort.Strings(matches)
		for _, p := range matches {
			id := strings.TrimSuffix(filepath.Base(p), VoiceExt)
			if seen[id] {
				continue
			}
			v, err := ReadVoice(p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			seen[id] = true
			voices = append(voices, v)
		}
	}
	return voices, errs
}

func sortVoices(vs []*Voice) {
	sort.Slice(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
}

// loadVoices reads the bundle's built-in voices, computing (once, then from VoiceCache) those
// that ship as audio samples, then the user's voices from VoiceDirs. A voice that cannot be loaded
// is logged and skipped: the others stay usable.
func (e *Engine) loadVoices(ctx context.Context, opts Options) error {
	var samples []bundle.Voice
	for _, bv := range e.bundle.Manifest.Voices {
		path := e.bundle.Path(bv.Path)
		switch strings.ToLower(filepath.Ext(bv.Path)) {
		case VoiceExt:
			v, err := ReadVoice(path)
			if err != nil {
				e.log.Warn("skipping a damaged built-in voice", "voice", bv.ID, "err", err)
				continue
			}
			v.ID, v.Source = bv.ID, "built-in"
			e.voices[v.ID] = v
		case ".wav", ".mp3", ".flac":
			if opts.VoiceCache != "" {
				if v, err := ReadVoice(filepath.Join(opts.VoiceCache, bv.ID+VoiceExt)); err == nil {
					v.Source = "built-in"
					e.voices[v.ID] = v
					continue
				}
			}
			samples = append(samples, bv)
		}
	}
	if len(samples) > 0 {
		if err := e.cloneBuiltins(ctx, samples, opts); err != nil {
			return err
		}
	}
	users, errs := ListVoices(opts.VoiceDirs...)
	for _, err := range errs {
		e.log.Warn("skipping a damaged voice", "err", err)
	}
	for _, v := range users {
		if _, ok := e.voices[v.ID]; ok {
			e.log.Warn("a user voice has the id of a built-in voice and is hidden by it", "voice", v.ID)
			continue
		}
		e.voices[v.ID] = v
	}
	return nil
}

// cloneBuiltins computes the conditioning of built-in voices that ship as audio clips.
func (e *Engine) cloneBuiltins(ctx context.Context, samples []bundle.Voice, opts Options) error {
	c, err := newCloner(e.bundle, opts.Session)
	if err != nil {
		e.log.Warn("built-in voices ship as audio and cannot be prepared", "voices", len(samples), "err", err)
		return nil
	}
	defer c.Close()
	for _, bv := range samples {
		if err := ctx.Err(); err != nil {
			return err
		}
		x, rate, err := DecodeClip(e.bundle.Path(bv.Path))
		if err == nil {
			var v *Voice
			if v, err = c.Clone(ctx, x, rate, bv.ID, bv.ID); err == nil {
				v.Source = "built-in"
				e.voices[v.ID] = v
				if opts.VoiceCache != "" {
					if werr := WriteVoice(opts.VoiceCache, v); werr != nil {
						e.log.Warn("cannot cache a built-in voice", "voice", bv.ID, "err", werr)
					}
				}
				continue
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		e.log.Warn("skipping a built-in voice", "voice", bv.ID, "err", err)
	}
	return nil
}
