package grpo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Prompt is one training or evaluation prompt.
type Prompt struct {
	ID        string    `json:"id"`
	Prompt    string    `json:"prompt,omitempty"`
	Messages  []Message `json:"messages,omitempty"`
	Reference string    `json:"reference,omitempty"` // optional reference answer
	Rubric    string    `json:"rubric,omitempty"`    // optional rubric id (default: the prompt id)
}

// Message is one chat turn of a prompt.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Text is the prompt as one string, for rewards and judges that take text:
// the last user turn of a conversation.
func (p Prompt) Text() string {
	if p.Prompt != "" || len(p.Messages) == 0 {
		return p.Prompt
	}
	for i := len(p.Messages) - 1; i >= 0; i-- {
		if p.Messages[i].Role == "user" {
			return p.Messages[i].Content
		}
	}
	return p.Messages[len(p.Messages)-1].Content
}

// ReadPrompts reads a prompts JSONL file. Every line needs an id and either a
// prompt or messages; ids are unique. Errors name the file and line.
func ReadPrompts(path string) ([]Prompt, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("prompts: %w", err)
	}
	var out []Prompt
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var p Prompt
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		switch {
		case p.ID == "":
			return nil, fmt.Errorf("%s:%d: missing \"id\"", path, line)
		case p.Prompt == "" && len(p.Messages) == 0:
			return nil, fmt.Errorf("%s:%d: prompt %q has neither \"prompt\" nor \"messages\"", path, line, p.ID)
		case p.Prompt != "" && len(p.Messages) > 0:
			return nil, fmt.Errorf("%s:%d: prompt %q has both \"prompt\" and \"messages\"", path, line, p.ID)
		}
		if first, dup := seen[p.ID]; dup {
			return nil, fmt.Errorf("%s:%d: id %q already used on line %d", path, line, p.ID, first)
		}
		seen[p.ID] = line
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	return out, nil
}
