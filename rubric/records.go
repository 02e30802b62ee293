package rubric

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Prompt is one record of a prompts file: {"id", "prompt"} or {"id",
// "messages"}, with an optional reference answer.
type Prompt struct {
	ID        string `json:"id"`
	Prompt    string `json:"prompt"`
	Reference string `json:"reference,omitempty"`
}

// ReadPrompts reads a prompts JSONL file. A "messages" list is rendered as
// "role: content" turns, so a proposer sees the whole conversation.
func ReadPrompts(path string) ([]Prompt, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Prompt
	seen := map[string]int{}
	err = eachLine(f, path, func(line int, b []byte) error {
		var rec struct {
			ID       json.RawMessage `json:"id"`
			Prompt   *string         `json:"prompt"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
			Reference string `json:"reference"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("%s line %d: %w", path, line, err)
		}
		id, err := idString(rec.ID)
		if err != nil {
			return fmt.Errorf("%s line %d: id: %w", path, line, err)
		}
		p := Prompt{ID: id, Reference: rec.Reference}
		switch {
		case rec.Prompt != nil:
			p.Prompt = *rec.Prompt
		case len(rec.Messages) > 0:
			var parts []string
			for _, m := range rec.Messages {
				parts = append(parts, m.Role+": "+m.Content)
			}
			p.Prompt = strings.Join(parts, "\n\n")
		}
		if strings.TrimSpace(p.Prompt) == "" {
			return fmt.Errorf("%s line %d: no prompt or messages", path, line)
		}
		if prev, ok := seen[id]; ok {
			return fmt.Errorf("%s line %d: id %q repeats line %d", path, line, id, prev)
		}
		seen[id] = line
		out = append(out, p)
		return nil
	})
	return out, err
}

func idString(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", errors.New("missing")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return "", errors.New("empty")
		}
		return s, nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("want a string or a number, got %s", raw)
}

// Candidate is one response to a prompt: an RTD candidate, or a response to
// score. Index is its position among its prompt's records (0-based, file
// order): the response_index of the scores file.
type Candidate struct {
	PromptID string `json:"prompt_id"`
	Response string `json:"response"`
	Source   string `json:"source,omitempty"`
	ID       string `json:"id,omitempty"` // optional; default: Index as a string
	Index    int    `json:"-"`
	Line     int    `json:"-"`
}

// Pool is candidates grouped by prompt, in file order.
type Pool struct {
	Order []string // prompt ids in order of first appearance
	By    map[string][]Candidate
}

// ReadCandidates reads {"prompt_id", "response", "source"} records.
func ReadCandidates(path string) (*Pool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pool := &Pool{By: map[string][]Candidate{}}
	err = eachLine(f, path, func(line int, b []byte) error {
		var rec struct {
			PromptID json.RawMessage `json:"prompt_id"`
			Response *string         `json:"response"`
			Source   string          `json:"source"`
			ID       string          `json:"id"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("%s line %d: %w", path, line, err)
		}
		pid, err := idString(rec.PromptID)
		if err != nil {
			return fmt.Errorf("%s line %d: prompt_id: %w", path, line, err)
		}
		if rec.Response == nil {
			return fmt.Errorf("%s line %d: no response", path, line)
		}
		group := pool.By[pid]
		if len(group) == 0 {
			pool.Order = append(pool.Order, pid)
		}
		c := Candidate{PromptID: pid, Response: *rec.Response, Source: rec.Source, ID: rec.ID, Index: len(group), Line: line}
		if c.ID == "" {
			c.ID = strconv.Itoa(c.Index)
		}
		for _, o := range group {
			if o.ID == c.ID {
				return fmt.Errorf("%s line %d: candidate id %q repeats line %d", path, line, c.ID, o.Line)
			}
		}
		pool.By[pid] = append(group, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pool, nil
}
