package compiler

// This file builds the two LLM graphs of MODEL.md §5.4 from llm.pt's weights:
//
//   - llm_prefill: text (1,L) int64, spk_emb (1,192) → logp (1,4097), kv (layers,heads,L+3,2·dk).
//     text_embedding → text encoder (ConformerEncoder without conv module or macaron: linear input
//     layer Linear+LayerNorm, ×√d, ESPnet relative positions, pre-norm blocks of rel-pos
//     self-attention and a swish feed-forward, CAUSAL mask, after_norm) → text_encoder_affine;
//     the prompt [sos, affine(normalize(spk)), text, task]; the LLM (TransformerEncoder,
//     linear_legacy input Linear+LayerNorm+ReLU, ×√d, relu feed-forward, causal) → after_norm →
//     llm_decoder → log_softmax at the last position. kv holds each layer's keys and values
//     concatenated on the last dim, as wenet's att_cache.
//   - llm_decode: token (1,1) int64, past_len (1) int64 = K, and per layer i past_key_i and
//     past_value_i (heads,C,dk) with C ≥ K → logp, new_kv (layers,heads,1,2·dk). (MODEL.md §5.4
//     proposes one past_kv (layers,heads,K,2·dk); see decode for why the cache comes in per layer
//     with room to spare.)
//     speech_embedding[token] through the same input layer and blocks, attending to past_kv and
//     itself. The positional term uses the folded form of MODEL.md §5.4: for one query,
//     (q+v_bias)·(W_pos·pe_j) = ((q+v_bias)·W_pos)·pe_j, so W_pos is applied once per head
//     instead of to 2K+1 table rows, and rel_shift disappears (for one query it is a plain slice).
//
// Facts from viettts/llm/llm.py and viettts/transformer/*.py (commit 083acfc) that the graphs
// reproduce: the text encoder runs with decoding_chunk_size=1, which is a lower-triangular mask;
// attention scores are ((q+u)·kᵀ + rel_shift((q+v)·pᵀ)) / √dk with masked entries at −inf before
// the softmax; LayerNorm eps is 1e-5; dropout is off; the positional table is computed once in
// float32 for max_len positions, and a key length of n uses its rows for relative positions
// n−1 … −(n−1). Under a causal mask only the non-negative half matters, so only it is stored.

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/viettts-studio/studio/inference/graph"
)

// Graph file names of the LLM (MODEL.md §1).
const (
	LLMPrefillGraph = "llm_prefill"
	LLMDecodeGraph  = "llm_decode"
)

// relPosBlockSpecs lists the tensors of one wenet encoder block with relative-position
// self-attention and a feed-forward layer (the LLM's text encoder and decoder blocks, the flow's
// encoder blocks), in state-dict order; norms names its two layer norms in registration order.
func relPosBlockSpecs(prefix string, model, heads, ff int, norms [2]string) []ParamSpec {
	var s []ParamSpec
	add := func(name string, shape ...int) { s = append(s, ParamSpec{Name: prefix + name, Shape: shape}) }
	add("self_attn.pos_bias_u", heads, model/heads)
	add("self_attn.pos_bias_v", heads, model/heads)
	for _, p := range []string{"linear_q", "linear_k", "linear_v", "linear_out"} {
		add("self_attn."+p+".weight", model, model)
		add("self_attn."+p+".bias", model)
	}
	add("self_attn.linear_pos.weight", model, model)
	add("feed_forward.w_1.weight", ff, model)
	add("feed_forward.w_1.bias", ff)
	add("feed_forward.w_2.weight", model, ff)
	add("feed_forward.w_2.bias", model)
	for _, n := range norms {
		add(n+".weight", model)
		add(n+".bias", model)
	}
	return s
}

