package checkpoints

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rft-dev/rft/internal/atomicfile"
)

// Metrics appends one JSON object per step to the run's metrics.jsonl.
type Metrics struct {
	f *os.File
}

// OpenMetrics opens metrics.jsonl for appending. On resume from a checkpoint
// of step s, it first drops every line of a step after s (written after the
// checkpoint by the run that was killed), so the log has each step once.
func (r *Run) OpenMetrics(resumeStep int) (*Metrics, error) {
	path := filepath.Join(r.Dir, "metrics.jsonl")
	if resumeStep >= 0 {
		if err := TruncateJSONL(path, resumeStep); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	return &Metrics{f: f}, nil
}

// Append writes one record and flushes it to disk, so a killed run loses at
// most the line being written.
func (m *Metrics) Append(record any) error {
	line, err := json.Marshal(record)
	if err != nil {
		return err
	}
	if _, err := m.f.Write(append(line, '\n')); err != nil {
		return err
	}
	return m.f.Sync()
}

func (m *Metrics) Close() error { return m.f.Close() }

// TruncateJSONL keeps the lines of a per-step log whose "step" is at most
// step; a torn last line (a run killed mid-write) is dropped too. Resuming
// runs call it on every log they append to.
func TruncateJSONL(path string, step int) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	// A last line without its newline was torn by a kill mid-write.
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1]
	}
	var kept bytes.Buffer
	for i, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rec struct {
			Step *int `json:"step"`
		}
		if err := json.Unmarshal(line, &rec); err != nil || rec.Step == nil {
			return fmt.Errorf("%s:%d: not a metrics record with a step", path, i+1)
		}
		if *rec.Step <= step {
			kept.Write(line)
		}
	}
	return atomicfile.WriteBytes(path, kept.Bytes(), 0o644)
}
