package policy

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Penalties are the logit adjustments of the public serving APIs (repetition
// penalties and biases), applied to the logits before temperature and
// truncation, as vLLM applies them:
//
//   - Repetition (vLLM's and transformers' repetition_penalty): the logit of
//     every token that occurs in the prompt or the output so far is divided
//     by it when positive and multiplied by it when negative, once per
//     distinct token. 0 and 1 are off.
//   - Frequency (OpenAI's frequency_penalty): subtracted from the logit of a
//     token once for every time it occurs in the output so far.
//   - Presence (OpenAI's presence_penalty): subtracted once from the logit of
//     every token that occurs in the output so far.
//   - Bias (OpenAI's logit_bias): added to the logit of each listed id,
//     before the penalties (vLLM's order).
//
// Reported log-probabilities stay those of the unpenalised logits (vLLM's
// default, raw log-probabilities); a request that asks for the sampled
// distribution's log-probabilities cannot carry penalties, because no
// trainer recomputes a penalised distribution.
type Penalties struct {
	Repetition float64
	Frequency  float64
	Presence   float64
	Bias       map[int]float64
}

// Active reports whether any penalty or bias changes the logits.
func (p Penalties) Active() bool {
	return p.repeats() || p.Frequency != 0 || p.Presence != 0 || len(p.Bias) > 0
}

// repeats reports whether the repetition penalty is on (0 and 1 are off).
func (p Penalties) repeats() bool { return p.Repetition != 0 && p.Repetition != 1 }

// Validate checks the ranges the APIs allow: OpenAI's [-2, 2] for frequency
// and presence, a positive repetition penalty (0 meaning off), and biases in
// [-100, 100] on ids of the vocabulary.
func (p Penalties) Validate(vocab int) error {
	ids := slices.Sorted(maps.Keys(p.Bias)) // the same error for the same request
	for _, id := range ids {
		switch b := p.Bias[id]; {
		case id < 0 || id >= vocab:
			return fmt.Errorf("logit_bias: token %d is outside the vocabulary [0, %d)", id, vocab)
		case !(b >= -100 && b <= 100): // NaN included
			return fmt.Errorf("logit_bias: the bias of token %d, %g, is not in [-100, 100]", id, b)
		}
	}
	switch {
	case !(p.Frequency >= -2 && p.Frequency <= 2):
		return fmt.Errorf("frequency_penalty: %g is not in [-2, 2]", p.Frequency)
	case !(p.Presence >= -2 && p.Presence <= 2):
		return fmt.Errorf("presence_penalty: %g is not in [-2, 2]", p.Presence)
	case !(p.Repetition >= 0) || math.IsInf(p.Repetition, 1):
		return fmt.Errorf("repetition_penalty: must be positive, got %g", p.Repetition)
	}
	return nil
}

// penaltyState is one sequence's token history for its penalties. Its
// buffers are allocated once per sequence, so applying allocates nothing.
type penaltyState struct {
	Penalties
	counts   []int32   // occurrences of each id in the output so far
	inPrompt []bool    // ids of the prompt (repetition penalty only)
	seen     []int32   // distinct ids of the prompt and the output, in first-seen order
	biasIDs  []int     // ids of Bias, sorted, so that applying is one ordered pass
	scratch  []float32 // the penalised logits
}

func newPenaltyState(p Penalties, prompt []int, vocab int) *penaltyState {
	s := &penaltyState{Penalties: p, counts: make([]int32, vocab), scratch: make([]float32, vocab)}
	s.biasIDs = slices.Sorted(maps.Keys(p.Bias))
	if p.repeats() {
		s.inPrompt = make([]bool, vocab)
		for _, id := range prompt {
			if id >= 0 && id < vocab && !s.inPrompt[id] {
				s.inPrompt[id] = true
				s.seen = append(s.seen, int32(id))
			}
		}
	}
	return s
}

// apply returns logits with the penalties applied, in the state's scratch
// (logits itself is shared with other samples and the log-probabilities, so
// it is not written). Only the ids seen so far change.
func (s *penaltyState) apply(logits []float32) []float32 {
	out := s.scratch[:len(logits)]
	copy(out, logits)
	for _, id := range s.biasIDs {
		out[id] = float32(float64(out[id]) + s.Bias[id])
	}
	rep := s.repeats()
	for _, id := range s.seen {
		x := float64(out[id])
		if rep {
			if x > 0 {
				x /= s.Repetition
			} else {
				x *= s.Repetition
			}
		}
		if c := s.counts[id]; c > 0 {
			x -= float64(c)*s.Frequency + s.Presence
		}
		out[id] = float32(x)
	}
	return out
}

// accept records a generated token.
func (s *penaltyState) accept(id int) {
	if id < 0 || id >= len(s.counts) {
		return
	}
	if s.counts[id] == 0 && (s.inPrompt == nil || !s.inPrompt[id]) {
		s.seen = append(s.seen, int32(id))
	}
	s.counts[id]++
}
