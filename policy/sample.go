package policy

import (
	"math"
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
	Seed        uint64
	EOS         []int // generation stops after any of these (included in the output)
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
	rng := rand.New(rand.NewPCG(opts.Seed, uint64(sample)))
	seq := slices.Clone(prompt)
	var out Completion
	limit := min(opts.MaxTokens, m.Config.MaxPositions-len(prompt))
	for len(out.Tokens) < limit {
		logits, err := m.Forward(ws, Batch{Tokens: seq, Lens: []int{len(seq)}})
		if err != nil {
			return out, err
		}
		V := m.Config.VocabSize
		next := pickToken(logits[(len(seq)-1)*V:len(seq)*V], opts, rng)
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

// pickToken draws from softmax(logits/T) truncated to the top-k tokens and
// then to the smallest set whose probability reaches top-p; ties in
// probability keep the lower id first, so truncation is deterministic.
func pickToken(logits []float32, o SampleOptions, rng *rand.Rand) int {
	if o.Temperature < GreedyBelow {
		best := 0
		for i, l := range logits {
			if l > logits[best] {
				best = i
			}
		}
		return best
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case logits[a] > logits[b]:
			return -1
		case logits[a] < logits[b]:
			return 1
		}
		return 0
	})
	if o.TopK > 0 && o.TopK < len(idx) {
		idx = idx[:o.TopK]
	}
	maxL := float64(logits[idx[0]])
	p := make([]float64, len(idx))
	sum := 0.0
	for i, id := range idx {
		p[i] = math.Exp((float64(logits[id]) - maxL) / o.Temperature)
		sum += p[i]
	}
	keep := len(idx)
	if o.TopP > 0 && o.TopP < 1 {
		acc := 0.0
		for i := range p {
			acc += p[i] / sum
			if acc >= o.TopP {
				keep = i + 1
				break
			}
		}
	}
	total := 0.0
	for _, q := range p[:keep] {
		total += q
	}
	u := rng.Float64() * total
	for i, q := range p[:keep] {
		u -= q
		if u < 0 {
			return idx[i]
		}
	}
	return idx[keep-1]
}
