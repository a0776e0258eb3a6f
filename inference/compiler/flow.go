package compiler

// This file builds the flow graphs of MODEL.md §6 from flow.pt's weights:
//
//   - flow_encoder: token (1,S) int64, interp (S,T), spk_emb (1,192) → mu (1,80,T), spks (1,80).
//     input_embedding (ids clamped ≥ 0) → ConformerEncoder (linear input layer, ESPnet relative
//     positions, full attention, pre-norm, swish FF, final LayerNorm) → encoder_proj, then the
//     length regulator's convolutions over hᵀ·interp. The host builds interp (MODEL.md §6.4), so
//     the data-dependent F.interpolate of upstream stays out of the graph.
//   - flow_estimator: the ConditionalDecoder U-Net with the official export's signature
//     x, mask, mu, t, spks, cond → estimator_out, batch and length dynamic.
//
// Op order and constants follow viettts/flow/{flow,length_regulator,decoder}.py,
// viettts/transformer/{encoder,encoder_layer,attention,embedding}.py and diffusers'
// Attention (AttnProcessor) exactly, including the estimator's attention-mask quirk: the 0/1
// matrix maskᵀ·mask is ADDED to the attention scores, not used to mask them.

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/viettts-studio/studio/inference/graph"
)

// flowDims are the flow's dimensions as the builders use them.
type flowDims struct {
	vocab      int   // speech tokens (input_embedding rows)
	inputSize  int   // token embedding width = encoder width
	heads      int   // encoder attention heads
	ff         int   // encoder feed-forward width
	blocks     int   // encoder blocks
	mel        int   // mel bins (encoder_proj output, spks, estimator x/mu/cond)
	spk        int   // x-vector size
	lrConvs    int   // length-regulator conv+norm+mish stages
	channels   []int // estimator U-Net channels, one per down stage
	estHeads   int   // estimator attention heads
	estHeadDim int   // estimator attention head width
	estBlocks  int   // transformer blocks per U-Net stage
	estMid     int   // mid blocks
	temb       int   // time-MLP width
	groups     int   // GroupNorm groups inside Block1D
	posMaxLen  int   // ESPnet positional table half-length (max_len)
}

func flowDimsOf(d Dims) flowDims {
	fl := d.Flow
	ch := make([]int, fl.EstimatorDownBlocks)
	for i := range ch {
		ch[i] = fl.EstimatorChannels
	}
	return flowDims{
		vocab: d.SpeechTokens, inputSize: fl.Model, heads: fl.Heads, ff: fl.FF, blocks: fl.Blocks,
		mel: d.MelBins, spk: d.SpeakerEmbed, lrConvs: fl.RegulatorConvs, channels: ch,
		estHeads: fl.AttentionHeads, estHeadDim: fl.AttentionHeadDim, estBlocks: fl.TransformerBlocks,
		estMid: fl.EstimatorMidBlocks, temb: fl.TimeEmbed, groups: fl.GroupNormGroups, posMaxLen: fl.MaxPositions,
	}
}

func (f flowDims) timeEmbed() int { return f.temb }
func (f flowDims) estIn() int     { return 4 * f.mel } // x, mu, spks, cond

