package viettts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/gopxl/beep/v2"
	"github.com/gopxl/beep/v2/flac"
	"github.com/gopxl/beep/v2/mp3"
	"github.com/gopxl/beep/v2/wav"
	onnx "github.com/yalue/onnxruntime_go"
	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/features"
	"github.com/viettts-studio/studio/inference/ort"
)

// Clip limits for cloning (MODEL.md §4.1): a 3-5 s span of speech is what the model was prompted
// with; clips longer than maxClipSeconds are refused rather than silently cut.
const (
	minSpeechSeconds = 3.0
	maxPromptSeconds = 5.0
	maxClipSeconds   = 30.0
	frontRate        = 16000
	peakLimit        = 0.9
)

// ErrUnusableClip is returned (wrapped) for a clip that cannot give a voice: too short, silent,
// unreadable or of too low a sample rate.
var ErrUnusableClip = errors.New("the clip cannot be used as a voice")

// DecodeClip reads a WAV, MP3 or FLAC file (by content, whatever its extension) into mono float32
// samples and returns them with their sample rate.
func DecodeClip(path string) (samples []float32, rate int, err error) {
	// The decoders are third-party parsers of untrusted files; a panic in one must not take the app
	// down.
	defer func() {
		if r := recover(); r != nil {
			samples, rate, err = nil, 0, fmt.Errorf("%w: %s is damaged (%v)", ErrUnusableClip, filepath.Base(path), r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrUnusableClip, err)
	}
	defer f.Close()
	head := make([]byte, 12)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrUnusableClip, err)
	}
	var s beep.StreamSeekCloser
	var format beep.Format
	switch {
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WAVE":
		s, format, err = wav.Decode(f)
	case len(head) >= 4 && string(head[:4]) == "fLaC":
		s, format, err = flac.Decode(f)
	case len(head) >= 3 && (string(head[:3]) == "ID3" || head[0] == 0xff && head[1]&0xe0 == 0xe0):
		s, format, err = mp3.Decode(f)
	default:
		return nil, 0, fmt.Errorf("%w: %s is not a WAV, MP3 or FLAC file", ErrUnusableClip, filepath.Base(path))
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: cannot decode %s: %v (save it as 16-bit WAV, FLAC or MP3)", ErrUnusableClip, filepath.Base(path), err)
	}
	defer s.Close()
	rate = int(format.SampleRate)
	if rate <= 0 || format.NumChannels <= 0 {
		return nil, 0, fmt.Errorf("%w: %s declares %d Hz and %d channels", ErrUnusableClip, filepath.Base(path), rate, format.NumChannels)
	}
	limit := int(maxClipSeconds*float64(rate)) + 1
	out := make([]float32, 0, min(s.Len(), limit))
	buf := make([][2]float64, 4096)
	for {
		n, ok := s.Stream(buf)
		for _, fr := range buf[:n] {
			if format.NumChannels == 1 {
				out = append(out, float32(fr[0]))
			} else {
				out = append(out, float32((fr[0]+fr[1])/2))
			}
		}
		if len(out) > limit {
			return nil, 0, fmt.Errorf("%w: %s is longer than %.0f s: cut a 3-10 s piece of clean speech", ErrUnusableClip, filepath.Base(path), maxClipSeconds)
		}
		if !ok {
			break
		}
	}
	if err = s.Err(); err != nil {
		return nil, 0, fmt.Errorf("%w: reading %s: %v", ErrUnusableClip, filepath.Base(path), err)
	}
	return out, rate, nil
}

// Cloner makes voices from clips with the bundle's speech tokenizer (S3, 25 Hz) and speaker
// embedding (CAM++) graphs. It holds both sessions; close it when done.
type Cloner struct {
	tokenizer, embedding *ort.Session
}

// OpenCloner loads the speech tokenizer and speaker embedding graphs of the bundle in dir.
func OpenCloner(dir string, cfg ort.SessionConfig) (*Cloner, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	return newCloner(b, cfg)
}

func newCloner(b *bundle.Bundle, cfg ort.SessionConfig) (*Cloner, error) {
	tokPath, err := b.GraphPath(bundle.GraphSpeechTokenize)
	if err != nil {
		return nil, fmt.Errorf("voice cloning needs the speech tokenizer: %w", err)
	}
	embPath, err := b.GraphPath(bundle.GraphSpeakerEmbed)
	if err != nil {
		return nil, fmt.Errorf("voice cloning needs the speaker embedding model: %w", err)
	}
	tok, err := ort.OpenSession(tokPath, cfg)
	if err != nil {
		return nil, fmt.Errorf("voice cloning needs the speech tokenizer: %w", err)
	}
	emb, err := ort.OpenSession(embPath, cfg)
	if err != nil {
		tok.Close()
		return nil, fmt.Errorf("voice cloning needs the speaker embedding model: %w", err)
	}
	if len(tok.Inputs) < 2 || len(tok.Outputs) < 1 || len(emb.Inputs) < 1 || len(emb.Outputs) < 1 {
		tok.Close()
		emb.Close()
		return nil, errors.New("the bundle's speech tokenizer or speaker embedding graph has unexpected inputs: reinstall the model")
	}
	return &Cloner{tokenizer: tok, embedding: emb}, nil
}

// Close releases the sessions.
func (c *Cloner) Close() error {
	return errors.Join(c.tokenizer.Close(), c.embedding.Close())
}

