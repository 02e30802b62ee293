package grpo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/internal/progress"
	"github.com/rft-dev/rft/policy"
)

// RunOptions are the parts of a run that are not in the job.
type RunOptions struct {
	Progress io.Writer // nil: no progress bar
	// StopAfter, when positive, ends the session after that many steps
	// without finishing the run, as a kill would (tests of resume).
	StopAfter int
}

// Summary is written to summary.json at the end of a run.
type Summary struct {
	Steps          int            `json:"steps"`
	RewardFirst    float64        `json:"reward_first"`
	RewardLast     float64        `json:"reward_last"`
	KLLast         float64        `json:"kl_last"`
	GoldFirst      *float64       `json:"gold_first,omitempty"`
	GoldLast       *float64       `json:"gold_last,omitempty"`
	Eval           map[string]any `json:"eval,omitempty"`
	BestEvalScore  *float64       `json:"best_eval_score,omitempty"`
	FinalModelDir  string         `json:"final_model_dir"`
	Seconds        float64        `json:"seconds"`
	SkippedUpdates int            `json:"skipped_updates"`
}

// Step is the GRPO step the session is at (updates done / μ).
func (s *Session) Step() int { return s.trainer.Step / max(s.job.GRPO.Mu, 1) }

// Run trains until train.steps in the run directory.
func (s *Session) Run(ctx context.Context, run *checkpoints.Run, opts RunOptions) (*Summary, error) {
	began := time.Now()
	start := s.Step()
	resumeAt := -1
	if start > 0 {
		resumeAt = start
		slog.Info("resuming", "run", run.Dir, "step", start)
	}
	metrics, err := run.OpenMetrics(resumeAt)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()
	if resumeAt >= 0 {
		if err := checkpoints.TruncateJSONL(filepath.Join(run.Dir, "eval.jsonl"), resumeAt); err != nil {
			return nil, err
		}
	}
	samples, err := openSamples(run.Dir, resumeAt)
	if err != nil {
		return nil, err
	}
	defer samples.Close()
	steps := s.job.Train.Steps
	bar := progress.New(opts.Progress, "train", start, steps)
	sum := &Summary{}
	badRun := 0
	for step := start + 1; step <= steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if opts.StopAfter > 0 && step-start > opts.StopAfter {
			return nil, nil
		}
		rec, recs, err := s.step(ctx, step)
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", step, err)
		}
		sum.SkippedUpdates += rec.SkippedUpdates
		if rec.SkippedUpdates > 0 {
			badRun++
			slog.Warn("non-finite loss or gradient; update skipped", "step", step, "grad_norm", rec.GradNorm)
			if badRun >= s.job.Train.NaNTolerance {
				return nil, fmt.Errorf("step %d: %d steps in a row with a non-finite loss or gradient (train.nan_tolerance); aborting", step, badRun)
			}
		} else {
			badRun = 0
		}
		if s.opts.Evaluator != nil && (step == steps || (s.job.Eval.Every > 0 && step%s.job.Eval.Every == 0)) {
			if err := s.evaluate(ctx, run, step, &rec); err != nil {
				return nil, err
			}
		}
		if err := metrics.Append(rec); err != nil {
			return nil, err
		}
		for _, r := range recs {
			if err := samples.Append(r); err != nil {
				return nil, err
			}
		}
		if step == start+1 && start == 0 {
			sum.RewardFirst, sum.GoldFirst = rec.RewardMean, rec.GoldRewardMean
		}
		sum.RewardLast, sum.KLLast, sum.GoldLast, sum.Eval = rec.RewardMean, rec.KL, rec.GoldRewardMean, rec.Eval
		bar.Update(step, rec.TokensPerSecond, "tok/s", fmt.Sprintf("reward %.3f kl %.4f", rec.RewardMean, rec.KL))
		if every := s.job.Checkpoint.Every; step == steps || (every > 0 && step%every == 0) {
			if err := s.save(run, step); err != nil {
				return nil, err
			}
		}
	}
	sum.Steps = s.Step()
	sum.FinalModelDir = run.StepDir(sum.Steps)
	sum.Seconds = time.Since(began).Seconds()
	if s.hasBest {
		b := s.best
		sum.BestEvalScore = &b
	}
	data, _ := json.MarshalIndent(sum, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(run.Dir, "summary.json"), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	return sum, nil
}

// evaluate scores the policy on held-out prompts, appends eval.jsonl and
// keeps the best model (by held-out score, never by training reward).
func (s *Session) evaluate(ctx context.Context, run *checkpoints.Run, step int, rec *StepRecord) error {
	res, err := s.opts.Evaluator.Evaluate(ctx, s, step)
	if err != nil {
		return fmt.Errorf("eval at step %d: %w", step, err)
	}
	fields := map[string]any{"step": step, "kl": rec.KL, "score": res.Score}
	for k, v := range res.Fields {
		fields[k] = v
	}
	rec.Eval = fields
	line, _ := json.Marshal(fields)
	f, err := os.OpenFile(filepath.Join(run.Dir, "eval.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if s.job.Eval.KeepBest && (!s.hasBest || res.Score > s.best) && !math.IsNaN(res.Score) {
		s.best, s.hasBest = res.Score, true
		if err := policy.SaveDir(filepath.Join(run.Dir, "best"), s.trainer.Model.Params, nil); err != nil {
			return err
		}
		if err := s.tok.Save(filepath.Join(run.Dir, "best", tokenizerFile)); err != nil {
			return err
		}
	}
	return nil
}

// sampleLog appends samples.jsonl.
type sampleLog struct{ f *os.File }

// openSamples opens samples.jsonl, dropping on resume the records of steps
// after the checkpoint (written by the run that was killed).
func openSamples(dir string, resumeAt int) (*sampleLog, error) {
	path := filepath.Join(dir, "samples.jsonl")
	if resumeAt >= 0 {
		if err := checkpoints.TruncateJSONL(path, resumeAt); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &sampleLog{f: f}, nil
}

func (l *sampleLog) Append(r SampleRecord) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = l.f.Write(append(line, '\n'))
	return err
}

func (l *sampleLog) Close() error {
	if err := l.f.Sync(); err != nil {
		l.f.Close()
		return err
	}
	return l.f.Close()
}
