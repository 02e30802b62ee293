package bt

import (
	"math"

	"github.com/rft-dev/rft/policy"
)

// The scalar head and the Bradley-Terry loss as pure functions over flat
// slices, generic so that their gradients are checked in float64.
//
// Pooling: the reward reads the final-norm hidden state of the LAST token of
// prompt+completion+EOS. In a causal decoder that is the one position that
// has attended to the whole response (and its end), which is the choice of
// transformers' *ForSequenceClassification (last non-padding token) and of
// InstructGPT-style reward models; mean pooling would weigh the prompt,
// shared by both responses of a pair, as much as the responses themselves.
//
// The head's parameters are one buffer of d+1 values: w = head[:d], b =
// head[d]. The Bradley-Terry loss depends on reward differences only, so b
// gets no gradient and stays at its initial 0; it is kept so that a reward
// can be offset without changing the format.

// lastPositions returns the index of each sequence's last token in a packed
// batch.
func lastPositions(lens []int) []int {
	last := make([]int, len(lens))
	off := 0
	for i, l := range lens {
		off += l
		last[i] = off - 1
	}
	return last
}

// headForward writes r[i] = w·hidden[last[i]] + b; hidden is [n, d].
func headForward[T policy.Float](r, hidden []T, last []int, head []T, d int) {
	w, b := head[:d], head[d]
	for i, t := range last {
		h := hidden[t*d : (t+1)*d]
		var s T
		for k, x := range h {
			s += w[k] * x
		}
		r[i] = s + b
	}
}

// headBackward turns dr (the loss gradient per reward) into gradients: it
// accumulates dhead (dw += dr[i]·h_last, db += dr[i]) and, when dhidden is
// non-nil, writes dr[i]·w into the rows last[i] of dhidden (the caller zeroes
// the other rows).
func headBackward[T policy.Float](dhidden, dhead, dr, hidden []T, last []int, head []T, d int) {
	w := head[:d]
	for i, t := range last {
		g := dr[i]
		h := hidden[t*d : (t+1)*d]
		for k, x := range h {
			dhead[k] += g * x
		}
		dhead[d] += g
		if dhidden != nil {
			row := dhidden[t*d : (t+1)*d]
			for k := range row {
				row[k] = g * w[k]
			}
		}
	}
}

// pairLoss is the Bradley-Terry loss of rewards laid out as pairs, r[2i]
// the chosen and r[2i+1] the rejected response of pair i:
//
//	L = Σ_i −log σ(r[2i] − r[2i+1]) / normalizer
//
// (Bradley & Terry, 1952; the reward-model loss of Ouyang et al., 2022). It
// writes dL/dr into dr and returns the unnormalised sum of the pair losses
// and the number of pairs whose chosen reward is strictly higher (a tie
// counts as wrong, as the paper's agreement does). Computed in float64:
// −log σ(m) = softplus(−m) = max(−m, 0) + log1p(e^{−|m|}), stable for any m.
func pairLoss[T policy.Float](dr, r []T, normalizer float64) (sum float64, correct int) {
	for i := 0; i+1 < len(r); i += 2 {
		m := float64(r[i]) - float64(r[i+1])
		sum += max(-m, 0) + math.Log1p(math.Exp(-math.Abs(m)))
		if m > 0 {
			correct++
		}
		// d/dm softplus(−m) = −σ(−m)
		g := sigmoid(-m) / normalizer
		if dr != nil {
			dr[i], dr[i+1] = T(-g), T(g)
		}
	}
	return sum, correct
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}
