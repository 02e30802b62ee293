package grpo

import (
	"errors"
	"testing"
)

func TestAggregate(t *testing.T) {
	// Sequences: {1, 2, (3)} {4, 5} {6}, token 3 masked. Sums 3, 9, 6; loss tokens 2, 2, 1 (T = 5); N = 3.
	perToken := []float64{1, 2, 3, 4, 5, 6}
	mask := []bool{true, true, false, true, true, true}
	lens := []int{3, 2, 1}
	tests := []struct {
		name string
		lt   LossType
		step Step
		want float64
	}{
		{"grpo", LossGRPO, Step{}, (3.0/2 + 9.0/2 + 6.0/1) / 3},
		{"grpo step of 6 sequences", LossGRPO, Step{Sequences: 6}, (3.0/2 + 9.0/2 + 6.0/1) / 6},
		{"bnpo", LossBNPO, Step{}, 18.0 / 5},
		{"bnpo 2 micro-batches", LossBNPO, Step{MicroBatches: 2, Tokens: 99, Sequences: 99}, 18.0 / 5 / 2},
		{"dr_grpo", LossDrGRPO, Step{}, 18.0 / (3 * 4)}, // max completion length 4, not the longest (3)
		{"dr_grpo step of 6 sequences", LossDrGRPO, Step{Sequences: 6}, 18.0 / (6 * 4)},
		{"dapo", LossDAPO, Step{}, 18.0 / 5},
		{"dapo step of 10 tokens", LossDAPO, Step{Tokens: 10}, 18.0 / 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Aggregate(tc.lt, perToken, mask, lens, 4, tc.step)
			if err != nil {
				t.Fatal(err)
			}
			if !approx(got, tc.want, 1e-15, 0) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// A sequence without loss tokens counts in grpo's mean over sequences, with zero loss (TRL clamps n_i at 1).
	if got, _ := Aggregate(LossGRPO, []float64{1, 2, 3}, []bool{true, true, false}, []int{2, 1}, 4, Step{}); got != 0.75 {
		t.Errorf("grpo with an empty sequence: %v, want 0.75", got)
	}
	if _, err := Aggregate(LossGRPO, perToken, mask, []int{3, 2}, 4, Step{}); !errors.Is(err, errLayout) {
		t.Errorf("lens short of the tokens: err = %v", err)
	}
	if _, err := Aggregate(LossDrGRPO, perToken, mask, lens, 0, Step{}); err == nil {
		t.Error("dr_grpo without a max completion length accepted")
	}
	if _, err := Aggregate("ppo", perToken, mask, lens, 4, Step{}); err == nil {
		t.Error("unknown loss type accepted")
	}
}
