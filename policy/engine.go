package policy

import (
	"context"
	"fmt"
	"sync"
	"time"
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
	// Penalties against repeating tokens and logit biases (penalty.go);
	// they cannot be combined with SampledLogprobs.
	Penalties Penalties
	// Stop, when set, is called after each token of sample i with all its
	// tokens so far; returning true ends the sample with reason "stop" (the
	// server implements stop strings with it). It runs on the engine's
	// goroutine: keep it quick.
	Stop func(sample int, tokens []int) bool
	// OnToken, when set, streams each token as it is produced, on the
	// engine's goroutine (t.Top is shared with the result: read only).
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
	// Wall-clock timing: from the Generate call to the first token of any
	// sample (queueing and prefill included), and to the result.
	FirstToken, Total time.Duration
}

// Engine serves generation requests from one model whose weights can be
// swapped while requests run. It is the KV-cached, continuously batched
// engine (engine_sched.go): a scheduler goroutine owns the model and the
// caches; concurrent Generate calls join the running batch at its next
// step, and every decode step runs one token for every live sample of every
// request as one batch. A request's results do not depend on what else is
// in the batch, nor on the worker count (DESIGN.md decision 5).
type Engine struct {
	mu      sync.Mutex
	cur     *served   // the weights new requests start on
	pending []*genJob // submitted, not yet seen by the scheduler
	running bool      // a scheduler goroutine is live

	sched scheduler // owned by the scheduler goroutine while running is set
}

// NewEngine serves m under the given weight version name.
func NewEngine(m *Model[float32], version string) *Engine {
	return &Engine{cur: newServed(m, version)}
}

// served is one installed set of weights: the model, its version name and
// the scheduler's buffers for it.
// Requests point to the served they started on; it is garbage once the
// engine has moved on and its last request has finished.
type served struct {
	m       *Model[float32]
	version string
	dw      decodeWS // used by the scheduler goroutine only
}

func newServed(m *Model[float32], version string) *served {
	return &served{m: m, version: version}
}

// Config is the served model's architecture.
func (e *Engine) Config() *Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur.m.Config
}

// Version is the name of the weights new requests start on.
func (e *Engine) Version() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur.version
}

// Swap installs new weights for the requests that call Generate after it.
// Requests submitted before it finish on the weights current when they were
// submitted (each keeps a pointer to its weights; a decode step batches the
// sequences of each weight version separately), so none fails or mixes two
// versions, and GenResult.WeightVersion names the one that produced it.
// m must not be modified while requests run on it: pass a new model (or
// fresh parameters) for each version.
func (e *Engine) Swap(m *Model[float32], version string) error {
	e.mu.Lock()
	old := e.cur.m.Config
	e.mu.Unlock()
	if m.Config.VocabSize != old.VocabSize || m.Config.Hidden != old.Hidden || m.Config.Layers != old.Layers {
		return fmt.Errorf("engine: new weights have another architecture than the served model")
	}
	sv := newServed(m, version)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cur = sv
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
	case r.SampledLogprobs && r.Penalties.Active():
		return fmt.Errorf("penalties and logit biases: cannot be combined with sampled log-probabilities (a trainer cannot recompute the adjusted distribution)")
	}
	if err := r.Penalties.Validate(c.VocabSize); err != nil {
		return err
	}
	for _, id := range r.Prompt {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("prompt: token %d is outside the vocabulary [0, %d)", id, c.VocabSize)
		}
	}
	return nil
}

// Generate runs a request to completion and returns its samples in order.
// When ctx ends first, the request's samples leave the batch at the next
// step boundary and Generate returns ctx.Err(); no callback of the request
// runs after Generate has returned.
func (e *Engine) Generate(ctx context.Context, req GenRequest) (*GenResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	if err := req.Validate(e.cur.m.Config); err != nil {
		e.mu.Unlock()
		return nil, err
	}
	job := newGenJob(req, e.cur)
	e.pending = append(e.pending, job)
	if !e.running {
		e.running = true
		go e.schedule()
	}
	e.mu.Unlock()
	select {
	case <-job.done:
	case <-ctx.Done():
		job.cancelled.Store(true)
		<-job.done
		if job.err != nil {
			return nil, ctx.Err()
		}
	}
	return job.res, job.err
}
