// Package dsp holds the signal processing shared by the synthesis runtime and the audio back end:
// today a band-limited resampler that reproduces torchaudio's Resample, so features computed in Go
// (16 kHz speech-tokenizer input from a 22.05 kHz clip, the vocoder's 22.05 kHz output raised to
// 44.1 or 48 kHz for export) match the reference PyTorch pipeline.
package dsp

import (
	"fmt"
	"math"
)

// Options tunes the resampling filter. The zero value means torchaudio's defaults.
type Options struct {
	// LowpassWidth is the number of zero crossings of the windowed sinc on each side
	// (torchaudio's lowpass_filter_width). More is sharper and slower. 0 means 6.
	LowpassWidth int
	// Rolloff is the cut-off as a fraction of the lower Nyquist frequency (torchaudio's rolloff).
	// 0 means 0.99.
	Rolloff float64
}

func (o Options) withDefaults() Options {
	if o.LowpassWidth <= 0 {
		o.LowpassWidth = 6
	}
	if o.Rolloff <= 0 {
		o.Rolloff = 0.99
	}
	return o
}

// Resampler converts a stream of mono float32 samples from one rate to another with a Hann-windowed
// sinc low-pass filter (torchaudio's "sinc_interp_hann"), evaluated polyphase after reducing both
// rates by their greatest common divisor. Fed the whole signal, Process followed by Flush returns
// exactly what torchaudio.functional.resample returns (to float32 rounding): the same kernel, the
// same zero padding at both ends, the same output length ceil(len·to/from).
//
// A Resampler keeps only the filter's context between calls, so arbitrarily long streams pass in
// constant memory. It is not safe for concurrent use; Reset makes it ready for a new stream.
type Resampler struct {
	inRate, outRate int
	orig, new       int // rates reduced by their gcd
	width           int // torchaudio's padding (in input samples) on the left
	phases          []phase
	identity        bool

	buf    []float32 // input from index base-width of the current block onwards
	inLen  int64     // input samples received so far
	outLen int64     // output samples produced so far
	done   bool
}

// phase is one row of the polyphase kernel: output sample k of every block of new outputs.
// Only the taps that are not identically zero are kept (the clamped window zeroes the rest).
type phase struct {
	first int // index of taps[0] within the block's window of 2·width+orig input samples
	taps  []float64
}

// NewResampler returns a resampler from rate from to rate to (Hz). Equal rates pass samples
// through unchanged, as torchaudio does.
func NewResampler(from, to int, o Options) (*Resampler, error) {
	if from <= 0 || to <= 0 {
		return nil, fmt.Errorf("dsp: resample %d Hz → %d Hz: rates must be positive", from, to)
	}
	o = o.withDefaults()
	r := &Resampler{inRate: from, outRate: to}
	if from == to {
		r.identity = true
		return r, nil
	}
	g := gcd(from, to)
	r.orig, r.new = from/g, to/g
	if r.orig > 1<<16 || r.new > 1<<16 {
		return nil, fmt.Errorf("dsp: resample %d Hz → %d Hz: the reduced ratio %d/%d needs a filter bank "+
			"too large to hold; pick rates with a larger common divisor", from, to, r.new, r.orig)
	}
	r.phases, r.width = kernel(r.orig, r.new, o.LowpassWidth, o.Rolloff)
	r.Reset()
	return r, nil
}