// LLMSpecs lists every tensor of llm.pt (name and torch shape) in state-dict order for dimensions
// d. For FullDims it equals docs/checkpoint-keys/llm.tsv.
func LLMSpecs(d Dims) []ParamSpec {
	l := d.LLM
	var s []ParamSpec
	add := func(name string, shape ...int) { s = append(s, ParamSpec{Name: name, Shape: shape}) }
	block := func(prefix string, norms [2]string) {
		s = append(s, relPosBlockSpecs(prefix, l.Model, l.Heads, l.FF, norms)...)
	}
	add("text_embedding.weight", l.TextVocab, l.TextEmbed)
	add("text_encoder.embed.out.0.weight", l.Model, l.TextEmbed)
	add("text_encoder.embed.out.0.bias", l.Model)
	add("text_encoder.embed.out.1.weight", l.Model)
	add("text_encoder.embed.out.1.bias", l.Model)
	add("text_encoder.after_norm.weight", l.Model)
	add("text_encoder.after_norm.bias", l.Model)
	for i := range l.TextEncoderBlocks {
		// ConformerEncoderLayer registers norm_ff before norm_mha.
		block("text_encoder.encoders."+strconv.Itoa(i)+".", [2]string{"norm_ff", "norm_mha"})
	}
	add("text_encoder_affine_layer.weight", l.Model, l.Model)
	add("text_encoder_affine_layer.bias", l.Model)
	add("llm_embedding.weight", 2, l.Model)
	add("llm.embed.out.0.weight", l.Model, l.Model)
	add("llm.embed.out.0.bias", l.Model)
	add("llm.embed.out.1.weight", l.Model)
	add("llm.embed.out.1.bias", l.Model)
	add("llm.after_norm.weight", l.Model)
	add("llm.after_norm.bias", l.Model)
	for i := range l.Blocks {
		block("llm.encoders."+strconv.Itoa(i)+".", [2]string{"norm1", "norm2"})
	}
	add("llm_decoder.weight", d.SpeechTokens+1, l.Model)
	add("llm_decoder.bias", d.SpeechTokens+1)
	add("speech_embedding.weight", d.SpeechTokens, l.Model)
	add("spk_embed_affine_layer.weight", l.Model, d.SpeakerEmbed)
	add("spk_embed_affine_layer.bias", l.Model)
	return s
}

// RelPositionTable is the non-negative half of ESPnet's relative positional table
// (EspnetRelPositionalEncoding) for width dModel and maxLen positions, computed step by step in
// float32 as torch computes it on the CPU: row r holds relative position maxLen−1−r (the table is
// stored reversed, as upstream stores it), so a key length n uses rows [maxLen−n, maxLen) for
// positions n−1 … 0. Row-major, maxLen × dModel.
//
// The frequencies 10000^(−2i/d) go through torchExpf, which reproduces torch's float32 exp bit for
// bit: a correctly rounded exp differs from it in the last bit for about one frequency in ten, and
// that last bit, multiplied by positions in the thousands, moves table entries by up to 2.4e-4.
// sin and cos are correctly rounded; torch's differ from them by at most one unit in the last
// place (6e-8), which no position amplifies.
func RelPositionTable(dModel, maxLen int) []float32 {
	scale := float32(-(math.Log(10000.0) / float64(dModel)))
	div := make([]float32, dModel/2)
	for i := range div {
		div[i] = torchExpf(float32(2*i) * scale)
	}
	table := make([]float32, maxLen*dModel)
	for p := range maxLen {
		row := table[(maxLen-1-p)*dModel : (maxLen-p)*dModel]
		for i, dv := range div {
			arg := float64(float32(p) * dv)
			row[2*i] = float32(math.Sin(arg))
			row[2*i+1] = float32(math.Cos(arg))
		}
	}
	return table
}

