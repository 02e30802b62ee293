// Package grpo holds the GRPO family of policy-gradient objectives (DeepSeekMath GRPO, Dr. GRPO, DAPO, GSPO) and the
// trainer that composes them.
//
// The RL math follows verl's core_algos.py: advantages, importance ratios, KL estimators, clipping and loss
// aggregations are pure functions over float64 slices, each with its formula and paper in its doc comment and a table
// test of hand-computed cases. The trainer only composes them, through one function, [Loss], which returns the scalar
// loss and its exact gradient with respect to the trainer's per-token log-probabilities.
//
// Layout. Token quantities are packed: the tokens of sequence i are the lens[i] entries after those of sequences
// 0..i-1. Sequence quantities (rewards, advantages) have one entry per sequence; a group is groupSize consecutive
// sequences sampled for the same prompt.
//
// TRL (trl.GRPOTrainer, version pinned in compat/requirements.txt) is the outside reference: testdata/grpo holds its
// losses and autograd gradients for every loss type both implement, and TestTRLGolden requires the same numbers.
package grpo

import (
	"errors"
	"fmt"
	"math"
)

// LossType names a loss aggregation (config key grpo.loss_type). See [SequenceWeights].
type LossType string

// Loss aggregations.
const (
	LossGRPO   LossType = "grpo"    // DeepSeekMath: token mean per sequence, then mean over sequences
	LossBNPO   LossType = "bnpo"    // mean over the tokens of the local (micro-)batch
	LossDrGRPO LossType = "dr_grpo" // Dr. GRPO: token sum / (sequences × configured max completion length)
	LossDAPO   LossType = "dapo"    // DAPO: token sum / tokens of the whole optimiser step
)

// KLEstimator names an estimator of KL(π_θ ‖ π_ref) from samples of π_θ (config key grpo.kl_estimator). See [KL].
type KLEstimator string

// KL estimators (Schulman, "Approximating KL divergence", 2020).
const (
	KLK1 KLEstimator = "k1"
	KLK2 KLEstimator = "k2"
	KLK3 KLEstimator = "k3"
)

// Scaling names how group-relative advantages are scaled (config key grpo.scale_rewards). See [GroupAdvantages].
type Scaling string

// Advantage scalings.
const (
	ScaleGroup Scaling = "group" // DeepSeekMath GRPO: divide by the std of the group
	ScaleBatch Scaling = "batch" // divide by the std of the whole batch (TRL scale_rewards="batch")
	ScaleNone  Scaling = "none"  // Dr. GRPO: no division
)

// ImportanceLevel names the granularity of the importance ratio to π_old (config key grpo.importance_level).
type ImportanceLevel string

// Importance levels.
const (
	LevelToken    ImportanceLevel = "token"    // PPO/GRPO: r_t = π_θ(y_t)/π_old(y_t)
	LevelSequence ImportanceLevel = "sequence" // GSPO: s_i = (π_θ(y_i)/π_old(y_i))^(1/|y_i|)
)

// KLPlacement says where β·KL enters (config key grpo.kl_in).
type KLPlacement string

// KL placements.
const (
	KLInLoss   KLPlacement = "loss"   // DeepSeekMath GRPO: β·KL per token added to the loss
	KLInReward KLPlacement = "reward" // PPO/InstructGPT style: β·Σ_t KL_t subtracted from the reward ([KLPenalizedRewards])
)

// Config selects and parameterises the objective [Loss] computes. Its yaml names follow the grpo.* config keys.
type Config struct {
	LossType    LossType `yaml:"loss_type"`
	EpsilonLow  float64  `yaml:"epsilon_low"`  // ratio clipped below at 1 − ε_low
	EpsilonHigh float64  `yaml:"epsilon_high"` // ratio clipped above at 1 + ε_high (DAPO clip-higher: ε_high > ε_low)
	// DualClip is c of dual-clip PPO (Ye et al. 2020); 0 turns it off, otherwise c > 1.
	DualClip        float64         `yaml:"dual_clip"`
	ImportanceLevel ImportanceLevel `yaml:"importance_level"`
	KLEstimator     KLEstimator     `yaml:"kl_estimator"`
	Beta            float64         `yaml:"beta"`
	KLIn            KLPlacement     `yaml:"kl_in"`
	// KLImportanceWeighted multiplies the per-token KL by the (unclipped) importance ratio, which makes the k3
	// gradient the unbiased reverse-KL gradient off-policy (DeepSeek-V3.2; TRL use_bias_correction_kl, on by default
	// there). Off here, as in DeepSeekMath.
	KLImportanceWeighted bool `yaml:"kl_importance_weighted"`
	// MaxCompletionLen is the configured max completion length, the L in dr_grpo's normaliser (not the longest
	// completion of the batch).
	MaxCompletionLen int `yaml:"max_completion_len"`
}

