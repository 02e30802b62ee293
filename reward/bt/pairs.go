package bt

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Pair is one preference: for prompt, chosen is better than rejected.
// Source says where it came from (e.g. "on-policy", "off-policy"), for
// per-source metrics.
type Pair struct {
	Prompt   string `json:"prompt"`
	Chosen   string `json:"chosen"`
	Rejected string `json:"rejected"`
	Source   string `json:"source,omitempty"`
}

// ReadPairs reads a JSONL file of pairs; blank lines are skipped. Errors
// name the file and line.
func ReadPairs(path string) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pairs: %w", err)
	}
	defer f.Close()
	ps, err := DecodePairs(f, path)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%s: no pairs", path)
	}
	return ps, nil
}

// DecodePairs reads JSONL pairs from r; name is the file name errors give.
// Unknown keys are errors (a typo such as "choosen" must not silently make
// an empty response).
func DecodePairs(r io.Reader, name string) ([]Pair, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	var out []Pair
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var p Pair
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s:%d: not a pair {\"prompt\",\"chosen\",\"rejected\"}: %w", name, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s:%d: more than one JSON value on the line", name, line)
		}
		for _, f := range []struct{ key, v string }{{"prompt", p.Prompt}, {"chosen", p.Chosen}, {"rejected", p.Rejected}} {
			if strings.TrimSpace(f.v) == "" {
				return nil, fmt.Errorf("%s:%d: %q is missing or empty", name, line, f.key)
			}
		}
		if p.Chosen == p.Rejected {
			return nil, fmt.Errorf("%s:%d: chosen and rejected are the same text", name, line)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// WritePairs writes pairs as JSONL.
func WritePairs(w io.Writer, ps []Pair) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, p := range ps {
		if err := enc.Encode(p); err != nil {
			return err
		}
	}
	return nil
}