// torchExpf is exp in float32 as torch computes it on x86 CPUs (SLEEF's expf_u10 with fused
// multiply-adds): range reduction by ln 2 split in two parts, a degree-7 polynomial, and a scale
// by 2^q. Checked bit for bit against torch.exp on 300,896 arguments in [-80, 80]. Valid for
// |d| < 88 (the positional table needs d in (−ln 10000, 0]).
func torchExpf(d float32) float32 {
	fma := func(x, y, z float32) float32 { return float32(math.FMA(float64(x), float64(y), float64(z))) }
	const (
		invLn2 = float32(1.442695040888963407359924681001892137426645954152985934135449406931)
		ln2Hi  = float32(0.693145751953125)
		ln2Lo  = float32(1.428606765330187045e-06)
	)
	q := int(math.RoundToEven(float64(float32(d * invLn2))))
	qf := float32(q)
	s := fma(qf, -ln2Hi, d)
	s = fma(qf, -ln2Lo, s)
	u := float32(0.000198527617612853646278381)
	u = fma(u, s, 0.00139304355252534151077271)
	u = fma(u, s, 0.00833336077630519866943359)
	u = fma(u, s, 0.0416664853692054748535156)
	u = fma(u, s, 0.166666671633720397949219)
	u = fma(u, s, 0.5)
	u = 1 + fma(float32(s*s), u, s)
	return float32(math.Ldexp(float64(u), q))
}

// WriteLLMPrefill writes the llm_prefill graph for weights w to out, streaming the weights one
// tensor at a time. fp16 stores weights and computes in half precision (kv in float16; text,
// spk_emb and logp stay as in the fp32 graph).
func WriteLLMPrefill(out io.Writer, w Weights, d Dims, fp16 bool) (int64, error) {
	g, err := newLLMGraph(LLMPrefillGraph, w, d, fp16)
	if err != nil {
		return 0, err
	}
	g.prefill()
	return g.write(out, []string{"spk_emb", "logp"})
}

// WriteLLMDecode writes the llm_decode graph for weights w to out (see WriteLLMPrefill for fp16;
// past_kv and new_kv are float16 in the fp16 graph).
func WriteLLMDecode(out io.Writer, w Weights, d Dims, fp16 bool) (int64, error) {
	g, err := newLLMGraph(LLMDecodeGraph, w, d, fp16)
	if err != nil {
		return 0, err
	}
	g.decode()
	return g.write(out, []string{"logp"})
}

// BuildLLMPrefill returns the float32 llm_prefill graph. For a full-size model prefer
// WriteLLMPrefill, which streams instead of holding the whole model in memory.
func BuildLLMPrefill(w Weights, d Dims) ([]byte, error) {
	var buf bytes.Buffer
	_, err := WriteLLMPrefill(&buf, w, d, false)
	return buf.Bytes(), err
}

// BuildLLMPrefillFP16 returns the half-precision llm_prefill graph that pairs with
// BuildLLMDecode(w, d, true): its kv output is float16.
func BuildLLMPrefillFP16(w Weights, d Dims) ([]byte, error) {
	var buf bytes.Buffer
	_, err := WriteLLMPrefill(&buf, w, d, true)
	return buf.Bytes(), err
}

// BuildLLMDecode returns the llm_decode graph, in half precision when fp16 is set.
func BuildLLMDecode(w Weights, d Dims, fp16 bool) ([]byte, error) {
	var buf bytes.Buffer
	_, err := WriteLLMDecode(&buf, w, d, fp16)
	return buf.Bytes(), err
}

// llmGraph holds the state of one LLM graph under construction.
type llmGraph struct {
	b     *graph.Builder
	w     Weights
	d     Dims
	fp16  bool
	specs map[string]ParamSpec
	used  map[string]bool
	// table is the positional table initializer, added once (hasTable) and shared by all uses.
	table    graph.Value
	hasTable bool
	// promptSpeech adds the prompt_speech_token input of CosyVoice's zero-shot layout to prefill.
	promptSpeech bool
}

func newLLMGraph(name string, w Weights, d Dims, fp16 bool) (*llmGraph, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	g := &llmGraph{b: graph.New(name), w: w, d: d, fp16: fp16, specs: map[string]ParamSpec{}, used: map[string]bool{}}
	for _, s := range LLMSpecs(d) {
		g.specs[s.Name] = s
	}
	precision := "fp32"
	if fp16 {
		precision = "fp16"
	}
	g.b.SetDoc("VietTTS " + name + " (MODEL.md §5.4), " + precision)
	g.b.SetMetadata("viettts.graph", name)
	g.b.SetMetadata("viettts.precision", precision)
	return g, nil
}

