package viettts

import (
	"math"
)

// Rates of the 25 Hz model (MODEL.md §6.2): speech tokens per second, samples per second and
// samples per mel frame.
const (
	tokenRate  = 25
	sampleRate = 22050
	melHop     = 256
	melBins    = 80
	// headTokens tokens at each end of the generated part are stretched on their own when the part
	// is longer than 2·headTokens, so the joins between segments land on frame boundaries.
	headTokens = 20
	// cfgRate is the classifier-free guidance weight ν: v = (1+ν)·v_cond − ν·v_uncond.
	cfgRate = 0.7
	// eulerSteps is the number of flow-matching steps.
	eulerSteps = 10
	// fadeSamples is the 0.1 s linear fade applied at both ends of every segment.
	fadeSamples = 2205
)

// melFrames is the number of mel frames the flow makes for n speech tokens:
// int(n / 25 · 22050 / 256), evaluated left to right in float64 as upstream does.
func melFrames(n int) int { return int(float64(n) / tokenRate * sampleRate / melHop) }

// linearWeights returns, for each of out output positions, the two source indices and the weight
// of the second one, reproducing torch.nn.functional.interpolate(mode="linear",
// align_corners=False) from in positions (computed in float32, like PyTorch's CPU kernel).
func linearWeights(in, out int, f func(dst, i0, i1 int, l1 float32)) {
	scale := float32(in) / float32(out)
	for d := 0; d < out; d++ {
		src := scale*(float32(d)+0.5) - 0.5
		if src < 0 {
			src = 0
		}
		i0 := int(src)
		i1 := i0
		if i0 < in-1 {
			i1 = i0 + 1
		}
		l1 := src - float32(i0)
		f(d, i0, i1, l1)
	}
}

// interpMatrix builds the flow encoder's `interp` input (MODEL.md §6.4): an (S × T) matrix, S = p+n
// tokens, T = promptFrames + melFrames(n), whose column t holds the linear-interpolation weights
// of output frame t. Prompt tokens stretch to the prompt frames; the n generated tokens stretch to
// melFrames(n) frames, in three parts (20 tokens → 68 frames, the middle, 20 → 68) when n > 40.
func interpMatrix(p, n, promptFrames int) (m []float32, s, t int) {
	gen := melFrames(n)
	s, t = p+n, promptFrames+gen
	m = make([]float32, s*t)
	part := func(tok0, toks, frame0, frames int) {
		linearWeights(toks, frames, func(d, i0, i1 int, l1 float32) {
			col := frame0 + d
			m[(tok0+i0)*t+col] += 1 - l1
			m[(tok0+i1)*t+col] += l1
		})
	}
	if p > 0 && promptFrames > 0 {
		part(0, p, 0, promptFrames)
	}
	if n > 2*headTokens {
		edge := melFrames(headTokens)
		part(p, headTokens, promptFrames, edge)
		part(p+headTokens, n-2*headTokens, promptFrames+edge, gen-2*edge)
		part(p+n-headTokens, headTokens, promptFrames+gen-edge, edge)
	} else if n > 0 && gen > 0 {
		part(p, n, promptFrames, gen)
	}
	return m, s, t
}

// eulerSchedule returns the time points t_0..t_10 of the cosine schedule 1 − cos(k/10 · π/2),
// computed in float32 as torch does.
func eulerSchedule() [eulerSteps + 1]float32 {
	var ts [eulerSteps + 1]float32
	for k := range ts {
		lin := float32(k) / float32(eulerSteps)
		ts[k] = 1 - float32(math.Cos(float64(lin*0.5*math.Pi)))
	}
	return ts
}

// stretchMel resamples a (80 × T) row-major mel to `frames` frames along time with linear
// interpolation (the speed control of MODEL.md §8: F.interpolate(mel, size=int(T/speed))).
func stretchMel(mel []float32, t, frames int) []float32 {
	out := make([]float32, melBins*frames)
	linearWeights(t, frames, func(d, i0, i1 int, l1 float32) {
		for c := 0; c < melBins; c++ {
			row := mel[c*t : (c+1)*t]
			out[c*frames+d] = (1-l1)*row[i0] + l1*row[i1]
		}
	})
	return out
}

// fade applies VietTTS's linear fade-in over the first 2205 samples and fade-out over the last 2205
// (np.linspace(0, 1, 2205) and its reverse), in place.
func fade(wav []float32) {
	n := min(fadeSamples, len(wav))
	if n < 2 {
		return
	}
	for i := 0; i < n; i++ {
		g := float32(float64(i) / float64(fadeSamples-1))
		wav[i] *= g
		wav[len(wav)-1-i] *= g
	}
}
