package viettts

import (
	"context"
	"math/rand/v2"
	"time"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/viettts-studio/studio/inference"
)

// Length rules of the LLM (MODEL.md §5.2): at least 2 and at most 20 speech tokens per text token.
const (
	minTokenRatio = 2
	maxTokenRatio = 20
	// eosToken is the LLM's end-of-speech id, right after the 4096 speech tokens.
	eosToken = speechTokens
	// promptExtra is the number of cache positions the prompt adds around the text: sos, the
	// speaker embedding, and the task id.
	promptExtra = 3
)

// cache returns a cache with room for maxK positions in the engine's buffer, which it grows only
// when a segment needs more than any before.
func (e *Engine) cache(maxK int) *kvCache {
	if need := cacheBytes(e.layers, e.heads, e.headDim, e.kvElem, maxK); len(e.kv) < need {
		e.kv = make([]byte, need)
	}
	return &kvCache{buf: e.kv, layers: e.layers, heads: e.heads, dim: e.headDim, el: e.kvElem}
}

// generate runs the LLM for one segment and returns the speech tokens (without EOS).
func (e *Engine) generate(ctx context.Context, ids []int, xvec []float32, rng *rand.Rand) ([]int, error) {
	L := len(ids)
	minLen, maxLen := L*minTokenRatio, L*maxTokenRatio
	if e.maxSpeech > 0 && e.maxSpeech < maxLen {
		maxLen = e.maxSpeech
		minLen = min(minLen, maxLen)
	}
	cache := e.cache(L + promptExtra + maxLen)

	text := make([]int64, L)
	for i, id := range ids {
		text[i] = int64(id)
	}
	textT, err := newTensor(onnx.NewShape(1, int64(L)), text)
	if err != nil {
		return nil, err
	}
	defer textT.Destroy()
	spkT, err := newTensor(onnx.NewShape(1, int64(len(xvec))), xvec)
	if err != nil {
		return nil, err
	}
	defer spkT.Destroy()
	logp := make([]float32, eosToken+1)
	logpT, err := newTensor(onnx.NewShape(1, int64(len(logp))), logp)
	if err != nil {
		return nil, err
	}
	defer logpT.Destroy()

	// Prefill's cache, (layers, heads, L+3, 2·headDim), is laid out into the buffer once.
	k := L + promptExtra
	if need := e.layers * e.heads * k * 2 * e.headDim * e.kvElem; len(e.prefillKV) < need {
		e.prefillKV = make([]byte, need)
	}
	kvBytes := e.prefillKV[:e.layers*e.heads*k*2*e.headDim*e.kvElem]
	kvT, err := onnx.NewCustomDataTensor(onnx.NewShape(int64(e.layers), int64(e.heads), int64(k), int64(2*e.headDim)), kvBytes, e.kvType)
	if err != nil {
		return nil, inference.Errorf(inference.ClassInstanceDead, "create cache tensor: %w", err)
	}
	in := make([]onnx.Value, 2)
	in[e.prefill.InputIndex("text")], in[e.prefill.InputIndex("spk_emb")] = textT, spkT
	out := make([]onnx.Value, 2)
	out[e.prefill.OutputIndex("logp")], out[e.prefill.OutputIndex("kv")] = logpT, kvT
	err = e.run(ctx, e.prefill, &e.stats.Prefill, in, out)
	kvT.Destroy()
	if err != nil {
		return nil, err
	}
	e.stats.Prefills++
	if err := cache.fill(kvBytes, k); err != nil {
		return nil, err
	}
	defer cache.close()

	// Decode: the token, past_len and new_kv tensors are reused every step, the cache inputs
	// while the cache's room stays the same.
	steps, err := e.newDecodeStep(logpT)
	if err != nil {
		return nil, err
	}
	defer steps.close()

	s := newSampler(rng, len(logp))
	tokens := make([]int, 0, maxLen)
	for i := 0; i < maxLen; i++ {
		if e.stepTrace != nil {
			e.stepTrace(logp)
		}
		id := s.next(logp, tokens, eosToken, i >= minLen)
		if id == eosToken {
			break
		}
		tokens = append(tokens, id)
		if i == maxLen-1 {
			break // the last token needs no further step
		}
		if err := steps.run(ctx, cache, id, &e.stats.Decode); err != nil {
			return nil, err
		}
		e.stats.DecodeSteps++
		if err := cache.append(steps.rows); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// decodeStep holds the tensors of llm_decode calls that do not change from step to step.
type decodeStep struct {
	e            *Engine
	tok, pastLen []int64
	rows         []byte // new_kv
	owned        []onnx.Value
	in, out      []onnx.Value
}

// newDecodeStep makes the step tensors; logp receives the log-probabilities.
func (e *Engine) newDecodeStep(logp onnx.Value) (*decodeStep, error) {
	d := &decodeStep{e: e, tok: make([]int64, 1), pastLen: make([]int64, 1)}
	d.in, d.out = make([]onnx.Value, len(e.decode.Inputs)), make([]onnx.Value, 2)
	tokT, err := newTensor(onnx.NewShape(1, 1), d.tok)
	if err != nil {
		return nil, err
	}
	d.owned = append(d.owned, tokT)
	lenT, err := newTensor(onnx.NewShape(1), d.pastLen)
	if err != nil {
		d.close()
		return nil, err
	}
	d.owned = append(d.owned, lenT)
	d.rows = make([]byte, e.layers*e.heads*2*e.headDim*e.kvElem)
	newT, err := onnx.NewCustomDataTensor(onnx.NewShape(int64(e.layers), int64(e.heads), 1, int64(2*e.headDim)), d.rows, e.kvType)
	if err != nil {
		d.close()
		return nil, inference.Errorf(inference.ClassInstanceDead, "create cache row tensor: %w", err)
	}
	d.owned = append(d.owned, newT)
	d.in[e.decode.InputIndex("token")], d.in[e.decode.InputIndex("past_len")] = tokT, lenT
	d.out[e.decode.OutputIndex("logp")], d.out[e.decode.OutputIndex("new_kv")] = logp, newT
	return d, nil
}

// run runs llm_decode for token on the cache's k positions, timed into t; the new rows land in
// d.rows.
func (d *decodeStep) run(ctx context.Context, c *kvCache, token int, t *time.Duration) error {
	d.tok[0], d.pastLen[0] = int64(token), int64(c.k)
	if err := c.inputs(d.e, d.in); err != nil {
		return err
	}
	return d.e.run(ctx, d.e.decode, t, d.in, d.out)
}

func (d *decodeStep) close() {
	for _, v := range d.owned {
		v.Destroy()
	}
	d.owned = nil
}
