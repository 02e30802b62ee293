// Package pretrain is causal-LM pretraining and supervised fine-tuning of the
// native policy: data loading (text and JSONL), sequence packing, the
// training loop with held-out evaluation, checkpoints and exact resume, and
// the smoothed trigram baseline its loss is compared with.
package pretrain

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Example is one training unit before tokenisation. Text examples are
// learned in full; Prompt/Completion pairs and chats only on the completion
// (the assistant's turns), as in SFT.
type Example struct {
	Text       string
	Prompt     string
	Completion string
	Messages   []Message
	Source     string // "FILE:LINE", for error messages
}

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ReadExamples reads a training file: JSONL when the name ends in .jsonl or
// .json (one object per line with "text", "prompt"+"completion", or
// "messages"), otherwise plain text where blank lines separate documents.
func ReadExamples(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	var exs []Example
	if strings.HasSuffix(path, ".jsonl") || strings.HasSuffix(path, ".json") {
		exs, err = readJSONL(f, path)
	} else {
		exs, err = readText(f, path)
	}
	if err != nil {
		return nil, err
	}
	if len(exs) == 0 {
		return nil, fmt.Errorf("%s: no examples (the file is empty)", path)
	}
	return exs, nil
}

func readText(r io.Reader, path string) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	var exs []Example
	var doc strings.Builder
	start := 0
	flush := func() {
		if s := strings.TrimRight(doc.String(), "\n"); strings.TrimSpace(s) != "" {
			exs = append(exs, Example{Text: s, Source: fmt.Sprintf("%s:%d", path, start)})
		}
		doc.Reset()
	}
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			flush()
			continue
		}
		if doc.Len() == 0 {
			start = line
		}
		doc.WriteString(sc.Text())
		doc.WriteByte('\n')
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return exs, nil
}

func readJSONL(r io.Reader, path string) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	var exs []Example
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, line)
		var rec struct {
			Text       *string   `json:"text"`
			Prompt     *string   `json:"prompt"`
			Completion *string   `json:"completion"`
			Messages   []Message `json:"messages"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("%s: not a JSON object: %w", where, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s: more than one JSON value on the line", where)
		}
		ex := Example{Source: where}
		switch {
		case rec.Text != nil:
			ex.Text = *rec.Text
		case rec.Prompt != nil || rec.Completion != nil:
			if rec.Prompt == nil || rec.Completion == nil {
				return nil, fmt.Errorf("%s: \"prompt\" and \"completion\" go together", where)
			}
			ex.Prompt, ex.Completion = *rec.Prompt, *rec.Completion
		case rec.Messages != nil:
			if err := checkMessages(rec.Messages); err != nil {
				return nil, fmt.Errorf("%s: messages: %w", where, err)
			}
			ex.Messages = rec.Messages
		default:
			return nil, fmt.Errorf("%s: want a \"text\", \"prompt\"+\"completion\" or \"messages\" field", where)
		}
		exs = append(exs, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return exs, nil
}

func checkMessages(ms []Message) error {
	if len(ms) == 0 {
		return errors.New("empty")
	}
	assistant := false
	for i, m := range ms {
		switch m.Role {
		case "system", "user":
		case "assistant":
			assistant = true
		default:
			return fmt.Errorf("[%d].role: %q is not system, user or assistant", i, m.Role)
		}
	}
	if !assistant {
		return errors.New("no assistant turn to learn from")
	}
	return nil
}
