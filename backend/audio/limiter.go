package audio

import (
	"math"

	"github.com/viettts-studio/studio/inference/dsp"
)

// Limiter applies a fixed gain and then keeps the true peak of the stream under a ceiling.
//
// Peaks are detected 4× oversampled (the band-limited interpolator of inference/dsp), so peaks
// between samples, the ones a decoder or a DAC reconstructs, are caught as BS.1770-4 Annex 2 asks.
// Where the loudest sample nearby, times the interpolator's gain, cannot reach the ceiling, the
// interpolation is skipped: quiet passages cost almost nothing. The gain curve is the minimum of the
// required gains over ±lookahead, smoothed by a moving average half as long, so the gain never
// exceeds what any nearby peak needs, and it recovers with a release time. Output lags input by
// the lookahead; Close flushes it. The output has exactly as many samples as the input.
type Limiter struct {
	gain    float64
	ceiling float64
	look    int     // lookahead radius L of the minimum filter
	avg     int     // half length of the moving average (L/2)
	release float64 // per-sample recovery coefficient
	ip      dsp.Interpolator
	quiet   float64 // |x| bound under which no interpolated value reaches the ceiling
	out     func([]float32) error

	x      []float64 // gained samples from index base
	r      []float64 // required gain per sample, from base to rEnd
	h      []float64 // windowed minimum of r, from base to hNext
	bmax   []float64 // max |x| per block of 64 samples, from block base/64
	dq     []int64   // indices of r, increasing values: the sliding minimum's candidates
	rEnd   int64     // next index of r to compute
	hNext  int64     // next index of h to compute
	rNext  int64     // next index of r to enter the deque
	sum    float64   // sum of h over the current averaging window
	base   int64     // stream index of x[0], r[0], h[0]; a multiple of 64
	nIn    int64     // samples received
	nOut   int64     // samples written
	g      float64   // last applied gain
	buf    []float32
	closed bool

	// Reduced counts the samples whose gain was lowered (for reports).
	Reduced int64
	// PeakIn is the highest true peak before limiting (linear, after the fixed gain). It is exact
	// when it comes within 6 dB of the ceiling; under that, quiet audio is not oversampled and
	// PeakIn is its sample peak.
	PeakIn float64
}

const limBlock = 64

// NewLimiter returns a limiter for a stream at rate Hz that multiplies by gain and keeps true peaks
// under ceiling (linear, e.g. math.Pow(10, -3.0/20) for -3 dBTP), writing to out.
func NewLimiter(rate int, gain, ceiling float64, out func([]float32) error) (*Limiter, error) {
	ip, err := dsp.NewInterpolator(4)
	if err != nil {
		return nil, err
	}
	look := max(rate/1000*3/2, 8) // 1.5 ms
	return &Limiter{
		gain: gain, ceiling: ceiling, look: look, avg: look / 2,
		release: 1 - math.Exp(-1/(0.05*float64(rate))), // 50 ms
		ip:      ip, quiet: ceiling / 2 / ip.Gain,
		out: out, g: 1,
	}, nil
}

// Write processes samples.
func (l *Limiter) Write(p []float32) error {
	const chunk = 4096
	for len(p) > 0 {
		n := min(len(p), chunk)
		for _, v := range p[:n] {
			x := float64(v) * l.gain
			b := int((l.nIn - l.base) / limBlock)
			if b == len(l.bmax) {
				l.bmax = append(l.bmax, 0)
			}
			l.bmax[b] = math.Max(l.bmax[b], math.Abs(x))
			l.x = append(l.x, x)
			l.nIn++
		}
		p = p[n:]
		l.measure(false)
		if err := l.emit(false); err != nil {
			return err
		}
	}
	return nil
}

// Close flushes the samples held for lookahead.
func (l *Limiter) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	l.measure(true)
	return l.emit(true)
}

// xAt is gained sample i; silence outside the stream.
func (l *Limiter) xAt(i int64) float64 {
	if i < 0 || i >= l.nIn {
		return 0
	}
	return l.x[i-l.base]
}

