package compiler

// This file builds hift.onnx (MODEL.md §7): the HiFTGenerator vocoder (NSF source + iSTFTNet),
// non-streaming, with the two random draws of upstream as explicit inputs:
//
//	mel (1,80,T), phase_noise (1,1,9), sine_noise (1,256T,9) → wav (1,256T)
//
// Op order and constants follow viettts/hifigan/{generator,f0_predictor}.py. The STFT of the
// source is a strided Conv1d with a fixed (cos·window, −sin·window) basis after reflect padding,
// and the iSTFT is a ConvTranspose1d with the onesided inverse-DFT basis, divided by the overlap
// envelope of window² and trimmed by n_fft/2 at both ends, as torch.istft(center=True) does.
//
// The phase cumulative sum runs in float64 and is rounded to float32 per sample: that is what
// torch.cumsum does for float32 on the CPU (it accumulates in double), so the graph reproduces the
// reference exactly; a float32 running sum drifts by ~0.1 cycle over 200k samples.

import (
	"io"
	"math"
	"strconv"

	"github.com/viettts-studio/studio/inference/graph"
)

// Fixed HiFT constants of the VietTTS configuration (hift: block of config.yaml / generator.py).
const (
	hiftLReLUSlope = 0.1   // between upsampling stages
	hiftPostSlope  = 0.01  // F.leaky_relu default before conv_post
	hiftAudioLimit = 0.99  // output clamp
	hiftMagLimit   = 100.0 // torch.clip(magnitude, max=1e2) before the iSTFT
	hiftSnakeEps   = 1e-9  // Snake's no_div_by_zero
)

// hiftConv is one convolution of HiFT and whether the checkpoint stores it with weight norm.
type hiftConv struct {
	name       string
	shape      []int // weight shape, torch layout
	weightNorm bool
}

// hiftLayout lists HiFT's parameters in state-dict order; raw selects the checkpoint form
// (weight_g, weight_v) over the folded one (weight).
func hiftLayout(d Dims, raw bool) []ParamSpec {
	h := d.HiFT
	var s []ParamSpec
	add := func(name string, shape ...int) { s = append(s, ParamSpec{Name: name, Shape: shape}) }
	conv := func(c hiftConv, bias int) {
		if c.weightNorm && raw {
			add(c.name+".bias", bias)
			add(c.name+".weight_g", c.shape[0], 1, 1)
			add(c.name+".weight_v", c.shape...)
			return
		}
		if c.weightNorm {
			add(c.name+".bias", bias)
			add(c.name+".weight", c.shape...)
			return
		}
		add(c.name+".weight", c.shape...)
		add(c.name+".bias", bias)
	}
	resblock := func(p string, ch, k int, dil []int) {
		for j := range dil {
			conv(hiftConv{p + ".convs1." + strconv.Itoa(j), []int{ch, ch, k}, true}, ch)
		}
		for j := range dil {
			conv(hiftConv{p + ".convs2." + strconv.Itoa(j), []int{ch, ch, k}, true}, ch)
		}
		for j := range dil {
			add(p+".activations1."+strconv.Itoa(j)+".alpha", ch)
		}
		for j := range dil {
			add(p+".activations2."+strconv.Itoa(j)+".alpha", ch)
		}
	}
	nSrc := h.Harmonics + 1
	stft := h.NFFT + 2
	add("m_source.l_linear.weight", 1, nSrc)
	add("m_source.l_linear.bias", 1)
	conv(hiftConv{"conv_pre", []int{h.BaseChannels, d.MelBins, h.PreKernel}, true}, h.BaseChannels)
	for i, k := range h.UpsampleKernels {
		in, out := h.BaseChannels>>i, h.BaseChannels>>(i+1)
		conv(hiftConv{"ups." + strconv.Itoa(i), []int{in, out, k}, true}, out)
	}
	rates := hiftSourceRates(h)
	for i, u := range rates {
		ch := h.BaseChannels >> (i + 1)
		k := 1
		if u != 1 {
			k = 2 * u
		}
		conv(hiftConv{"source_downs." + strconv.Itoa(i), []int{ch, stft, k}, false}, ch)
	}
	for i := range rates {
		ch := h.BaseChannels >> (i + 1)
		resblock("source_resblocks."+strconv.Itoa(i), ch, h.SourceResblockKernels[i], h.SourceResblockDilations[i])
	}
	for i := range h.UpsampleRates {
		ch := h.BaseChannels >> (i + 1)
		for j, k := range h.ResblockKernels {
			resblock("resblocks."+strconv.Itoa(i*len(h.ResblockKernels)+j), ch, k, h.ResblockDilations[j])
		}
	}
	last := h.BaseChannels >> len(h.UpsampleRates)
	conv(hiftConv{"conv_post", []int{stft, last, h.PostKernel}, true}, stft)
	for i := range h.F0Layers {
		in := h.F0Channels
		if i == 0 {
			in = d.MelBins
		}
		conv(hiftConv{"f0_predictor.condnet." + strconv.Itoa(2*i), []int{h.F0Channels, in, 3}, true}, h.F0Channels)
	}
	add("f0_predictor.classifier.weight", 1, h.F0Channels)
	add("f0_predictor.classifier.bias", 1)
	return s
}

