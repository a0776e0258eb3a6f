package audio

import (
	"math"

	"github.com/viettts-studio/studio/inference/dsp"
)

// Limiter applies a fixed gain and then keeps the true peak of the stream under a ceiling.
//
// Peaks are detected on a 4× oversampled copy (the band-limited resampler of inference/dsp), so
// peaks between samples, the ones a decoder or a DAC reconstructs, are caught as BS.1770-4 Annex 2
// asks. The gain curve is the minimum of the required gains over ±lookahead, smoothed by a moving
// average half as long, so the gain never exceeds what any nearby peak needs, and it recovers with a
// release time. Output lags input by the lookahead; Close flushes it. The output has exactly as many
// samples as the input.
type Limiter struct {
	gain    float64
	ceiling float64
	look    int     // lookahead radius L of the minimum filter
	avg     int     // half length of the moving average (L/2)
	release float64 // per-sample recovery coefficient
	over    *dsp.Resampler
	out     func([]float32) error

	ys     []float32 // oversampled output not yet consumed
	xq     []float64 // gained samples awaiting a peak measurement
	x      []float64 // gained samples with a required gain, not yet output (index base)
	r      []float64 // required gain per sample in x
	h      []float64 // windowed minimum of r, from base to hNext
	dq     []int64   // indices of r, increasing values: the sliding minimum's candidates
	hNext  int64     // next index of h to compute
	rNext  int64     // next index of r to enter the deque
	sum    float64   // sum of h over the current averaging window
	base   int64     // stream index of x[0] and r[0]
	nIn    int64     // samples received
	nOut   int64     // samples written
	g      float64   // last applied gain
	buf    []float32
	closed bool

	// Reduced counts the samples whose gain was lowered (for reports).
	Reduced int64
	// PeakIn is the highest true peak seen before limiting (linear, after the fixed gain).
	PeakIn float64
}

// NewLimiter returns a limiter for a stream at rate Hz that multiplies by gain and keeps true peaks
// under ceiling (linear, e.g. math.Pow(10, -3.0/20) for -3 dBTP), writing to out.
func NewLimiter(rate int, gain, ceiling float64, out func([]float32) error) (*Limiter, error) {
	over, err := dsp.NewResampler(rate, 4*rate, dsp.Options{})
	if err != nil {
		return nil, err
	}
	look := max(rate/1000*3/2, 8) // 1.5 ms
	return &Limiter{
		gain: gain, ceiling: ceiling, look: look, avg: look / 2,
		release: 1 - math.Exp(-1/(0.05*float64(rate))), // 50 ms
		over:    over, out: out, g: 1,
	}, nil
}

// Write processes samples.
func (l *Limiter) Write(p []float32) error {
	const chunk = 4096
	for len(p) > 0 {
		n := min(len(p), chunk)
		in := p[:n]
		p = p[n:]
		scaled := l.buf[:0]
		for _, v := range in {
			x := float64(v) * l.gain
			l.xq = append(l.xq, x)
			scaled = append(scaled, float32(x))
		}
		l.nIn += int64(n)
		l.ys = l.over.Process(l.ys, scaled)
		l.buf = scaled
		l.measure()
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
	l.ys = l.over.Flush(l.ys)
	l.measure()
	return l.emit(true)
}

// measure turns each queued sample with its four oversampled values into a required gain.
func (l *Limiter) measure() {
	k := 0
	i := 0
	for ; i < len(l.xq) && k+4 <= len(l.ys); i++ {
		x := l.xq[i]
		p := math.Abs(x)
		for _, y := range l.ys[k : k+4] {
			p = math.Max(p, math.Abs(float64(y)))
		}
		k += 4
		if p > l.PeakIn {
			l.PeakIn = p
		}
		r := 1.0
		if p > l.ceiling {
			r = l.ceiling / p
		}
		l.x = append(l.x, x)
		l.r = append(l.r, r)
	}
	l.xq = l.xq[:copy(l.xq, l.xq[i:])]
	l.ys = l.ys[:copy(l.ys, l.ys[k:])]
}

// emit writes every sample whose gain is determined. h[m], the minimum required gain over
// [m-look, m+look], needs required gains up to m+look (a monotonic deque keeps it O(1) per sample);
// sample n's gain averages h over [n-avg, n+avg]. At the end of the stream, and before its start,
// missing gains count as 1.
func (l *Limiter) emit(final bool) error {
	known := l.base + int64(len(l.r)) // required gains known for [0, known)
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
	hval := func(m int64) float64 {
		if m < 0 || m >= l.hNext {
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
	// Drop what no later window looks back at.
	keep := min(l.nOut-avg-1, l.hNext-look-1)
	if len(l.dq) > 0 {
		keep = min(keep, l.dq[0])
	}
	if drop := keep - l.base; drop > 4096 {
		l.x = l.x[:copy(l.x, l.x[drop:])]
		l.r = l.r[:copy(l.r, l.r[drop:])]
		l.h = l.h[:copy(l.h, l.h[drop:])]
		l.base += drop
	}
	return nil
}