// measure computes the required gain of every sample whose interpolation window is complete.
func (l *Limiter) measure(final bool) {
	reach := int64(l.ip.Reach)
	end := l.nIn - reach
	if final {
		end = l.nIn
	}
	for n := l.rEnd; n < end; n++ {
		p := math.Abs(l.x[n-l.base])
		// The window [n-reach, n+reach] lies in at most three blocks around n's.
		b := (n - l.base) / limBlock
		near := l.bmax[b]
		if b > 0 {
			near = math.Max(near, l.bmax[b-1])
		}
		if b+1 < int64(len(l.bmax)) {
			near = math.Max(near, l.bmax[b+1])
		}
		if near >= l.quiet {
			for k := 1; k < l.ip.Factor; k++ {
				var v float64
				at := n + int64(l.ip.Offsets[k])
				for j, t := range l.ip.Taps[k] {
					v += t * l.xAt(at+int64(j))
				}
				p = math.Max(p, math.Abs(v))
			}
		}
		if p > l.PeakIn {
			l.PeakIn = p
		}
		r := 1.0
		if p > l.ceiling {
			r = l.ceiling / p
		}
		l.r = append(l.r, r)
	}
	l.rEnd = max(l.rEnd, end)
}

// emit writes every sample whose gain is determined. h[m], the minimum required gain over
// [m-look, m+look], needs required gains up to m+look (a monotonic deque keeps it O(1) per sample);
// sample n's gain averages h over [n-avg, n+avg].
func (l *Limiter) emit(final bool) error {
	known := l.rEnd // required gains known for [0, known)
	look, avg := int64(l.look), int64(l.avg)
	hEnd := known - look
	if final {
		hEnd = known
	}
	for ; l.hNext < hEnd; l.hNext++ {
		m := l.hNext
		for ; l.rNext <= m+look && l.rNext < known; l.rNext++ {
			v := l.r[l.rNext-l.base]
			for len(l.dq) > 0 && l.r[l.dq[len(l.dq)-1]-l.base] >= v {
				l.dq = l.dq[:len(l.dq)-1]
			}
			l.dq = append(l.dq, l.rNext)
		}
		for l.dq[0] < m-look {
			l.dq = l.dq[1:]
		}
		l.h = append(l.h, l.r[l.dq[0]-l.base])
	}
	// Before the stream and past its end, h is taken from the nearest edge: that window holds
	// every required gain the missing one would, so the gain stays under all of them.
	hval := func(m int64) float64 {
		m = max(0, min(m, l.hNext-1))
		if m < 0 {
			return 1
		}
		return l.h[m-l.base]
	}
	gEnd := l.hNext - avg
	if final {
		gEnd = l.nIn
	}
	out := l.buf[:0]
	for n := l.nOut; n < gEnd; n++ {
		if n%65536 == 0 { // start, and now and then to stop rounding drift
			l.sum = 0
			for m := n - avg; m <= n+avg; m++ {
				l.sum += hval(m)
			}
		} else {
			l.sum += hval(n+avg) - hval(n-avg-1)
		}
		g := math.Min(1, l.sum/float64(2*avg+1))
		if rise := l.g + (1-l.g)*l.release; g > rise {
			g = rise
		}
		if g < 1 {
			l.Reduced++
		}
		l.g = g
		out = append(out, float32(l.x[n-l.base]*g))
	}
	if len(out) > 0 {
		l.nOut += int64(len(out))
		if err := l.out(out); err != nil {
			return err
		}
	}
	l.buf = out
	// Drop what no later window looks back at, in whole blocks.
	keep := min(l.nOut-avg-1, l.hNext-look-1, l.rEnd-int64(l.ip.Reach)-limBlock)
	if len(l.dq) > 0 {
		keep = min(keep, l.dq[0])
	}
	if drop := (keep - l.base) / limBlock * limBlock; drop > 16*limBlock {
		l.x = l.x[:copy(l.x, l.x[drop:])]
		l.r = l.r[:copy(l.r, l.r[drop:])]
		l.h = l.h[:copy(l.h, l.h[drop:])]
		l.bmax = l.bmax[:copy(l.bmax, l.bmax[drop/limBlock:])]
		l.base += drop
	}
	return nil
}
