package gpu

import (
	"fmt"
	"math"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/viettts-studio/studio/inference/bundle"
	"github.com/viettts-studio/studio/inference/compiler"
)

// LLM is a bundle's prefill and decode graphs loaded with one set of session options, driven step
// by step outside the engine so two providers can be compared at every step.
type LLM struct {
	prefill, decode           *Session
	kv                        onnx.TensorElementDataType
	layers, heads, row, vocab int
	speech                    int // speech tokens; the id after them is end of speech
}

// OpenLLM loads the fp32 LLM graphs of b, or the fp16 ones when fp16 is set, with so.
func OpenLLM(b *bundle.Bundle, fp16 bool, so *onnx.SessionOptions) (*LLM, error) {
	d, err := compiler.DimsOf(b.Manifest)
	if err != nil {
		return nil, err
	}
	pn, dn, kv := bundle.GraphLLMPrefill, bundle.GraphLLMDecode, onnx.TensorElementDataType(onnx.TensorElementDataTypeFloat)
	if fp16 {
		pn, dn, kv = bundle.GraphLLMPrefillFP16, bundle.GraphLLMDecodeFP16, onnx.TensorElementDataTypeFloat16
	}
	pp, err := b.GraphPath(pn)
	if err != nil {
		return nil, err
	}
	dp, err := b.GraphPath(dn)
	if err != nil {
		return nil, err
	}
	l := &LLM{kv: kv, layers: d.LLM.Blocks, heads: d.LLM.Heads, row: 2 * d.LLM.HeadDim(), vocab: d.SpeechTokens + 1, speech: d.SpeechTokens}
	if l.prefill, err = Open(pp, []string{"text", "spk_emb"}, []string{"logp", "kv"}, so); err != nil {
		return nil, err
	}
	in := []string{"token", "past_len"}
	for i := range l.layers {
		in = append(in, compiler.PastKeyInput(i), compiler.PastValueInput(i))
	}
	if l.decode, err = Open(dp, in, []string{"logp", "new_kv"}, so); err != nil {
		l.prefill.Close()
		return nil, err
	}
	return l, nil
}

// Close releases both sessions.
func (l *LLM) Close() error {
	return errorsJoin(l.prefill.Close(), l.decode.Close())
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Trace is the LLM's path through one segment: the token taken at each step and the
// log-probabilities it was taken from.
type Trace struct {
	Tokens []int
	Logp   [][]float32
}

// Greedy runs prefill on text and xvec and then steps decode steps. At each step it takes the most
// likely speech token (never end of speech, so a random-weight model runs the whole length), or,
// when forced is longer than the step, forced's token: following another run's tokens (teacher
// forcing) compares two providers at every step on the same history.
func (l *LLM) Greedy(text []int64, xvec []float32, steps int, forced []int) (Trace, error) {
	var tr Trace
	L := len(text)
	textT := zeros("text", onnx.TensorElementDataTypeInt64, 1, int64(L))
	for i, id := range text {
		textT.setInt(i, id)
	}
	spk := zeros("spk_emb", onnx.TensorElementDataTypeFloat, 1, int64(len(xvec)))
	for i, v := range xvec {
		spk.setFloat(i, v)
	}
	logp := zeros("logp", onnx.TensorElementDataTypeFloat, 1, int64(l.vocab))
	k := L + 3
	past := zeros("kv", l.kv, int64(l.layers), int64(l.heads), int64(k), int64(l.row))
	if err := l.prefill.Run([]Tensor{textT, spk}, []Tensor{logp, past}); err != nil {
		return tr, fmt.Errorf("llm prefill: %w", err)
	}
	tok := zeros("token", onnx.TensorElementDataTypeInt64, 1, 1)
	rows := zeros("new_kv", l.kv, int64(l.layers), int64(l.heads), 1, int64(l.row))
	for step := 0; step < steps; step++ {
		p := logp.Floats()
		tr.Logp = append(tr.Logp, p)
		id := Argmax(p[:l.speech])
		if step < len(forced) {
			id = forced[step]
		}
		tr.Tokens = append(tr.Tokens, id)
		if step == steps-1 {
			break
		}
		tok.setInt(0, int64(id))
		// The cache exactly full (no room to spare): the engine's room is the parity cases'.
		if err := l.decode.Run(append([]Tensor{tok}, decodeCache(past, k)...), []Tensor{logp, rows}); err != nil {
			return tr, fmt.Errorf("llm decode step %d: %w", step, err)
		}
		past = appendRow(past, rows, l.layers*l.heads)
		k++
	}
	return tr, nil
}

// appendRow returns past (blocks × K × row) with one more row per block from rows (blocks × row).
func appendRow(past, rows Tensor, blocks int) Tensor {
	rowBytes := len(rows.Data) / blocks
	k := int(past.Shape[2])
	next := zeros(past.Name, past.Type, past.Shape[0], past.Shape[1], int64(k+1), past.Shape[3])
	for b := range blocks {
		copy(next.Data[b*(k+1)*rowBytes:], past.Data[b*k*rowBytes:(b+1)*k*rowBytes])
		copy(next.Data[(b*(k+1)+k)*rowBytes:], rows.Data[b*rowBytes:(b+1)*rowBytes])
	}
	return next
}

// Argmax returns the index of the largest value (the first one on ties; NaN never wins).
func Argmax(v []float32) int {
	best, at := float32(math.Inf(-1)), 0
	for i, x := range v {
		if x > best {
			best, at = x, i
		}
	}
	return at
}

// Margin is the gap between the largest and second largest value: how far a step's choice was
// from going the other way.
func Margin(v []float32) float64 {
	first, second := math.Inf(-1), math.Inf(-1)
	for _, x := range v {
		f := float64(x)
		switch {
		case f > first:
			first, second = f, first
		case f > second:
			second = f
		}
	}
	return first - second
}

// Agreement compares a reference trace with a trace that followed its tokens (teacher forcing).
type Agreement struct {
	// Steps is the number of steps compared; Same is the number of leading steps at which the
	// other side would have chosen the same token by itself (its own argmax).
	Steps, Same int
	// MaxLogp is the largest log-probability difference over all compared steps.
	MaxLogp float64
	// At the first step where the choices differ (Same < Steps): the reference's margin between
	// its top two tokens and the logp difference at that step. A margin below the difference
	// explains the divergence as rounding, not a fault.
	Margin, StepDiff float64
}

// Agree compares ref (a free Greedy run) with other (a Greedy run forced along ref's tokens).
func Agree(ref, other Trace, speech int) Agreement {
	a := Agreement{Steps: min(len(ref.Logp), len(other.Logp))}
	a.Same = a.Steps
	for i := range a.Steps {
		d := Compare(ref.Logp[i][:speech], other.Logp[i][:speech]).MaxAbs
		a.MaxLogp = max(a.MaxLogp, d)
		if a.Same == a.Steps && Argmax(other.Logp[i][:speech]) != ref.Tokens[i] {
			a.Same, a.Margin, a.StepDiff = i, Margin(ref.Logp[i][:speech]), d
		}
	}
	return a
}
