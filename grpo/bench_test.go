package grpo

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rft-dev/rft/checkpoints"
)

// BenchmarkGRPOStep times one GRPO step of the demo-size model (DESIGN.md
// sizes) split into its phases: 8 prompts × 8 completions of 64 tokens,
// a programmatic reward, and one update (π_old, reference, forward and
// backward with 2 micro-batches). It reports each phase's tokens/s.
func BenchmarkGRPOStep(b *testing.B) {
	t := &testing.T{}
	job := tinyJob(t, "model.init=demo", "grpo.group_size=8", "grpo.prompts_per_step=8", "rollout.max_tokens=64",
		"train.grad_accum=2", "train.steps=1000", "checkpoint.every=0")
	s, err := Prepare(nil, job, Options{Reward: letterReward{}})
	if err != nil {
		b.Fatal(err)
	}
	run, err := checkpoints.Create(filepath.Join(b.TempDir(), "run"), job)
	if err != nil {
		b.Fatal(err)
	}
	_ = run
	var roll, upd, rew, gen, trained float64
	b.ResetTimer()
	for i := range b.N {
		rec, _, err := s.step(context.Background(), i+1)
		if err != nil {
			b.Fatal(err)
		}
		roll += rec.RolloutSeconds
		rew += rec.RewardSeconds
		upd += rec.UpdateSeconds
		gen += rec.CompletionLenMean * float64(rec.Completions)
		trained += rec.TokensPerSecond * rec.Seconds
	}
	b.ReportMetric(gen/roll, "rollout_tok/s")
	b.ReportMetric(trained/upd, "update_tok/s")
	b.ReportMetric(1000*rew/float64(b.N), "reward_ms/step")
	b.ReportMetric((roll+rew+upd)/float64(b.N), "s/step")
}
