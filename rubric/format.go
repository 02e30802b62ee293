package rubric

import (
	"bufio"
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

// AssignIDs numbers the criteria c1…cN in order. Ids are always the code's:
// a proposer's or a file's own ids are never trusted, so that verdict keys
// always follow the order of the criteria.
func (r *Rubric) AssignIDs() {
	for i := range r.Criteria {
		r.Criteria[i].ID = fmt.Sprintf("c%d", i+1)
	}
}

// Criterion returns the criterion with the given id, or nil.
func (r *Rubric) Criterion(id string) *Criterion {
	for i := range r.Criteria {
		if r.Criteria[i].ID == id {
			return &r.Criteria[i]
		}
	}
	return nil
}

// Clone returns a deep copy (criteria, tags, checks and history).
func (r *Rubric) Clone() *Rubric {
	c := *r
	c.Criteria = make([]Criterion, len(r.Criteria))
	for i, cr := range r.Criteria {
		cr.Tags = append([]string(nil), cr.Tags...)
		if cr.Check != nil {
			ch := *cr.Check
			ch.Args = make(map[string]any, len(cr.Check.Args))
			for k, v := range cr.Check.Args {
				ch.Args[k] = v
			}
			cr.Check = &ch
		}
		c.Criteria[i] = cr
	}
	c.Provenance.History = append([]IterationRecord(nil), r.Provenance.History...)
	return &c
}

// Validate reports the first problem that makes a rubric unusable: no prompt
// id, no criteria, an empty criterion, a weight that is zero or not finite,
// an unknown or ill-formed programmatic check.
func (r *Rubric) Validate() error {
	if r.PromptID == "" {
		return errors.New("no prompt_id")
	}
	if len(r.Criteria) == 0 {
		return errors.New("no criteria")
	}
	for i, c := range r.Criteria {
		name := c.ID
		if name == "" {
			name = fmt.Sprintf("criterion %d", i+1)
		}
		if err := c.validate(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (c *Criterion) validate() error {
	if strings.TrimSpace(c.Text) == "" {
		return errors.New("empty text")
	}
	if c.Weight == 0 || math.IsNaN(c.Weight) || math.IsInf(c.Weight, 0) {
		return fmt.Errorf("weight %v: must be a non-zero finite number", c.Weight)
	}
	if c.Check != nil {
		if err := ValidateCheck(c.Check); err != nil {
			return err
		}
	}
	return nil
}

// ReadJSONL reads native rubrics, one JSON object per line. Blank lines are
// skipped; every error names the file and line. Ids are (re)assigned.
func ReadJSONL(path string) ([]*Rubric, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeJSONL(f, path)
}

// DecodeJSONL is ReadJSONL over a reader; name labels errors.
func DecodeJSONL(rd io.Reader, name string) ([]*Rubric, error) {
	var out []*Rubric
	seen := map[string]int{}
	err := eachLine(rd, name, func(line int, b []byte) error {
		var r Rubric
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return fmt.Errorf("%s line %d: %w", name, line, err)
		}
		r.AssignIDs()
		if err := r.Validate(); err != nil {
			return fmt.Errorf("%s line %d: %w", name, line, err)
		}
		if prev, ok := seen[r.PromptID]; ok {
			return fmt.Errorf("%s line %d: prompt_id %q already has a rubric on line %d", name, line, r.PromptID, prev)
		}
		seen[r.PromptID] = line
		out = append(out, &r)
		return nil
	})
	return out, err
}

// WriteJSONL writes rubrics one per line, atomically.
func WriteJSONL(path string, rubrics []*Rubric) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return EncodeJSONL(w, rubrics)
	})
}

// EncodeJSONL writes rubrics one per line.
func EncodeJSONL(w io.Writer, rubrics []*Rubric) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rubrics {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// ReadRubrics reads a rubric file by its extension: .yaml/.yml (hand-written),
// anything else native JSONL.
func ReadRubrics(path string) ([]*Rubric, error) {
	lower := strings.ToLower(path)
	if strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml") {
		return ReadYAML(path)
	}
	return ReadJSONL(path)
}

// eachLine calls fn for every non-blank line, numbered from 1.
func eachLine(rd io.Reader, name string, fn func(line int, b []byte) error) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(nil, 256<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := fn(line, b); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
