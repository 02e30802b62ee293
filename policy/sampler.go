package policy

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// tokenSampler draws tokens for one sequence. Its scratch is allocated once
// per sequence, so drawing allocates nothing.
//
// The distribution: softmax(logits/T), truncated in turn to the top-k
// tokens (by logit, ties to the lower id), then to the smallest prefix of
// those, in the same order, whose probability renormalised over the top-k
// set reaches top-p, then to the tokens whose probability is at least
// min-p times the most likely one's (as vLLM and HF define min-p). Each
// truncation keeps a prefix of the same order, so the result does not
// depend on how the set is found. The draw is one rng.Float64 per token,
// scanning the kept tokens in that order (or, with no top-k and no top-p, in
// id order, which needs no sort). Greedy (T below GreedyBelow) takes the
// largest logit, the lowest id on ties, and draws nothing.
type tokenSampler struct {
	temperature, topP, minP float64
	topK                    int
	rng                     *rand.Rand
	w                       []float64 // exp((logit − max)/T), per id
	idx                     []int32
	pen                     *penaltyState // nil: no penalties
}

func newTokenSampler(o SampleOptions, rng *rand.Rand) *tokenSampler {
	return &tokenSampler{temperature: o.Temperature, topP: o.TopP, topK: o.TopK, minP: o.MinP, rng: rng}
}

// penalise makes the sampler apply p, with prompt as the history the
// repetition penalty starts from.
func (s *tokenSampler) penalise(p Penalties, prompt []int, vocab int) {
	if p.Active() {
		s.pen = newPenaltyState(p, prompt, vocab)
	}
}

func argmax(logits []float32) int {
	best := 0
	for i, l := range logits {
		if l > logits[best] {
			best = i
		}
	}
	return best
}

// candidateFloors are the relative weights w/w_max above which the sampler
// first looks for the top-k / top-p set, before sorting everything: a
// peaked distribution's nucleus usually lies far above 1e-4 of its mode, and
// sorting a few dozen candidates instead of the whole vocabulary is most of
// a draw's cost. 0 takes every token, so the search always ends.
var candidateFloors = [...]float64{1e-4, 1e-9, 0}

// pick draws one token id from logits [V], after the sequence's penalties.
func (s *tokenSampler) pick(logits []float32) int {
	if s.pen == nil {
		return s.pickFrom(logits)
	}
	t := s.pickFrom(s.pen.apply(logits))
	s.pen.accept(t)
	return t
}

// pickFrom draws one token id from logits [V] as they are.
func (s *tokenSampler) pickFrom(logits []float32) int {
	if s.temperature < GreedyBelow {
		return argmax(logits)
	}
	V := len(logits)
	if cap(s.w) < V {
		s.w, s.idx = make([]float64, V), make([]int32, 0, V)
	}
	w := s.w[:V]
	maxL := float64(logits[argmax(logits)])
	total := 0.0
	for i, l := range logits {
		w[i] = math.Exp((float64(l) - maxL) / s.temperature)
		total += w[i]
	}
	topP := s.topP
	if topP <= 0 || topP >= 1 {
		topP = 0 // off
	}
	topK := s.topK
	if topK >= V {
		topK = 0
	}
	if topK == 0 && topP == 0 {
		// No ordering is needed: keep the tokens at or above min-p and
		// scan in id order.
		kept := total
		if s.minP > 0 {
			kept = 0
			for _, x := range w {
				if x >= s.minP {
					kept += x
				}
			}
		}
		u := s.rng.Float64() * kept
		last := 0
		for i, x := range w {
			if x >= s.minP {
				last = i
				if u -= x; u < 0 {
					return i
				}
			}
		}
		return last
	}
	for _, floor := range candidateFloors {
		idx := s.idx[:0]
		for i, x := range w {
			if x >= floor {
				idx = append(idx, int32(i))
			}
		}
		whole := len(idx) == V
		if topK > 0 && len(idx) < topK && !whole {
			continue // the top-k set reaches below the floor
		}
		slices.SortFunc(idx, func(a, b int32) int {
			if c := cmp.Compare(logits[b], logits[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		keep := len(idx)
		sum := total
		if topK > 0 {
			keep, sum = topK, 0
			for _, id := range idx[:keep] {
				sum += w[id]
			}
		}
		if topP > 0 {
			acc, found := 0.0, false
			for i, id := range idx[:keep] {
				acc += w[id] / sum
				if acc >= topP {
					keep, found = i+1, true
					break
				}
			}
			if !found && topK == 0 && !whole {
				continue // the nucleus reaches below the floor
			}
		}
		for keep > 1 && w[idx[keep-1]] < s.minP {
			keep--
		}
		kept := 0.0
		for _, id := range idx[:keep] {
			kept += w[id]
		}
		u := s.rng.Float64() * kept
		for _, id := range idx[:keep] {
			if u -= w[id]; u < 0 {
				return int(id)
			}
		}
		return int(idx[keep-1])
	}
	panic("unreachable: the last candidate floor takes every token")
}

// topAlternatives writes into dst the n most likely ids of logits (ties to
// the lower id), most likely first, with log-probability
// logit·invT − lse each, and returns dst[:n].
func topAlternatives(dst []TokenAlt, logits []float32, n int, invT, lse float64) []TokenAlt {
	n = min(n, len(logits))
	dst = dst[:0]
	for i, l := range logits {
		if len(dst) == n && l <= logits[dst[n-1].ID] {
			continue
		}
		// insert after every entry with a logit at least l (ties: lower id first)
		j := len(dst)
		if j < n {
			dst = append(dst, TokenAlt{})
		} else {
			j--
		}
		for j > 0 && logits[dst[j-1].ID] < l {
			dst[j] = dst[j-1]
			j--
		}
		dst[j] = TokenAlt{ID: i}
	}
	for k := range dst {
		dst[k].Logprob = float32(float64(logits[dst[k].ID])*invT - lse)
	}
	return dst
}
