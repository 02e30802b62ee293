package rollout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Prompt is one record of a prompts file: {"id", "prompt"} or {"id",
// "messages"} (DESIGN.md, records).
type Prompt struct {
	ID       string    `json:"id"`
	Prompt   string    `json:"prompt,omitempty"`
	Messages []Message `json:"messages,omitempty"`
}

// Conversation is the prompt as chat messages: its messages, or its text as
// one user turn.
func (p Prompt) Conversation() []Message {
	if len(p.Messages) > 0 {
		return p.Messages
	}
	return []Message{{Role: "user", Content: p.Prompt}}
}

// ReadPrompts reads a prompts JSONL file (blank lines skipped); name is used
// in errors, which give the line. Other fields (metadata) are allowed; every
// record needs a unique non-empty id
// and exactly one of a non-empty prompt or messages.
func ReadPrompts(r io.Reader, name string) ([]Prompt, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	seen := map[string]int{}
	var out []Prompt
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s line %d: %s", name, line, fmt.Sprintf(format, args...))
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		var p Prompt
		if err := dec.Decode(&p); err != nil {
			return nil, bad("%v", err)
		}
		if dec.More() {
			return nil, bad("more than one JSON value")
		}
		switch {
		case strings.TrimSpace(p.ID) == "":
			return nil, bad(`missing "id"`)
		case p.Prompt == "" && len(p.Messages) == 0:
			return nil, bad(`id %q: needs "prompt" or "messages"`, p.ID)
		case p.Prompt != "" && len(p.Messages) > 0:
			return nil, bad(`id %q: has both "prompt" and "messages"`, p.ID)
		}
		for i, m := range p.Messages {
			if m.Role == "" {
				return nil, bad("id %q: messages[%d]: missing role", p.ID, i)
			}
		}
		if prev, dup := seen[p.ID]; dup {
			return nil, bad("id %q: also on line %d", p.ID, prev)
		}
		seen[p.ID] = line
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
