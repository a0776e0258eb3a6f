// Package viettts is the synthesis runtime: it turns one text segment into a 22.05 kHz waveform with
// the VietTTS graphs of a model bundle on ONNX Runtime (MODEL.md §5-§8), and implements
// inference.Engine for the pool.
//
// One segment is: tokenize → llm_prefill → llm_decode once per speech token (the host keeps the
// key/value cache and samples) → flow_encoder → flow_estimator ten times (cosine Euler steps, one
// batch-2 call per step for guidance) → optional speed change → hift → 0.1 s fades. Every random
// number of a segment (sampling, flow noise, vocoder noise) comes from one PCG generator seeded
// from Request.Seed, so the same request gives the same samples.
//
// An Engine owns its ONNX Runtime sessions and scratch buffers and serves one segment at a time.
package viettts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	onnx "github.com/yalue/onnxruntime_go"
	"golang.org/x/text/unicode/norm"

	"github.com/viettts-studio/studio/inference"
	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/compiler"
	"github.com/viettts-studio/studio/inference/ort"
	"github.com/viettts-studio/studio/inference/tokenizer"
)

// Options configure an Engine.
type Options struct {
	// Session is how the instance runs its graphs.
	Session ort.SessionConfig
	// FP16 selects the bundle's fp16 LLM graphs (llm_prefill_fp16 + llm_decode_fp16) when it has
	// them. Use it on GPUs; ONNX Runtime's CPU provider runs fp16 slowly.
	FP16 bool
	// VoiceDirs are further folders of voices (the user's cloned voices), searched after the
	// bundle's own.
	VoiceDirs []string
	// VoiceCache is where the conditioning of built-in voices that ship as audio samples is kept
	// after it is computed once (the speech tokenizer is slow and large); "" recomputes it on
	// every load.
	VoiceCache string
	// MaxSpeechTokens, when positive, caps the speech tokens of a segment below the 20-per-text-token
	// rule. Benchmarks on random weights use it: such models almost never sample EOS, so without a
	// cap every segment would run to the 20× limit instead of a typical length.
	MaxSpeechTokens int
	// Logger receives load and per-segment logs; slog.Default() when nil.
	Logger *slog.Logger
}

// Engine synthesizes segments with one set of sessions. It implements inference.Engine.
type Engine struct {
	bundle *bundle.Bundle
	log    *slog.Logger
	tok    *tokenizer.Tokenizer

	prefill, decode, encoder, estimator, hift *ort.Session

	mu     sync.Mutex // guards voices (AddVoice may run beside Synthesize)
	voices map[string]*Voice

	// KV cache layout from the decode graph: per layer keys and values (heads, C, headDim) of
	// kvType; prefill's kv and decode's new_kv rows hold a key and a value (2·headDim).
	layers, heads, headDim int
	kvType                 onnx.TensorElementDataType
	kvElem                 int
	cacheIn                []int  // llm_decode's input index of each layer's keys, then values
	kv                     []byte // the cache buffer, reused across segments; grown only when a segment needs more
	prefillKV              []byte // prefill's kv output, before it is laid out in kv
	maxSpeech              int
	// stepTrace, when set (tests), sees the log-probabilities of every LLM step, prefill first.
	stepTrace func(logp []float32)
	// maxText is the longest segment in text tokens whose cache (L+3+20L) fits the LLM's table.
	maxText int

	stats Stats
}

var _ inference.Engine = (*Engine)(nil)