// DefaultConfig is DeepSeekMath GRPO with ε = 0.2, k3 and β = 0.04 in the loss, token-level ratios.
func DefaultConfig() Config {
	return Config{
		LossType: LossGRPO, EpsilonLow: 0.2, EpsilonHigh: 0.2, ImportanceLevel: LevelToken,
		KLEstimator: KLK3, Beta: 0.04, KLIn: KLInLoss, MaxCompletionLen: 256,
	}
}

// Validate reports the first field out of range, named by its config key.
func (c Config) Validate() error {
	switch c.LossType {
	case LossGRPO, LossBNPO, LossDrGRPO, LossDAPO:
	default:
		return fmt.Errorf("grpo: grpo.loss_type %q: want grpo, bnpo, dr_grpo or dapo", c.LossType)
	}
	if !(c.EpsilonLow >= 0 && c.EpsilonLow < 1) {
		return fmt.Errorf("grpo: grpo.epsilon_low %g: want 0 <= ε_low < 1", c.EpsilonLow)
	}
	if !(c.EpsilonHigh >= 0) || math.IsInf(c.EpsilonHigh, 0) {
		return fmt.Errorf("grpo: grpo.epsilon_high %g: want a finite ε_high >= 0", c.EpsilonHigh)
	}
	if c.DualClip != 0 && !(c.DualClip > 1) {
		return fmt.Errorf("grpo: grpo.dual_clip %g: want 0 (off) or c > 1", c.DualClip)
	}
	switch c.ImportanceLevel {
	case LevelToken, LevelSequence:
	default:
		return fmt.Errorf("grpo: grpo.importance_level %q: want token or sequence", c.ImportanceLevel)
	}
	if err := c.KLEstimator.check(); err != nil {
		return err
	}
	if !(c.Beta >= 0) || math.IsInf(c.Beta, 0) {
		return fmt.Errorf("grpo: grpo.beta %g: want a finite β >= 0", c.Beta)
	}
	switch c.KLIn {
	case KLInLoss, KLInReward:
	default:
		return fmt.Errorf("grpo: grpo.kl_in %q: want loss or reward", c.KLIn)
	}
	if c.LossType == LossDrGRPO && c.MaxCompletionLen < 1 {
		return fmt.Errorf("grpo: grpo.max_completion_len %d: dr_grpo divides by it, want >= 1", c.MaxCompletionLen)
	}
	return nil
}

func (e KLEstimator) check() error {
	switch e {
	case KLK1, KLK2, KLK3:
		return nil
	}
	return fmt.Errorf("grpo: grpo.kl_estimator %q: want k1, k2 or k3", e)
}

// errLayout is wrapped by every error about mismatched slice lengths.
var errLayout = errors.New("grpo: inconsistent layout")

// checkPacked checks that lens are non-negative and add up to n tokens, and that an optional mask has n entries.
func checkPacked(n int, mask []bool, lens []int) error {
	total := 0
	for i, l := range lens {
		if l < 0 {
			return fmt.Errorf("%w: lens[%d] = %d is negative", errLayout, i, l)
		}
		total += l
	}
	if total != n {
		return fmt.Errorf("%w: lens add up to %d tokens, the token slices have %d", errLayout, total, n)
	}
	if mask != nil && len(mask) != n {
		return fmt.Errorf("%w: mask has %d entries for %d tokens", errLayout, len(mask), n)
	}
	return nil
}

// on reports whether token t is in the loss (a nil mask keeps every token).
func on(mask []bool, t int) bool { return mask == nil || mask[t] }

// MaskedMean is the mean of x over the tokens the mask keeps (0 when it keeps none).
func MaskedMean(x []float64, mask []bool) float64 {
	s, n := 0.0, 0
	for t, v := range x {
		if on(mask, t) {
			s += v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}
