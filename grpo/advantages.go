package grpo

import (
	"fmt"
	"math"
)

// GroupAdvantages turns rewards into group-relative advantages (DeepSeekMath GRPO, arXiv 2402.03300, §4.1.2
// "outcome supervision"):
//
//	A_i = (r_i − mean_{g(i)}(r)) / (σ + ε)
//
// where g(i) is the group of completions for the same prompt (groupSize consecutive rewards) and σ depends on scale:
//   - [ScaleGroup]: σ = std of the group g(i), as in DeepSeekMath;
//   - [ScaleBatch]: σ = std of all rewards of the batch, the baseline still the group mean (TRL scale_rewards="batch",
//     the robust scaling suggested by Dr. GRPO's analysis of the per-group std bias);
//   - [ScaleNone]: no division, A_i = r_i − mean (Dr. GRPO, arXiv 2503.20783, §3.1); ε is then unused.
//
// std is the sample (unbiased, n−1) standard deviation, as torch.std and TRL's nanstd compute it; a set of one reward
// has std 0, as in TRL when num_generations = 1. TRL fixes ε = 1e-4. A group whose rewards are all equal gets A = 0
// (also with ε = 0).
func GroupAdvantages(rewards []float64, groupSize int, scale Scaling, eps float64) ([]float64, error) {
	if groupSize < 1 || len(rewards)%groupSize != 0 {
		return nil, fmt.Errorf("%w: %d rewards do not split into groups of %d", errLayout, len(rewards), groupSize)
	}
	if !(eps >= 0) {
		return nil, fmt.Errorf("grpo: advantage epsilon %g: want >= 0", eps)
	}
	batchStd := SampleStd(rewards)
	adv := make([]float64, len(rewards))
	for g := 0; g < len(rewards); g += groupSize {
		group := rewards[g : g+groupSize]
		mean := 0.0
		for _, r := range group {
			mean += r
		}
		mean /= float64(groupSize)
		var div float64
		switch scale {
		case ScaleGroup:
			div = SampleStd(group) + eps
		case ScaleBatch:
			div = batchStd + eps
		case ScaleNone:
			div = 1
		default:
			return nil, fmt.Errorf("grpo: grpo.scale_rewards %q: want group, batch or none", scale)
		}
		for i, r := range group {
			if div != 0 { // ε = 0 and a uniform group: no signal, A = 0 rather than 0/0
				adv[g+i] = (r - mean) / div
			}
		}
	}
	return adv, nil
}

// SampleStd is the unbiased standard deviation sqrt(Σ(x − x̄)² / (n − 1)) (torch.std's default); 0 for n < 2.
func SampleStd(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	ss := 0.0
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss / float64(len(x)-1))
}

// KLPenalizedRewards puts the KL penalty in the reward instead of the loss (grpo.kl_in: reward), as PPO-RLHF does
// (Stiennon et al. 2020; InstructGPT, Ouyang et al. 2022; verl use_kl_in_reward), for an outcome reward:
//
//	r'_i = r_i − β · Σ_{t ∈ y_i, mask_t} KL_t(π_θ ‖ π_ref)
//
// with KL_t the chosen estimator ([KL]) at the sampled token. logp are the sampling policy's log-probs; the result
// carries no gradient and feeds [GroupAdvantages].
func KLPenalizedRewards(rewards []float64, est KLEstimator, beta float64, logp, ref []float64, mask []bool, lens []int) ([]float64, error) {
	if err := est.check(); err != nil {
		return nil, err
	}
	if len(rewards) != len(lens) || len(ref) != len(logp) {
		return nil, fmt.Errorf("%w: %d rewards, %d sequences, %d log-probs, %d reference log-probs",
			errLayout, len(rewards), len(lens), len(logp), len(ref))
	}
	if err := checkPacked(len(logp), mask, lens); err != nil {
		return nil, err
	}
	out := make([]float64, len(rewards))
	t := 0
	for i, l := range lens {
		sum := 0.0
		for end := t + l; t < end; t++ {
			if on(mask, t) {
				k, _ := KL(est, logp[t], ref[t])
				sum += k
			}
		}
		out[i] = rewards[i] - beta*sum
	}
	return out, nil
}

// OverlongPenalty is DAPO's soft overlong punishment (arXiv 2503.14476, eq. 13), a reward added to the task reward
// of a completion of length |y|, with L_max the max completion length and L_cache the soft punishment interval:
//
//	R_length(y) = 0                                  if |y| ≤ L_max − L_cache
//	            = ((L_max − L_cache) − |y|) / L_cache  if L_max − L_cache < |y| ≤ L_max
//	            = −1                                 if |y| > L_max
//
// This is TRL's get_soft_overlong_punishment.
func OverlongPenalty(length, maxLen, cache int) float64 {
	switch {
	case length <= maxLen-cache:
		return 0
	case length <= maxLen:
		return float64(maxLen-cache-length) / float64(cache)
	default:
		return -1
	}
}

// UniformGroups reports, per group of groupSize consecutive rewards, whether all its rewards are equal. Such a group
// has zero advantage everywhere and no gradient; DAPO's dynamic sampling (arXiv 2503.14476, §3.2) drops it and
// samples more prompts to refill the batch. Equality is exact: rewards are compared as computed.
func UniformGroups(rewards []float64, groupSize int) ([]bool, error) {
	if groupSize < 1 || len(rewards)%groupSize != 0 {
		return nil, fmt.Errorf("%w: %d rewards do not split into groups of %d", errLayout, len(rewards), groupSize)
	}
	out := make([]bool, len(rewards)/groupSize)
	for g := range out {
		group := rewards[g*groupSize : (g+1)*groupSize]
		out[g] = true
		for _, r := range group[1:] {
			if r != group[0] {
				out[g] = false
				break
			}
		}
	}
	return out, nil
}
