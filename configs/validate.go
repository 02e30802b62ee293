package configs

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Validate returns every problem a user must fix, each naming its key.
func (j *Job) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(key, "%q is not one of %v", v, allowed)
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

	if j.Model.Path == "" {
		oneOf("model.init", j.Model.Init, "tiny", "demo", "124m")
		oneOf("model.arch", j.Model.Arch, "qwen3", "llama")
	}
	if j.Model.VocabSize < 260 {
		bad("model.vocab_size", "must be at least 260 (256 bytes plus special tokens), got %d", j.Model.VocabSize)
	}
	if j.Data.EvalFraction < 0 || j.Data.EvalFraction >= 1 {
		bad("data.eval_fraction", "must be in [0, 1), got %g", j.Data.EvalFraction)
	}
	if j.Data.Docs < 1 {
		bad("data.docs", "must be at least 1, got %d", j.Data.Docs)
	}
	t := j.Train
	if t.Steps < 1 {
		bad("train.steps", "must be at least 1, got %d", t.Steps)
	}
	if !(t.LR > 0) || !finite(t.LR) {
		bad("train.lr", "must be a positive number, got %g", t.LR)
	}
	oneOf("train.schedule", t.Schedule, "constant", "linear", "cosine")
	if t.WarmupSteps < 0 || t.WarmupSteps > t.Steps {
		bad("train.warmup_steps", "must be between 0 and train.steps (%d), got %d", t.Steps, t.WarmupSteps)
	}
	if t.MinLRRatio < 0 || t.MinLRRatio > 1 {
		bad("train.min_lr_ratio", "must be in [0, 1], got %g", t.MinLRRatio)
	}
	if t.WeightDecay < 0 || !finite(t.WeightDecay) {
		bad("train.weight_decay", "must be non-negative, got %g", t.WeightDecay)
	}
	if t.Beta1 < 0 || t.Beta1 >= 1 {
		bad("train.beta1", "must be in [0, 1), got %g", t.Beta1)
	}
	if t.Beta2 < 0 || t.Beta2 >= 1 {
		bad("train.beta2", "must be in [0, 1), got %g", t.Beta2)
	}
	if !(t.Eps > 0) {
		bad("train.eps", "must be positive, got %g", t.Eps)
	}
	if t.GradClip < 0 || !finite(t.GradClip) {
		bad("train.grad_clip", "must be non-negative (0 disables clipping), got %g", t.GradClip)
	}
	if t.BatchSize < 1 {
		bad("train.batch_size", "must be at least 1, got %d", t.BatchSize)
	}
	if t.GradAccum < 1 || (t.BatchSize >= 1 && t.BatchSize%t.GradAccum != 0) {
		bad("train.grad_accum", "must be at least 1 and divide train.batch_size (%d), got %d", t.BatchSize, t.GradAccum)
	}
	if t.SeqLen < 2 {
		bad("train.seq_len", "must be at least 2, got %d", t.SeqLen)
	}
	if t.EvalEvery < 0 {
		bad("train.eval_every", "must be non-negative (0: only at the end), got %d", t.EvalEvery)
	}
	if t.NaNTolerance < 1 {
		bad("train.nan_tolerance", "must be at least 1, got %d", t.NaNTolerance)
	}

	g := j.GRPO
	if g.GroupSize < 2 {
		bad("grpo.group_size", "must be at least 2 (advantages are relative to the group), got %d", g.GroupSize)
	}
	if g.Beta < 0 || !finite(g.Beta) {
		bad("grpo.beta", "must be non-negative, got %g", g.Beta)
	}
	oneOf("grpo.kl_estimator", g.KLEstimator, "k1", "k2", "k3")
	oneOf("grpo.loss_type", g.LossType, "grpo", "bnpo", "dr_grpo", "dapo")
	oneOf("grpo.scale_rewards", g.ScaleRewards, "group", "batch", "none")
	if g.EpsilonLow <= 0 || g.EpsilonLow >= 1 {
		bad("grpo.epsilon_low", "must be in (0, 1), got %g", g.EpsilonLow)
	}
	if g.EpsilonHigh <= 0 || !finite(g.EpsilonHigh) {
		bad("grpo.epsilon_high", "must be positive, got %g", g.EpsilonHigh)
	}
	if g.Mu < 1 {
		bad("grpo.mu", "must be at least 1, got %d", g.Mu)
	}
	if g.DualClip != 0 && !(g.DualClip > 1) {
		bad("grpo.dual_clip", "must be 0 (off) or above 1, got %g", g.DualClip)
	}
	oneOf("grpo.importance_level", g.ImportanceLevel, "token", "sequence")
	oneOf("grpo.kl_in", g.KLIn, "loss", "reward")
	if !(g.AdvantageEps >= 0) {
		bad("grpo.advantage_eps", "must be non-negative, got %g", g.AdvantageEps)
	}
	oneOf("grpo.is_correction", g.ISCorrection, "", "token_truncate", "token_mask", "sequence_truncate", "sequence_mask")
	if !(g.ISCap >= 1) {
		bad("grpo.is_cap", "must be at least 1, got %g", g.ISCap)
	}
	if g.OverlongCache < 0 || g.OverlongCache >= j.Rollout.MaxTokens {
		bad("grpo.overlong_cache", "must be in [0, rollout.max_tokens), got %d", g.OverlongCache)
	}
	if g.PromptsPerStep < 1 {
		bad("grpo.prompts_per_step", "must be at least 1, got %d", g.PromptsPerStep)
	}
	rw := j.Reward
	oneOf("reward.aggregate", rw.Aggregate, "mean", "points", "implicit")
	if rw.Mode != "batched" && rw.Mode != "per-criterion" && !strings.HasPrefix(rw.Mode, "chunk:") {
		bad("reward.mode", "%q is not batched, per-criterion or chunk:K", rw.Mode)
	}
	if !(rw.Scale > 0) {
		bad("reward.scale", "must be positive, got %g", rw.Scale)
	}
	sources := 0
	for _, s := range []string{rw.Rubrics, rw.HTTP, rw.Command} {
		if s != "" {
			sources++
		}
	}
	if sources > 1 {
		bad("reward", "give one of reward.rubrics, reward.http or reward.command, not %d", sources)
	}
	if rw.Gold != "" && rw.Gold != "tailworld" {
		bad("reward.gold", "%q is not a task with a ground truth (want tailworld)", rw.Gold)
	}
	if rw.Rubrics != "" && rw.Verifier == "" {
		bad("reward.verifier", "a rubric reward needs a verifier spec (e.g. sim or openai:gpt-4.1-mini)")
	}
	d := j.Demo
	if d.TrainPrompts < 1 || d.EvalPrompts < 1 {
		bad("demo.train_prompts", "train_prompts and eval_prompts must be at least 1, got %d and %d", d.TrainPrompts, d.EvalPrompts)
	}
	if d.PoolSize < 2 {
		bad("demo.pool_size", "must be at least 2 (RTD compares pairs), got %d", d.PoolSize)
	}
	if d.Iterations < 0 {
		bad("demo.iterations", "must be non-negative (0: initial rubrics only), got %d", d.Iterations)
	}
	oneOf("demo.pool", d.Pool, "good", "great", "great-diverse", "null")
	oneOf("demo.reward", d.Reward, "rubric", "initial", "oracle")
	if j.Eval.Every < 0 {
		bad("eval.every", "must be non-negative (0: only at the end), got %d", j.Eval.Every)
	}
	if j.Eval.Prompts < 0 {
		bad("eval.prompts", "must be non-negative (0: all), got %d", j.Eval.Prompts)
	}

	r := j.Rollout
	if r.Temperature < 0 || !finite(r.Temperature) {
		bad("rollout.temperature", "must be non-negative (below 1e-5 means greedy), got %g", r.Temperature)
	}
	if !(r.TopP > 0 && r.TopP <= 1) {
		bad("rollout.top_p", "must be in (0, 1], got %g", r.TopP)
	}
	if r.TopK < 0 {
		bad("rollout.top_k", "must be non-negative (0 disables), got %d", r.TopK)
	}
	if r.MaxTokens < 1 {
		bad("rollout.max_tokens", "must be at least 1, got %d", r.MaxTokens)
	}
	if backend, _, _ := strings.Cut(r.Policy, ":"); r.Policy != "" && strings.TrimSpace(backend) == "" {
		bad("rollout.policy", "%q is not a model spec BACKEND:MODEL (e.g. local:PATH, openai:NAME, ollama:NAME)", r.Policy)
	}
	if r.Concurrency < 1 {
		bad("rollout.concurrency", "must be at least 1, got %d", r.Concurrency)
	}
	oneOf("rm.input", j.RM.Input, "chat", "plain")
	if j.RM.Prompts < 1 {
		bad("rm.prompts", "must be at least 1, got %d", j.RM.Prompts)
	}
	if j.RM.EvalPrompts < 1 {
		bad("rm.eval_prompts", "must be at least 1, got %d", j.RM.EvalPrompts)
	}
	if j.Checkpoint.Every < 0 {
		bad("checkpoint.every", "must be non-negative (0: only at the end), got %d", j.Checkpoint.Every)
	}
	if j.Checkpoint.Keep < 0 {
		bad("checkpoint.keep", "must be non-negative (0 keeps all), got %d", j.Checkpoint.Keep)
	}
	j.validateReplicate(bad)
	return errors.Join(errs...)
}
