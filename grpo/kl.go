package grpo

import "math"

// KL returns one sample's estimate of KL(π_θ ‖ π_ref) at a token sampled from π_θ, and its derivative with respect
// to logp = log π_θ(y_t). With d = logp − ref (Schulman, "Approximating KL divergence", 2020):
//
//	k1 = d                        d k1/d logp = 1            unbiased, can be negative
//	k2 = d²/2                     d k2/d logp = d            biased, low variance, ≥ 0
//	k3 = exp(−d) − (−d) − 1       d k3/d logp = 1 − exp(−d)  unbiased, ≥ 0 (DeepSeekMath GRPO eq. 4)
//
// k3 is written as DeepSeekMath writes it: π_ref/π_θ − log(π_ref/π_θ) − 1. An unknown estimator is a programming
// error ([Config.Validate] rejects it) and panics.
func KL(est KLEstimator, logp, ref float64) (kl, dlogp float64) {
	d := logp - ref
	switch est {
	case KLK1:
		return d, 1
	case KLK2:
		return 0.5 * d * d, d
	case KLK3:
		e := math.Exp(-d)
		return e + d - 1, 1 - e
	}
	panic("grpo: unknown KL estimator " + string(est))
}