// FlowSpecs lists every tensor of flow.pt (name and shape) in state-dict order for dimensions d.
// For FullDims it equals docs/checkpoint-keys/flow.tsv.
func FlowSpecs(d Dims) []ParamSpec {
	f := flowDimsOf(d)
	var s []ParamSpec
	add := func(name string, shape ...int) { s = append(s, ParamSpec{Name: name, Shape: shape}) }
	add("input_embedding.weight", f.vocab, f.inputSize)
	add("spk_embed_affine_layer.weight", f.mel, f.spk)
	add("spk_embed_affine_layer.bias", f.mel)
	add("encoder.embed.out.0.weight", f.inputSize, f.inputSize)
	add("encoder.embed.out.0.bias", f.inputSize)
	add("encoder.embed.out.1.weight", f.inputSize)
	add("encoder.embed.out.1.bias", f.inputSize)
	add("encoder.after_norm.weight", f.inputSize)
	add("encoder.after_norm.bias", f.inputSize)
	for i := range f.blocks {
		// ConformerEncoderLayer registers norm_ff before norm_mha.
		s = append(s, relPosBlockSpecs("encoder.encoders."+strconv.Itoa(i)+".", f.inputSize, f.heads, f.ff, [2]string{"norm_ff", "norm_mha"})...)
	}
	add("encoder_proj.weight", f.mel, f.inputSize)
	add("encoder_proj.bias", f.mel)

	e := "decoder.estimator."
	te := f.timeEmbed()
	add(e+"time_mlp.linear_1.weight", te, f.estIn())
	add(e+"time_mlp.linear_1.bias", te)
	add(e+"time_mlp.linear_2.weight", te, te)
	add(e+"time_mlp.linear_2.bias", te)
	resnet := func(p string, in, out int) {
		add(p+"mlp.1.weight", out, te)
		add(p+"mlp.1.bias", out)
		add(p+"block1.block.0.weight", out, in, 3)
		add(p+"block1.block.0.bias", out)
		add(p+"block1.block.1.weight", out)
		add(p+"block1.block.1.bias", out)
		add(p+"block2.block.0.weight", out, out, 3)
		add(p+"block2.block.0.bias", out)
		add(p+"block2.block.1.weight", out)
		add(p+"block2.block.1.bias", out)
		add(p+"res_conv.weight", out, in, 1)
		add(p+"res_conv.bias", out)
	}
	inner := f.estHeads * f.estHeadDim
	transformers := func(p string, c int) {
		for j := range f.estBlocks {
			q := p + strconv.Itoa(j) + "."
			add(q+"norm1.weight", c)
			add(q+"norm1.bias", c)
			add(q+"attn1.to_q.weight", inner, c)
			add(q+"attn1.to_k.weight", inner, c)
			add(q+"attn1.to_v.weight", inner, c)
			add(q+"attn1.to_out.0.weight", c, inner)
			add(q+"attn1.to_out.0.bias", c)
			add(q+"norm3.weight", c)
			add(q+"norm3.bias", c)
			add(q+"ff.net.0.proj.weight", 4*c, c)
			add(q+"ff.net.0.proj.bias", 4*c)
			add(q+"ff.net.2.weight", c, 4*c)
			add(q+"ff.net.2.bias", c)
		}
	}
	out := f.estIn()
	for i, c := range f.channels {
		in := out
		out = c
		p := e + "down_blocks." + strconv.Itoa(i) + "."
		resnet(p+"0.", in, out)
		transformers(p+"1.", out)
		if i < len(f.channels)-1 {
			add(p+"2.conv.weight", out, out, 3)
			add(p+"2.conv.bias", out)
		} else {
			add(p+"2.weight", out, out, 3)
			add(p+"2.bias", out)
		}
	}
	for i := range f.estMid {
		p := e + "mid_blocks." + strconv.Itoa(i) + "."
		last := f.channels[len(f.channels)-1]
		resnet(p+"0.", last, out)
		transformers(p+"1.", out)
	}
	up := flowUpChannels(f.channels)
	for i := 0; i < len(up)-1; i++ {
		in, o := 2*up[i], up[i+1]
		p := e + "up_blocks." + strconv.Itoa(i) + "."
		resnet(p+"0.", in, o)
		transformers(p+"1.", o)
		if i < len(up)-2 {
			add(p+"2.conv.weight", o, o, 4)
			add(p+"2.conv.bias", o)
		} else {
			add(p+"2.weight", o, o, 3)
			add(p+"2.bias", o)
		}
	}
	c := up[len(up)-1]
	add(e+"final_block.block.0.weight", c, c, 3)
	add(e+"final_block.block.0.bias", c)
	add(e+"final_block.block.1.weight", c)
	add(e+"final_block.block.1.bias", c)
	add(e+"final_proj.weight", f.mel, c, 1)
	add(e+"final_proj.bias", f.mel)

	for i := range f.lrConvs {
		p := "length_regulator.model."
		add(p+strconv.Itoa(3*i)+".weight", f.mel, f.mel, 3)
		add(p+strconv.Itoa(3*i)+".bias", f.mel)
		add(p+strconv.Itoa(3*i+1)+".weight", f.mel)
		add(p+strconv.Itoa(3*i+1)+".bias", f.mel)
	}
	add("length_regulator.model."+strconv.Itoa(3*f.lrConvs)+".weight", f.mel, f.mel, 1)
	add("length_regulator.model."+strconv.Itoa(3*f.lrConvs)+".bias", f.mel)
	return s
}

