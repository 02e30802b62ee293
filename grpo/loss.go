package grpo

import (
	"fmt"
	"math"
)

// Inputs is one (micro-)batch for [Loss], in the packed layout: token slices have Σ Lens entries.
type Inputs struct {
	LogP       []float64 // log π_θ(y_t), the trainer's; the loss is differentiated with respect to these
	OldLogP    []float64 // log π_old(y_t), the policy that sampled; nil: on-policy, π_old = stop_gradient(π_θ)
	RefLogP    []float64 // log π_ref(y_t), the frozen reference; needed when Beta > 0 and KLIn is loss
	Advantages []float64 // one per sequence ([GroupAdvantages])
	Mask       []bool    // loss tokens (padding, tool output, truncated completions off); nil: all on
	Lens       []int     // tokens per sequence
	ISWeights  []float64 // per-token sampler-vs-trainer correction ([ISCorrection]); nil: all 1
	Step       Step      // the whole optimiser step, for gradient accumulation; zero: this batch is the step
}

// Result is what [Loss] returns.
type Result struct {
	Loss  float64
	Grad  []float64 // dLoss/dLogP, one per token; 0 on masked tokens
	Stats Stats
}

// Stats are diagnostics of one [Loss] call. Token fractions and means are over loss tokens; with sequence-level
// importance the ratio and clip statistics are over sequences (TRL's convention).
type Stats struct {
	PolicyLoss  float64 // the loss without the β·KL term
	KLLoss      float64 // the β·KL term's share of the loss (0 when KL is in the reward)
	KLMean      float64 // mean per-token KL estimate (0 without RefLogP)
	RatioMean   float64 // mean importance ratio r_t (token) or s_i (sequence)
	RatioMin    float64
	RatioMax    float64
	ClipLow     float64 // fraction with A < 0 and r < 1 − ε_low
	ClipHigh    float64 // fraction with A > 0 and r > 1 + ε_high
	ClipDual    float64 // fraction with A < 0 and r > c
	Tokens      int     // loss tokens in this batch
	Sequences   int
	ISWeightMin float64 // smallest sampler-vs-trainer weight on a loss token (1 without ISWeights)
}

