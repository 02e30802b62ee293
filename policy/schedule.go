package policy

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate of each optimizer step: a linear warmup
// from 0 over WarmupSteps, then constant, or a linear or cosine decay to
// MinRatio·LR at TotalSteps.
type Schedule struct {
	Kind        string // constant, linear or cosine
	LR          float64
	WarmupSteps int
	TotalSteps  int
	MinRatio    float64
}

// Validate names the field that makes the schedule unusable.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "constant", "linear", "cosine":
	default:
		return fmt.Errorf("schedule: %q is not one of constant, linear, cosine", s.Kind)
	}
	if s.TotalSteps < 1 || s.WarmupSteps < 0 || s.WarmupSteps > s.TotalSteps {
		return fmt.Errorf("schedule: warmup %d and total %d steps are inconsistent", s.WarmupSteps, s.TotalSteps)
	}
	return nil
}

// At returns the learning rate for step (0-based).
func (s Schedule) At(step int) float64 {
	if step < s.WarmupSteps {
		return s.LR * float64(step+1) / float64(s.WarmupSteps)
	}
	if s.Kind == "constant" {
		return s.LR
	}
	decay := s.TotalSteps - s.WarmupSteps
	if decay <= 0 {
		return s.LR
	}
	frac := math.Min(1, float64(step-s.WarmupSteps)/float64(decay))
	minLR := s.LR * s.MinRatio
	if s.Kind == "linear" {
		return minLR + (s.LR-minLR)*(1-frac)
	}
	return minLR + (s.LR-minLR)*0.5*(1+math.Cos(math.Pi*frac))
}
