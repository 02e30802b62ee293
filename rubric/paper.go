package rubric

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/rft-dev/rft/internal/atomicfile"
)

// PaperRecord is one record of the paper's released rubric data (PAPER.md).
type PaperRecord struct {
	ID             string           `json:"id"`
	Prompt         string           `json:"prompt"`
	OriginalRubric string           `json:"original_rubric"`
	TotalCriteria  int              `json:"total_criteria"`
	Criteria       []PaperCriterion `json:"criteria"`
	TotalWeight    float64          `json:"total_weight"`
}

// PaperCriterion is one criterion of a PaperRecord.
type PaperCriterion struct {
	Criterion string  `json:"criterion"`
	Weight    float64 `json:"weight"`
	LocalID   string  `json:"local_id"`
}

// ImportPaper reads the paper's JSON (an array of records, one record, or one
// record per line). Irregular records are read, each irregularity coming back
// as a warning that names the record: criteria given as a JSON string or as a
// {"criterion text": weight} map, missing local ids, non-numeric weights,
// totals that disagree with the criteria. A record with no id, no prompt or
// no usable criterion is an error naming the file and line.
func ImportPaper(path string) ([]*Rubric, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return DecodePaper(data, path)
}

// DecodePaper is ImportPaper over bytes; name labels errors and warnings.
func DecodePaper(data []byte, name string) ([]*Rubric, []string, error) {
	var out []*Rubric
	var warns []string
	seen := map[string]int{}
	n := 0
	err := eachPaperRecord(data, func(line int, raw []byte) error {
		n++
		label := fmt.Sprintf("%s:%d: record %d", name, line, n)
		r, w, err := paperRecord(raw)
		if r != nil && r.PromptID != "" {
			label += fmt.Sprintf(" (id %s)", r.PromptID)
		}
		for _, s := range w {
			warns = append(warns, label+": "+s)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		if prev, ok := seen[r.PromptID]; ok {
			return fmt.Errorf("%s: id %q repeats the record on line %d", label, r.PromptID, prev)
		}
		seen[r.PromptID] = line
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, warns, err
	}
	if len(out) == 0 {
		return nil, warns, fmt.Errorf("%s: no records", name)
	}
	return out, warns, nil
}

// eachPaperRecord walks the records of an array, or of a stream of values,
// with the line each starts on.
func eachPaperRecord(data []byte, fn func(line int, raw []byte) error) error {
	lineAt := func(off int64) int {
		for int(off) < len(data) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
			off++
		}
		return 1 + bytes.Count(data[:off], []byte{'\n'})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if _, err := dec.Token(); err != nil {
			return err
		}
		for dec.More() {
			line := lineAt(dec.InputOffset())
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			if err := fn(line, raw); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		return err
	}
	for {
		line := lineAt(dec.InputOffset())
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err := fn(line, raw); err != nil {
			return err
		}
	}
}

func paperRecord(raw []byte) (*Rubric, []string, error) {
	v, err := decodeOrdered(raw)
	if err != nil {
		return nil, nil, err
	}
	obj, ok := v.(jsonObject)
	if !ok {
		return nil, nil, fmt.Errorf("want an object, got %s", jsonKind(v))
	}
	r := &Rubric{}
	switch id := mustGet(obj, "id").(type) {
	case string:
		r.PromptID = id
	case json.Number:
		r.PromptID = id.String()
	}
	if r.PromptID == "" {
		return nil, nil, errors.New("no id")
	}
	r.Prompt, _ = mustGet(obj, "prompt").(string)
	if r.Prompt == "" {
		return r, nil, errors.New("no prompt")
	}
	r.Raw, _ = mustGet(obj, "original_rubric").(string)
	cv, ok := obj.get("criteria")
	if !ok {
		return r, nil, errors.New("no criteria")
	}
	crits, warns, err := criteriaFromValue(cv, 0)
	if err != nil {
		return r, warns, err
	}
	if len(crits) == 0 {
		return r, warns, errors.New("no criteria")
	}
	if list, ok := cv.([]any); ok {
		missing := 0
		for _, item := range list {
			if o, ok := item.(jsonObject); ok {
				if _, has := o.get("local_id"); !has {
					missing++
				}
			}
		}
		if missing > 0 {
			warns = append(warns, fmt.Sprintf("%d criteria without local_id, ids assigned in order", missing))
		}
	}
	r.Criteria = crits
	r.AssignIDs()
	total := 0.0
	for _, c := range r.Criteria {
		total += c.Weight
	}
	if n, ok := mustGet(obj, "total_criteria").(json.Number); ok {
		if k, err := n.Int64(); err != nil || int(k) != len(crits) {
			warns = append(warns, fmt.Sprintf("total_criteria %s but %d criteria", n, len(crits)))
		}
	}
	if n, ok := mustGet(obj, "total_weight").(json.Number); ok {
		if f, err := n.Float64(); err != nil || math.Abs(f-total) > 1e-9 {
			warns = append(warns, fmt.Sprintf("total_weight %s but the weights sum to %g", n, total))
		}
	}
	return r, warns, nil
}

func mustGet(o jsonObject, key string) any {
	v, _ := o.get(key)
	return v
}

// ToPaper converts a rubric to the paper's record. Tags and programmatic
// checks have no place there; the warnings say which criteria lost them.
func ToPaper(r *Rubric) (PaperRecord, []string) {
	rec := PaperRecord{ID: r.PromptID, Prompt: r.Prompt, OriginalRubric: r.Raw, TotalCriteria: len(r.Criteria)}
	var warns []string
	for _, c := range r.Criteria {
		rec.Criteria = append(rec.Criteria, PaperCriterion{Criterion: c.Text, Weight: c.Weight, LocalID: c.ID})
		rec.TotalWeight += c.Weight
		if c.Check != nil || len(c.Tags) > 0 {
			warns = append(warns, fmt.Sprintf("rubric %s %s: tags and checks are not part of the paper's format, dropped", r.PromptID, c.ID))
		}
	}
	return rec, warns
}

// ExportPaper writes rubrics as the paper's JSON (an array), atomically.
func ExportPaper(path string, rubrics []*Rubric) ([]string, error) {
	var recs []PaperRecord
	var warns []string
	for _, r := range rubrics {
		rec, w := ToPaper(r)
		recs = append(recs, rec)
		warns = append(warns, w...)
	}
	data, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return warns, err
	}
	return warns, atomicfile.WriteBytes(path, append(data, '\n'), 0o644)
}
