package rubric

import (
	"context"
	"fmt"
	"sync"
)

// ProposeError is a proposer that failed twice for a prompt (a call error or
// an answer the parser could not read, then the same on the one retry).
type ProposeError struct {
	PromptID string
	Raw      string // the last answer, if any
	Err      error
}

func (e *ProposeError) Error() string {
	return fmt.Sprintf("proposer for prompt %s: %v", e.PromptID, e.Err)
}

func (e *ProposeError) Unwrap() error { return e.Err }

// Propose asks the proposer and parses its answer, retrying once (telling
// the proposer why its answer could not be read). The result has ids c1…cN
// and Raw set; warnings are the parser's.
func Propose(ctx context.Context, p Proposer, req ProposeRequest) (*Rubric, []string, error) {
	var lastErr error
	var lastRaw string
	for attempt := 0; attempt < 2; attempt++ {
		req.Attempt = attempt
		raw, err := p.Propose(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			lastErr, req.Feedback = err, ""
			continue
		}
		crits, warns, err := ParseRubric(raw)
		if err == nil {
			r := &Rubric{PromptID: req.PromptID, Prompt: req.Prompt, Criteria: crits, Raw: raw}
			if err = r.Validate(); err == nil {
				return r, warns, nil
			}
		}
		lastErr, lastRaw, req.Feedback = err, raw, err.Error()
	}
	return nil, nil, &ProposeError{PromptID: req.PromptID, Raw: lastRaw, Err: lastErr}
}

// GenerateResult is one prompt's initial rubric, or why there is none.
type GenerateResult struct {
	Rubric   *Rubric
	Warnings []string
	Err      error
}

// Generate writes the initial rubric of each prompt from the prompt alone
// (the paper's procedure), or guided by its reference answer when
// useReference is set, with up to concurrency prompts in flight. A prompt
// whose proposer fails is recorded in its result; the others go on.
func Generate(ctx context.Context, p Proposer, prompts []Prompt, proposerName string, useReference bool, concurrency int) []GenerateResult {
	if concurrency <= 0 {
		concurrency = 8
	}
	out := make([]GenerateResult, len(prompts))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, pr := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			req := ProposeRequest{PromptID: pr.ID, Prompt: pr.Prompt}
			if useReference {
				req.Reference = pr.Reference
			}
			r, warns, err := Propose(ctx, p, req)
			if r != nil {
				r.Provenance = Provenance{Iteration: 0, Proposer: proposerName}
			}
			out[i] = GenerateResult{Rubric: r, Warnings: warns, Err: err}
		}()
	}
	wg.Wait()
	return out
}