// flowUpChannels is the decoder's channel walk back up: the down channels reversed, then the first
// one again (ConditionalDecoder: channels[::-1] + (channels[0],)).
func flowUpChannels(ch []int) []int {
	up := make([]int, 0, len(ch)+1)
	for i := len(ch) - 1; i >= 0; i-- {
		up = append(up, ch[i])
	}
	return append(up, ch[0])
}

// flowNet wraps a Builder with the weights it draws from; its helpers are the layers both flow
// graphs and HiFT share. Weights load lazily while the model is written.
type flowNet struct {
	b *graph.Builder
	w Weights
}

// param is the checkpoint tensor name as an initializer of the given shape.
func (n *flowNet) param(name string, shape ...int) graph.Value {
	return n.b.LazyInitializer(name, shape, n.loader(name, shape, false))
}

// paramT is the 2-D checkpoint tensor name (rows×cols, torch Linear layout out×in) stored
// transposed (cols×rows), ready for x·Wᵀ as a MatMul.
func (n *flowNet) paramT(name string, rows, cols int) graph.Value {
	return n.b.LazyInitializer(name+".T", []int{cols, rows}, n.loader(name, []int{rows, cols}, true))
}

func (n *flowNet) loader(name string, shape []int, transpose bool) func() ([]float32, error) {
	w := n.w
	return func() ([]float32, error) {
		data, got, err := w.Float32(name)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(got, shape) {
			return nil, fmt.Errorf("weight %s has shape %v, the graph needs %v: the checkpoint does not match these dimensions", name, got, shape)
		}
		if !transpose {
			return data, nil
		}
		r, c := shape[0], shape[1]
		t := make([]float32, len(data))
		for i := range r {
			for j := range c {
				t[j*r+i] = data[i*c+j]
			}
		}
		return t, nil
	}
}

// linear is torch.nn.Linear over the last axis: x·Wᵀ + b (bias omitted when hasBias is false).
func (n *flowNet) linear(x graph.Value, prefix string, in, out int, hasBias bool) graph.Value {
	y := n.b.MatMul(x, n.paramT(prefix+".weight", out, in))
	if hasBias {
		y = n.b.Add(y, n.param(prefix+".bias", out))
	}
	return y
}

// layerNorm is torch.nn.LayerNorm(size, eps) over the last axis.
func (n *flowNet) layerNorm(x graph.Value, prefix string, size int, eps float32) graph.Value {
	return n.b.LayerNorm(x, n.param(prefix+".weight", size), n.param(prefix+".bias", size), eps)
}

// conv is torch.nn.Conv1d with bias.
func (n *flowNet) conv(x graph.Value, prefix string, in, out, k, stride, pad, dilation int) graph.Value {
	return n.b.Conv1D(x, n.param(prefix+".weight", out, in, k), n.param(prefix+".bias", out), stride, pad, dilation)
}