// hiftSourceRates are the source_downs strides, stage by stage: the cumulative products of
// [1] + reversed(upsample_rates)[:-1], reversed (for [8, 8]: 8 then 1).
func hiftSourceRates(h HiFTDims) []int {
	n := len(h.UpsampleRates)
	cum := make([]int, n)
	p := 1
	for i := range n {
		if i > 0 {
			p *= h.UpsampleRates[n-i]
		}
		cum[i] = p
	}
	out := make([]int, n)
	for i := range n {
		out[i] = cum[n-1-i]
	}
	return out
}

// HiFTCheckpointSpecs lists every tensor of hift.pt as stored: the weight-normed convolutions
// as (bias, weight_g, weight_v). For FullDims it equals docs/checkpoint-keys/hift.tsv. Fold such a
// checkpoint (checkpoint.FoldWeightNorm) before building.
func HiFTCheckpointSpecs(d Dims) []ParamSpec { return hiftLayout(d, true) }

// HiFTSpecs lists the tensors BuildHiFT reads: hift.pt with weight norm folded, so each
// (weight_g, weight_v) pair is one plain weight. RandomWeights over these specs gives a random
// vocoder directly.
func HiFTSpecs(d Dims) []ParamSpec { return hiftLayout(d, false) }

// BuildHiFT builds hift.onnx from HiFT's folded weights (see HiFTSpecs).
func BuildHiFT(w Weights, d Dims) ([]byte, error) { return hiftGraph(w, d).Build() }

// WriteHiFT writes hift.onnx to out, loading each weight only while it is written.
func WriteHiFT(out io.Writer, w Weights, d Dims) (int64, error) { return hiftGraph(w, d).WriteTo(out) }

func hiftGraph(w Weights, d Dims) *graph.Builder {
	h := d.HiFT
	b := graph.New("hift")
	b.SetDoc("VietTTS HiFT vocoder (non-streaming): mel (1,80,T) → wav (1,256T); phase_noise ~ U(−π,π) with element 0 = 0, sine_noise ~ N(0,1)")
	n := &flowNet{b: b, w: w}
	nSrc := h.Harmonics + 1
	mel := b.Input("mel", graph.Float, graph.N(1), graph.N(d.MelBins), graph.Sym("T"))
	phaseNoise := b.Input("phase_noise", graph.Float, graph.N(1), graph.N(1), graph.N(nSrc))
	sineNoise := b.Input("sine_noise", graph.Float, graph.N(1), graph.Sym("samples"), graph.N(nSrc))

	b.Push("f0")
	f0 := n.f0Predictor(mel, d)
	b.Pop()
	b.Push("source")
	src := n.nsfSource(f0, phaseNoise, sineNoise, d)
	b.Pop()
	b.Push("stft")
	sStft := hiftSTFT(b, src, h.NFFT, h.Hop)
	b.Pop()

	x := n.conv(mel, "conv_pre", d.MelBins, h.BaseChannels, h.PreKernel, 1, (h.PreKernel-1)/2, 1)
	rates := hiftSourceRates(h)
	nk := len(h.ResblockKernels)
	for i, u := range h.UpsampleRates {
		b.Push("stage" + strconv.Itoa(i))
		in, ch := h.BaseChannels>>i, h.BaseChannels>>(i+1)
		k := h.UpsampleKernels[i]
		x = b.LeakyRelu(x, hiftLReLUSlope)
		p := "ups." + strconv.Itoa(i)
		x = b.ConvTranspose1D(x, n.param(p+".weight", in, ch, k), n.param(p+".bias", ch), u, (k-u)/2)
		if i == len(h.UpsampleRates)-1 {
			x = b.PadLast(x, "reflect", 1, 0)
		}
		r := rates[i]
		var si graph.Value
		if r == 1 {
			si = n.conv(sStft, "source_downs."+strconv.Itoa(i), h.NFFT+2, ch, 1, 1, 0, 1)
		} else {
			si = n.conv(sStft, "source_downs."+strconv.Itoa(i), h.NFFT+2, ch, 2*r, r, r/2, 1)
		}
		si = n.resBlock(si, "source_resblocks."+strconv.Itoa(i), ch, h.SourceResblockKernels[i], h.SourceResblockDilations[i])
		x = b.Add(x, si)
		var xs graph.Value
		for j, kk := range h.ResblockKernels {
			r := n.resBlock(x, "resblocks."+strconv.Itoa(i*nk+j), ch, kk, h.ResblockDilations[j])
			if j == 0 {
				xs = r
			} else {
				xs = b.Add(xs, r)
			}
		}
		x = b.Div(xs, n.scalar(float32(nk)))
		b.Pop()
	}
	last := h.BaseChannels >> len(h.UpsampleRates)
	x = b.LeakyRelu(x, hiftPostSlope)
	x = n.conv(x, "conv_post", last, h.NFFT+2, h.PostKernel, 1, (h.PostKernel-1)/2, 1)
	bins := h.NFFT/2 + 1
	mag := b.Exp(b.SliceAxis(x, 1, 0, int64(bins)))
	phase := b.Sin(b.SliceAxis(x, 1, int64(bins), int64(2*bins)))
	b.Push("istft")
	wav := hiftISTFT(b, mag, phase, h.NFFT, h.Hop)
	b.Pop()
	wav = b.Clip(wav, -hiftAudioLimit, hiftAudioLimit)
	b.Output(b.Reshape(wav, b.Ints(1, -1)), "wav")
	return b
}