func (g *llmGraph) write(out io.Writer, keep []string) (int64, error) {
	if g.fp16 {
		err := g.b.ConvertFloat16(graph.Half{
			KeepFloat32: keep,
			// Normalizations and the final log-softmax keep float32 statistics; everything else,
			// the attention softmax included, runs in float16 as VietTTS's own fp16 LLM does
			// (viettts/model.py calls llm.half()).
			Float32Ops: []string{"LayerNormalization", "LogSoftmax", "ReduceL2"},
		})
		if err != nil {
			return 0, err
		}
	}
	return g.b.WriteTo(out)
}

// param adds the checkpoint tensor name as a lazily loaded initializer, optionally viewed with
// another shape of the same size (a free reshape of torch's row-major data).
func (g *llmGraph) param(name string, view ...int) graph.Value {
	spec, ok := g.specs[name]
	if !ok {
		return g.b.Failf("llm: no tensor %q in the LLM specs", name)
	}
	shape := spec.Shape
	if len(view) > 0 {
		n := 1
		for _, v := range view {
			n *= v
		}
		if n != spec.Numel() {
			return g.b.Failf("llm: cannot view %s %v as %v", name, spec.Shape, view)
		}
		shape = view
	}
	if g.used[name] {
		return g.b.Failf("llm: tensor %s used twice", name)
	}
	g.used[name] = true
	w := g.w
	return g.b.LazyInitializer(name, shape, func() ([]float32, error) {
		data, got, err := w.Float32(name)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(got, spec.Shape) {
			return nil, fmt.Errorf("tensor %s has shape %v, expected %v", name, got, spec.Shape)
		}
		return data, nil
	})
}

// linear is torch's Linear on row vectors x (T, in): x·Wᵀ + b.
func (g *llmGraph) linear(x graph.Value, prefix string, bias bool) graph.Value {
	var c graph.Value
	if bias {
		c = g.param(prefix + ".bias")
	}
	return g.b.Gemm(x, g.param(prefix+".weight"), c, false, true, 1, 1)
}

func (g *llmGraph) layerNorm(x graph.Value, prefix string) graph.Value {
	return g.b.LayerNorm(x, g.param(prefix+".weight"), g.param(prefix+".bias"), 1e-5)
}

func (g *llmGraph) scalar(v float32) graph.Value { return g.b.Scalar(graph.Float, v) }

// inputLayer is LinearNoSubsampling (legacy adds the ReLU of LegacyLinearNoSubsampling) followed
// by the positional encoding's √d scaling.
func (g *llmGraph) inputLayer(x graph.Value, prefix string, legacy bool) graph.Value {
	x = g.layerNorm(g.linear(x, prefix+".embed.out.0", true), prefix+".embed.out.1")
	if legacy {
		x = g.b.Relu(x)
	}
	return g.b.Mul(x, g.scalar(float32(math.Sqrt(float64(g.d.LLM.Model)))))
}

// feedForward is PositionwiseFeedForward: w_2(act(w_1(x))).
func (g *llmGraph) feedForward(x graph.Value, prefix string, swish bool) graph.Value {
	h := g.linear(x, prefix+".w_1", true)
	if swish {
		h = g.b.Swish(h)
	} else {
		h = g.b.Relu(h)
	}
	return g.linear(h, prefix+".w_2", true)
}

// block is one pre-norm encoder layer: x + attn(norm(x)); x + ff(norm(x)). attend computes the
// attention of the normalized input and returns its output and the layer's new kv rows.
func (g *llmGraph) block(x graph.Value, prefix string, conformer bool, attend func(xn graph.Value, prefix string) (graph.Value, graph.Value)) (graph.Value, graph.Value) {
	normAttn, normFF := prefix+".norm1", prefix+".norm2"
	if conformer {
		normAttn, normFF = prefix+".norm_mha", prefix+".norm_ff"
	}
	att, kv := attend(g.layerNorm(x, normAttn), prefix+".self_attn")
	x = g.b.Add(x, att)
	x = g.b.Add(x, g.feedForward(g.layerNorm(x, normFF), prefix+".feed_forward", conformer))
	return x, kv
}