// groupNorm is torch.nn.GroupNorm(groups, c) with eps 1e-5.
func (n *flowNet) groupNorm(x graph.Value, prefix string, groups, c int) graph.Value {
	return n.b.GroupNorm(x, n.param(prefix+".weight", c), n.param(prefix+".bias", c), groups, 1e-5)
}

func (n *flowNet) scalar(v float32) graph.Value { return n.b.Scalar(graph.Float, v) }

// flowRelPosTable is ESPnet's whole relative positional table (EspnetRelPositionalEncoding) for
// width d and max_len m: 2m−1 rows, relative position m−1 first and −(m−1) last, in float32 the
// way torch computes it (RelPositionTable, shared with the LLM, gives the non-negative half; torch's
// negative half is sin(−x) = −sin(x) and cos(−x) = cos(x) of the same products).
func flowRelPosTable(d, m int) []float32 {
	pos := RelPositionTable(d, m) // row r: position m−1−r
	pe := make([]float32, (2*m-1)*d)
	copy(pe, pos)
	for p := 1; p < m; p++ {
		src := pos[(m-1-p)*d : (m-p)*d]
		dst := pe[(m-1+p)*d : (m+p)*d]
		for i := 0; i < d; i += 2 {
			dst[i], dst[i+1] = -src[i], src[i+1]
		}
	}
	return pe
}

// flowRelShift is wenet's rel_shift on x (1, H, S, 2S−1): out[i][j] = x[i][S−1−i+j], written with
// upstream's pad-and-reshape trick so it stays exact for any S.
func flowRelShift(b *graph.Builder, x graph.Value) graph.Value {
	s := b.DimOf(x, 2)
	// A zero column (1, H, S, 1) in front, as upstream's zero_pad.
	zshape := b.Concat(0, b.SliceAxis(b.Shape(x), 0, 0, 3), b.Ints(1))
	padded := b.Concat(3, b.ConstantOfShape(zshape, graph.Float, 0), x) // (1,H,S,2S)
	v := b.Reshape(padded, b.Concat(0, b.Ints(0, 0, -1), s))            // (1,H,2S,S)
	v = b.SliceAxis(v, 2, 1, math.MaxInt64)                             // (1,H,2S-1,S)
	v = b.Reshape(v, b.Concat(0, b.Ints(0, 0), s, b.Ints(-1)))          // (1,H,S,2S-1)
	return b.Slice(v, b.Ints(0), s, b.Ints(3), graph.Value{})           // (1,H,S,S)
}

// BuildFlowEncoder builds flow_encoder.onnx (MODEL.md §6.4) from flow.pt's weights. The token
// count S may be at most d.Flow.MaxPositions (5000), the length of the positional table.
func BuildFlowEncoder(w Weights, d Dims) ([]byte, error) {
	return flowEncoderGraph(w, d, false).Build()
}

// WriteFlowEncoder writes flow_encoder.onnx to out, loading each weight only while it is written.
func WriteFlowEncoder(out io.Writer, w Weights, d Dims) (int64, error) {
	return flowEncoderGraph(w, d, false).WriteTo(out)
}

// buildFlowEncoder builds flow_encoder; with probe it also outputs "h" (1,80,S), the token-rate
// encoder output, and "lr_in" (1,80,T), what the length regulator's convolutions see, so tests can
// check the interp wiring.
func buildFlowEncoder(w Weights, d Dims, probe bool) ([]byte, error) {
	return flowEncoderGraph(w, d, probe).Build()
}

