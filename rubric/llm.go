package rubric

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rft-dev/rft/rollout"
)

// greedy is the temperature sent for "temperature 0": go-openai drops an
// explicit 0 (omitempty), and rft's server treats anything below 1e-5 as
// greedy (DESIGN.md decisions 6 and 7).
const greedy = 1e-6

// TokenUsage counts one role's LLM calls and tokens.
type TokenUsage struct {
	Calls            int64 `json:"calls"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

type usageCounter struct{ calls, prompt, completion atomic.Int64 }

func (u *usageCounter) add(x rollout.Usage) {
	u.calls.Add(1)
	u.prompt.Add(int64(x.PromptTokens))
	u.completion.Add(int64(x.CompletionTokens))
}

func (u *usageCounter) snapshot() TokenUsage {
	return TokenUsage{Calls: u.calls.Load(), PromptTokens: u.prompt.Load(), CompletionTokens: u.completion.Load()}
}

// chatText sends one user message and returns the first choice's text.
func chatText(ctx context.Context, llm rollout.LLM, model, prompt string, temperature float64, maxTokens int, u *usageCounter) (string, error) {
	if llm == nil {
		return "", errors.New("no LLM configured")
	}
	if temperature < greedy {
		temperature = greedy
	}
	resp, err := llm.Chat(ctx, rollout.ChatRequest{
		Model:       model,
		Messages:    []rollout.Message{{Role: "user", Content: prompt}},
		Temperature: temperature,
		MaxTokens:   maxTokens,
		JSON:        true,
	})
	if err != nil {
		return "", err
	}
	u.add(resp.Usage)
	if len(resp.Choices) == 0 {
		return "", errors.New("the model returned no choice")
	}
	return resp.Choices[0].Text, nil
}

// LLMProposer writes rubrics with an LLM: it renders the proposer templates
// and asks at temperature 0, as the paper does with GPT-4.1.
type LLMProposer struct {
	LLM       rollout.LLM
	Model     string     // ChatRequest.Model; "" is the endpoint's default
	Templates *Templates // nil: the embedded defaults
	MaxTokens int        // 0: the backend's default
	usage     usageCounter
}

// Propose renders the initial or the refinement template and returns the
// model's raw answer.
func (p *LLMProposer) Propose(ctx context.Context, req ProposeRequest) (string, error) {
	t := p.Templates
	if t == nil {
		t = defaultTemplates()
	}
	var prompt string
	var err error
	if req.Current == nil {
		prompt, err = t.Render(TmplProposeInitial, map[string]any{
			"Prompt": req.Prompt, "Reference": req.Reference, "Feedback": req.Feedback,
		})
	} else {
		prompt, err = t.Render(TmplProposeRefine, map[string]any{
			"Prompt": req.Prompt, "Criteria": req.Current.Criteria,
			"ResponseA": req.Pair[0], "ResponseB": req.Pair[1], "Feedback": req.Feedback,
		})
	}
	if err != nil {
		return "", err
	}
	return chatText(ctx, p.LLM, p.Model, prompt, 0, p.MaxTokens, &p.usage)
}

// Usage reports the proposer's calls and tokens so far.
func (p *LLMProposer) Usage() TokenUsage { return p.usage.snapshot() }

// LLMVerifier answers criteria with an LLM (GPT-4.1-mini in the paper): it
// renders the verifier template of the request's mode.
type LLMVerifier struct {
	LLM       rollout.LLM
	Name      string     // the model spec, e.g. openai:gpt-4.1-mini; part of the cache key
	Model     string     // ChatRequest.Model; "" is the endpoint's default
	Templates *Templates // nil: the embedded defaults
	MaxTokens int
	usage     usageCounter
	once      sync.Once
}

func (v *LLMVerifier) templates() *Templates {
	v.once.Do(func() {
		if v.Templates == nil {
			v.Templates = defaultTemplates()
		}
	})
	return v.Templates
}

// Verify renders the template of req.Mode and returns the raw answer.
func (v *LLMVerifier) Verify(ctx context.Context, req VerifyRequest) (string, error) {
	name := TmplVerifyBatched
	switch {
	case req.Mode == ModeImplicit:
		name = TmplVerifyImplicit
	case req.Mode == string(ModePerCriterion):
		name = TmplVerifyCriterion
	}
	crits := req.Criteria
	if req.Mode == ModeImplicit && req.Rubric != nil {
		crits = req.Rubric.Criteria
	}
	prompt, err := v.templates().Render(name, map[string]any{
		"Prompt": req.Prompt, "Response": req.Response, "Criteria": crits,
	})
	if err != nil {
		return "", err
	}
	return chatText(ctx, v.LLM, v.Model, prompt, req.Temperature, v.MaxTokens, &v.usage)
}

// Fingerprint identifies everything about this verifier that can change a
// verdict: the model, its parameters and the template texts.
func (v *LLMVerifier) Fingerprint() string {
	t := v.templates()
	return fmt.Sprintf("llm|%s|%s|max_tokens=%d|%s", v.Name, v.Model, v.MaxTokens,
		t.Hash(TmplVerifyBatched, TmplVerifyCriterion, TmplVerifyImplicit))
}

// Usage reports the verifier's calls and tokens so far.
func (v *LLMVerifier) Usage() TokenUsage { return v.usage.snapshot() }

// Fingerprinter is implemented by verifiers whose answers depend on settings
// (model, parameters, templates) that the verification cache key must hold.
type Fingerprinter interface {
	Fingerprint() string
}
