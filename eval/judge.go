// Package eval holds judges, win-rates with confidence intervals, curves over
// checkpoints and reward-accuracy probes. It must not train.
package eval

import "context"

// Verdict of a pairwise comparison, from the first response's side.
type Verdict int

const (
	Loss Verdict = -1
	Tie  Verdict = 0
	Win  Verdict = 1
)

// Judge compares two responses to a prompt (the paper's GPT-4.1 pairwise
// judge; tailworld's oracle). Implementations randomise presentation order
// themselves when they need to (the paper flips once per comparison).
type Judge interface {
	Compare(ctx context.Context, prompt, a, b string) (Verdict, error)
}