// Loss is the GRPO-family objective and its exact gradient with respect to the trainer's per-token log-probs; the
// trainer feeds Grad to the model's backward as the upstream gradient of the target log-probs. Per loss token t of
// sequence i, with ratio ρ = r_t = exp(logp_t − old_t) (token level) or ρ = s_i ([SequenceLogRatios], GSPO):
//
//	ℓ_t = w^IS_t · ClippedSurrogate(ρ, A_i)  +  β · KL_t · (ρ if KLImportanceWeighted)   (KL only when KLIn = loss)
//	L   = Σ_i w_i Σ_{t ∈ y_i, mask_t} ℓ_t                                                  (w_i: [SequenceWeights])
//
// This is DeepSeekMath's GRPO objective (arXiv 2402.03300, eq. 3) with DAPO's clip-higher and token-level loss,
// Dr. GRPO's normaliser, GSPO's sequence ratio and dual-clip as options, and it is TRL GRPOTrainer._compute_loss
// term for term: the KL enters after clipping, unclipped and not multiplied by the IS weight.
func Loss(cfg Config, in Inputs) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	n := len(in.LogP)
	if err := checkPacked(n, in.Mask, in.Lens); err != nil {
		return Result{}, err
	}
	if len(in.Advantages) != len(in.Lens) {
		return Result{}, fmt.Errorf("%w: %d advantages for %d sequences", errLayout, len(in.Advantages), len(in.Lens))
	}
	old := in.OldLogP
	if old == nil {
		old = in.LogP
	}
	klInLoss := cfg.KLIn == KLInLoss && cfg.Beta > 0
	for _, s := range []struct {
		name string
		x    []float64
		need bool
	}{{"OldLogP", old, true}, {"RefLogP", in.RefLogP, klInLoss}, {"ISWeights", in.ISWeights, false}} {
		if (s.x != nil || s.need) && len(s.x) != n {
			return Result{}, fmt.Errorf("%w: %s has %d entries for %d tokens", errLayout, s.name, len(s.x), n)
		}
	}
	w, err := SequenceWeights(cfg.LossType, in.Mask, in.Lens, cfg.MaxCompletionLen, in.Step)
	if err != nil {
		return Result{}, err
	}
	var seqLog []float64
	if cfg.ImportanceLevel == LevelSequence {
		seqLog = SequenceLogRatios(in.LogP, old, in.Mask, in.Lens)
	}

	res := Result{Grad: make([]float64, n)}
	st := &res.Stats
	st.Sequences, st.RatioMin, st.RatioMax, st.ISWeightMin = len(in.Lens), math.Inf(1), math.Inf(-1), 1
	var ratios, clipLow, clipHigh, clipDual, klSum float64
	var ratioCount int
	count := func(r float64, region ClipRegion) {
		ratios += r
		ratioCount++
		st.RatioMin, st.RatioMax = min(st.RatioMin, r), max(st.RatioMax, r)
		switch region {
		case ClippedLow:
			clipLow++
		case ClippedHigh:
			clipHigh++
		case ClippedDual:
			clipDual++
		}
	}

	t0 := 0
	for i, l := range in.Lens {
		adv, wi := in.Advantages[i], w[i]
		// Sequence level: one ratio s_i for all tokens of i. The policy term of the sequence is ℓ(s_i)·W_i with
		// W_i = w_i Σ_t m_t w^IS_t, and d s_i / d logp_t = s_i · m_t / n_i.
		var s, seqLoss, seqDLoss float64
		var nTok int
		if seqLog != nil {
			for t := t0; t < t0+l; t++ {
				if on(in.Mask, t) {
					nTok++
				}
			}
			s = math.Exp(seqLog[i])
			var region ClipRegion
			seqLoss, seqDLoss, region = ClippedSurrogate(s, adv, cfg.EpsilonLow, cfg.EpsilonHigh, cfg.DualClip)
			count(s, region)
		}
		var seqPolicyWeight, seqKLSum float64 // Σ_t m_t w^IS_t and Σ_t m_t KL_t of sequence i
		for t := t0; t < t0+l; t++ {
			if !on(in.Mask, t) {
				continue
			}
			st.Tokens++
			isw := 1.0
			if in.ISWeights != nil {
				isw = in.ISWeights[t]
				st.ISWeightMin = min(st.ISWeightMin, isw)
			}
			rho := s
			if seqLog == nil {
				rho = math.Exp(in.LogP[t] - old[t])
				loss, dloss, region := ClippedSurrogate(rho, adv, cfg.EpsilonLow, cfg.EpsilonHigh, cfg.DualClip)
				count(rho, region)
				res.Loss += wi * isw * loss
				st.PolicyLoss += wi * isw * loss
				res.Grad[t] += wi * isw * dloss * rho // d r_t / d logp_t = r_t
			} else {
				seqPolicyWeight += isw
			}
			if in.RefLogP == nil {
				continue
			}
			kl, dkl := KL(cfg.KLEstimator, in.LogP[t], in.RefLogP[t])
			klSum += kl
			if !klInLoss {
				continue
			}
			seqKLSum += kl
			if cfg.KLImportanceWeighted {
				// d(ρ·KL_t)/d logp_t = ρ·dKL_t + KL_t·dρ/dlogp_t; the second part is added per sequence below
				// at sequence level, where ρ = s_i depends on every token of i.
				res.Loss += wi * cfg.Beta * rho * kl
				st.KLLoss += wi * cfg.Beta * rho * kl
				res.Grad[t] += wi * cfg.Beta * rho * dkl
				if seqLog == nil {
					res.Grad[t] += wi * cfg.Beta * kl * rho
				}
			} else {
				res.Loss += wi * cfg.Beta * kl
				st.KLLoss += wi * cfg.Beta * kl
				res.Grad[t] += wi * cfg.Beta * dkl
			}
		}
		if seqLog != nil && nTok > 0 {
			res.Loss += wi * seqPolicyWeight * seqLoss
			st.PolicyLoss += wi * seqPolicyWeight * seqLoss
			g := wi * seqPolicyWeight * seqDLoss
			if klInLoss && cfg.KLImportanceWeighted {
				g += wi * cfg.Beta * seqKLSum
			}
			g *= s / float64(nTok)
			for t := t0; t < t0+l; t++ {
				if on(in.Mask, t) {
					res.Grad[t] += g
				}
			}
		}
		t0 += l
	}
	if ratioCount > 0 {
		st.RatioMean = ratios / float64(ratioCount)
		st.ClipLow, st.ClipHigh, st.ClipDual = clipLow/float64(ratioCount), clipHigh/float64(ratioCount), clipDual/float64(ratioCount)
	} else {
		st.RatioMin, st.RatioMax = 0, 0
	}
	if st.Tokens > 0 {
		st.KLMean = klSum / float64(st.Tokens)
	}
	return res, nil
}
