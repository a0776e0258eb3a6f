package player

import "math"

// stretcher changes the speed of speech without changing its pitch (WSOLA: waveform-similarity
// overlap-add). Output advances in hops of hop samples; for each hop the input advances
// hop·rate, and the frame taken from the input is shifted by up to ±search samples to where it
// best continues the waveform already written, so pitch periods line up and no phasing is heard.
// Frames are Hann-windowed with 50 % overlap, which sums to one.
type stretcher struct {
	frame, hop, search int
	window             []float64
	ola                []float64 // overlap-add accumulator, frame long
	out                []float64 // finished samples not yet played
	prev               int       // start (in item samples) of the last frame taken; valid if started
	started            bool
	buf                []float64
}

func newStretcher(rate int) *stretcher {
	frame := rate / 50 // 20 ms: longer than two pitch periods of any voice
	frame -= frame % 2
	s := &stretcher{frame: frame, hop: frame / 2, search: rate / 200, ola: make([]float64, frame)}
	s.window = make([]float64, frame)
	for i := range s.window {
		s.window[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(frame))
	}
	return s
}

// reset forgets the waveform so far (after a seek or a rate change).
func (s *stretcher) reset() {
	clear(s.ola)
	s.out = s.out[:0]
	s.started = false
}

// shift moves the remembered frame start when the player moves to the next item (positions are
// relative to the current item).
func (s *stretcher) shift(by int) { s.prev -= by }

// step takes one frame from the input at about pos and appends hop samples to s.out. get reads
// input sample i (relative to the current item; any index is allowed).
func (s *stretcher) step(pos int, get func(lo, hi int, dst []float64) []float64) {
	best := pos
	if s.started {
		// Compare candidates against the natural continuation of the previous frame.
		next := s.prev + s.hop
		lo := min(pos-s.search, next)
		hi := max(pos+s.search+s.frame, next+s.frame)
		s.buf = get(lo, hi, s.buf[:0])
		x := s.buf
		target := x[next-lo : next-lo+s.frame]
		bestScore := math.Inf(-1)
		for d := -s.search; d <= s.search; d++ {
			c := x[pos+d-lo : pos+d-lo+s.frame]
			var dot, energy float64
			for i := 0; i < s.frame; i += 2 { // every other sample is plenty for speech
				dot += c[i] * target[i]
				energy += c[i] * c[i]
			}
			score := dot / math.Sqrt(energy+1e-9)
			if score > bestScore {
				bestScore, best = score, pos+d
			}
		}
	}
	s.buf = get(best, best+s.frame, s.buf[:0])
	for i, v := range s.buf {
		s.ola[i] += v * s.window[i]
	}
	s.out = append(s.out, s.ola[:s.hop]...)
	copy(s.ola, s.ola[s.hop:])
	clear(s.ola[s.frame-s.hop:])
	s.prev, s.started = best, true
}
