package grpo

import "fmt"

// Step describes the whole optimiser step a micro-batch belongs to, so that under gradient accumulation the
// micro-batch losses (and gradients) add up to the loss of the step. The zero value means the batch is the whole step.
type Step struct {
	Sequences    int // grpo, dr_grpo: sequences in the whole step (0: this batch's)
	Tokens       int // dapo: loss tokens (mask on) in the whole step (0: this batch's)
	MicroBatches int // bnpo: micro-batches in the step; each local mean is divided by it, as TRL does (0: 1)
}

// SequenceWeights returns, per sequence i, the weight w_i that every loss token of i carries in the aggregate
// L = Σ_i w_i Σ_{t ∈ y_i, mask_t} ℓ_t. With n_i the loss tokens of sequence i, N the sequences and T the loss tokens
// of the step (see [Step]), and L_max = maxLen:
//
//	grpo     w_i = 1 / (N · max(n_i, 1))   token mean per sequence, then mean over sequences (DeepSeekMath eq. 3)
//	bnpo     w_i = 1 / (max(T_local, 1) · M) mean over the tokens of the local batch, /M for M micro-batches (TRL)
//	dr_grpo  w_i = 1 / (N · L_max)         Dr. GRPO (arXiv 2503.20783, eq. 8): a constant, not the batch's longest
//	dapo     w_i = 1 / max(T, 1)           DAPO token-level loss (arXiv 2503.14476, eq. 12), T over the whole step
//
// grpo, dr_grpo and dapo are invariant to splitting a step into micro-batches (given Step); bnpo is by definition
// the mean of the local batch, which depends on the split.
func SequenceWeights(lt LossType, mask []bool, lens []int, maxLen int, step Step) ([]float64, error) {
	counts := make([]int, len(lens))
	local, t := 0, 0
	for i, l := range lens {
		for end := t + l; t < end; t++ {
			if on(mask, t) {
				counts[i]++
			}
		}
		local += counts[i]
	}
	if mask != nil && t != len(mask) {
		return nil, fmt.Errorf("%w: lens add up to %d tokens, the mask has %d", errLayout, t, len(mask))
	}
	n := step.Sequences
	if n == 0 {
		n = len(lens)
	}
	tokens := step.Tokens
	if tokens == 0 {
		tokens = local
	}
	micro := max(step.MicroBatches, 1)
	w := make([]float64, len(lens))
	for i := range w {
		switch lt {
		case LossGRPO:
			w[i] = 1 / (float64(n) * float64(max(counts[i], 1)))
		case LossBNPO:
			w[i] = 1 / (float64(max(local, 1)) * float64(micro))
		case LossDrGRPO:
			if maxLen < 1 {
				return nil, fmt.Errorf("grpo: dr_grpo needs max completion length >= 1, got %d", maxLen)
			}
			w[i] = 1 / (float64(n) * float64(maxLen))
		case LossDAPO:
			w[i] = 1 / float64(max(tokens, 1))
		default:
			return nil, fmt.Errorf("grpo: grpo.loss_type %q: want grpo, bnpo, dr_grpo or dapo", lt)
		}
	}
	return w, nil
}

// Aggregate reduces per-token losses to the scalar loss of the given type: Σ_i w_i Σ_{t ∈ y_i, mask_t} ℓ_t with
// w_i from [SequenceWeights].
func Aggregate(lt LossType, perToken []float64, mask []bool, lens []int, maxLen int, step Step) (float64, error) {
	if err := checkPacked(len(perToken), mask, lens); err != nil {
		return 0, err
	}
	w, err := SequenceWeights(lt, mask, lens, maxLen, step)
	if err != nil {
		return 0, err
	}
	loss, t := 0.0, 0
	for i, l := range lens {
		sum := 0.0
		for end := t + l; t < end; t++ {
			if on(mask, t) {
				sum += perToken[t]
			}
		}
		loss += w[i] * sum
	}
	return loss, nil
}