// positions returns the table rows for relative positions n−1 … 0 as (n, d), where nDim is a
// 1-element int64 tensor holding n: a contiguous block of the row-major table, which prefill
// projects with W_pos and decode multiplies by its folded queries.
func (g *llmGraph) positions(nDim graph.Value) graph.Value {
	l := g.d.LLM
	b := g.b
	maxLen := b.Ints(int64(l.MaxPositions))
	start := b.Sub(maxLen, nDim)
	if !g.hasTable {
		g.table = b.Initializer("rel_pos_table", []int{l.MaxPositions, l.Model}, RelPositionTable(l.Model, l.MaxPositions))
		g.hasTable = true
	}
	return b.Slice(g.table, start, maxLen, b.Ints(0), graph.Value{})
}

// causalMask is the (n, n) bool matrix that is true on and below the diagonal.
func (g *llmGraph) causalMask(nDim graph.Value) graph.Value {
	b := g.b
	ones := b.ConstantOfShape(b.Concat(0, nDim, nDim), graph.Int64, 1)
	return b.Cast(b.Trilu(ones, false, 0), graph.Bool)
}

// fullAttention is RelPositionMultiHeadedAttention over a whole causal sequence x (T, d) with the
// positional rows pos (T, d) for relative positions T−1 … 0. It returns the output (T, d) and the
// kv rows (heads, T, 2·dk).
func (g *llmGraph) fullAttention(x, pos, mask, tDim graph.Value, prefix string) (graph.Value, graph.Value) {
	b := g.b
	l := g.d.LLM
	h, dk := int64(l.Heads), int64(l.HeadDim())
	split := func(v graph.Value) graph.Value { return b.ReshapeTo(v, -1, h, dk) } // (T, h, dk)
	q := split(g.linear(x, prefix+".linear_q", true))
	k := b.Transpose(split(g.linear(x, prefix+".linear_k", true)), 1, 0, 2) // (h, T, dk)
	v := b.Transpose(split(g.linear(x, prefix+".linear_v", true)), 1, 0, 2)
	qu := b.Transpose(b.Add(q, g.param(prefix+".pos_bias_u")), 1, 0, 2)
	qv := b.Transpose(b.Add(q, g.param(prefix+".pos_bias_v")), 1, 0, 2)
	ac := b.MatMul(qu, b.Transpose(k, 0, 2, 1)) // (h, T, T)
	p := b.Gemm(pos, g.param(prefix+".linear_pos.weight"), graph.Value{}, false, true, 1, 1)
	pT := b.Transpose(b.ReshapeTo(p, -1, h, dk), 1, 2, 0) // (h, dk, T)
	bd := g.relShift(b.MatMul(qv, pT), tDim)              // (h, T, T)
	scores := b.Div(b.Add(ac, bd), g.scalar(float32(math.Sqrt(float64(dk)))))
	scores = b.Where(mask, scores, g.scalar(float32(math.Inf(-1))))
	attn := b.Softmax(scores, -1)
	ctx := b.ReshapeTo(b.Transpose(b.MatMul(attn, v), 1, 0, 2), -1, h*dk)
	return g.linear(ctx, prefix+".linear_out", true), b.Concat(-1, k, v)
}

