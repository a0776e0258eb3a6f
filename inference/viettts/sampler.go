package viettts

import (
	"math"
	"math/rand/v2"
)

// Sampling parameters of VietTTS's LLM (MODEL.md §5.3, CosyVoice's ras_sampling defaults).
const (
	topP      = 0.8
	topK      = 25
	repWindow = 10
	repTau    = 0.1
	// eosRetries bounds the "resample until not EOS" loop below the minimum length; after that many
	// EOS draws in a row EOS is excluded outright (upstream loops forever on a model that only
	// wants to stop).
	eosRetries = 100
)

// sampler draws speech tokens the way VietTTS does: nucleus sampling (top-p 0.8 with at least two
// candidates, at most 25), and, when the drawn token already occurs in the last 10 emitted tokens,
// a redraw from the full distribution (repetition-aware sampling). It owns its scratch buffers, so
// a step allocates nothing. One sampler serves one segment, with that segment's generator.
type sampler struct {
	rng   *rand.Rand
	probs []float64 // softmax of the step's log-probabilities
	// top holds the candidate ids in descending probability (ties: lower id first), at most topK.
	top []int
}

func newSampler(rng *rand.Rand, vocab int) *sampler {
	return &sampler{rng: rng, probs: make([]float64, vocab), top: make([]int, 0, topK)}
}

// next returns the next token for log-probabilities logp given the tokens emitted so far;
// allowEOS false forbids token eos (below the minimum length).
func (s *sampler) next(logp []float32, emitted []int, eos int, allowEOS bool) int {
	s.softmax(logp)
	for try := 0; ; try++ {
		id := s.ras(emitted)
		if allowEOS || id != eos {
			return id
		}
		if try >= eosRetries {
			s.probs[eos] = 0
			return s.full()
		}
	}
}

func (s *sampler) ras(emitted []int) int {
	id := s.nucleus()
	win := emitted[max(0, len(emitted)-repWindow):]
	rep := 0
	for _, t := range win {
		if t == id {
			rep++
		}
	}
	if float64(rep) >= repWindow*repTau {
		return s.full()
	}
	return id
}

// softmax fills s.probs with softmax(logp), computed in float64 from the float32 log-probabilities.
func (s *sampler) softmax(logp []float32) {
	m := math.Inf(-1)
	for _, v := range logp {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for i, v := range logp {
		e := math.Exp(float64(v) - m)
		s.probs[i] = e
		sum += e
	}
	for i := range s.probs {
		s.probs[i] /= sum
	}
}

// nucleus keeps the most probable tokens while their cumulative probability is below topP, or
// fewer than two are kept, and fewer than topK are kept; then draws one in proportion to its
// probability.
func (s *sampler) nucleus() int {
	// The topK most probable ids in descending order, stable by id, by insertion.
	top := s.top[:0]
	for id, p := range s.probs {
		if len(top) == topK && p <= s.probs[top[topK-1]] {
			continue
		}
		pos := len(top)
		for pos > 0 && s.probs[top[pos-1]] < p {
			pos--
		}
		if len(top) < topK {
			top = append(top, 0)
		}
		copy(top[pos+1:], top[pos:len(top)-1])
		top[pos] = id
	}
	kept, cum := 0, 0.0
	for kept < len(top) && (cum < topP || kept <= 1) && kept < topK {
		cum += s.probs[top[kept]]
		kept++
	}
	u := s.rng.Float64() * cum
	for _, id := range top[:kept] {
		u -= s.probs[id]
		if u < 0 {
			return id
		}
	}
	return top[kept-1]
}

// full draws from the whole distribution.
func (s *sampler) full() int {
	var sum float64
	for _, p := range s.probs {
		sum += p
	}
	u := s.rng.Float64() * sum
	last := 0
	for id, p := range s.probs {
		if p == 0 {
			continue
		}
		u -= p
		last = id
		if u < 0 {
			return id
		}
	}
	return last
}
