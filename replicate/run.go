package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/internal/progress"
)

// Runner runs one arm for one seed. The command layer implements it (pools,
// rubrics, reward models, GRPO, evaluation); this package decides what runs
// and what is already done.
type Runner interface {
	// RunArm runs arm with seed in dir, picking up whatever an interrupted
	// attempt left there (its checkpoints), and returns once dir holds the
	// arm's result files (curve.jsonl; probe.json, artifacts.json where the
	// arm has them).
	RunArm(ctx context.Context, arm Arm, seed uint64, dir string) error
}

// ArmDir is where an arm's run for a seed lives.
func ArmDir(runDir, arm string, seed uint64) string {
	return filepath.Join(runDir, "arms", arm, fmt.Sprintf("seed-%d", seed))
}

// done is an arm run's completion record.
type done struct {
	Arm      string  `json:"arm"`
	Seed     uint64  `json:"seed"`
	Seconds  float64 `json:"seconds"`
	Finished string  `json:"finished"`
}

// IsDone says whether the arm run in dir finished: its done-file exists.
// The file is written atomically after everything else, so a run killed at
// any moment is either done with all its files or not done.
func IsDone(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, doneFile))
	return err == nil
}

// Run runs every (seed, arm) of the manifest that is not done yet, seed by
// seed so that a stopped run has complete seeds to report. A finished arm
// is never rerun.
func Run(ctx context.Context, runDir string, m *Manifest, r Runner, out io.Writer) error {
	total := len(m.Arms) * len(m.Seeds)
	finished := 0
	for _, seed := range m.Seeds {
		for _, name := range m.Arms {
			if IsDone(ArmDir(runDir, name, seed)) {
				finished++
			}
		}
	}
	bar := progress.New(out, "replicate", finished, total)
	for _, seed := range m.Seeds {
		for _, name := range m.Arms {
			arm, ok := Lookup(name)
			if !ok {
				return fmt.Errorf("%s: unknown arm %q", filepath.Join(runDir, FrozenFile), name)
			}
			dir := ArmDir(runDir, name, seed)
			if IsDone(dir) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			slog.Info("replicate: arm", "arm", name, "seed", seed, "dir", dir)
			t0 := time.Now()
			if err := r.RunArm(ctx, arm, seed, dir); err != nil {
				return fmt.Errorf("arm %s seed %d: %w", name, seed, err)
			}
			rec, _ := json.MarshalIndent(done{Arm: name, Seed: seed, Seconds: time.Since(t0).Seconds(),
				Finished: time.Now().UTC().Format(time.RFC3339)}, "", "  ")
			if err := atomicfile.WriteBytes(filepath.Join(dir, doneFile), append(rec, '\n'), 0o644); err != nil {
				return err
			}
			finished++
			bar.Update(finished, 0, "", fmt.Sprintf("%s seed %d done in %.0fs", name, seed, time.Since(t0).Seconds()))
		}
	}
	return nil
}

// Seconds reads how long each finished arm run took (done.json), for the
// report's cost table.
func Seconds(runDir, arm string, seed uint64) (float64, bool) {
	data, err := os.ReadFile(filepath.Join(ArmDir(runDir, arm, seed), doneFile))
	if err != nil {
		return 0, false
	}
	var d done
	if json.Unmarshal(data, &d) != nil {
		return 0, false
	}
	return d.Seconds, true
}

// errNoCurve says an arm run left no evaluation.
var errNoCurve = errors.New("no curve.jsonl")