// f0Predictor is ConvRNNF0Predictor: condnet (Conv1d k3 + ELU)×layers, Linear → |·|; the result
// is f0 in Hz, (1, T, 1).
func (n *flowNet) f0Predictor(mel graph.Value, d Dims) graph.Value {
	b := n.b
	h := d.HiFT
	x := mel
	for i := range h.F0Layers {
		in := h.F0Channels
		if i == 0 {
			in = d.MelBins
		}
		x = n.conv(x, "f0_predictor.condnet."+strconv.Itoa(2*i), in, h.F0Channels, 3, 1, 1, 1)
		x = b.Elu(x, 1)
	}
	x = n.linear(b.Transpose(x, 0, 2, 1), "f0_predictor.classifier", h.F0Channels, 1, true)
	return b.Abs(x)
}

// nsfSource is SourceModuleHnNSF (SineGen + Linear + tanh) on f0 (1,T,1) upsampled ×256 by
// repetition, with upstream's random phase and noise given as inputs. It returns (1,1,256T).
func (n *flowNet) nsfSource(f0, phaseNoise, sineNoise graph.Value, d Dims) graph.Value {
	b := n.b
	h := d.HiFT
	up := h.Hop
	for _, r := range h.UpsampleRates {
		up *= r
	}
	nSrc := h.Harmonics + 1
	// nearest upsampling: (1,T,1) → (1,T,up) → (1,1,T·up)
	f0r := b.Expand(f0, b.Concat(0, b.Ints(1), b.DimOf(f0, 1), b.Ints(int64(up))))
	f0u := b.Reshape(f0r, b.Ints(1, 1, -1))

	harm := make([]float32, nSrc)
	keep := make([]float32, nSrc)
	for i := range harm {
		harm[i] = float32(i + 1)
		keep[i] = 1
	}
	// The fundamental starts at phase 0 (upstream sets phase_vec[:, 0, :] = 0).
	keep[0] = 0
	fmat := b.Div(b.Mul(f0u, b.Const(graph.Float, []int{1, nSrc, 1}, harm)), n.scalar(float32(d.SampleRate))) // (1,9,L)
	cum := b.Cast(b.CumSum(b.Cast(fmat, graph.Double), 2), graph.Float)
	frac := b.Sub(cum, b.Floor(cum)) // torch's % 1 for non-negative values
	theta := b.Mul(n.scalar(float32(2*math.Pi)), frac)
	phase := b.Mul(b.Reshape(phaseNoise, b.Ints(1, int64(nSrc), 1)), b.Const(graph.Float, []int{1, nSrc, 1}, keep))
	sine := b.Mul(n.scalar(float32(h.SineAmp)), b.Sin(b.Add(theta, phase)))

	uv := b.Cast(b.Greater(f0u, n.scalar(float32(h.VoicedThreshold))), graph.Float)
	noiseAmp := b.Add(b.Mul(uv, n.scalar(float32(h.NoiseStd))),
		b.Div(b.Mul(b.Sub(n.scalar(1), uv), n.scalar(float32(h.SineAmp))), n.scalar(3)))
	noise := b.Mul(noiseAmp, b.Transpose(sineNoise, 0, 2, 1)) // (1,9,L)
	sine = b.Add(b.Mul(sine, uv), noise)

	// l_linear over the harmonic axis, then tanh: (1,9)·(1,9,L) → (1,1,L)
	wl := n.param("m_source.l_linear.weight", 1, nSrc)
	merged := b.Add(b.MatMul(wl, sine), b.Unsqueeze(n.param("m_source.l_linear.bias", 1), 1))
	return b.Tanh(merged)
}

