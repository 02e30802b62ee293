// Package oracle adapts tailworld's hidden ground truth to the evaluation
// seams: the oracle pairwise judge (eval.Judge, the analog of the paper's
// GPT-4.1), the gold reward r* (reward.Reward, for metrics and for the
// "oracle reward" arms), and the Mechanism-1 corruption of r*. Only eval and
// replication wiring may import it; the trainer, proposer and verifier must
// not (a test checks the import graph).
package oracle

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/reward"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/rft-dev/rft/tasks/tailworld/internal/truth"
)

// Judge is the oracle pairwise judge: it prefers the response with the
// higher r*, and calls a tie when they are equal. It has no position bias,
// so it needs no order flip.
type Judge struct{}

// Compare implements eval.Judge.
func (Judge) Compare(ctx context.Context, prompt, a, b string) (eval.Verdict, error) {
	c, err := truth.Compare(prompt, a, b)
	if err != nil {
		return eval.Tie, fmt.Errorf("oracle judge: %w", err)
	}
	return eval.Verdict(c), nil
}

// Reward is the gold reward r* in [0, 1]. Components hold the gold share,
// the holistic component and each gold criterion (1 met, 0 not), under
// "gold", "holistic" and "gold:ID".
type Reward struct{}

// Score implements reward.Reward.
func (Reward) Score(ctx context.Context, batch []reward.Sample) ([]reward.Score, error) {
	out := make([]reward.Score, len(batch))
	for i, s := range batch {
		q, err := tailworld.ParsePrompt(s.Prompt)
		if err != nil {
			out[i].Err = fmt.Errorf("oracle reward: sample %d (%s): %w", i, s.PromptID, err)
			continue
		}
		ev := truth.Evaluate(q, s.Completion)
		c := map[string]float64{"gold": ev.Gold, "holistic": ev.Holistic}
		for id, ok := range ev.Met {
			c["gold:"+id] = b2f(ok)
		}
		out[i] = reward.Score{Value: ev.RStar, Components: c}
	}
	return out, nil
}

// RStar is the oracle reward of one response.
func RStar(prompt, response string) (float64, error) { return truth.RStar(prompt, response) }

// Met returns which gold criteria a response meets, by id (count,
// constraint, correct, format, attribute, order, summary, no_hedging,
// concise), and each one's class (basic, tail, tension).
func Met(prompt, response string) (met map[string]bool, class map[string]string, err error) {
	q, err := tailworld.ParsePrompt(prompt)
	if err != nil {
		return nil, nil, err
	}
	class = map[string]string{}
	for _, g := range truth.Criteria(q) {
		class[g.ID] = string(g.Class)
	}
	return truth.Evaluate(q, response).Met, class, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Region is where Mechanism-1 error goes.
type Region int

const (
	Top    Region = iota // r* above the threshold (the top 10% of base samples)
	Bottom               // r* at or below it
)

// Corruption injects error into r* in one region only (PAPER.md, the claim:
// misranking in the high-reward tail dominates). The error is Gaussian with
// standard deviation Scale, drawn per key (prompt and response), so the
// corrupted reward is a deterministic function of the sample.
type Corruption struct {
	Region    Region
	Threshold float64 // the r* boundary between the regions, e.g. Quantile(base r*, 0.9)
	Scale     float64
	Seed      uint64
}

// Apply returns the corrupted reward for a sample with oracle reward rstar.
func (c Corruption) Apply(rstar float64, key string) float64 {
	in := rstar > c.Threshold
	if c.Region == Bottom {
		in = !in
	}
	if !in || c.Scale == 0 {
		return rstar
	}
	r := rand.New(rand.NewPCG(c.Seed, tailworld.Hash64("mechanism1", key)))
	return rstar + c.Scale*r.NormFloat64()
}

// MatchedScales gives the same amount of error to both experiments: the
// scales for which the mean squared error over the whole base distribution
// is total², when the top region holds topFrac of it (0.1 in the paper's
// experiment): topFrac·σ_top² = (1−topFrac)·σ_bottom² = total².
func MatchedScales(total, topFrac float64) (top, bottom float64) {
	return total / math.Sqrt(topFrac), total / math.Sqrt(1-topFrac)
}

// Quantile returns the q-quantile of xs (nearest rank; xs is not modified).
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// CorruptedReward is r* through a Corruption, as a reward.Reward.
type CorruptedReward struct{ Corruption Corruption }

// Score implements reward.Reward.
func (c CorruptedReward) Score(ctx context.Context, batch []reward.Sample) ([]reward.Score, error) {
	out, err := Reward{}.Score(ctx, batch)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Err == nil {
			r := out[i].Value
			out[i].Value = c.Corruption.Apply(r, batch[i].Prompt+"\x00"+batch[i].Completion)
			out[i].Components["rstar"] = r
		}
	}
	return out, nil
}

var (
	_ eval.Judge    = Judge{}
	_ reward.Reward = Reward{}
	_ reward.Reward = CorruptedReward{}
)
