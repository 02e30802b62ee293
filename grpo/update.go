package grpo

import (
	"fmt"
	"math"

	"github.com/rft-dev/rft/policy"
)

// update computes π_old, the reference and the advantages of the step's
// sequences, then runs μ optimizer steps of the GRPO objective over them
// (each with gradient accumulation over the micro-batches).
func (s *Session) update(rec *StepRecord, seqs []*rolloutSeq) error {
	tr, g := s.trainer, s.job.GRPO
	T := s.temperature()
	mbs := s.microBatches(seqs)

	// The reference log-probs, and π_old as the trainer computes it when
	// the objective needs it before the first update (recompute_old_logprobs,
	// the IS correction, or a sampler without log-probs). Otherwise the
	// first training forward, still on the old weights, provides it (and the
	// entropy) for the metrics: one forward pass fewer per step.
	needOld := g.RecomputeOldLogprobs || g.ISCorrection != ""
	for _, q := range seqs {
		needOld = needOld || q.sampler == nil
	}
	var ents []float64
	for _, mb := range mbs {
		ref, err := completionLogprobs(s.ref, s.refWS, mb, T, nil)
		if err != nil {
			return err
		}
		var old [][]float64
		if needOld {
			if old, err = completionLogprobs(tr.Model, tr.WS, mb, T, &ents); err != nil {
				return err
			}
		}
		for i, q := range mb {
			q.ref, q.old = ref[i], nil
			if needOld {
				q.old = old[i]
			}
		}
	}

	// Advantages over all sequences (groups are consecutive runs of G).
	rewards := make([]float64, len(seqs))
	for i, q := range seqs {
		rewards[i] = q.reward
	}
	lens := make([]int, len(seqs))
	var samplerOld, ref []float64
	for i, q := range seqs {
		lens[i] = q.comp
		samplerOld = append(samplerOld, s.oldOf(q)...)
		ref = append(ref, q.ref...)
	}
	mask := s.lossMask(seqs)
	if s.cfg.KLIn == KLInReward && s.cfg.Beta > 0 {
		var err error
		if rewards, err = KLPenalizedRewards(rewards, s.cfg.KLEstimator, s.cfg.Beta, samplerOld, ref, mask, lens); err != nil {
			return err
		}
	}
	adv, err := GroupAdvantages(rewards, g.GroupSize, Scaling(g.ScaleRewards), g.AdvantageEps)
	if err != nil {
		return err
	}
	for i, q := range seqs {
		q.advantage = adv[i]
	}
	lossTokens := 0
	for _, m := range mask {
		if m {
			lossTokens++
		}
	}
	stepShape := Step{Sequences: len(seqs), Tokens: lossTokens, MicroBatches: len(mbs)}

	var kl, klN float64
	for it := 0; it < g.Mu; it++ {
		clear(tr.Grads.Data)
		total, polLoss := 0.0, 0.0
		var clipLow, clipHigh, clipDual, statTokens float64
		for _, mb := range mbs {
			var ent *[]float64
			if it == 0 && !needOld {
				ent = &ents
			}
			res, dlogp, err := s.microLoss(mb, stepShape, T, ent)
			if err != nil {
				return err
			}
			total += res.Loss
			polLoss += res.Stats.PolicyLoss
			w := float64(res.Stats.Tokens)
			clipLow += res.Stats.ClipLow * w
			clipHigh += res.Stats.ClipHigh * w
			clipDual += res.Stats.ClipDual * w
			statTokens += w
			if it == 0 {
				kl += res.Stats.KLMean * w
				klN += w
			}
			tr.Model.Backward(tr.WS, dlogp, T, tr.Grads)
		}
		if it == 0 {
			rec.Entropy = mean(ents)
			rec.LogprobMismatchMean, rec.LogprobMismatchMax = mismatch(seqs)
		}
		rec.Loss, rec.PolicyLoss = total, polLoss
		if statTokens > 0 {
			rec.ClipLow, rec.ClipHigh, rec.ClipDual = clipLow/statTokens, clipHigh/statTokens, clipDual/statTokens
		}
		if math.IsNaN(total) || math.IsInf(total, 0) {
			// Apply would refuse the update anyway (the gradient is not
			// finite); skipping here also keeps the schedule in step.
			tr.Step++
			rec.SkippedUpdates++
			continue
		}
		norm, lr, skipped := tr.Apply()
		rec.GradNorm, rec.LR = norm, lr
		if skipped {
			rec.SkippedUpdates++
		}
	}
	if klN > 0 {
		rec.KL = kl / klN
	} else {
		rec.KL = meanKL(seqs, mask, s.cfg.KLEstimator)
	}
	return nil
}

