// Package checkpoints owns run directories: the resolved config, the metrics
// log, step checkpoints written atomically, retention, listing and what a
// resume needs to find. It knows nothing of model internals: a checkpoint's
// content is written by a callback.
package checkpoints

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/internal/atomicfile"
)

// Run is a run directory:
//
//	config.yaml          the resolved job
//	metrics.jsonl        one JSON object per step
//	checkpoints/step-NNNNNN/
type Run struct {
	Dir string
}

// Create makes a new run directory for job. It refuses a directory that
// already holds a run, so a typo cannot overwrite one: use Open to resume.
func Create(dir string, job *configs.Job) (*Run, error) {
	if _, err := os.Stat(filepath.Join(dir, "config.yaml")); err == nil {
		return nil, fmt.Errorf("%s already holds a run (config.yaml exists); resume it with --resume or choose another --out", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	if err := job.WriteResolved(dir); err != nil {
		return nil, err
	}
	return &Run{Dir: dir}, nil
}

// Open reads an existing run directory and its resolved job, for resuming.
func Open(dir string) (*Run, *configs.Job, error) {
	path := filepath.Join(dir, "config.yaml")
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("%s is not a run directory: %w", dir, err)
	}
	job, err := configs.Load(path, nil)
	if err != nil {
		return nil, nil, err
	}
	return &Run{Dir: dir}, job, nil
}

// Checkpoint is one saved step.
type Checkpoint struct {
	Step int
	Dir  string
}

const stepPrefix = "step-"

// StepDir is where the checkpoint of step lives.
func (r *Run) StepDir(step int) string {
	return filepath.Join(r.Dir, "checkpoints", fmt.Sprintf("%s%06d", stepPrefix, step))
}

// List returns the complete checkpoints in step order. Temporary directories
// of an interrupted save are not checkpoints and are ignored.
func (r *Run) List() ([]Checkpoint, error) {
	entries, err := os.ReadDir(filepath.Join(r.Dir, "checkpoints"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cps []Checkpoint
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, stepPrefix) {
			continue
		}
		step, err := strconv.Atoi(strings.TrimPrefix(name, stepPrefix))
		if err != nil || step < 0 {
			continue
		}
		cps = append(cps, Checkpoint{Step: step, Dir: filepath.Join(r.Dir, "checkpoints", name)})
	}
	sort.Slice(cps, func(i, j int) bool { return cps[i].Step < cps[j].Step })
	return cps, nil
}

// Latest is the last complete checkpoint, or nil when there is none.
func (r *Run) Latest() (*Checkpoint, error) {
	cps, err := r.List()
	if err != nil || len(cps) == 0 {
		return nil, err
	}
	return &cps[len(cps)-1], nil
}

// Save writes the checkpoint of step: write fills a temporary directory,
// which is then renamed into place, so a run killed at any moment leaves
// either no checkpoint of that step or a complete one. A checkpoint of the
// same step is replaced. Afterwards all but the newest keep checkpoints are
// removed (keep ≤ 0 keeps all).
func (r *Run) Save(step, keep int, write func(dir string) error) error {
	parent := filepath.Join(r.Dir, "checkpoints")
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-"+stepPrefix)
	if err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("checkpoint step %d: %w", step, err)
	}
	final := r.StepDir(step)
	if err := replaceDir(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("checkpoint step %d: %w", step, err)
	}
	return r.prune(keep)
}

// replaceDir renames src onto dst, moving an existing dst aside first.
func replaceDir(src, dst string) error {
	old := ""
	if _, err := os.Stat(dst); err == nil {
		old = dst + ".old"
		os.RemoveAll(old)
		if err := os.Rename(dst, old); err != nil {
			return err
		}
	}
	if err := os.Rename(src, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return atomicfile.SyncDir(filepath.Dir(dst))
}

func (r *Run) prune(keep int) error {
	if keep <= 0 {
		return nil
	}
	cps, err := r.List()
	if err != nil {
		return err
	}
	for i := 0; i < len(cps)-keep; i++ {
		if err := os.RemoveAll(cps[i].Dir); err != nil {
			return err
		}
	}
	return nil
}

// CleanTemp removes what interrupted saves left behind.
func (r *Run) CleanTemp() error {
	matches, _ := filepath.Glob(filepath.Join(r.Dir, "checkpoints", ".tmp-*"))
	old, _ := filepath.Glob(filepath.Join(r.Dir, "checkpoints", "*.old"))
	for _, m := range append(matches, old...) {
		if err := os.RemoveAll(m); err != nil {
			return err
		}
	}
	return nil
}