// relShift is ESPnet's rel_shift applied to x (h, T, T) whose column c holds relative position
// T−1−c: it returns y with y[i, j] = x[i, T−1−i+j] for j ≤ i (relative position i−j). Upstream's
// input also has T−1 columns of negative positions; they only reach entries above the diagonal,
// which the causal mask removes, so zeros stand in for them and the same pad-and-reshape runs.
func (g *llmGraph) relShift(x, tDim graph.Value) graph.Value {
	b := g.b
	h := b.Ints(int64(g.d.LLM.Heads))
	one := b.Ints(1)
	tMinus1 := b.Sub(tDim, one)
	left := b.ConstantOfShape(b.Concat(0, h, tDim, one), graph.Float, 0)
	right := b.ConstantOfShape(b.Concat(0, h, tDim, tMinus1), graph.Float, 0)
	padded := b.Concat(2, left, x, right) // (h, T, 2T)
	twoT := b.Add(tDim, tDim)
	rows := b.Reshape(padded, b.Concat(0, h, twoT, tDim))              // (h, 2T, T)
	rows = b.SliceAxis(rows, 1, 1, graph.End)                          // (h, 2T−1, T)
	shifted := b.Reshape(rows, b.Concat(0, h, tDim, b.Sub(twoT, one))) // (h, T, 2T−1)
	return b.Slice(shifted, b.Ints(0), tDim, b.Ints(2), graph.Value{}) // (h, T, T)
}

// encoder runs the causal blocks of one encoder over x (T, d) and returns the output before
// after_norm and the stacked kv (blocks, h, T, 2dk) when collect is set.
func (g *llmGraph) encoder(x graph.Value, prefix string, blocks int, conformer, collect bool) (graph.Value, graph.Value) {
	b := g.b
	tDim := b.DimOf(x, 0)
	pos := g.positions(tDim)
	mask := g.causalMask(tDim)
	var kvs []graph.Value
	for i := range blocks {
		p := prefix + ".encoders." + strconv.Itoa(i)
		b.Push(p)
		var kv graph.Value
		x, kv = g.block(x, p, conformer, func(xn graph.Value, ap string) (graph.Value, graph.Value) {
			return g.fullAttention(xn, pos, mask, tDim, ap)
		})
		if collect {
			kvs = append(kvs, b.Unsqueeze(kv, 0))
		}
		b.Pop()
	}
	if !collect {
		return x, graph.Value{}
	}
	return x, b.Concat(0, kvs...)
}

// prefill builds llm_prefill.
func (g *llmGraph) prefill() {
	b := g.b
	d := g.d
	text := b.Input("text", graph.Int64, graph.N(1), graph.Sym("L"))
	spk := b.Input("spk_emb", graph.Float, graph.N(1), graph.N(d.SpeakerEmbed))

	b.Push("text_encoder")
	emb := b.Gather(g.param("text_embedding.weight"), b.Squeeze(text, 0), 0) // (L, 512)
	x := g.inputLayer(emb, "text_encoder", false)
	x, _ = g.encoder(x, "text_encoder", d.LLM.TextEncoderBlocks, true, false)
	x = g.layerNorm(x, "text_encoder.after_norm")
	x = g.linear(x, "text_encoder_affine_layer", true) // (L, d)
	b.Pop()

	// F.normalize(spk, dim=1): x / max(‖x‖, 1e-12).
	norm := b.Max(b.ReduceL2(spk, true, 1), g.scalar(1e-12))
	spkEmb := g.linear(b.Div(spk, norm), "spk_embed_affine_layer", true) // (1, d)
	table := g.param("llm_embedding.weight")
	sos := b.SliceAxis(table, 0, 0, 1)
	task := b.SliceAxis(table, 0, 1, 2)
	parts := []graph.Value{sos, spkEmb, x, task} // (L+3, d)
	if g.promptSpeech {
		prompt := b.Input("prompt_speech_token", graph.Int64, graph.N(1), graph.Sym("P"))
		parts = append(parts, b.Gather(g.param("speech_embedding.weight"), b.Squeeze(prompt, 0), 0))
	}
	lmInput := b.Concat(0, parts...)

	b.Push("llm")
	h := g.inputLayer(lmInput, "llm", true)
	h, kv := g.encoder(h, "llm", d.LLM.Blocks, false, true)
	last := b.Slice(h, b.Ints(-1), b.Ints(graph.End), b.Ints(0), graph.Value{}) // (1, d)
	last = g.layerNorm(last, "llm.after_norm")
	logp := b.LogSoftmax(g.linear(last, "llm_decoder", true), -1)
	b.Pop()
	b.Output(logp, "logp")
	b.Output(kv, "kv")
}

