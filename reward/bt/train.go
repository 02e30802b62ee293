package bt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"sort"
	"time"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/internal/progress"
	"github.com/rft-dev/rft/policy"
)

// StepRecord is one line of metrics.jsonl: the keys shared with the other
// training commands (step, loss, lr, grad_norm, seconds), the batch's pair
// accuracy and mean reward margin, and the held-out ones when evaluated.
type StepRecord struct {
	Step         int      `json:"step"`
	Loss         float64  `json:"loss"`
	Accuracy     float64  `json:"accuracy"`
	Margin       float64  `json:"margin"` // mean r_chosen − r_rejected
	EvalLoss     *float64 `json:"eval_loss,omitempty"`
	EvalAccuracy *float64 `json:"eval_accuracy,omitempty"`
	LR           float64  `json:"lr"`
	GradNorm     float64  `json:"grad_norm"`
	Pairs        int      `json:"pairs"`
	Seconds      float64  `json:"seconds"`
	Skipped      bool     `json:"skipped,omitempty"`
}

// Summary is written to summary.json when the run ends.
type Summary struct {
	Steps               int                `json:"steps"`
	TrainPairs          int                `json:"train_pairs"`
	EvalPairs           int                `json:"eval_pairs"`
	TrainLoss           float64            `json:"train_loss"`
	EvalLoss            float64            `json:"eval_loss"`
	EvalAccuracy        float64            `json:"eval_accuracy"`         // held-out pairs ranked right (ties wrong)
	InitialEvalAccuracy float64            `json:"initial_eval_accuracy"` // the same before training
	EvalAccuracyBySrc   map[string]float64 `json:"eval_accuracy_by_source,omitempty"`
	FreezeBackbone      bool               `json:"freeze_backbone"`
	Parameters          int                `json:"parameters"` // trained parameters
	Seconds             float64            `json:"seconds"`
	FinalModelDir       string             `json:"final_model_dir"`
}

// Options are the parts of a run that are not in the job.
type Options struct {
	Progress io.Writer // nil: no progress bar
	// StopAfter, when positive, ends the session after that many steps
	// without finishing the run, as a kill would (tests of resume).
	StopAfter int
}

// Run trains until job.Train.Steps, writing metrics.jsonl, checkpoints and,
// at the end, summary.json into the run directory.
func (s *Session) Run(ctx context.Context, run *checkpoints.Run, opts Options) (*Summary, error) {
	began := time.Now()
	t := s.job.Train
	startStep := s.step
	resume := -1
	if startStep > 0 {
		resume = startStep
		slog.Info("resuming", "run", run.Dir, "step", startStep)
	}
	metrics, err := run.OpenMetrics(resume)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()
	bar := progress.New(opts.Progress, "rm train", startStep, t.Steps)
	badSteps := 0
	var last StepRecord
	for s.step < t.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if opts.StopAfter > 0 && s.step-startStep >= opts.StopAfter {
			return nil, nil
		}
		stepStart := time.Now()
		rec, err := s.trainStep()
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", s.step+1, err)
		}
		s.step++
		rec.Step = s.step
		rec.Seconds = time.Since(stepStart).Seconds()
		if rec.Skipped {
			badSteps++
			slog.Warn("non-finite gradient; update skipped", "step", rec.Step, "grad_norm", rec.GradNorm)
			if badSteps >= t.NaNTolerance {
				return nil, fmt.Errorf("step %d: %d non-finite gradients in a row (train.nan_tolerance); aborting", rec.Step, badSteps)
			}
		} else {
			badSteps = 0
		}
		if t.EvalEvery > 0 && s.step%t.EvalEvery == 0 || s.step == t.Steps {
			ev, err := s.Evaluate()
			if err != nil {
				return nil, err
			}
			rec.EvalLoss, rec.EvalAccuracy = &ev.Loss, &ev.Accuracy
		}
		if err := metrics.Append(rec); err != nil {
			return nil, err
		}
		last = rec
		extra := fmt.Sprintf("loss %.3f acc %.2f", rec.Loss, rec.Accuracy)
		if rec.EvalAccuracy != nil {
			extra += fmt.Sprintf(" eval acc %.3f", *rec.EvalAccuracy)
		}
		bar.Update(s.step, float64(rec.Pairs)/rec.Seconds, "pairs/s", extra)
		if every := s.job.Checkpoint.Every; s.step == t.Steps || (every > 0 && s.step%every == 0) {
			if err := s.save(run); err != nil {
				return nil, err
			}
		}
	}
	return s.finish(run, last, time.Since(began).Seconds())
}

// trainStep takes one optimizer step over train.batch_size pairs, split into
// train.grad_accum micro-batches that share one normaliser (the step's pair
// count), so that splitting does not change the loss optimised.
func (s *Session) trainStep() (StepRecord, error) {
	t := s.job.Train
	rows := s.order.rows(s.step, t.BatchSize)
	per := len(rows) / t.GradAccum
	if s.grads != nil {
		clear(s.grads.Data)
	}
	clear(s.headGrad)
	var sum, margin float64
	correct := 0
	for k := range t.GradAccum {
		b := s.batch(s.train, rows[k*per:(k+1)*per])
		l, c, mg, err := s.accumulate(b)
		if err != nil {
			return StepRecord{}, err
		}
		sum, correct, margin = sum+l, correct+c, margin+mg
	}
	n := float64(len(rows))
	rec := StepRecord{Loss: sum / n, Accuracy: float64(correct) / n, Margin: margin / n, Pairs: len(rows)}
	rec.GradNorm, rec.LR, rec.Skipped = s.apply()
	return rec, nil
}

