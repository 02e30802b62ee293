package rubric

import (
	"fmt"
	"math"
)

// Aggregation turns a response's verdicts into one score in [0, 1].
type Aggregation string

const (
	// AggMean is the paper's weighted share of criteria met, Σ wᵢ·vᵢ / Σ wᵢ.
	AggMean Aggregation = "mean"
	// AggPoints is HealthBench's: points of the criteria met (pitfalls with
	// negative weights subtract) over the positive points, clipped to [0, 1].
	AggPoints Aggregation = "points"
	// AggImplicit asks the verifier for one holistic 1–10 score of the
	// response given the whole rubric, normalised to [0, 1] as (s-1)/9.
	AggImplicit Aggregation = "implicit"
)

// ParseAggregation reads mean, points or implicit.
func ParseAggregation(s string) (Aggregation, error) {
	switch a := Aggregation(s); a {
	case AggMean, AggPoints, AggImplicit:
		return a, nil
	}
	return "", fmt.Errorf("aggregation %q: want mean, points or implicit", s)
}

// WeightedMean is Σ wᵢ·vᵢ / Σ wᵢ (PAPER.md). The paper's weights are
// positive; a negative weight marks a pitfall, read as the positive criterion
// "avoids it" (weight |w|, met when the pitfall is not), so the score stays
// in [0, 1]. A criterion without a verdict counts as not met.
func WeightedMean(r *Rubric, met map[string]bool) float64 {
	var num, den float64
	for _, c := range r.Criteria {
		w, v := c.Weight, met[c.ID]
		if w < 0 {
			w, v = -w, !v
		}
		den += w
		if v {
			num += w
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// Points is HealthBench's score: Σ over met criteria of wᵢ (pitfalls,
// negative, subtract) divided by Σ of the positive weights, clipped to
// [0, 1]. A rubric without positive weights scores 0.
func Points(r *Rubric, met map[string]bool) float64 {
	var num, den float64
	for _, c := range r.Criteria {
		if c.Weight > 0 {
			den += c.Weight
		}
		if met[c.ID] {
			num += c.Weight
		}
	}
	if den == 0 {
		return 0
	}
	return math.Min(1, math.Max(0, num/den))
}