// decode builds llm_decode.
//
// The cache comes in as one key and one value tensor per layer, (heads, C, dk) each, with room for
// C ≥ K positions of which the first K (past_len) are real: the host keeps them in one buffer,
// writes a step's new rows in place and only lays the buffer out again when it runs out of room
// (MODEL.md §5.4 proposes one (layers, heads, K, 2·dk) tensor; growing that by a row moves every
// (layer, head) block, a copy of the whole cache per step that competed with ONNX Runtime for the
// cores and the memory bus, and each layer then had to copy its rows out of it). A step costs
// little more than reading the cache once: each layer scores its keys and weights its values
// straight from its inputs (the key Transpose becomes a transposed MatMul operand, no copy); rows
// from K on are masked to −inf before the softmax, so their weight is exactly zero; the new row is
// scored and weighted on its own instead of being concatenated to the cache; and the positional
// rows (K+1, d) are sliced once per step from the constant table (a contiguous block) and shared
// by all layers, each multiplying them by its folded queries as (K+1, d)·(d, h), whose small
// right operand is cheap to pack ((h, d)·(d, K+1) repacked the whole block in every layer).
func (g *llmGraph) decode() {
	b := g.b
	d := g.d
	l := d.LLM
	h, dk := int64(l.Heads), int64(l.HeadDim())
	token := b.Input("token", graph.Int64, graph.N(1), graph.N(1))
	pastLen := b.Input("past_len", graph.Int64, graph.N(1)) // K
	keysIn := make([]graph.Value, l.Blocks)
	valuesIn := make([]graph.Value, l.Blocks)
	for i := range l.Blocks {
		keysIn[i] = b.Input(PastKeyInput(i), graph.Float, graph.N(l.Heads), graph.Sym("C"), graph.N(l.HeadDim()))
		valuesIn[i] = b.Input(PastValueInput(i), graph.Float, graph.N(l.Heads), graph.Sym("C"), graph.N(l.HeadDim()))
	}

	x := b.Gather(g.param("speech_embedding.weight"), b.Squeeze(token, 0), 0) // (1, d)
	x = g.inputLayer(x, "llm", true)
	keys := b.Add(pastLen, b.Ints(1)) // K+1
	pos := g.positions(keys)          // (K+1, d): positions K … 0
	scale := g.scalar(float32(math.Sqrt(float64(dk))))
	// The mask of real rows, (1, 1, C): row j < K.
	capacity := b.DimOf(keysIn[0], 1)
	slots := b.Range(b.ConstInt64([]int{}, 0), b.Squeeze(capacity, 0), b.ConstInt64([]int{}, 1))
	real := b.ReshapeTo(b.Less(slots, pastLen), 1, 1, -1)
	minusInf := g.scalar(float32(math.Inf(-1)))
	var rows []graph.Value
	for i := range l.Blocks {
		p := "llm.encoders." + strconv.Itoa(i)
		b.Push(p)
		var row graph.Value
		x, row = g.block(x, p, false, func(xn graph.Value, ap string) (graph.Value, graph.Value) {
			heads := func(v graph.Value) graph.Value { return b.ReshapeTo(v, h, 1, dk) } // (h, 1, dk)
			q := heads(g.linear(xn, ap+".linear_q", true))
			k := heads(g.linear(xn, ap+".linear_k", true))
			v := heads(g.linear(xn, ap+".linear_v", true))
			qu := b.Add(q, b.ReshapeTo(g.param(ap+".pos_bias_u"), h, 1, dk))
			qv := b.Add(q, b.ReshapeTo(g.param(ap+".pos_bias_v"), h, 1, dk))
			// Content term: the past keys scored where they lie (ONNX Runtime fuses the Transpose
			// into the MatMul as a transposed operand, and a one-row product of that form is its
			// fast path), the empty rows masked, then the new key.
			acPast := b.Where(real, b.MatMul(qu, b.Transpose(keysIn[i], 0, 2, 1)), minusInf) // (h, 1, C)
			acNew := b.MatMul(qu, b.Transpose(k, 0, 2, 1))                                   // (h, 1, 1)
			ac := b.Concat(2, acPast, acNew)                                                 // (h, 1, C+1)
			// Folded positional term: ((q+v)·W_pos,h)·pe_j with W_pos viewed as (h, dk, d), one
			// (K+1, d)·(d, h) product for all heads (the Transpose of the folded queries becomes a
			// transposed operand); the empty rows get zeros, their scores are −inf anyway.
			folded := b.MatMul(qv, g.param(ap+".linear_pos.weight", l.Heads, l.HeadDim(), l.Model)) // (h, 1, d)
			bdT := b.MatMul(pos, b.Transpose(b.ReshapeTo(folded, h, int64(l.Model)), 1, 0))         // (K+1, h)
			bd := b.ReshapeTo(b.Transpose(bdT, 1, 0), h, 1, -1)                                     // (h, 1, K+1)
			bdPast, bdNew := b.Slice(bd, b.Ints(0), pastLen, b.Ints(2), graph.Value{}), b.Slice(bd, pastLen, keys, b.Ints(2), graph.Value{})
			gap := b.ConstantOfShape(b.Concat(0, b.Ints(h, 1), b.Sub(capacity, pastLen)), graph.Float, 0)
			bd = b.Concat(2, bdPast, gap, bdNew) // (h, 1, C+1)
			attn := b.Softmax(b.Div(b.Add(ac, bd), scale), -1)
			attnPast := b.Slice(attn, b.Ints(0), capacity, b.Ints(2), graph.Value{}) // (h, 1, C)
			attnNew := b.Slice(attn, capacity, b.Add(capacity, b.Ints(1)), b.Ints(2), graph.Value{})
			// Weighted values: the past rows where they lie (the empty ones weigh exactly 0), plus
			// the new row.
			ctxPast := b.MatMul(attnPast, valuesIn[i]) // (h, 1, dk)
			ctx := b.ReshapeTo(b.Add(ctxPast, b.Mul(attnNew, v)), 1, h*dk)
			return g.linear(ctx, ap+".linear_out", true), b.Concat(-1, k, v) // (h, 1, 2dk)
		})
		rows = append(rows, b.Unsqueeze(row, 0))
		b.Pop()
	}
	x = g.layerNorm(x, "llm.after_norm")
	logp := b.LogSoftmax(g.linear(x, "llm_decoder", true), -1)
	b.Output(logp, "logp")
	b.Output(b.Concat(0, rows...), "new_kv")
}

// LayOutCache writes k positions of prefill's cache kv, (layers, heads, k, 2·dim) values of el
// bytes (each row a key, then a value), into dst as llm_decode's cache inputs with room for
// room ≥ k positions: for each layer its keys, then its values, each (heads, room, dim), one after
// another; the rows after k are zero. dst holds exactly 2·layers·heads·room·dim·el bytes.
func LayOutCache(dst, kv []byte, layers, heads, dim, el, k, room int) {
	row := dim * el
	block := room * row
	for l := range layers {
		for h := range heads {
			keys := dst[((2*l)*heads+h)*block:][:block]
			values := dst[((2*l+1)*heads+h)*block:][:block]
			for j := range k {
				src := kv[((l*heads+h)*k+j)*2*row:]
				copy(keys[j*row:(j+1)*row], src[:row])
				copy(values[j*row:(j+1)*row], src[row:2*row])
			}
			clear(keys[k*row:])
			clear(values[k*row:])
		}
	}
}

// PastKeyInput and PastValueInput name llm_decode's cache inputs of layer i.
func PastKeyInput(i int) string   { return "past_key_" + strconv.Itoa(i) }
func PastValueInput(i int) string { return "past_value_" + strconv.Itoa(i) }
