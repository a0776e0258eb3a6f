package features

import (
	"fmt"
	"math"
)

// Resample converts mono audio from rate from to rate to the way torchaudio.functional.resample does
// by default (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99): the rates are reduced by their
// gcd, each of the `to` output phases has its own windowed-sinc kernel, and the output has
// ceil(len·to/from) samples. It is the resampler VietTTS's front-end uses for prompts
// (16 kHz for CAM++ and the tokenizer, then 16 kHz → 22.05 kHz for the prompt mel).
func Resample(x []float32, from, to int) ([]float32, error) {
	if from <= 0 || to <= 0 {
		return nil, fmt.Errorf("resample: rates must be positive, got %d → %d", from, to)
	}
	if from == to || len(x) == 0 {
		return append([]float32(nil), x...), nil
	}
	g := gcd(from, to)
	orig, next := from/g, to/g
	const zeros = 6
	const rolloff = 0.99
	base := float64(min(orig, next)) * rolloff
	width := int(math.Ceil(zeros * float64(orig) / base))
	klen := 2*width + orig
	kernel := make([]float64, next*klen)
	scale := base / float64(orig)
	for k := range next {
		for i := range klen {
			t := (-float64(k)/float64(next) + float64(i-width)/float64(orig)) * base
			t = math.Max(-zeros, math.Min(zeros, t))
			w := math.Cos(t * math.Pi / zeros / 2)
			w *= w
			t *= math.Pi
			s := 1.0
			if t != 0 {
				s = math.Sin(t) / t
			}
			kernel[k*klen+i] = s * w * scale
		}
	}
	n := len(x)
	outLen := int((int64(next)*int64(n) + int64(orig) - 1) / int64(orig))
	out := make([]float32, outLen)
	// The input is zero-padded by width on the left and width+orig on the right.
	at := func(i int) float64 {
		i -= width
		if i < 0 || i >= n {
			return 0
		}
		return float64(x[i])
	}
	for o := range out {
		j, k := o/next, o%next
		row := kernel[k*klen : (k+1)*klen]
		var acc float64
		base := j * orig
		if base-width >= 0 && base+klen-width <= n {
			src := x[base-width : base-width+klen]
			for i, w := range row {
				acc += w * float64(src[i])
			}
		} else {
			for i, w := range row {
				acc += w * at(base+i)
			}
		}
		out[o] = float32(acc)
	}
	return out, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
