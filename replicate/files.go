package replicate

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/internal/atomicfile"
)

// AppendCurve appends one evaluation to dir/curve.jsonl and syncs it, so a
// killed run loses at most the line being written.
func AppendCurve(dir string, p EvalPoint) error {
	line, err := json.Marshal(p)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, curveFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// TruncateCurve drops the evaluations after step (written by an attempt
// that was killed after its last checkpoint), as the trainer does with its
// own logs on resume.
func TruncateCurve(dir string, step int) error {
	return checkpoints.TruncateJSONL(filepath.Join(dir, curveFile), step)
}

// CurveSteps lists the steps dir/curve.jsonl already holds.
func CurveSteps(dir string) (map[int]bool, error) {
	pts, err := readCurve(filepath.Join(dir, curveFile))
	if errors.Is(err, os.ErrNotExist) {
		return map[int]bool{}, nil
	}
	out := map[int]bool{}
	for _, p := range pts {
		out[p.Step] = true
	}
	return out, err
}

// WriteProbe writes dir/probe.json.
func WriteProbe(dir string, p *eval.ProbeResult) error {
	return writeJSON(filepath.Join(dir, probeFile), p)
}

// WriteArtifacts writes dir/artifacts.json.
func WriteArtifacts(dir string, a *ArtifactResult) error {
	return writeJSON(filepath.Join(dir, artFile), a)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(data, '\n'), 0o644)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readJSONL reads one object per line into T; line numbers name a bad one.
func readJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

func readCurve(path string) ([]EvalPoint, error) { return readJSONL[EvalPoint](path) }

// Load reads a replicate run directory: its frozen manifest and the results
// of every finished (arm, seed). Unfinished ones are listed in missing; the
// report says so rather than guess.
func Load(runDir string) (m *Manifest, res Results, missing []string, err error) {
	if m, err = ReadFrozen(runDir); err != nil {
		return nil, nil, nil, err
	}
	res = Results{}
	for _, name := range m.Arms {
		arm, ok := Lookup(name)
		if !ok {
			return nil, nil, nil, fmt.Errorf("%s: unknown arm %q", filepath.Join(runDir, FrozenFile), name)
		}
		ar := &ArmResult{Arm: arm}
		for _, seed := range m.Seeds {
			dir := ArmDir(runDir, name, seed)
			if !IsDone(dir) {
				missing = append(missing, fmt.Sprintf("%s seed %d", name, seed))
				continue
			}
			s, err := loadSeed(dir, arm, seed)
			if err != nil {
				return nil, nil, nil, err
			}
			ar.Seeds = append(ar.Seeds, s)
		}
		res[name] = ar
	}
	return m, res, missing, nil
}

func loadSeed(dir string, arm Arm, seed uint64) (SeedResult, error) {
	s := SeedResult{Seed: seed}
	var err error
	if s.Curve, err = readCurve(filepath.Join(dir, curveFile)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s, fmt.Errorf("%s: %w", dir, errNoCurve)
		}
		return s, err
	}
	if arm.Trains() {
		if s.Metrics, err = readJSONL[MetricPoint](filepath.Join(dir, "train", "metrics.jsonl")); err != nil {
			return s, err
		}
		// An evaluation's KL is the one its step logged.
		kl := map[int]float64{}
		for _, m := range s.Metrics {
			kl[m.Step] = m.KL
		}
		for i, p := range s.Curve {
			if v, ok := kl[p.Step]; ok && p.KL == nil {
				s.Curve[i].KL = &v
			}
		}
	}
	if arm.Probed() {
		s.Probe = &eval.ProbeResult{}
		if err := readJSON(filepath.Join(dir, probeFile), s.Probe); err != nil {
			return s, err
		}
	}
	if arm.Kind == KindBT {
		s.Artifacts = &ArtifactResult{}
		if err := readJSON(filepath.Join(dir, artFile), s.Artifacts); err != nil {
			return s, err
		}
	}
	return s, nil
}
