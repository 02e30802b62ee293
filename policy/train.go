package policy

import (
	"fmt"
	"math"
)

// Trainer runs optimizer steps of next-token cross-entropy on a float32
// model: gradient accumulation over micro-batches, global-norm clipping, an
// LR schedule and AdamW. (GRPO drives Model.Backward itself with its own
// per-token weights and reuses Apply.)
type Trainer struct {
	Model    *Model[float32]
	Grads    *Params[float32]
	Opt      *AdamW
	Schedule Schedule
	GradClip float64 // global norm; 0 disables
	WS       *Workspace[float32]
	Step     int // optimizer steps taken
}

// StepStats reports one optimizer step.
type StepStats struct {
	Loss     float64 // mean cross-entropy over the step's target tokens
	Tokens   int     // target tokens
	GradNorm float64 // before clipping
	LR       float64
	Skipped  bool // the gradient was not finite, so no update was applied
}

// NewTrainer wires a model to fresh gradients and optimizer state.
func NewTrainer(m *Model[float32], opt *AdamW, sched Schedule, gradClip float64, recompute bool) (*Trainer, error) {
	if err := sched.Validate(); err != nil {
		return nil, err
	}
	return &Trainer{Model: m, Grads: NewParams[float32](m.Config), Opt: opt, Schedule: sched,
		GradClip: gradClip, WS: NewWorkspace[float32](recompute)}, nil
}

// StepCE takes one optimizer step over the micro-batches, whose gradients
// are accumulated with one shared normaliser (the step's total count of target
// tokens), so splitting a batch into micro-batches does not change the loss
// it optimises.
func (tr *Trainer) StepCE(micro []Batch) (StepStats, error) {
	total := 0
	for i := range micro {
		if micro[i].Targets == nil {
			micro[i].Targets = NextTokenTargets(micro[i].Tokens, micro[i].Lens)
		}
		if err := micro[i].Check(tr.Model.Config); err != nil {
			return StepStats{}, fmt.Errorf("micro-batch %d: %w", i, err)
		}
		for _, t := range micro[i].Targets {
			if t >= 0 {
				total++
			}
		}
	}
	if total == 0 {
		return StepStats{}, fmt.Errorf("step: no target tokens in %d micro-batches", len(micro))
	}
	clear(tr.Grads.Data)
	sum := 0.0
	for _, b := range micro {
		loss, count, err := tr.Model.Loss(tr.WS, b, float64(total), tr.Grads)
		if err != nil && count > 0 {
			return StepStats{}, err
		}
		sum += loss * float64(count)
	}
	st := StepStats{Loss: sum / float64(total), Tokens: total}
	st.GradNorm, st.LR, st.Skipped = tr.Apply()
	return st, nil
}

// Apply clips the accumulated gradients and applies one AdamW update at the
// schedule's learning rate. A NaN or Inf gradient skips the update (and
// leaves the optimizer state untouched), so it never reaches the weights; the
// step still counts, since its batch was consumed.
func (tr *Trainer) Apply() (gradNorm, lr float64, skipped bool) {
	lr = tr.Schedule.At(tr.Step)
	gradNorm = ClipGradNorm(tr.Grads.Data, tr.GradClip)
	if math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
		tr.Step++
		return gradNorm, lr, true
	}
	// Sizes were fixed at construction, so Update cannot fail here.
	_ = tr.Opt.Update(tr.Model.Params.Data, tr.Grads.Data, lr)
	tr.Step++
	return gradNorm, lr, false
}
