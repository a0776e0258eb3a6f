package viettts

import (
	"context"
	"math/rand/v2"

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

// kvCache is the host copy of the LLM's key/value cache, laid out as the decode graph wants it:
// (layers·heads blocks) × K rows × rowDim elements, contiguous for the current K. Growing by one row
// moves every block up by its index, a copy of the whole cache; to keep that copy off the critical
// path the cache has two buffers: while ONNX Runtime reads the current one for step K, a goroutine
// lays its rows out for K+1 in the other, and after the run only the new rows are written and the
// buffers swap. Both buffers are allocated once per engine for the longest segment seen.
type kvCache struct {
	bufs   [2][]byte
	cur    int
	blocks int // layers·heads
	row    int // bytes per row
	k      int // rows per block now
	done   chan struct{}
}

func (c *kvCache) bytes() []byte { return c.bufs[c.cur][:c.blocks*c.k*c.row] }

// startGrow begins laying out the other buffer for k+1 rows in the background. The current buffer is
// only read, so ONNX Runtime may read it at the same time.
func (c *kvCache) startGrow() {
	src, dst, k, row, blocks := c.bufs[c.cur], c.bufs[1-c.cur], c.k, c.row, c.blocks
	done := make(chan struct{})
	c.done = done
	go func() {
		defer close(done)
		for b := range blocks {
			copy(dst[b*(k+1)*row:b*(k+1)*row+k*row], src[b*k*row:(b+1)*k*row])
		}
	}()
}

// finishGrow waits for the layout, writes one new row per block (rows holds blocks·row bytes,
// block-major) and makes the grown buffer current.
func (c *kvCache) finishGrow(rows []byte) {
	c.wait()
	dst, k := c.bufs[1-c.cur], c.k
	for b := range c.blocks {
		copy(dst[b*(k+1)*c.row+k*c.row:b*(k+1)*c.row+(k+1)*c.row], rows[b*c.row:(b+1)*c.row])
	}
	c.cur = 1 - c.cur
	c.k = k + 1
}

// wait waits for a layout in flight (before returning on an error, so no goroutine outlives the
// segment).
func (c *kvCache) wait() {
	if c.done != nil {
		<-c.done
		c.done = nil
	}
}

// append grows the cache by one row synchronously.
func (c *kvCache) append(rows []byte) {
	c.startGrow()
	c.finishGrow(rows)
}

// cache returns the engine's cache sized for maxK rows, reusing its buffers when big enough.
func (e *Engine) cache(maxK int) *kvCache {
	blocks, row := e.layers*e.heads, e.rowDim*e.kvElem
	need := blocks * maxK * row
	for i := range e.kv {
		if cap(e.kv[i]) < need {
			e.kv[i] = make([]byte, need)
		}
	}
	return &kvCache{bufs: [2][]byte{e.kv[0][:cap(e.kv[0])], e.kv[1][:cap(e.kv[1])]}, blocks: blocks, row: row}
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

	// Prefill writes its cache straight into the host buffer.
	cache.k = L + promptExtra
	kvT, err := e.kvTensor(cache.bytes(), cache.k)
	if err != nil {
		return nil, err
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

	// Decode: token and new_kv tensors are reused every step; past_kv is re-wrapped as K grows.
	tok := make([]int64, 1)
	tokT, err := newTensor(onnx.NewShape(1, 1), tok)
	if err != nil {
		return nil, err
	}
	defer tokT.Destroy()
	newRows := make([]byte, cache.blocks*cache.row)
	newT, err := onnx.NewCustomDataTensor(onnx.NewShape(int64(e.layers), int64(e.heads), 1, int64(e.rowDim)), newRows, e.kvType)
	if err != nil {
		return nil, inference.Errorf(inference.ClassInstanceDead, "create cache row tensor: %w", err)
	}
	defer newT.Destroy()
	iTok, iPast := e.decode.InputIndex("token"), e.decode.InputIndex("past_kv")
	oLogp, oNew := e.decode.OutputIndex("logp"), e.decode.OutputIndex("new_kv")
	dIn, dOut := make([]onnx.Value, 2), make([]onnx.Value, 2)
	dIn[iTok], dOut[oLogp], dOut[oNew] = tokT, logpT, newT

	s := newSampler(rng, len(logp))
	tokens := make([]int, 0, maxLen)
	for i := 0; i < maxLen; i++ {
		id := s.next(logp, tokens, eosToken, i >= minLen)
		if id == eosToken {
			break
		}
		tokens = append(tokens, id)
		if i == maxLen-1 {
			break // the last token needs no further step
		}
		tok[0] = int64(id)
		pastT, err := e.kvTensor(cache.bytes(), cache.k)
		if err != nil {
			return nil, err
		}
		dIn[iPast] = pastT
		cache.startGrow()
		err = e.run(ctx, e.decode, &e.stats.Decode, dIn, dOut)
		pastT.Destroy()
		if err != nil {
			cache.wait()
			return nil, err
		}
		e.stats.DecodeSteps++
		cache.finishGrow(newRows)
	}
	return tokens, nil
}

func (e *Engine) kvTensor(b []byte, k int) (*onnx.CustomDataTensor, error) {
	t, err := onnx.NewCustomDataTensor(onnx.NewShape(int64(e.layers), int64(e.heads), int64(k), int64(e.rowDim)), b, e.kvType)
	if err != nil {
		return nil, inference.Errorf(inference.ClassInstanceDead, "create cache tensor: %w", err)
	}
	return t, nil
}
