package policy

import (
	"context"
	"fmt"
	"sync"
)

// GenRequest asks the engine for N completions of one prompt. The N samples
// share the prompt (the KV-cached engine prefills it once).
type GenRequest struct {
	Prompt      []int
	N           int // samples; 0 means 1
	MaxTokens   int
	Temperature float64 // below GreedyBelow: greedy
	TopP        float64 // 0 or 1: off
	TopK        int     // 0: off
	MinP        float64 // 0: off
	Seed        uint64  // sample i draws from the stream (Seed, i): requests are reproducible alone or batched
	EOS         []int   // ids that end a sample (finish reason "stop")
	TopLogprobs int     // alternatives reported per position
	// SampledLogprobs reports the log-probabilities of the distribution
	// actually sampled, log softmax(logits/T) before truncation (the rollout
	// path, DESIGN.md decision 6); otherwise the raw ones at T = 1, as the
	// public APIs report.
	SampledLogprobs bool
	// Stop, when set, is called after each token of sample i with all its
	// tokens so far; returning true ends the sample with reason "stop" (the
	// server implements stop strings with it). It runs on the engine's
	// goroutine: keep it quick.
	Stop func(sample int, tokens []int) bool
	// OnToken, when set, streams each token as it is produced.
	OnToken func(sample int, t GenToken)
}

// GenToken is one generated token.
type GenToken struct {
	ID      int
	Logprob float32
	Top     []TokenAlt // the TopLogprobs most likely tokens, most likely first
}

// TokenAlt is one alternative at a position.
type TokenAlt struct {
	ID      int
	Logprob float32
}

// GenSample is one finished completion.
type GenSample struct {
	Tokens       []int
	Logprobs     []float32
	Top          [][]TokenAlt // nil unless TopLogprobs > 0
	FinishReason string       // "stop" or "length"
}

// GenResult is the answer to a GenRequest.
type GenResult struct {
	Samples       []GenSample
	WeightVersion string // the weights that produced every sample of this result
}

// Engine serves generation requests from one model whose weights can be
// swapped while requests run: a request finishes on the weights it started
// with. This is the reference implementation (one request at a time, full
// recomputation per token); the KV-cached, continuously batched engine
// replaces its internals behind the same methods.
type Engine struct {
	mu      sync.Mutex
	model   *Model[float32]
	version string
	ws      *Workspace[float32]
}

// NewEngine serves m under the given weight version name.
func NewEngine(m *Model[float32], version string) *Engine {
	return &Engine{model: m, version: version, ws: NewWorkspace[float32](false)}
}

// Config is the served model's architecture.
func (e *Engine) Config() *Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.model.Config
}

// Swap installs new weights; requests already running finish on the old.
func (e *Engine) Swap(m *Model[float32], version string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.model.Config
	if m.Config.VocabSize != old.VocabSize || m.Config.Hidden != old.Hidden || m.Config.Layers != old.Layers {
		return fmt.Errorf("engine: new weights have another architecture than the served model")
	}
	e.model, e.version = m, version
	return nil
}

// Validate checks a request against the model before any work.
func (r *GenRequest) Validate(c *Config) error {
	switch {
	case len(r.Prompt) == 0:
		return fmt.Errorf("prompt is empty")
	case r.N < 0 || r.N > 1024:
		return fmt.Errorf("n: %d is not in [1, 1024]", r.N)
	case r.MaxTokens < 1:
		return fmt.Errorf("max tokens: must be at least 1, got %d", r.MaxTokens)
	case len(r.Prompt) >= c.MaxPositions:
		return fmt.Errorf("prompt: %d tokens do not fit the context window of %d", len(r.Prompt), c.MaxPositions)
	case r.Temperature < 0:
		return fmt.Errorf("temperature: must be non-negative, got %g", r.Temperature)
	case r.TopP < 0 || r.TopP > 1:
		return fmt.Errorf("top_p: must be in [0, 1], got %g", r.TopP)
	case r.MinP < 0 || r.MinP > 1:
		return fmt.Errorf("min_p: must be in [0, 1], got %g", r.MinP)
	case r.TopK < 0:
		return fmt.Errorf("top_k: must be non-negative, got %d", r.TopK)
	case r.TopLogprobs < 0 || r.TopLogprobs > 20:
		return fmt.Errorf("top_logprobs: %d is not in [0, 20]", r.TopLogprobs)
	}
	for _, id := range r.Prompt {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("prompt: token %d is outside the vocabulary [0, %d)", id, c.VocabSize)
		}
	}
	return nil
}

// Generate runs a request to completion (or until ctx ends).
func (e *Engine) Generate(ctx context.Context, req GenRequest) (*GenResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, version := e.model, e.version
	if err := req.Validate(m.Config); err != nil {
		return nil, err
	}
	n := max(req.N, 1)
	res := &GenResult{WeightVersion: version}
	opts := SampleOptions{MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK, Seed: req.Seed, EOS: req.EOS}
	if opts.TopP == 0 {
		opts.TopP = 1
	}
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := Generate(m, e.ws, req.Prompt, opts, i)
		if err != nil {
			return nil, err
		}
		res.Samples = append(res.Samples, GenSample{Tokens: c.Tokens, FinishReason: c.FinishReason})
	}
	return res, nil
}