// hannPeriodic is scipy's get_window("hann", n, fftbins=True) rounded to float32.
func hannPeriodic(n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n)))
	}
	return w
}

// hiftSTFT is torch.stft(x, nfft, hop, window=hann, center=True, reflect) of x (1,1,L) as a
// Conv1d: (1, nfft+2, L/hop+1), the real parts of bins 0…nfft/2 then the imaginary parts.
func hiftSTFT(b *graph.Builder, x graph.Value, nfft, hop int) graph.Value {
	win := hannPeriodic(nfft)
	bins := nfft/2 + 1
	basis := make([]float32, 2*bins*nfft)
	for k := range bins {
		for t := range nfft {
			ang := 2 * math.Pi * float64(k*t) / float64(nfft)
			basis[k*nfft+t] = float32(float64(win[t]) * math.Cos(ang))
			basis[(bins+k)*nfft+t] = float32(-float64(win[t]) * math.Sin(ang))
		}
	}
	kernel := b.Const(graph.Float, []int{2 * bins, 1, nfft}, basis)
	padded := b.PadLast(x, "reflect", nfft/2, nfft/2)
	return b.Conv1D(padded, kernel, graph.Value{}, hop, 0, 1)
}

// hiftISTFT is torch.istft(mag·e^{i·phase}, nfft, hop, window=hann, center=True) with mag
// clipped at 100, for mag and phase (1, nfft/2+1, F): a ConvTranspose1d with the onesided
// inverse-DFT basis times the window, divided by the overlap-added window², trimmed by nfft/2 at
// both ends. The result is (1, 1, hop·(F−1)).
func hiftISTFT(b *graph.Builder, mag, phase graph.Value, nfft, hop int) graph.Value {
	win := hannPeriodic(nfft)
	bins := nfft/2 + 1
	mag = b.ClipMax(mag, hiftMagLimit)
	spec := b.Concat(1, b.Mul(mag, b.Cos(phase)), b.Mul(mag, b.Sin(phase)))
	basis := make([]float32, 2*bins*nfft)
	for k := range bins {
		c := 2.0
		if k == 0 || 2*k == nfft {
			c = 1 // DC and Nyquist appear once; their imaginary parts are ignored by irfft
		}
		for t := range nfft {
			ang := 2 * math.Pi * float64(k*t) / float64(nfft)
			basis[k*nfft+t] = float32(c * math.Cos(ang) / float64(nfft) * float64(win[t]))
			if c == 2 {
				basis[(bins+k)*nfft+t] = float32(-c * math.Sin(ang) / float64(nfft) * float64(win[t]))
			}
		}
	}
	kernel := b.Const(graph.Float, []int{2 * bins, 1, nfft}, basis)
	frames := b.ConvTranspose1D(spec, kernel, graph.Value{}, hop, 0)

	win2 := make([]float32, nfft)
	for i, v := range win {
		win2[i] = v * v
	}
	ones := b.ConstantOfShape(b.Concat(0, b.Ints(1, 1), b.DimOf(mag, 2)), graph.Float, 1)
	ones = b.Reshape(ones, b.Ints(1, 1, -1))
	env := b.ConvTranspose1D(ones, b.Const(graph.Float, []int{1, 1, nfft}, win2), graph.Value{}, hop, 0)
	trim := int64(nfft / 2)
	y := b.SliceAxis(frames, 2, trim, -trim)
	e := b.SliceAxis(env, 2, trim, -trim)
	return b.Div(y, e)
}

// resBlock is HiFT's ResBlock: for each dilation, x += conv2(snake2(conv1(snake1(x)))).
func (n *flowNet) resBlock(x graph.Value, p string, ch, k int, dil []int) graph.Value {
	b := n.b
	for j, dl := range dil {
		js := strconv.Itoa(j)
		xt := n.snake(x, p+".activations1."+js+".alpha", ch)
		xt = n.conv(xt, p+".convs1."+js, ch, ch, k, 1, (k*dl-dl)/2, dl)
		xt = n.snake(xt, p+".activations2."+js+".alpha", ch)
		xt = n.conv(xt, p+".convs2."+js, ch, ch, k, 1, (k-1)/2, 1)
		x = b.Add(xt, x)
	}
	return x
}

// snake is Snake with linear-scale alpha: x + 1/(α + 1e-9) · sin²(α·x), α per channel.
func (n *flowNet) snake(x graph.Value, name string, ch int) graph.Value {
	b := n.b
	alpha := b.Unsqueeze(n.param(name, ch), 0, 2) // (1,C,1)
	inv := b.Div(n.scalar(1), b.Add(alpha, n.scalar(hiftSnakeEps)))
	s := b.Sin(b.Mul(x, alpha))
	return b.Add(x, b.Mul(inv, b.Mul(s, s)))
}
