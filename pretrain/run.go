package pretrain

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
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/internal/progress"
)

// StepRecord is one line of metrics.jsonl. The first keys are those of the
// CLI contract shared with `rft train`; KL is 0 (there is no reference policy).
type StepRecord struct {
	Step            int      `json:"step"`
	Loss            float64  `json:"loss"`
	EvalLoss        *float64 `json:"eval_loss,omitempty"`
	LR              float64  `json:"lr"`
	GradNorm        float64  `json:"grad_norm"`
	Tokens          int      `json:"tokens"`
	TokensPerSecond float64  `json:"tokens_per_second"`
	Seconds         float64  `json:"seconds"`
	Skipped         bool     `json:"skipped,omitempty"`
}

// Summary is written to summary.json when the run ends.
type Summary struct {
	Steps         int     `json:"steps"`
	TrainLoss     float64 `json:"train_loss"`
	EvalLoss      float64 `json:"eval_loss"`
	TrigramLoss   float64 `json:"trigram_eval_loss"` // smoothed trigram baseline on the same eval targets
	EvalTokens    int     `json:"eval_tokens"`
	TrainRows     int     `json:"train_rows"`
	Parameters    int     `json:"parameters"`
	Seconds       float64 `json:"seconds"`
	FinalModelDir string  `json:"final_model_dir"`
}

// Options are the parts of a run that are not in the job.
type Options struct {
	Progress io.Writer // nil: no progress bar
	// StopAfter, when positive, ends the session after that many steps
	// without finishing the run, as a kill would (tests of resume).
	StopAfter int
}

// Session is a prepared run: data tokenised, model and optimizer loaded.
type Session struct {
	st  *state
	job *configs.Job
}

// Prepare reads the data, tokenizer and model of a job and, when run is
// non-nil and has checkpoints, the latest one to resume from. It writes
// nothing, so bad input fails before a run directory exists.
func Prepare(run *checkpoints.Run, job *configs.Job) (*Session, error) {
	st, err := prepare(run, job)
	if err != nil {
		return nil, err
	}
	return &Session{st: st, job: job}, nil
}

// Run trains until job.Train.Steps in the run directory.
func (s *Session) Run(ctx context.Context, run *checkpoints.Run, opts Options) (*Summary, error) {
	began := time.Now()
	st, job := s.st, s.job
	tr := st.trainer
	startStep := tr.Step
	metrics, err := run.OpenMetrics(resumeStep(startStep))
	if err != nil {
		return nil, err
	}
	defer metrics.Close()
	if startStep > 0 {
		slog.Info("resuming", "run", run.Dir, "step", startStep)
	}
	t := job.Train
	bar := progress.New(opts.Progress, "pretrain", startStep, t.Steps)
	order := newBatchOrder(job.Seed, len(st.train))
	badSteps := 0
	var last StepRecord
	for tr.Step < t.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if opts.StopAfter > 0 && tr.Step-startStep >= opts.StopAfter {
			return nil, nil
		}
		stepStart := time.Now()
		step := tr.Step
		rows := order.rows(step, t.BatchSize)
		stats, err := tr.StepCE(microBatches(st.train, rows, t.GradAccum))
		if err != nil {
			return nil, fmt.Errorf("step %d: %w", step+1, err)
		}
		secs := time.Since(stepStart).Seconds()
		rec := StepRecord{Step: step + 1, Loss: stats.Loss, LR: stats.LR, GradNorm: stats.GradNorm,
			Tokens: stats.Tokens, TokensPerSecond: float64(stats.Tokens) / secs, Seconds: secs, Skipped: stats.Skipped}
		if stats.Skipped {
			// The batch is consumed without an update; K in a row abort.
			badSteps++
			slog.Warn("non-finite gradient; update skipped", "step", step+1, "grad_norm", stats.GradNorm)
			if badSteps >= t.NaNTolerance {
				return nil, fmt.Errorf("step %d: %d non-finite gradients in a row (train.nan_tolerance); aborting", step+1, badSteps)
			}
		} else {
			badSteps = 0
		}
		if t.EvalEvery > 0 && tr.Step%t.EvalEvery == 0 || tr.Step == t.Steps {
			l, err := st.evalLoss(t.BatchSize)
			if err != nil {
				return nil, err
			}
			rec.EvalLoss = &l
		}
		if err := metrics.Append(rec); err != nil {
			return nil, err
		}
		last = rec
		extra := fmt.Sprintf("loss %.3f", rec.Loss)
		if rec.EvalLoss != nil {
			extra += fmt.Sprintf(" eval %.3f", *rec.EvalLoss)
		}
		bar.Update(tr.Step, rec.TokensPerSecond, "tok/s", extra)
		every := job.Checkpoint.Every
		if tr.Step == t.Steps || (every > 0 && tr.Step%every == 0) {
			if err := st.save(run, job); err != nil {
				return nil, err
			}
		}
	}
	return st.finish(run, job, last, time.Since(began).Seconds())
}

// resumeStep is the metrics cut-off: on a fresh run nothing is truncated.
func resumeStep(step int) int {
	if step == 0 {
		return -1
	}
	return step
}

func (st *state) evalLoss(batch int) (float64, error) {
	sum, count := 0.0, 0
	for lo := 0; lo < len(st.eval); lo += batch {
		rows := make([]int, 0, batch)
		for r := lo; r < min(lo+batch, len(st.eval)); r++ {
			rows = append(rows, r)
		}
		l, n, err := st.trainer.Model.Loss(st.trainer.WS, packBatch(st.eval, rows), 0, nil)
		if err != nil {
			return 0, fmt.Errorf("eval: %w", err)
		}
		sum += l * float64(n)
		count += n
	}
	return sum / float64(count), nil
}

func (st *state) finish(run *checkpoints.Run, job *configs.Job, last StepRecord, secs float64) (*Summary, error) {
	seqs, targets := make([][]int, len(st.eval)), make([][]int, len(st.eval))
	trainSeqs := make([][]int, len(st.train))
	for i, s := range st.eval {
		seqs[i], targets[i] = s.Tokens, s.Targets
	}
	for i, s := range st.train {
		trainSeqs[i] = s.Tokens
	}
	tri := FitTrigram(trainSeqs, st.trainer.Model.Config.VocabSize).Loss(seqs, targets)
	evalTokens := 0
	for _, tg := range targets {
		for _, x := range tg {
			if x >= 0 {
				evalTokens++
			}
		}
	}
	evalLoss := math.NaN()
	if last.EvalLoss != nil {
		evalLoss = *last.EvalLoss
	} else if l, err := st.evalLoss(job.Train.BatchSize); err == nil {
		evalLoss = l
	}
	sum := &Summary{Steps: st.trainer.Step, TrainLoss: last.Loss, EvalLoss: evalLoss, TrigramLoss: tri,
		EvalTokens: evalTokens, TrainRows: len(st.train), Parameters: st.trainer.Model.Config.ParamCount(),
		Seconds: secs, FinalModelDir: run.StepDir(st.trainer.Step)}
	data, _ := json.MarshalIndent(sum, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(run.Dir, "summary.json"), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	return sum, nil
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
