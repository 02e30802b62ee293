package grpo

import (
	"fmt"
	"math"
)

// MaskTruncated returns a copy of mask (nil: all on) with every token of each truncated sequence turned off, so a
// completion cut at the max length, whose reward judges an unfinished answer, contributes no gradient
// (DAPO, arXiv 2503.14476, §3.4 "overlong filtering"; TRL mask_truncated_completions).
func MaskTruncated(mask []bool, lens []int, truncated []bool) ([]bool, error) {
	n := 0
	for _, l := range lens {
		n += l
	}
	if err := checkPacked(n, mask, lens); err != nil {
		return nil, err
	}
	if len(truncated) != len(lens) {
		return nil, fmt.Errorf("%w: %d truncation flags for %d sequences", errLayout, len(truncated), len(lens))
	}
	out := make([]bool, n)
	t := 0
	for i, l := range lens {
		for end := t + l; t < end; t++ {
			out[t] = on(mask, t) && !truncated[i]
		}
	}
	return out, nil
}

// ISMode names how the sampler-vs-trainer importance weight is bounded (TRL vllm_importance_sampling_mode).
type ISMode string

// Importance-sampling correction modes.
const (
	ISTokenTruncate    ISMode = "token_truncate"    // TIS: ρ_t = clamp(π_old/π_sampler, C_min, C_max) per token
	ISTokenMask        ISMode = "token_mask"        // MIS: ρ_t, or 0 where it leaves [C_min, C_max]
	ISSequenceTruncate ISMode = "sequence_truncate" // ρ_i = clamp(Π_t π_old/π_sampler, C_min, C_max) per sequence
	ISSequenceMask     ISMode = "sequence_mask"     // ρ_i, or 0 for a sequence whose ratio leaves [C_min, C_max]
)

// ISCorrection returns per-token weights that correct for the sampler (e.g. a remote inference server) not being
// bit-identical to the trainer's π_old: truncated importance sampling (Yao et al. 2025, "Your efficient RL framework
// secretly brings you off-policy RL training") and its masked variant, exactly as TRL computes
// importance_sampling_ratio:
//
//	δ_t = (log π_old(y_t) − log π_sampler(y_t)) · mask_t   (0 where the sampler's log-prob is NaN)
//	ρ_t = exp(δ_t)  (token modes)        ρ_i = exp(Σ_t δ_t)  (sequence modes; the product, not a mean)
//	truncate: min(max(ρ, C_min), C_max)  mask: ρ if C_min ≤ ρ ≤ C_max else 0
//
// cMin = 0 sets no lower bound; cMax = +Inf no upper bound. The weights multiply the policy term of each token in
// [Loss] (Inputs.ISWeights), not the KL term, as in TRL. They carry no gradient.
func ISCorrection(mode ISMode, trainerOld, sampler []float64, mask []bool, lens []int, cMin, cMax float64) ([]float64, error) {
	if len(sampler) != len(trainerOld) {
		return nil, fmt.Errorf("%w: %d trainer log-probs, %d sampler log-probs", errLayout, len(trainerOld), len(sampler))
	}
	if err := checkPacked(len(trainerOld), mask, lens); err != nil {
		return nil, err
	}
	switch mode {
	case ISTokenTruncate, ISTokenMask, ISSequenceTruncate, ISSequenceMask:
	default:
		return nil, fmt.Errorf("grpo: importance-sampling mode %q: want token_truncate, token_mask, sequence_truncate or sequence_mask", mode)
	}
	if !(cMin >= 0 && cMax >= cMin) {
		return nil, fmt.Errorf("grpo: importance-sampling bounds [%g, %g]: want 0 <= C_min <= C_max", cMin, cMax)
	}
	delta := make([]float64, len(trainerOld))
	for t := range delta {
		if on(mask, t) && !math.IsNaN(sampler[t]) {
			delta[t] = trainerOld[t] - sampler[t]
		}
	}
	bound := func(rho float64) float64 {
		if mode == ISTokenTruncate || mode == ISSequenceTruncate {
			return min(max(rho, cMin), cMax)
		}
		if rho < cMin || rho > cMax {
			return 0
		}
		return rho
	}
	out := make([]float64, len(delta))
	if mode == ISTokenTruncate || mode == ISTokenMask {
		for t, d := range delta {
			out[t] = bound(math.Exp(d))
		}
		return out, nil
	}
	t := 0
	for _, l := range lens {
		sum := 0.0
		for _, d := range delta[t : t+l] {
			sum += d
		}
		rho := bound(math.Exp(sum))
		for end := t + l; t < end; t++ {
			out[t] = rho
		}
	}
	return out, nil
}

// MeanEntropy is the mean per-token entropy H(π_θ(·|y_<t)) over the loss tokens, a metric only: a falling entropy
// warns of collapse (DAPO §3.1). The entropies come from the model's forward pass.
func MeanEntropy(entropy []float64, mask []bool) float64 { return MaskedMean(entropy, mask) }