// Clone makes a voice from mono samples at rate: resample to 16 kHz, scale down to a 0.9 peak, pick
// a 3-5 s span of speech by energy, then compute its speech tokens, its 22.05 kHz mel and its
// x-vector.
func (c *Cloner) Clone(ctx context.Context, samples []float32, rate int, id, name string) (*Voice, error) {
	if err := validID(id); err != nil {
		return nil, inference.Errorf(inference.ClassBadInput, "%w", err)
	}
	if rate < frontRate {
		return nil, fmt.Errorf("%w: its sample rate is %d Hz; record at 16 kHz or more", ErrUnusableClip, rate)
	}
	x, err := features.Resample(samples, rate, frontRate)
	if err != nil {
		return nil, err
	}
	peak := float32(0)
	for _, v := range x {
		peak = max(peak, float32(math.Abs(float64(v))))
	}
	if peak < 1e-3 {
		return nil, fmt.Errorf("%w: it is silent", ErrUnusableClip)
	}
	if peak > peakLimit {
		g := peakLimit / peak
		for i := range x {
			x[i] *= g
		}
	}
	x, err = pickSpan(x)
	if err != nil {
		return nil, err
	}
	tokens, err := c.speechTokens(ctx, x)
	if err != nil {
		return nil, err
	}
	xvec, err := c.xvector(ctx, x)
	if err != nil {
		return nil, err
	}
	x22, err := features.Resample(x, frontRate, sampleRate)
	if err != nil {
		return nil, err
	}
	mel, err := features.PromptMel(x22)
	if err != nil {
		return nil, err
	}
	v := &Voice{ID: id, Name: norm.NFC.String(strings.TrimSpace(name)), Tokens: tokens, Mel: mel.Data, XVector: xvec}
	if v.Name == "" {
		v.Name = id
	}
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("cloning made an unusable voice: %w", err)
	}
	return v, nil
}

// pickSpan finds the speech in x (16 kHz) by frame energy and returns a 3-5 s span of it: from the
// first voiced frame to the quietest frame between 3 and 5 s later (a pause, if there is one), or
// to the end of the speech if that comes first.
func pickSpan(x []float32) ([]float32, error) {
	const frame = frontRate / 50 // 20 ms
	n := len(x) / frame
	db := make([]float64, n)
	loudest := math.Inf(-1)
	for f := range db {
		var e float64
		for _, v := range x[f*frame : (f+1)*frame] {
			e += float64(v) * float64(v)
		}
		db[f] = 10 * math.Log10(e/frame+1e-12)
		loudest = math.Max(loudest, db[f])
	}
	threshold := loudest - 35
	first, last := -1, -1
	for f, d := range db {
		if d > threshold {
			if first < 0 {
				first = f
			}
			last = f
		}
	}
	if first < 0 {
		return nil, fmt.Errorf("%w: no speech found", ErrUnusableClip)
	}
	speech := float64(last-first+1) * frame / frontRate
	if speech < minSpeechSeconds {
		return nil, fmt.Errorf("%w: it holds %.1f s of speech; record at least %.0f s (3-10 s of clean speech works best)", ErrUnusableClip, speech, minSpeechSeconds)
	}
	minEnd, maxEnd := first+int(minSpeechSeconds*50), first+int(maxPromptSeconds*50)
	end := last + 1
	if end > maxEnd {
		end = minEnd
		for f := minEnd; f < maxEnd && f < n; f++ {
			if db[f] < db[end] {
				end = f
			}
		}
	}
	return x[first*frame : end*frame], nil
}

func (c *Cloner) speechTokens(ctx context.Context, x []float32) ([]int32, error) {
	mel, err := features.WhisperLogMel(x)
	if err != nil {
		return nil, err
	}
	T := mel.Cols
	featsT, err := newTensor(onnx.NewShape(1, features.WhisperMels, int64(T)), mel.Data)
	if err != nil {
		return nil, err
	}
	defer featsT.Destroy()
	lenT, err := newTensor(onnx.NewShape(1), []int32{int32(T)})
	if err != nil {
		return nil, err
	}
	defer lenT.Destroy()
	outs := make([]onnx.Value, len(c.tokenizer.Outputs))
	if err := c.tokenizer.Run(ctx, []onnx.Value{featsT, lenT}, outs); err != nil {
		return nil, err
	}
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	var tokens []int32
	switch t := outs[0].(type) {
	case *onnx.Tensor[int64]:
		for _, v := range t.GetData() {
			tokens = append(tokens, int32(v))
		}
	case *onnx.Tensor[int32]:
		tokens = append(tokens, t.GetData()...)
	default:
		return nil, fmt.Errorf("speech tokenizer returned %T, want int64 or int32 token ids: reinstall the model", outs[0])
	}
	return tokens, nil
}

func (c *Cloner) xvector(ctx context.Context, x []float32) ([]float32, error) {
	fb, err := features.KaldiFbank(x)
	if err != nil {
		return nil, err
	}
	in, err := newTensor(onnx.NewShape(1, int64(fb.Rows), features.FbankBins), fb.Data)
	if err != nil {
		return nil, err
	}
	defer in.Destroy()
	out := make([]float32, xvectorDim)
	outT, err := newTensor(onnx.NewShape(1, xvectorDim), out)
	if err != nil {
		return nil, err
	}
	defer outT.Destroy()
	outs := make([]onnx.Value, len(c.embedding.Outputs))
	outs[0] = outT
	if err := c.embedding.Run(ctx, []onnx.Value{in}, outs); err != nil {
		return nil, err
	}
	return out, nil
}
