package grpo

// SequenceLogRatios is GSPO's length-normalised sequence log-ratio (Zheng et al. 2025, arXiv 2507.18071, eq. 7):
//
//	log s_i = (1/|y_i|) Σ_{t ∈ y_i} (log π_θ(y_t) − log π_old(y_t))
//
// over the tokens the mask keeps, |y_i| their count (a sequence without any has log s_i = 0, as TRL's clamp(min=1)
// gives). TRL importance_sampling_level="sequence" uses exactly this. Its gradient with respect to
// log π_θ(y_t) is 1/|y_i| for every kept token; so with a sequence advantage the loss below has the gradient of GSPO's
// token-level form s_{i,t} = sg[s_i]·π_θ(y_t)/sg[π_θ(y_t)] aggregated by the token mean (GSPO eq. 10–11).
func SequenceLogRatios(logp, old []float64, mask []bool, lens []int) []float64 {
	out := make([]float64, len(lens))
	t := 0
	for i, l := range lens {
		sum, n := 0.0, 0
		for end := t + l; t < end; t++ {
			if on(mask, t) {
				sum += logp[t] - old[t]
				n++
			}
		}
		out[i] = sum / float64(max(n, 1))
	}
	return out
}

// ClipRegion says which branch of the clipped objective a ratio falls in.
type ClipRegion uint8

// Clip regions. Only Unclipped passes a gradient to the ratio.
const (
	Unclipped   ClipRegion = iota
	ClippedLow             // A < 0 and r < 1 − ε_low
	ClippedHigh            // A > 0 and r > 1 + ε_high
	ClippedDual            // A < 0 and r > c (dual-clip)
)

// ClippedSurrogate is the PPO clipped objective, negated into a loss, for one ratio r and advantage A
// (Schulman et al. 2017, eq. 7), with asymmetric bounds (DAPO clip-higher, arXiv 2503.14476, eq. 10):
//
//	ℓ(r) = −min(r·A, clip(r, 1 − ε_low, 1 + ε_high)·A)
//
// and, when dualClip = c > 1, dual-clip PPO for negative advantages (Ye et al. 2020, "Mastering Complex Control in
// MOBA Games with Deep RL", eq. 5; verl compute_policy_loss clip_ratio_c):
//
//	ℓ(r) = min(−min(r·A, clip(r)·A), −c·A)   if A < 0
//
// which bounds the loss of a very off-policy token at c·|A|. It equals TRL's two-sided clipping with delta = c
// (coef_1 clamped at delta) whenever c > 1 + ε_high. It returns ℓ, dℓ/dr (−A in the unclipped branch, 0 otherwise;
// at a branch boundary the unclipped side, as torch's gradient of min and clamp gives) and the region.
func ClippedSurrogate(r, adv, epsLow, epsHigh, dualClip float64) (loss, dratio float64, region ClipRegion) {
	switch {
	case adv > 0 && r > 1+epsHigh:
		return -(1 + epsHigh) * adv, 0, ClippedHigh
	case adv < 0 && r < 1-epsLow:
		return -(1 - epsLow) * adv, 0, ClippedLow
	case adv < 0 && dualClip > 0 && r > dualClip:
		return -dualClip * adv, 0, ClippedDual
	}
	return -r * adv, -adv, Unclipped
}