func flowEncoderGraph(w Weights, d Dims, probe bool) *graph.Builder {
	f := flowDimsOf(d)
	b := graph.New("flow_encoder")
	b.SetDoc("VietTTS flow encoder: speech tokens → mu (1,80,T) through the ConformerEncoder and the length regulator; interp (S,T) is the host-built interpolation matrix")
	n := &flowNet{b: b, w: w}
	token := b.Input("token", graph.Int64, graph.N(1), graph.Sym("S"))
	interp := b.Input("interp", graph.Float, graph.Sym("S"), graph.Sym("T"))
	spk := b.Input("spk_emb", graph.Float, graph.N(1), graph.N(f.spk))

	b.Push("spk")
	spks := n.linear(flowNormalize(b, spk), "spk_embed_affine_layer", f.spk, f.mel, true)
	b.Pop()

	b.Push("encoder")
	ids := b.Max(token, b.ConstInt64(nil, 0))
	x := b.Gather(n.param("input_embedding.weight", f.vocab, f.inputSize), ids, 0) // (1,S,D)
	h := n.conformer(x, f)
	h = n.linear(h, "encoder_proj", f.inputSize, f.mel, true) // (1,S,80)
	b.Pop()

	b.Push("length_regulator")
	y := b.MatMul(b.Transpose(h, 0, 2, 1), interp) // (1,80,T)
	lrIn := y
	for i := range f.lrConvs {
		p := "length_regulator.model."
		y = n.conv(y, p+strconv.Itoa(3*i), f.mel, f.mel, 3, 1, 1, 1)
		y = n.groupNorm(y, p+strconv.Itoa(3*i+1), 1, f.mel)
		y = b.Mish(y)
	}
	y = n.conv(y, "length_regulator.model."+strconv.Itoa(3*f.lrConvs), f.mel, f.mel, 1, 1, 0, 1)
	b.Pop()

	b.Output(y, "mu")
	b.Output(spks, "spks")
	if probe {
		b.Output(b.Transpose(h, 0, 2, 1), "h")
		b.Output(lrIn, "lr_in")
	}
	return b
}

// flowNormalize is F.normalize(x, dim=1): x / max(‖x‖₂, 1e-12) for x (1, C).
func flowNormalize(b *graph.Builder, x graph.Value) graph.Value {
	norm := b.Max(b.ReduceL2(x, true, 1), b.Scalar(graph.Float, 1e-12))
	return b.Div(x, norm)
}

// conformer is the flow's ConformerEncoder over x (1,S,D): LinearNoSubsampling (Linear +
// LayerNorm), ×√D with ESPnet relative positions, pre-norm blocks of rel-pos self-attention and a
// swish feed-forward, then after_norm. Attention is full (no mask: nothing is padded).
func (n *flowNet) conformer(x graph.Value, f flowDims) graph.Value {
	b := n.b
	D := f.inputSize
	x = n.linear(x, "encoder.embed.out.0", D, D, true)
	x = n.layerNorm(x, "encoder.embed.out.1", D, 1e-5)
	x = b.Mul(x, n.scalar(float32(math.Sqrt(float64(D)))))

	// Positional rows for key length S: table rows [m−S, m−1+S), i.e. relative S−1 … −(S−1).
	s := b.DimOf(x, 1)
	m := int64(f.posMaxLen)
	table := b.Initializer("encoder.embed.pos_enc.pe", []int{2*f.posMaxLen - 1, D}, flowRelPosTable(D, f.posMaxLen))
	pos := b.Slice(table, b.Sub(b.Ints(m), s), b.Add(b.Ints(m-1), s), b.Ints(0), graph.Value{})
	pos = b.Unsqueeze(pos, 0) // (1, 2S−1, D)

	for i := range f.blocks {
		p := "encoder.encoders." + strconv.Itoa(i) + "."
		b.Push("block" + strconv.Itoa(i))
		r := x
		y := n.layerNorm(x, p+"norm_mha", D, 1e-5)
		x = b.Add(r, n.relPosAttention(y, pos, p+"self_attn", f))
		r = x
		y = n.layerNorm(x, p+"norm_ff", D, 1e-5)
		y = n.linear(y, p+"feed_forward.w_1", D, f.ff, true)
		y = b.Swish(y)
		y = n.linear(y, p+"feed_forward.w_2", f.ff, D, true)
		x = b.Add(r, y)
		b.Pop()
	}
	return n.layerNorm(x, "encoder.after_norm", D, 1e-5)
}