// New loads the bundle in dir: the tokenizer, the five synthesis graphs and the voices. ONNX Runtime
// must be initialized (ort.Init). Errors say which file is at fault and what to do.
func New(ctx context.Context, dir string, opts Options) (*Engine, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, err
	}
	e := &Engine{bundle: b, log: opts.Logger, voices: map[string]*Voice{}, maxSpeech: opts.MaxSpeechTokens}
	if e.log == nil {
		e.log = slog.Default()
	}
	e.maxText = maxTextTokens
	if d, err := compiler.DimsOf(b.Manifest); err == nil && d.LLM.MaxPositions > 0 {
		e.maxText = min(maxTextTokens, (d.LLM.MaxPositions-promptExtra)/(maxTokenRatio+1))
	}
	if b.TokenizerPath() == "" {
		return nil, fmt.Errorf("model bundle %s has no text tokenizer: reinstall the model", dir)
	}
	if e.tok, err = tokenizer.Load(b.TokenizerPath()); err != nil {
		return nil, err
	}
	prefill, decode := bundle.GraphLLMPrefill, bundle.GraphLLMDecode
	if opts.FP16 {
		_, hasP := b.Graph(bundle.GraphLLMPrefillFP16)
		_, hasD := b.Graph(bundle.GraphLLMDecodeFP16)
		if hasP && hasD {
			prefill, decode = bundle.GraphLLMPrefillFP16, bundle.GraphLLMDecodeFP16
		}
	}
	for _, g := range []struct {
		dst  **ort.Session
		name string
	}{{&e.prefill, prefill}, {&e.decode, decode}, {&e.encoder, bundle.GraphFlowEncoder},
		{&e.estimator, bundle.GraphFlowEstimator}, {&e.hift, bundle.GraphHiFT}} {
		if err := ctx.Err(); err != nil {
			e.Close()
			return nil, err
		}
		path, err := b.GraphPath(g.name)
		if err == nil {
			*g.dst, err = ort.OpenSession(path, opts.Session)
		}
		if err != nil {
			e.Close()
			return nil, err
		}
	}
	if err := e.checkContract(); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.loadVoices(ctx, opts); err != nil {
		e.Close()
		return nil, err
	}
	e.log.Info("synthesis engine ready", "bundle", dir, "model", b.Manifest.ModelID, "session", opts.Session,
		"llm", prefill+"+"+decode, "voices", len(e.voices))
	return e, nil
}

// checkContract verifies the graphs have the inputs and outputs of MODEL.md §5.4/§6.4/§7 and reads
// the cache layout.
func (e *Engine) checkContract() error {
	want := []struct {
		s       *ort.Session
		in, out []string
	}{
		{e.prefill, []string{"text", "spk_emb"}, []string{"logp", "kv"}},
		{e.decode, decodeInputs(e.decode), []string{"logp", "new_kv"}},
		{e.encoder, []string{"token", "interp", "spk_emb"}, []string{"mu", "spks"}},
		{e.estimator, []string{"x", "mask", "mu", "t", "spks", "cond"}, []string{"estimator_out"}},
		{e.hift, []string{"mel", "phase_noise", "sine_noise"}, []string{"wav"}},
	}
	for _, w := range want {
		if len(w.s.Inputs) != len(w.in) || len(w.s.Outputs) != len(w.out) {
			return contractError(w.s, fmt.Sprintf("has %d inputs and %d outputs, want %v → %v", len(w.s.Inputs), len(w.s.Outputs), w.in, w.out))
		}
		for _, n := range w.in {
			if w.s.InputIndex(n) < 0 {
				return contractError(w.s, "has no input "+n)
			}
		}
		for _, n := range w.out {
			if w.s.OutputIndex(n) < 0 {
				return contractError(w.s, "has no output "+n)
			}
		}
	}
	e.layers = (len(e.decode.Inputs) - 2) / 2
	if e.layers == 0 {
		return contractError(e.decode, "has no cache inputs ("+compiler.PastKeyInput(0)+", …)")
	}
	first := e.decode.Inputs[e.decode.InputIndex(compiler.PastKeyInput(0))]
	if len(first.Dimensions) != 3 || first.Dimensions[0] <= 0 || first.Dimensions[2] <= 0 {
		return contractError(e.decode, fmt.Sprintf("%s has shape %v, want (heads, C, head_dim) with fixed heads and head_dim", first.Name, first.Dimensions))
	}
	e.heads, e.headDim, e.kvType = int(first.Dimensions[0]), int(first.Dimensions[2]), first.DataType
	switch e.kvType {
	case onnx.TensorElementDataTypeFloat:
		e.kvElem = 4
	case onnx.TensorElementDataTypeFloat16:
		e.kvElem = 2
	default:
		return contractError(e.decode, fmt.Sprintf("%s has element type %v, want float32 or float16", first.Name, e.kvType))
	}
	e.cacheIn = e.cacheIn[:0]
	for l := range e.layers {
		for _, name := range []string{compiler.PastKeyInput(l), compiler.PastValueInput(l)} {
			i := e.decode.InputIndex(name)
			in := e.decode.Inputs[i]
			if !slices.Equal(in.Dimensions, first.Dimensions) || in.DataType != e.kvType {
				return contractError(e.decode, fmt.Sprintf("%s has shape %v of %v, unlike %s", name, in.Dimensions, in.DataType, first.Name))
			}
			e.cacheIn = append(e.cacheIn, i)
		}
	}
	rows := onnx.NewShape(int64(e.layers), int64(e.heads), 1, int64(2*e.headDim))
	newKV := e.decode.Outputs[e.decode.OutputIndex("new_kv")]
	if !slices.Equal(newKV.Dimensions, rows) || newKV.DataType != e.kvType {
		return contractError(e.decode, fmt.Sprintf("new_kv has shape %v of %v, want %v of %v", newKV.Dimensions, newKV.DataType, rows, e.kvType))
	}
	kvOut := e.prefill.Outputs[e.prefill.OutputIndex("kv")]
	if kvOut.DataType != e.kvType {
		return contractError(e.prefill, "kv has a different element type from llm_decode's cache inputs")
	}
	return nil
}

