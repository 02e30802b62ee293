// Package reward holds the Reward interface, the rubric reward, weighted
// sums, external rewards (HTTP, command) and the Bradley-Terry reward model.
// It must not update the policy's weights.
package reward

import "context"

// Sample is one (prompt, completion) to score.
type Sample struct {
	PromptID   string
	Prompt     string
	Completion string
	Reference  string // optional
}

// Score is one sample's reward and its named components (e.g. per-rubric
// criteria share, format penalty), for metrics. A failed score has Err set
// and no Value; the trainer decides what to do with it.
type Score struct {
	Value      float64
	Components map[string]float64
	Err        error
}

// Reward scores a batch of samples, one Score per sample, in order.
type Reward interface {
	Score(ctx context.Context, batch []Sample) ([]Score, error)
}