// relPosAttention is RelPositionMultiHeadedAttention for batch 1 without a mask:
// softmax(((q+u)·kᵀ + rel_shift((q+v)·pᵀ)) / √dk)·v, then linear_out.
func (n *flowNet) relPosAttention(x, pos graph.Value, p string, f flowDims) graph.Value {
	b := n.b
	D, H := f.inputSize, f.heads
	dk := D / H
	heads := func(v graph.Value) graph.Value { return b.Reshape(v, b.Ints(0, 0, int64(H), int64(dk))) } // (1,S,H,dk)
	q := heads(n.linear(x, p+".linear_q", D, D, true))
	k := b.Transpose(heads(n.linear(x, p+".linear_k", D, D, true)), 0, 2, 3, 1) // (1,H,dk,S)
	v := b.Transpose(heads(n.linear(x, p+".linear_v", D, D, true)), 0, 2, 1, 3) // (1,H,S,dk)
	pp := b.Transpose(heads(b.MatMul(pos, n.paramT(p+".linear_pos.weight", D, D))), 0, 2, 3, 1)
	qu := b.Transpose(b.Add(q, n.param(p+".pos_bias_u", H, dk)), 0, 2, 1, 3)
	qv := b.Transpose(b.Add(q, n.param(p+".pos_bias_v", H, dk)), 0, 2, 1, 3)
	ac := b.MatMul(qu, k)
	bd := flowRelShift(b, b.MatMul(qv, pp))
	scores := b.Div(b.Add(ac, bd), n.scalar(float32(math.Sqrt(float64(dk)))))
	ctx := b.MatMul(b.Softmax(scores, -1), v)                             // (1,H,S,dk)
	ctx = b.Reshape(b.Transpose(ctx, 0, 2, 1, 3), b.Ints(0, 0, int64(D))) // (1,S,D)
	return n.linear(ctx, p+".linear_out", D, D, true)
}

// BuildFlowEstimator builds flow_estimator.onnx: the ConditionalDecoder with the signature of
// CosyVoice's export (x, mask, mu, t, spks, cond → estimator_out), batch and length dynamic.
func BuildFlowEstimator(w Weights, d Dims) ([]byte, error) { return flowEstimatorGraph(w, d).Build() }

// WriteFlowEstimator writes flow_estimator.onnx to out, loading each weight only while it is
// written (the full estimator is 330 MB).
func WriteFlowEstimator(out io.Writer, w Weights, d Dims) (int64, error) {
	return flowEstimatorGraph(w, d).WriteTo(out)
}