// decodeInputs lists the inputs llm_decode must have: the token, past_len, and the keys and values
// of as many layers as its cache inputs name.
func decodeInputs(s *ort.Session) []string {
	names := []string{"token", "past_len"}
	for l := 0; s.InputIndex(compiler.PastKeyInput(l)) >= 0; l++ {
		names = append(names, compiler.PastKeyInput(l), compiler.PastValueInput(l))
	}
	return names
}

func contractError(s *ort.Session, what string) error {
	return fmt.Errorf("graph %s %s: the model bundle does not match this version of the app; reinstall the model", s.Name(), what)
}

// Close releases the sessions.
func (e *Engine) Close() error {
	var errs []error
	for _, s := range []*ort.Session{e.prefill, e.decode, e.encoder, e.estimator, e.hift} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	e.kv, e.prefillKV = nil, nil
	return errors.Join(errs...)
}

// Tokenizer is the bundle's text tokenizer (the segmenter measures segments with it).
func (e *Engine) Tokenizer() *tokenizer.Tokenizer { return e.tok }

// Voices lists the voices the engine knows, sorted by id.
func (e *Engine) Voices() []*Voice {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Voice, 0, len(e.voices))
	for _, v := range e.voices {
		out = append(out, v)
	}
	sortVoices(out)
	return out
}

// AddVoice makes v available to later requests (after cloning).
func (e *Engine) AddVoice(v *Voice) error {
	if err := v.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.voices[v.ID] = v
	return nil
}

func (e *Engine) voice(id string) (*Voice, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.voices[id]
	return v, ok
}

// Limits on one segment.
const (
	// maxTextTokens keeps the LLM's longest cache (L+3+20L positions) inside its 5000-position table.
	maxTextTokens = 200
	minSpeed      = 0.5
	maxSpeed      = 2.0
)