// oldOf is the π_old the objective's ratio uses for a sequence: the
// sampler's log-probs (DESIGN.md decision 6: they are of the distribution
// actually sampled), or the trainer's when asked or when the sampler gave
// none.
func (s *Session) oldOf(q *rolloutSeq) []float64 {
	if q.sampler == nil || s.job.GRPO.RecomputeOldLogprobs {
		return q.old
	}
	return q.sampler
}

// lossMask is the per-token mask of all sequences: truncated completions
// carry no loss when grpo.mask_truncated is set.
func (s *Session) lossMask(seqs []*rolloutSeq) []bool {
	var mask []bool
	for _, q := range seqs {
		on := !(s.job.GRPO.MaskTruncated && q.truncated)
		for range q.comp {
			mask = append(mask, on)
		}
	}
	return mask
}

// microLoss runs the model over one micro-batch and returns the objective and
// the upstream gradient of its target log-probs, in the model's layout.
func (s *Session) microLoss(mb []*rolloutSeq, shape Step, T float64, ent *[]float64) (Result, []float32, error) {
	tr := s.trainer
	cur, err := completionLogprobs(tr.Model, tr.WS, mb, T, ent)
	if err != nil {
		return Result{}, nil, err
	}
	for i, q := range mb {
		if q.old == nil { // the first pass of the step: the weights are still π_old
			q.old = cur[i]
		}
	}
	in := Inputs{Step: shape}
	var sampler []float64
	haveSampler := true
	for i, q := range mb {
		in.LogP = append(in.LogP, cur[i]...)
		in.OldLogP = append(in.OldLogP, s.oldOf(q)...)
		in.RefLogP = append(in.RefLogP, q.ref...)
		in.Advantages = append(in.Advantages, q.advantage)
		in.Lens = append(in.Lens, q.comp)
		if q.sampler == nil {
			haveSampler = false
		}
		sampler = append(sampler, q.sampler...)
	}
	in.Mask = s.lossMask(mb)
	if mode := s.job.GRPO.ISCorrection; mode != "" && haveSampler {
		var trainerOld []float64
		for _, q := range mb {
			trainerOld = append(trainerOld, q.old...)
		}
		c := s.job.GRPO.ISCap
		lo := 0.0
		if mode == "token_mask" || mode == "sequence_mask" {
			lo = 1 / c
		}
		if in.ISWeights, err = ISCorrection(ISMode(mode), trainerOld, sampler, in.Mask, in.Lens, lo, c); err != nil {
			return Result{}, nil, err
		}
	}
	res, err := Loss(s.cfg, in)
	if err != nil {
		return Result{}, nil, fmt.Errorf("loss: %w", err)
	}
	// Scatter dL/dlogp from the completion layout to the packed positions.
	n := 0
	for _, q := range mb {
		n += len(q.tokens)
	}
	dlogp := make([]float32, n)
	off, k := 0, 0
	for _, q := range mb {
		for t := range q.comp {
			dlogp[off+q.promptLen-1+t] = float32(res.Grad[k])
			k++
		}
		off += len(q.tokens)
	}
	return res, dlogp, nil
}

// mismatch is the mean and largest |sampler − trainer| log-prob gap over
// the tokens whose sampler log-probs are known (0 without any).
func mismatch(seqs []*rolloutSeq) (mean, largest float64) {
	n := 0
	for _, q := range seqs {
		for t, lp := range q.sampler {
			d := math.Abs(lp - q.old[t])
			mean += d
			largest = math.Max(largest, d)
			n++
		}
	}
	return mean / float64(max(n, 1)), largest
}

// meanKL is the mean per-token KL estimate between the trainer's π_old and
// the reference, for the metric when the loss did not compute it (β = 0).
func meanKL(seqs []*rolloutSeq, mask []bool, est KLEstimator) float64 {
	sum, n, k := 0.0, 0, 0
	for _, q := range seqs {
		for t := range q.comp {
			if mask[k] {
				v, _ := KL(est, q.old[t], q.ref[t])
				sum += v
				n++
			}
			k++
		}
	}
	return sum / float64(max(n, 1))
}

func mean(xs []float64) float64 {
	m, _ := meanStd(xs)
	return m
}

// push installs the trainer's weights in the rollout engine (in-process: a
// new model over a copy of the weights; requests in flight finish on the
// old ones).
func (s *Session) push(step int) error {
	m, err := policy.NewModel(cloneParams(s.trainer.Model.Params))
	if err != nil {
		return err
	}
	return s.engine.Swap(m, fmt.Sprintf("step-%d", step))
}