func flowEstimatorGraph(w Weights, d Dims) *graph.Builder {
	f := flowDimsOf(d)
	b := graph.New("flow_estimator")
	b.SetDoc("VietTTS flow estimator (ConditionalDecoder U-Net); run as batch 2: row 0 conditional, row 1 unconditional")
	n := &flowNet{b: b, w: w}
	B, T := graph.Sym("batch_size"), graph.Sym("seq_len")
	x := b.Input("x", graph.Float, B, graph.N(f.mel), T)
	mask := b.Input("mask", graph.Float, B, graph.N(1), T)
	mu := b.Input("mu", graph.Float, B, graph.N(f.mel), T)
	t := b.Input("t", graph.Float, B)
	spks := b.Input("spks", graph.Float, B, graph.N(f.mel))
	cond := b.Input("cond", graph.Float, B, graph.N(f.mel), T)
	e := "decoder.estimator."

	b.Push("time")
	temb := n.timeEmbedding(t, f.estIn())
	temb = n.linear(temb, e+"time_mlp.linear_1", f.estIn(), f.timeEmbed(), true)
	temb = b.Swish(temb)
	temb = n.linear(temb, e+"time_mlp.linear_2", f.timeEmbed(), f.timeEmbed(), true)
	tact := b.Mish(temb) // every ResnetBlock1D's mlp starts with Mish
	b.Pop()

	spkT := b.ExpandAs(b.Unsqueeze(spks, 2), mu)
	h := b.Concat(1, x, mu, spkT, cond) // (B, 320, T)

	// masks[i] is the mask at U-Net level i; bias[i] is maskᵀ·mask there, added to the scores.
	masks := []graph.Value{mask}
	for range len(f.channels) - 1 {
		last := masks[len(masks)-1]
		masks = append(masks, b.Slice(last, b.Ints(0), b.Ints(math.MaxInt64), b.Ints(2), b.Ints(2)))
	}
	bias := make([]graph.Value, len(masks))
	for i, m := range masks {
		bias[i] = b.Unsqueeze(b.MatMul(b.Transpose(m, 0, 2, 1), m), 1) // (B,1,T_i,T_i)
	}

	var hiddens []graph.Value
	out := f.estIn()
	for i, c := range f.channels {
		in := out
		out = c
		p := e + "down_blocks." + strconv.Itoa(i) + "."
		b.Push("down" + strconv.Itoa(i))
		h = n.resnet(h, masks[i], tact, p+"0.", in, out, f)
		h = n.transformers(h, bias[i], p+"1.", out, f)
		hiddens = append(hiddens, h)
		if i < len(f.channels)-1 {
			h = n.conv(b.Mul(h, masks[i]), p+"2.conv", out, out, 3, 2, 1, 1)
		} else {
			h = n.conv(b.Mul(h, masks[i]), p+"2", out, out, 3, 1, 1, 1)
		}
		b.Pop()
	}
	mid := len(f.channels) - 1
	for i := range f.estMid {
		p := e + "mid_blocks." + strconv.Itoa(i) + "."
		b.Push("mid" + strconv.Itoa(i))
		h = n.resnet(h, masks[mid], tact, p+"0.", f.channels[mid], out, f)
		h = n.transformers(h, bias[mid], p+"1.", out, f)
		b.Pop()
	}
	up := flowUpChannels(f.channels)
	var maskUp graph.Value
	for i := 0; i < len(up)-1; i++ {
		in, o := 2*up[i], up[i+1]
		lvl := len(f.channels) - 1 - i
		maskUp = masks[lvl]
		skip := hiddens[lvl]
		p := e + "up_blocks." + strconv.Itoa(i) + "."
		b.Push("up" + strconv.Itoa(i))
		h = b.Slice(h, b.Ints(0), b.DimOf(skip, 2), b.Ints(2), graph.Value{})
		h = b.Concat(1, h, skip)
		h = n.resnet(h, maskUp, tact, p+"0.", in, o, f)
		h = n.transformers(h, bias[lvl], p+"1.", o, f)
		if i < len(up)-2 {
			h = b.ConvTranspose1D(b.Mul(h, maskUp), n.param(p+"2.conv.weight", o, o, 4), n.param(p+"2.conv.bias", o), 2, 1)
		} else {
			h = n.conv(b.Mul(h, maskUp), p+"2", o, o, 3, 1, 1, 1)
		}
		b.Pop()
	}
	c := up[len(up)-1]
	h = n.block1D(h, maskUp, e+"final_block.", c, c, f.groups)
	h = n.conv(b.Mul(h, maskUp), e+"final_proj", c, f.mel, 1, 1, 0, 1)
	h = b.Mul(h, mask)
	b.Output(h, "estimator_out")
	return b
}

