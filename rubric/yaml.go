package rubric

import (
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// yamlRubric is the hand-written form: snake_case keys, criteria without ids.
//
//	prompt_id: p1
//	prompt: Plan a three-day trip to Lisbon on a student budget.
//	criteria:
//	  - text: Gives a day-by-day plan covering exactly three days.
//	    weight: 3
//	  - text: Stays under 40 words per day.
//	    weight: 1
//	    check: {name: word_count, args: {max: 120}}
type yamlRubric struct {
	PromptID string      `yaml:"prompt_id"`
	Prompt   string      `yaml:"prompt"`
	Criteria []Criterion `yaml:"criteria"`
}

// Keys allowed in each mapping: yaml.v3's KnownFields only works on a
// Decoder, and rubrics are decoded node by node to keep line numbers.
var (
	yamlRubricKeys    = map[string]bool{"prompt_id": true, "prompt": true, "criteria": true}
	yamlCriterionKeys = map[string]bool{"id": true, "text": true, "weight": true, "tags": true, "check": true}
	yamlCheckKeys     = map[string]bool{"name": true, "args": true}
)

// ReadYAML reads hand-written rubrics: one rubric per YAML document, or a
// sequence of rubrics. Decoding is strict (unknown keys are errors) and every
// error names the file and line.
func ReadYAML(path string) ([]*Rubric, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeYAML(f, path)
}

// DecodeYAML is ReadYAML over a reader; name labels errors.
func DecodeYAML(rd io.Reader, name string) ([]*Rubric, error) {
	dec := yaml.NewDecoder(rd)
	var out []*Rubric
	seen := map[string]int{}
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		items := []*yaml.Node{root}
		if root.Kind == yaml.SequenceNode {
			items = root.Content
		}
		for _, n := range items {
			r, err := decodeYAMLRubric(n, name)
			if err != nil {
				return nil, err
			}
			if prev, ok := seen[r.PromptID]; ok {
				return nil, fmt.Errorf("%s:%d: prompt_id %q already has a rubric on line %d", name, n.Line, r.PromptID, prev)
			}
			seen[r.PromptID] = n.Line
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rubric", name)
	}
	return out, nil
}

func decodeYAMLRubric(n *yaml.Node, name string) (*Rubric, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: a rubric must be a mapping with prompt_id, prompt and criteria", name, n.Line)
	}
	if err := checkKeys(n, yamlRubricKeys, name, "rubric"); err != nil {
		return nil, err
	}
	crit := mappingValue(n, "criteria")
	if crit != nil && crit.Kind == yaml.SequenceNode {
		for _, c := range crit.Content {
			if c.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s:%d: a criterion must be a mapping with text and weight", name, c.Line)
			}
			if err := checkKeys(c, yamlCriterionKeys, name, "criterion"); err != nil {
				return nil, err
			}
			if ch := mappingValue(c, "check"); ch != nil && ch.Kind == yaml.MappingNode {
				if err := checkKeys(ch, yamlCheckKeys, name, "check"); err != nil {
					return nil, err
				}
			}
		}
	}
	var y yamlRubric
	if err := n.Decode(&y); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r := &Rubric{PromptID: y.PromptID, Prompt: y.Prompt, Criteria: y.Criteria}
	r.AssignIDs()
	if r.PromptID == "" {
		return nil, fmt.Errorf("%s:%d: rubric has no prompt_id", name, n.Line)
	}
	if len(r.Criteria) == 0 {
		return nil, fmt.Errorf("%s:%d: rubric %q has no criteria", name, n.Line, r.PromptID)
	}
	for i := range r.Criteria {
		if err := r.Criteria[i].validate(); err != nil {
			return nil, fmt.Errorf("%s:%d: rubric %q criterion %d: %w", name, crit.Content[i].Line, r.PromptID, i+1, err)
		}
	}
	return r, nil
}

func checkKeys(n *yaml.Node, allowed map[string]bool, name, what string) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !allowed[k.Value] {
			return fmt.Errorf("%s:%d: unknown %s key %q", name, k.Line, what, k.Value)
		}
	}
	return nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
