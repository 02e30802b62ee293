package sim

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/rft-dev/rft/rollout"
	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld"
)

// DefaultPersona answers "sim" with no model name.
const DefaultPersona = "reference"

// ResponderLLM serves tailworld's scripted personas as an LLM
// (rollout.LLM): the model name picks the persona (base, good, great,
// reference, diverse-1 … diverse-6), the last user message is the prompt.
// Choice i of a request is the persona's sample i under the request's seed,
// or under Seed when the request has none, so "sim:reference" unseeded
// answers with the world's fixed reference (World.ReferenceResponse) when
// Seed is the world's seed. Temperature and the other sampling knobs are
// ignored: personas are their own distribution.
type ResponderLLM struct {
	Seed    uint64
	Persona string // used when a request names no model
}

// NewResponderLLM serves persona ("" is DefaultPersona) with seed.
func NewResponderLLM(seed uint64, persona string) (*ResponderLLM, error) {
	if persona == "" {
		persona = DefaultPersona
	}
	if _, ok := tailworld.Personas()[persona]; !ok {
		return nil, fmt.Errorf("sim: unknown persona %q (want one of %s)", persona, strings.Join(personaNames(), ", "))
	}
	return &ResponderLLM{Seed: seed, Persona: persona}, nil
}

func personaNames() []string {
	var out []string
	for n := range tailworld.Personas() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Chat implements rollout.LLM.
func (l *ResponderLLM) Chat(ctx context.Context, req rollout.ChatRequest) (*rollout.ChatResponse, error) {
	name := l.Persona
	if req.Model != "" {
		name = req.Model
	}
	persona, ok := tailworld.Personas()[name]
	if !ok {
		return nil, fmt.Errorf("sim: unknown persona %q (want one of %s)", name, strings.Join(personaNames(), ", "))
	}
	prompt := ""
	for _, m := range req.Messages {
		if m.Role == "user" {
			prompt = m.Content
		}
	}
	seed := l.Seed
	if req.Seed != nil {
		seed = uint64(*req.Seed)
	}
	n := max(req.N, 1)
	resp := &rollout.ChatResponse{Model: "sim:" + name}
	resp.Usage.PromptTokens = len(strings.Fields(prompt))
	for i := range n {
		text, err := tailworld.Respond(prompt, persona, seed, i)
		if err != nil {
			return nil, fmt.Errorf("sim: persona %s answers tailworld prompts only: %w", name, err)
		}
		resp.Choices = append(resp.Choices, rollout.Choice{Text: text, FinishReason: "stop"})
		resp.Usage.CompletionTokens += len(strings.Fields(text))
	}
	return resp, nil
}

// DefaultSeed is the seed the registered "sim" backend serves with: the
// default world's seed, so "sim:reference" reproduces the fixed reference.
const DefaultSeed = 1

func init() {
	rollout.Register("sim", func(spec rollout.Spec, _ rollout.Options) (rollout.LLM, error) {
		return NewResponderLLM(DefaultSeed, spec.Model)
	})
}

var (
	_ rollout.LLM          = (*ResponderLLM)(nil)
	_ rubric.Proposer      = (*Proposer)(nil)
	_ rubric.Verifier      = (*Verifier)(nil)
	_ rubric.Fingerprinter = (*Verifier)(nil)
)