// timeEmbedding is SinusoidalPosEmb(dim) with scale 1000: [sin(1000·t·fᵢ), cos(1000·t·fᵢ)],
// fᵢ = exp(−i·ln(10000)/(dim/2−1)), the frequencies computed in float32 with torch's own expf
// (torchExpf) so they match upstream bit for bit.
func (n *flowNet) timeEmbedding(t graph.Value, dim int) graph.Value {
	b := n.b
	half := dim / 2
	coef := float32(-(math.Log(10000) / float64(half-1)))
	freqs := make([]float32, half)
	for i := range freqs {
		freqs[i] = torchExpf(float32(i) * coef)
	}
	arg := b.Mul(b.Mul(b.Unsqueeze(t, 1), n.scalar(1000)), b.Const(graph.Float, []int{1, half}, freqs))
	return b.Concat(1, b.Sin(arg), b.Cos(arg))
}

// block1D is Block1D: Mish(GroupNorm(Conv1d_k3(x·mask)))·mask.
func (n *flowNet) block1D(x, mask graph.Value, p string, in, out, groups int) graph.Value {
	b := n.b
	y := n.conv(b.Mul(x, mask), p+"block.0", in, out, 3, 1, 1, 1)
	y = n.groupNorm(y, p+"block.1", groups, out)
	return b.Mul(b.Mish(y), mask)
}

// resnet is ResnetBlock1D: block2(block1(x) + Linear(Mish(t))) + res_conv(x·mask).
func (n *flowNet) resnet(x, mask, tact graph.Value, p string, in, out int, f flowDims) graph.Value {
	b := n.b
	h := n.block1D(x, mask, p+"block1.", in, out, f.groups)
	h = b.Add(h, b.Unsqueeze(n.linear(tact, p+"mlp.1", f.timeEmbed(), out, true), 2))
	h = n.block1D(h, mask, p+"block2.", out, out, f.groups)
	return b.Add(h, n.conv(b.Mul(x, mask), p+"res_conv", in, out, 1, 1, 0, 1))
}

// transformers runs a stage's BasicTransformerBlocks over x (B,C,T) in (B,T,C) layout.
func (n *flowNet) transformers(x, bias graph.Value, p string, c int, f flowDims) graph.Value {
	b := n.b
	x = b.Transpose(x, 0, 2, 1)
	for j := range f.estBlocks {
		x = n.basicTransformer(x, bias, p+strconv.Itoa(j)+".", c, f)
	}
	return b.Transpose(x, 0, 2, 1)
}

// basicTransformer is diffusers' BasicTransformerBlock as VietTTS configures it: LN → self
// attention (no qkv bias; scores = scale·q·kᵀ + bias, as baddbmm in AttnProcessor) → residual;
// LN → Linear, exact GELU, Linear → residual.
func (n *flowNet) basicTransformer(x, bias graph.Value, p string, c int, f flowDims) graph.Value {
	b := n.b
	H, dh := f.estHeads, f.estHeadDim
	inner := H * dh
	y := n.layerNorm(x, p+"norm1", c, 1e-5)
	heads := func(v graph.Value) graph.Value { return b.Reshape(v, b.Ints(0, 0, int64(H), int64(dh))) }
	q := b.Transpose(heads(n.linear(y, p+"attn1.to_q", c, inner, false)), 0, 2, 1, 3)
	k := b.Transpose(heads(n.linear(y, p+"attn1.to_k", c, inner, false)), 0, 2, 3, 1)
	v := b.Transpose(heads(n.linear(y, p+"attn1.to_v", c, inner, false)), 0, 2, 1, 3)
	scores := b.Add(b.Mul(b.MatMul(q, k), n.scalar(float32(1/math.Sqrt(float64(dh))))), bias)
	ctx := b.MatMul(b.Softmax(scores, -1), v)
	ctx = b.Reshape(b.Transpose(ctx, 0, 2, 1, 3), b.Ints(0, 0, int64(inner)))
	x = b.Add(n.linear(ctx, p+"attn1.to_out.0", inner, c, true), x)
	y = n.layerNorm(x, p+"norm3", c, 1e-5)
	y = b.Gelu(n.linear(y, p+"ff.net.0.proj", c, 4*c, true))
	y = n.linear(y, p+"ff.net.2", 4*c, c, true)
	return b.Add(y, x)
}
