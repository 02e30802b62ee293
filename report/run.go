package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// ErrNotRun marks errors caused by the run directory itself (missing, not a
// directory, no metrics.jsonl), as opposed to failures while writing the
// report: the CLI maps it to exit status 2.
var ErrNotRun = errors.New("not a run directory")

// Record is one JSON line: its numeric values (null and the strings "NaN",
// "Inf" as NaN/±Inf) and its other scalar values as text. Arrays and nested
// objects are ignored.
type Record struct {
	Line int // 1-based line in its file
	Num  map[string]float64
	Str  map[string]string
}

// Get returns a numeric value and whether the record has it.
func (r Record) Get(key string) (float64, bool) {
	v, ok := r.Num[key]
	return v, ok
}

// Run is everything a report reads from a run directory.
type Run struct {
	Dir      string
	Metrics  []Record // one per step, in increasing step order
	Eval     []Record // eval.jsonl, one per evaluated checkpoint, in step order
	Summary  any      // summary.json decoded, nil when absent
	Config   string   // config.yaml as written, "" when absent
	Warnings []string // lines skipped, files unreadable: shown in the report
}

// Load reads a run directory. Only a missing directory or a missing
// metrics.jsonl is an error (wrapping ErrNotRun); a torn or malformed line,
// a missing or broken optional file, becomes a warning.
func Load(dir string) (*Run, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("report: run directory %s does not exist: %w", dir, ErrNotRun)
	}
	if err != nil {
		return nil, fmt.Errorf("report: %w: %w", ErrNotRun, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("report: %s is not a directory: %w", dir, ErrNotRun)
	}
	run := &Run{Dir: dir}
	metricsPath := filepath.Join(dir, "metrics.jsonl")
	f, err := os.Open(metricsPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("report: %s does not exist (not a run directory, or no step logged yet): %w", metricsPath, ErrNotRun)
	}
	if err != nil {
		return nil, fmt.Errorf("report: %w: %w", ErrNotRun, err)
	}
	recs, warns, err := readJSONL(f, "metrics.jsonl")
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", metricsPath, err)
	}
	run.Warnings = append(run.Warnings, warns...)
	run.Metrics = byStep(recs, true)

	if f, err := os.Open(filepath.Join(dir, "eval.jsonl")); err == nil {
		recs, warns, err := readJSONL(f, "eval.jsonl")
		f.Close()
		run.Warnings = append(run.Warnings, warns...)
		if err != nil {
			run.Warnings = append(run.Warnings, fmt.Sprintf("eval.jsonl: %v", err))
		}
		run.Eval = byStep(recs, false)
	} else if !errors.Is(err, fs.ErrNotExist) {
		run.Warnings = append(run.Warnings, err.Error())
	}

	if data, err := os.ReadFile(filepath.Join(dir, "summary.json")); err == nil {
		if err := json.Unmarshal(data, &run.Summary); err != nil {
			run.Summary = nil
			run.Warnings = append(run.Warnings, fmt.Sprintf("summary.json: %v (not shown)", err))
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		run.Warnings = append(run.Warnings, err.Error())
	}

	if data, err := os.ReadFile(filepath.Join(dir, "config.yaml")); err == nil {
		run.Config = string(data)
	} else if !errors.Is(err, fs.ErrNotExist) {
		run.Warnings = append(run.Warnings, err.Error())
	}
	return run, nil
}

// readJSONL decodes one object per line. A line that does not decode is
// skipped with a warning: the last one is usually torn by a run killed (or
// still running) mid-write; one in the middle means a run was killed and
// resumed without truncating the log. Only a read error is an error.
func readJSONL(r io.Reader, name string) ([]Record, []string, error) {
	var recs []Record
	var warns []string
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			rec, perr := parseRecord(line)
			switch {
			case perr == nil:
				rec.Line = n
				recs = append(recs, rec)
			case err == io.EOF && !bytes.HasSuffix(line, []byte("\n")):
				warns = append(warns, fmt.Sprintf("%s line %d: incomplete last line skipped (run in progress or killed)", name, n))
			default:
				warns = append(warns, fmt.Sprintf("%s line %d: skipped: %v", name, n, perr))
			}
		}
		if err == io.EOF {
			return recs, warns, nil
		}
		if err != nil {
			return recs, warns, err
		}
	}
}

func parseRecord(line []byte) (Record, error) {
	var obj map[string]any
	if err := json.Unmarshal(line, &obj); err != nil {
		return Record{}, err
	}
	if obj == nil {
		return Record{}, errors.New("not a JSON object")
	}
	rec := Record{Num: map[string]float64{}, Str: map[string]string{}}
	for k, v := range obj {
		switch v := v.(type) {
		case float64:
			rec.Num[k] = v
		case nil:
			rec.Num[k] = math.NaN() // writers put null where Go cannot encode NaN
		case string:
			if f, err := strconv.ParseFloat(v, 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
				rec.Num[k] = f
			} else {
				rec.Str[k] = v
			}
		case bool:
			rec.Str[k] = strconv.FormatBool(v)
		}
	}
	return rec, nil
}

// byStep orders records by their "step" (a record without one takes its line
// number). With dedup, a step logged twice keeps its last line: a resumed
// run repeats the steps after its checkpoint, and the later ones are the
// run that went on.
func byStep(recs []Record, dedup bool) []Record {
	step := func(r Record) float64 {
		if s, ok := r.Get("step"); ok && !math.IsNaN(s) {
			return s
		}
		return float64(r.Line)
	}
	if dedup {
		last := map[float64]int{}
		for i, r := range recs {
			last[step(r)] = i
		}
		kept := recs[:0:0]
		for i, r := range recs {
			if last[step(r)] == i {
				kept = append(kept, r)
			}
		}
		recs = kept
	}
	sort.SliceStable(recs, func(a, b int) bool { return step(recs[a]) < step(recs[b]) })
	for i := range recs {
		if _, ok := recs[i].Num["step"]; !ok {
			recs[i].Num["step"] = step(recs[i])
		}
	}
	return recs
}

// numericKeys lists the keys with a numeric value in any record, sorted.
func numericKeys(recs []Record) []string {
	seen := map[string]bool{}
	for _, r := range recs {
		for k := range r.Num {
			seen[k] = true
		}
	}
	return sortedKeys(seen)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
