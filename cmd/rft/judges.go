package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/grpo"
	"github.com/rft-dev/rft/rollout"
	"github.com/rft-dev/rft/tasks/tailworld/oracle"
)

// openJudge builds a judge from its spec: tailworld (the task's oracle
// judge, the analog of the paper's GPT-4.1) or an LLM spec.
func openJudge(spec string, baseURLs []string) (eval.Judge, error) {
	if spec == "tailworld" {
		return oracle.Judge{}, nil
	}
	llm, err := rollout.Open(spec, rollout.Options{BaseURLs: baseURLs, Role: "judge"})
	if err != nil {
		return nil, err
	}
	sp, err := rollout.ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	return &eval.LLMJudge{LLM: llm, Model: sp.Model}, nil
}

// readReferences reads reference responses {"prompt_id","response"} by prompt id.
func readReferences(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("references: %w", err)
	}
	defer f.Close()
	refs := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r struct {
			PromptID string `json:"prompt_id"`
			Response string `json:"response"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if r.PromptID == "" {
			return nil, fmt.Errorf("%s:%d: missing \"prompt_id\"", path, line)
		}
		refs[r.PromptID] = r.Response
	}
	return refs, sc.Err()
}

// winRateEvaluator scores a policy by its win-rate against reference
// responses on held-out prompts, with greedy decoding.
type winRateEvaluator struct {
	judge       eval.Judge
	prompts     []grpo.Prompt
	refs        map[string]string
	seed        uint64
	temperature float64 // 0: greedy
}

func newWinRateEvaluator(judge eval.Judge, prompts []grpo.Prompt, refs map[string]string, limit int, seed uint64) (*winRateEvaluator, error) {
	if limit > 0 && limit < len(prompts) {
		prompts = prompts[:limit]
	}
	for _, p := range prompts {
		if _, ok := refs[p.ID]; !ok {
			return nil, fmt.Errorf("eval.reference: no reference response for held-out prompt %q", p.ID)
		}
	}
	return &winRateEvaluator{judge: judge, prompts: prompts, refs: refs, seed: seed}, nil
}

// verdictsWithTexts generates a completion per prompt and judges it against
// the reference, concurrently (the engine batches the generations).
func (e *winRateEvaluator) verdictsWithTexts(ctx context.Context, p grpo.Policy) ([]eval.Verdict, []string, error) {
	out := make([]eval.Verdict, len(e.prompts))
	texts := make([]string, len(e.prompts))
	errs := make([]error, len(e.prompts))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, pr := range e.prompts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			text, err := p.Complete(ctx, pr, e.temperature, e.seed+uint64(i))
			if err == nil {
				out[i], err = e.judge.Compare(ctx, pr.Text(), text, e.refs[pr.ID])
			}
			texts[i], errs[i] = text, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return out, texts, nil
}

func (e *winRateEvaluator) Evaluate(ctx context.Context, p grpo.Policy, step int) (grpo.EvalResult, error) {
	v, _, err := e.verdictsWithTexts(ctx, p)
	if err != nil {
		return grpo.EvalResult{}, err
	}
	w := eval.Summarize(v, e.seed)
	return grpo.EvalResult{Score: w.WinRate, Fields: map[string]any{
		"win_rate": w.WinRate, "wins": w.Wins, "ties": w.Ties, "losses": w.Losses, "n": w.N,
		"ci_low": w.CILow, "ci_high": w.CIHigh,
	}}, nil
}