// Synthesize runs one segment. See the package comment.
func (e *Engine) Synthesize(ctx context.Context, req inference.Request) (inference.Audio, error) {
	start := time.Now()
	text := strings.TrimSpace(norm.NFC.String(req.Text))
	if text == "" {
		return inference.Audio{}, inference.Errorf(inference.ClassBadInput, "segment %s has no text to speak", req.ID)
	}
	id := req.Voice
	if id == "" {
		if vs := e.Voices(); len(vs) > 0 {
			id = vs[0].ID
		}
	}
	v, ok := e.voice(id)
	if !ok {
		return inference.Audio{}, inference.Errorf(inference.ClassBadInput, "unknown voice %q: choose one of %s", req.Voice, strings.Join(e.voiceIDs(), ", "))
	}
	speed := req.Speed
	if speed == 0 {
		speed = 1
	}
	if speed < minSpeed || speed > maxSpeed || math.IsNaN(speed) {
		return inference.Audio{}, inference.Errorf(inference.ClassBadInput, "speed %.2f is outside %.1f-%.1f", speed, minSpeed, maxSpeed)
	}
	ids := e.tok.Encode(text)
	if len(ids) > e.maxText {
		return inference.Audio{}, inference.Errorf(inference.ClassBadInput,
			"segment %s is %d text tokens long, more than the %d one pass can speak: split it into shorter sentences", req.ID, len(ids), e.maxText)
	}
	rng := rand.New(rand.NewPCG(req.Seed, req.Seed^0x9e3779b97f4a7c15))
	tokens, err := e.generate(ctx, ids, v.XVector, rng)
	if err != nil {
		return inference.Audio{}, err
	}
	mel, frames, err := e.flow(ctx, v, tokens, rng)
	if err != nil {
		return inference.Audio{}, err
	}
	if speed != 1 {
		target := int(float64(frames) / speed)
		mel = stretchMel(mel, frames, target)
		frames = target
	}
	wav, err := e.vocode(ctx, mel, frames, rng)
	if err != nil {
		return inference.Audio{}, err
	}
	fade(wav)
	e.stats.Segments++
	e.stats.Wall += time.Since(start)
	e.stats.AudioSeconds += float64(len(wav)) / sampleRate
	e.log.Debug("segment synthesized", "id", req.ID, "text_tokens", len(ids), "speech_tokens", len(tokens),
		"audio", time.Duration(float64(len(wav))/sampleRate*float64(time.Second)), "took", time.Since(start))
	return inference.Audio{Samples: wav, Tokens: len(tokens)}, nil
}

func (e *Engine) voiceIDs() []string {
	var ids []string
	for _, v := range e.Voices() {
		ids = append(ids, v.ID)
	}
	if len(ids) == 0 {
		return []string{"(none installed: add one with `viettts-studio voices add`)"}
	}
	return ids
}

// run runs s and adds its time to *d.
func (e *Engine) run(ctx context.Context, s *ort.Session, d *time.Duration, in, out []onnx.Value) error {
	t := time.Now()
	err := s.Run(ctx, in, out)
	*d += time.Since(t)
	return err
}

// newTensor wraps data in a tensor, failing as an instance error (ONNX Runtime is unusable).
func newTensor[T onnx.TensorData](shape onnx.Shape, data []T) (*onnx.Tensor[T], error) {
	t, err := onnx.NewTensor(shape, data)
	if err != nil {
		return nil, inference.Errorf(inference.ClassInstanceDead, "create tensor %v: %w", shape, err)
	}
	return t, nil
}

type destroyer interface{ Destroy() error }

func destroyAll(vs ...destroyer) {
	for _, v := range vs {
		if v != nil {
			v.Destroy()
		}
	}
}

// Factory returns an inference.Factory that builds engines on the bundle in dir: one set of
// sessions per pool instance, each with opts.
func Factory(dir string, opts Options) inference.Factory {
	return func(ctx context.Context, index int) (inference.Engine, error) {
		o := opts
		if o.Logger != nil {
			o.Logger = o.Logger.With("instance", index)
		}
		e, err := New(ctx, dir, o)
		if err != nil {
			return nil, err
		}
		return e, nil
	}
}