// accumulate runs one micro-batch (pairs interleaved chosen, rejected) and
// adds its gradient, normalised by the step's pair count, into the
// gradients. It returns the micro-batch's summed loss, correct pairs and
// summed margins.
func (s *Session) accumulate(b policy.Batch) (loss float64, correct int, margin float64, err error) {
	m := s.model
	d := m.Backbone.Config.Hidden
	h, err := m.Backbone.Hidden(m.ws, b)
	if err != nil {
		return 0, 0, 0, err
	}
	last := lastPositions(b.Lens)
	r := make([]float32, len(last))
	headForward(r, h, last, m.Head, d)
	dr := make([]float32, len(r))
	loss, correct = pairLoss(dr, r, float64(s.job.Train.BatchSize))
	for i := 0; i < len(r); i += 2 {
		margin += float64(r[i]) - float64(r[i+1])
	}
	var dh []float32
	if s.grads != nil {
		s.dhidden = grow(s.dhidden, len(h))
		dh = s.dhidden
		clear(dh)
	}
	headBackward(dh, s.headGrad, dr, h, last, m.Head, d)
	if s.grads != nil {
		m.Backbone.BackwardHidden(m.ws, dh, s.grads)
	}
	return loss, correct, margin, nil
}

// apply clips the backbone and head gradients by their joint global norm and
// applies AdamW at the schedule's rate. A non-finite gradient skips the
// update (the step still counts: its batch was consumed).
func (s *Session) apply() (gradNorm, lr float64, skipped bool) {
	lr = s.sched.At(s.step)
	sq := policy.GradNorm(s.headGrad)
	sq *= sq
	if s.grads != nil {
		g := policy.GradNorm(s.grads.Data)
		sq += g * g
	}
	gradNorm = math.Sqrt(sq)
	if math.IsNaN(gradNorm) || math.IsInf(gradNorm, 0) {
		return gradNorm, lr, true
	}
	if clip := s.job.Train.GradClip; clip > 0 && gradNorm > clip {
		scale := float32(clip / (gradNorm + 1e-6))
		for i := range s.headGrad {
			s.headGrad[i] *= scale
		}
		if s.grads != nil {
			for i := range s.grads.Data {
				s.grads.Data[i] *= scale
			}
		}
	}
	if s.opt != nil {
		// Sizes were fixed at construction, so Update cannot fail here.
		_ = s.opt.Update(s.model.Backbone.Params.Data, s.grads.Data, lr)
	}
	s.headOpt.update(s.model.Head, s.headGrad, lr)
	return gradNorm, lr, false
}

// EvalResult is the held-out loss and accuracy, overall and per source.
type EvalResult struct {
	Loss, Accuracy float64
	BySource       map[string]float64
}

// Evaluate scores the held-out pairs with the current weights.
func (s *Session) Evaluate() (EvalResult, error) {
	m := s.model
	seqs := make([][]int, 0, 2*len(s.eval))
	for _, p := range s.eval {
		seqs = append(seqs, p.chosen, p.rejected)
	}
	r, err := m.Rewards(seqs)
	if err != nil {
		return EvalResult{}, fmt.Errorf("eval: %w", err)
	}
	sum, correct := pairLoss[float32](nil, r, 1)
	n := float64(len(s.eval))
	res := EvalResult{Loss: sum / n, Accuracy: float64(correct) / n, BySource: map[string]float64{}}
	counts := map[string][2]int{}
	for i, p := range s.eval {
		c := counts[p.source]
		c[1]++
		if r[2*i] > r[2*i+1] {
			c[0]++
		}
		counts[p.source] = c
	}
	if _, unnamed := counts[""]; len(counts) > 1 || !unnamed {
		for src, c := range counts {
			res.BySource[src] = float64(c[0]) / float64(c[1])
		}
	}
	return res, nil
}

func (s *Session) finish(run *checkpoints.Run, last StepRecord, secs float64) (*Summary, error) {
	ev, err := s.Evaluate()
	if err != nil {
		return nil, err
	}
	params := len(s.model.Head)
	if s.grads != nil {
		params += len(s.grads.Data)
	}
	sum := &Summary{Steps: s.step, TrainPairs: len(s.train), EvalPairs: len(s.eval), TrainLoss: last.Loss,
		EvalLoss: ev.Loss, EvalAccuracy: ev.Accuracy, InitialEvalAccuracy: s.initialEvalAccuracy,
		FreezeBackbone: s.grads == nil, Parameters: params, Seconds: secs, FinalModelDir: run.StepDir(s.step)}
	if len(ev.BySource) > 0 {
		sum.EvalAccuracyBySrc = ev.BySource
	}
	data, _ := json.MarshalIndent(sum, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(run.Dir, "summary.json"), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	return sum, nil
}

// sources lists the distinct sources of pairs, sorted (for logs).
func sources(ps []encPair) []string {
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.source] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