// kernel computes torchaudio's _get_sinc_resample_kernel for reduced rates orig → new, in float64.
// Row k, tap i weighs input sample (block start − width + i) for output k of the block.
func kernel(orig, new, lowpassWidth int, rolloff float64) ([]phase, int) {
	base := float64(min(orig, new)) * rolloff
	lw := float64(lowpassWidth)
	width := int(math.Ceil(lw * float64(orig) / base))
	n := 2*width + orig
	scale := base / float64(orig)
	phases := make([]phase, new)
	for k := range new {
		row := make([]float64, n)
		first, last := -1, -1
		for i := range n {
			idx := float64(i-width) / float64(orig)
			t := (float64(-k)/float64(new) + idx) * base
			if math.Abs(t) >= lw {
				// Outside the window: torchaudio clamps t here, where cos² of the window is
				// 3.7e-33, zero for any float32 sum. Dropping these taps is what keeps the
				// polyphase filter short.
				continue
			}
			w := math.Cos(t * math.Pi / lw / 2)
			w *= w
			t *= math.Pi
			s := 1.0
			if t != 0 {
				s = math.Sin(t) / t
			}
			row[i] = s * w * scale
			if row[i] != 0 {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if first < 0 {
			phases[k] = phase{}
			continue
		}
		phases[k] = phase{first: first, taps: row[first : last+1]}
	}
	return phases, width
}

// Reset forgets the stream so far; the next Process starts a new signal.
func (r *Resampler) Reset() {
	r.inLen, r.outLen, r.done = 0, 0, false
	if r.identity {
		return
	}
	r.buf = r.buf[:0]
	for range r.width {
		r.buf = append(r.buf, 0) // torchaudio pads width zeros on the left
	}
}

// InRate and OutRate are the rates the resampler converts between.
func (r *Resampler) InRate() int  { return r.inRate }
func (r *Resampler) OutRate() int { return r.outRate }

// OutputLen is the number of samples a complete signal of n input samples resamples to.
func (r *Resampler) OutputLen(n int64) int64 {
	if r.identity {
		return n
	}
	return (int64(r.new)*n + int64(r.orig) - 1) / int64(r.orig)
}

// Process feeds input samples and appends every output sample that is now fully determined to dst.
// The filter looks ahead, so output lags input by about LowpassWidth input periods until Flush.
func (r *Resampler) Process(dst, in []float32) []float32 {
	if r.done {
		panic("dsp: Resampler.Process after Flush without Reset")
	}
	r.inLen += int64(len(in))
	if r.identity {
		r.outLen += int64(len(in))
		return append(dst, in...)
	}
	r.buf = append(r.buf, in...)
	return r.drain(dst, -1)
}

// Flush ends the stream: it appends the remaining output samples (the right edge, computed against
// zero padding as torchaudio does) to dst. Call Reset before reusing the Resampler.
func (r *Resampler) Flush(dst []float32) []float32 {
	if r.done {
		return dst
	}
	r.done = true
	if r.identity {
		return dst
	}
	for range r.width + r.orig {
		r.buf = append(r.buf, 0)
	}
	return r.drain(dst, r.OutputLen(r.inLen))
}

// drain computes every whole block the buffer holds; limit < 0 means no length limit.
func (r *Resampler) drain(dst []float32, limit int64) []float32 {
	win := 2*r.width + r.orig
	start := 0
	for len(r.buf)-start >= win {
		x := r.buf[start : start+win]
		for k := range r.phases {
			if limit >= 0 && r.outLen >= limit {
				break
			}
			p := &r.phases[k]
			var acc float64
			xs := x[p.first : p.first+len(p.taps)]
			for i, t := range p.taps {
				acc += t * float64(xs[i])
			}
			dst = append(dst, float32(acc))
			r.outLen++
		}
		start += r.orig
		if limit >= 0 && r.outLen >= limit {
			break
		}
	}
	if start > 0 {
		n := copy(r.buf, r.buf[start:])
		r.buf = r.buf[:n]
	}
	return dst
}

// Resample converts a whole signal from rate from to rate to with torchaudio's default filter.
func Resample(in []float32, from, to int) ([]float32, error) {
	r, err := NewResampler(from, to, Options{})
	if err != nil {
		return nil, err
	}
	out := make([]float32, 0, r.OutputLen(int64(len(in))))
	out = r.Process(out, in)
	return r.Flush(out), nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Interpolator estimates a signal between its samples with the same band-limited filter, for
// true-peak detection (ITU-R BS.1770-4 Annex 2 oversamples 4×): the value at time n + k/Factor is
// Σ_j Taps[k][j]·x[n+Offsets[k]+j], for k in [0, Factor).
type Interpolator struct {
	Factor  int
	Taps    [][]float64
	Offsets []int
	// Reach is how far, in samples on either side of n, the taps look.
	Reach int
	// Gain is the largest sum of absolute taps over the phases: no interpolated value exceeds
	// Gain times the largest |x| within Reach.
	Gain float64
}

// NewInterpolator returns the factor× interpolator of torchaudio's default filter.
func NewInterpolator(factor int) (Interpolator, error) {
	if factor < 1 || factor > 64 {
		return Interpolator{}, fmt.Errorf("dsp: interpolation factor %d is outside 1-64", factor)
	}
	phases, width := kernel(1, factor, 6, 0.99)
	ip := Interpolator{Factor: factor}
	for _, p := range phases {
		off := p.first - width
		ip.Taps = append(ip.Taps, p.taps)
		ip.Offsets = append(ip.Offsets, off)
		ip.Reach = max(ip.Reach, -off, off+len(p.taps)-1)
		var l1 float64
		for _, t := range p.taps {
			l1 += math.Abs(t)
		}
		ip.Gain = max(ip.Gain, l1)
	}
	return ip, nil
}
