package reward

import (
	"context"
	"fmt"

	"github.com/rft-dev/rft/rubric"
)

// Rubric is the paper's reward: each completion is verified against its
// prompt's rubric and the verdicts are aggregated (rubric.Grader: mode,
// retries, cache, aggregation).
//
// Components: "rubric" (the value), "rubric/met_share" (unweighted share of
// criteria met), "rubric/cache_hits" and "rubric/calls" (this sample's
// verification), and with PerCriterion "rubric/c1"… (1 met, 0 not).
type Rubric struct {
	Rubrics      map[string]*rubric.Rubric // by prompt id
	Grader       *rubric.Grader
	PerCriterion bool
}

// NewRubric indexes rubrics by prompt id.
func NewRubric(rubrics []*rubric.Rubric, g *rubric.Grader) *Rubric {
	m := make(map[string]*rubric.Rubric, len(rubrics))
	for _, r := range rubrics {
		m[r.PromptID] = r
	}
	return &Rubric{Rubrics: m, Grader: g}
}

// Score grades the batch concurrently. A sample without a rubric, or whose
// verification finally failed, has Err set; the batch fails only when ctx
// ends.
func (r *Rubric) Score(ctx context.Context, batch []Sample) ([]Score, error) {
	out := make([]Score, len(batch))
	var items []rubric.Item
	var at []int
	for i, s := range batch {
		rb := r.Rubrics[s.PromptID]
		if rb == nil {
			out[i].Err = fmt.Errorf("reward rubric: no rubric for prompt %q", s.PromptID)
			continue
		}
		items = append(items, rubric.Item{Rubric: rb, Response: s.Completion})
		at = append(at, i)
	}
	results := r.Grader.GradeBatch(ctx, items)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for k, res := range results {
		i := at[k]
		if res.Err != nil {
			out[i].Err = fmt.Errorf("reward rubric: prompt %q: %w", batch[i].PromptID, res.Err)
			continue
		}
		comp := map[string]float64{"rubric": res.Score, "rubric/cache_hits": float64(res.Hits), "rubric/calls": float64(res.Calls)}
		if n := len(res.Verdicts); n > 0 {
			met := 0
			for id, v := range res.Verdicts {
				if v.Met {
					met++
				}
				if r.PerCriterion {
					comp["rubric/"+id] = map[bool]float64{true: 1, false: 0}[v.Met]
				}
			}
			comp["rubric/met_share"] = float64(met) / float64(n)
		}
		out[i] = Score{Value: res.Score, Components: comp}
	}
	return out, nil
}

// Term is one named, weighted reward of a Weighted sum.
type Term struct {
	Name   string
	Weight float64
	Reward Reward
}

// Weighted is Σ wᵢ·rᵢ over named rewards. Components: each term's value
// under its name, and its own components as "name/component". A sample
// fails when any term fails for it.
type Weighted struct {
	Terms []Term
}

// Score scores the batch with every term.
func (w *Weighted) Score(ctx context.Context, batch []Sample) ([]Score, error) {
	out := make([]Score, len(batch))
	for i := range out {
		out[i].Components = map[string]float64{}
	}
	for _, t := range w.Terms {
		scores, err := t.Reward.Score(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("reward %s: %w", t.Name, err)
		}
		if len(scores) != len(batch) {
			return nil, fmt.Errorf("reward %s: %d scores for %d samples", t.Name, len(scores), len(batch))
		}
		for i, s := range scores {
			if out[i].Err != nil {
				continue
			}
			if s.Err != nil {
				out[i] = Score{Err: fmt.Errorf("reward %s: %w", t.Name, s.Err)}
				continue
			}
			out[i].Value += t.Weight * s.Value
			out[i].Components[t.Name] = s.Value
			for k, v := range s.Components {
				if k != t.Name {
					out[i].Components[t.Name+"/"+k] = v
				}
			}
		}
	}
	return out, nil
}
