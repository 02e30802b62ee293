package rollout

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

// Sampler draws groups of completions: for each prompt one ChatRequest with
// N = G, prompts in flight at once up to Concurrency. Token ids come from
// the backend whenever it returns them; they are never re-tokenised then.
type Sampler struct {
	LLM LLM
	G   int // completions per prompt
	// Request holds the sampling parameters of every request (temperature,
	// top-p, top-k, max tokens, stop, log-probs, model); Messages, N and Seed
	// are set per prompt.
	Request ChatRequest
	// Seed, when set, makes prompt p's request use PromptSeed(*Seed, p.ID):
	// the stream depends on the prompt, not on its place in the batch or on
	// the other prompts (DESIGN.md decision 5). Vary it per step.
	Seed        *int64
	Concurrency int // prompts in flight; 0: DefaultSamplerConcurrency
	// FailFast makes the first failed prompt cancel the rest and fail
	// Sample; otherwise a failure stays in its Group.Err and the others go on.
	FailFast bool
	// Tokenize, when set, gives ids to completions whose backend returned
	// none (hosted APIs, Ollama); such completions are marked Retokenized.
	Tokenize func(text string) []int
	Now      func() time.Time // nil: time.Now
	// Progress, when set, is called after each finished group with the
	// number finished so far; calls never overlap.
	Progress func(done, total int)
}

// DefaultSamplerConcurrency is Sampler.Concurrency's default.
const DefaultSamplerConcurrency = 8

// Completion is one sample of a group.
type Completion struct {
	Index         int
	Text          string
	Tokens        []int
	Retokenized   bool // Tokens came from Sampler.Tokenize, not from the backend
	Logprobs      []float64
	TopLogprobs   [][]TokenLogprob
	FinishReason  string
	WeightVersion string
	Latency       time.Duration // of the request that produced the group
}

// Group is the G completions of one prompt, or the error that prevented them.
type Group struct {
	Prompt        Prompt
	Seed          *int64 // the request's seed
	Completions   []Completion
	PromptTokens  []int
	WeightVersion string
	Model         string
	Usage         Usage
	Start         time.Time
	Latency       time.Duration
	Err           error
}

// PromptSeed derives a prompt's seed from the job's seed and the prompt id
// (FNV-1a of the id, mixed by splitmix64). Seeds stay below 2^30, so that
// servers with 32-bit seeds (llama.cpp under Ollama) take seed+i too.
func PromptSeed(seed int64, id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := uint64(seed) ^ h.Sum64()
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return int64(x >> 34)
}

// Sample returns one Group per prompt, in the prompts' order. Its error is
// ctx's when ctx ends, the first failure under FailFast, or a bad Sampler;
// otherwise per-prompt failures are only in Group.Err.
func (s *Sampler) Sample(ctx context.Context, prompts []Prompt) ([]Group, error) {
	if s.LLM == nil {
		return nil, errors.New("rollout: sampler: no LLM")
	}
	if s.G < 1 {
		return nil, fmt.Errorf("rollout: sampler: G must be at least 1, got %d", s.G)
	}
	now := s.Now
	if now == nil {
		now = time.Now
	}
	conc := s.Concurrency
	if conc <= 0 {
		conc = DefaultSamplerConcurrency
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	groups := make([]Group, len(prompts))
	started := make([]bool, len(prompts))
	next := make(chan int)
	var progressMu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range min(conc, len(prompts)) {
		wg.Go(func() {
			for i := range next {
				started[i] = true
				groups[i] = s.group(ctx, prompts[i], now)
				if s.Progress != nil {
					progressMu.Lock()
					done++
					s.Progress(done, len(prompts))
					progressMu.Unlock()
				}
				if err := groups[i].Err; err != nil && s.FailFast {
					cancel(fmt.Errorf("rollout: prompt %q: %w", prompts[i].ID, err))
				}
			}
		})
	}
feed:
	for i := range prompts {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		for i := range groups {
			if !started[i] {
				groups[i].Prompt, groups[i].Err = prompts[i], err // never started
			}
		}
		return groups, err
	}
	return groups, nil
}

// group samples the G completions of one prompt.
func (s *Sampler) group(ctx context.Context, p Prompt, now func() time.Time) Group {
	g := Group{Prompt: p, Start: now()}
	req := s.Request
	req.Messages = p.Conversation()
	req.N = s.G
	if s.Seed != nil {
		seed := PromptSeed(*s.Seed, p.ID)
		req.Seed, g.Seed = &seed, &seed
	}
	resp, err := s.LLM.Chat(ctx, req)
	g.Latency = now().Sub(g.Start)
	if err != nil {
		g.Err = err
		return g
	}
	if len(resp.Choices) != s.G {
		g.Err = fmt.Errorf("asked for %d completions, got %d", s.G, len(resp.Choices))
		return g
	}
	g.PromptTokens, g.WeightVersion, g.Model, g.Usage = resp.PromptTokens, resp.WeightVersion, resp.Model, resp.Usage
	for i, c := range resp.Choices {
		if len(c.Tokens) > 0 && len(c.Logprobs) > 0 && len(c.Tokens) != len(c.Logprobs) {
			g.Err = fmt.Errorf("completion %d: %d token ids but %d log-probabilities", i, len(c.Tokens), len(c.Logprobs))
			g.Completions = nil
			return g
		}
		comp := Completion{
			Index: i, Text: c.Text, Tokens: c.Tokens, Logprobs: c.Logprobs, TopLogprobs: c.TopLogprobs,
			FinishReason: c.FinishReason, WeightVersion: resp.WeightVersion, Latency: g.Latency,
		}
		if len(comp.Tokens) == 0 && s.Tokenize != nil {
			comp.Tokens, comp.Retokenized = s.Tokenize(c.Text), true
		}
		g.Completions = append(g.Completions, comp)
	}
	return g
}
