package policy

import (
	"math/rand/v2"
	"slices"
)

// SampleOptions control generation. Temperature below GreedyBelow means
// greedy decoding (DESIGN.md, decision 6).
type SampleOptions struct {
	MaxTokens   int
	Temperature float64
	TopP        float64 // 1 disables
	TopK        int     // 0 disables
	MinP        float64 // 0 disables
	Seed        uint64
	EOS         []int // generation stops after any of these (included in the output)
	Penalties   Penalties
}

// GreedyBelow is the temperature under which sampling is greedy.
const GreedyBelow = 1e-5

// Completion is one generated continuation.
type Completion struct {
	Tokens       []int
	FinishReason string // "stop" (an EOS id) or "length"
}

// Generate samples a continuation of prompt. This is the straightforward
// engine: each new token re-runs the forward pass over the whole sequence, so
// its cost grows quadratically; it serves `rft sample` and tests, and is the
// reference the KV-cached engine must agree with. Sample i of a seed draws
// from its own stream, so samples do not depend on each other.
func Generate(m *Model[float32], ws *Workspace[float32], prompt []int, opts SampleOptions, sample int) (Completion, error) {
	sampler := newTokenSampler(opts, rand.New(rand.NewPCG(opts.Seed, uint64(sample))))
	sampler.penalise(opts.Penalties, prompt, m.Config.VocabSize)
	seq := slices.Clone(prompt)
	var out Completion
	limit := min(opts.MaxTokens, m.Config.MaxPositions-len(prompt))
	for len(out.Tokens) < limit {
		logits, err := m.Forward(ws, Batch{Tokens: seq, Lens: []int{len(seq)}})
		if err != nil {
			return out, err
		}
		V := m.Config.VocabSize
		next := sampler.pick(logits[(len(seq)-1)*V : len(seq)*V])
		seq = append(seq, next)
		out.Tokens = append(out.Tokens, next)
		if slices.Contains(opts.EOS, next) {
			out.FinishReason = "stop"
			return out, nil
		}
	}
	out.FinishReason = "length"
	return out, nil
}

// pickToken draws one token from logits with the engine's sampler (see
// tokenSampler for the truncation order and the draw).
func pickToken(logits []float32, o SampleOptions, rng *rand.Rand) int {
	return newTokenSampler(o, rng).pick(logits)
}
