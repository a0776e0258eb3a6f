package audio

import (
	"fmt"
	"math"
	"strings"
)

// Preset is a loudness target: integrated loudness and a true-peak ceiling.
type Preset struct {
	Name string
	// LUFS is the target integrated loudness (ITU-R BS.1770-4, gated).
	LUFS float64
	// CeilingDBTP is the highest true peak allowed, in dBTP.
	CeilingDBTP float64
}

// The loudness presets. ACX (Audible) asks for RMS between -23 and -18 dB and peaks under -3 dB;
// -20 LUFS integrated sits in the middle of that window for speech, with a -3 dBTP ceiling.
var (
	PresetACX     = Preset{Name: "acx", LUFS: -20, CeilingDBTP: -3}
	PresetPodcast = Preset{Name: "podcast", LUFS: -16, CeilingDBTP: -1}
	PresetEBU     = Preset{Name: "ebu", LUFS: -23, CeilingDBTP: -1}
)

// Presets lists the presets by name.
var Presets = []Preset{PresetACX, PresetPodcast, PresetEBU}

// PresetByName finds a preset ("acx", "audiobook" is an alias of acx, "podcast", "ebu"); "off" and ""
// return ok with a zero Preset, meaning no normalization.
func PresetByName(name string) (Preset, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "", "off", "none":
		return Preset{}, nil
	case "audiobook":
		n = "acx"
	}
	for _, p := range Presets {
		if p.Name == n {
			return p, nil
		}
	}
	return Preset{}, fmt.Errorf("unknown loudness preset %q: use acx, podcast, ebu or off", name)
}

// Enabled reports whether the preset asks for normalization.
func (p Preset) Enabled() bool { return p.Name != "" }

// biquad is a direct form I second-order section.
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

func (f *biquad) step(x float64) float64 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	f.x2, f.x1 = f.x1, x
	f.y2, f.y1 = f.y1, y
	return y
}

// kWeighting returns BS.1770's two-stage K filter (high shelf, then high pass) for any sample rate,
// derived from the analog prototype the standard's 48 kHz coefficients come from.
func kWeighting(rate int) (shelf, highpass biquad) {
	fs := float64(rate)
	f0, g, q := 1681.974450955533, 3.999843853973347, 0.7071752369554196
	k := math.Tan(math.Pi * f0 / fs)
	vh := math.Pow(10, g/20)
	vb := math.Pow(vh, 0.4996667741545416)
	a0 := 1 + k/q + k*k
	shelf = biquad{
		b0: (vh + vb*k/q + k*k) / a0, b1: 2 * (k*k - vh) / a0, b2: (vh - vb*k/q + k*k) / a0,
		a1: 2 * (k*k - 1) / a0, a2: (1 - k/q + k*k) / a0,
	}
	f0, q = 38.13547087602444, 0.5003270373238773
	k = math.Tan(math.Pi * f0 / fs)
	a0 = 1 + k/q + k*k
	highpass = biquad{b0: 1, b1: -2, b2: 1, a1: 2 * (k*k - 1) / a0, a2: (1 - k/q + k*k) / a0}
	return shelf, highpass
}

// Meter measures the integrated loudness of a mono stream per ITU-R BS.1770-4: K-weighting, mean
// square over 400 ms blocks every 100 ms, an absolute gate at -70 LUFS and a relative gate 10 LU
// under the loudness of the blocks that pass the absolute gate. It keeps one float per 100 ms
// (29 KB per hour of audio), so even a 20-hour book is measured in constant, small memory.
type Meter struct {
	shelf, hp biquad
	hop       int       // samples per 100 ms
	sub       []float64 // energy of the last four 100 ms sub-blocks
	acc       float64   // energy of the current sub-block
	n         int       // samples in the current sub-block
	filled    int       // sub-blocks seen
	blocks    []float32 // mean square of every complete 400 ms block
}

// NewMeter returns a meter for a stream at rate Hz.
func NewMeter(rate int) *Meter {
	m := &Meter{hop: rate / 10, sub: make([]float64, 4)}
	m.shelf, m.hp = kWeighting(rate)
	return m
}

// Write adds samples to the measurement.
func (m *Meter) Write(p []float32) {
	for _, v := range p {
		y := m.hp.step(m.shelf.step(float64(v)))
		m.acc += y * y
		m.n++
		if m.n == m.hop {
			copy(m.sub, m.sub[1:])
			m.sub[3] = m.acc
			m.acc, m.n = 0, 0
			m.filled++
			if m.filled >= 4 {
				e := (m.sub[0] + m.sub[1] + m.sub[2] + m.sub[3]) / float64(4*m.hop)
				m.blocks = append(m.blocks, float32(e))
			}
		}
	}
}

// Integrated returns the gated integrated loudness in LUFS, or -Inf if the stream is silent or
// shorter than one 400 ms block.
func (m *Meter) Integrated() float64 {
	const absGate = -70.0
	loud := func(e float64) float64 { return -0.691 + 10*math.Log10(e) }
	var sum float64
	var n int
	for _, e := range m.blocks {
		if loud(float64(e)) > absGate {
			sum += float64(e)
			n++
		}
	}
	if n == 0 {
		return math.Inf(-1)
	}
	rel := loud(sum/float64(n)) - 10
	sum, n = 0, 0
	for _, e := range m.blocks {
		if l := loud(float64(e)); l > absGate && l > rel {
			sum += float64(e)
			n++
		}
	}
	if n == 0 {
		return math.Inf(-1)
	}
	return loud(sum / float64(n))
}

// Gain is the linear gain that brings measured loudness lufs to the preset's target; 1 when
// the preset is off or the audio is silent.
func (p Preset) Gain(lufs float64) float64 {
	if !p.Enabled() || math.IsInf(lufs, 0) || math.IsNaN(lufs) {
		return 1
	}
	return math.Pow(10, (p.LUFS-lufs)/20)
}

// DB converts a linear amplitude to decibels.
func DB(v float64) float64 { return 20 * math.Log10(v) }
