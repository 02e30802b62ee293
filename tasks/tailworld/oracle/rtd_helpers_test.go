package oracle

import (
	"context"
	"testing"

	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/rft-dev/rft/tasks/tailworld/sim"
)

// A minimal Refinement-through-Differentiation loop over the simulated
// roles, for measuring what emerges (the rubric package owns the real one).

func initialRubric(t testing.TB, p tailworld.Prompt, prop rubric.Proposer) *rubric.Rubric {
	t.Helper()
	raw, err := prop.Propose(context.Background(), rubric.ProposeRequest{PromptID: p.ID, Prompt: p.Text})
	if err != nil {
		t.Fatal(err)
	}
	return parseRubric(t, p, raw)
}

func parseRubric(t testing.TB, p tailworld.Prompt, raw string) *rubric.Rubric {
	t.Helper()
	crits, _, err := rubric.ParseRubric(raw)
	if err != nil {
		t.Fatalf("proposer answer does not parse: %v\n%s", err, raw)
	}
	return &rubric.Rubric{PromptID: p.ID, Prompt: p.Text, Criteria: crits}
}

// rubricScore is the weighted share of criteria the sim verifier says yes to.
func rubricScore(t testing.TB, v rubric.Verifier, r *rubric.Rubric, response string) float64 {
	t.Helper()
	raw, err := v.Verify(context.Background(), rubric.VerifyRequest{Prompt: r.Prompt, Response: response, Rubric: r, Criteria: r.Criteria})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(r.Criteria))
	for i, c := range r.Criteria {
		ids[i] = c.ID
	}
	met, err := rubric.ParseVerdicts(raw, ids)
	if err != nil {
		t.Fatalf("verifier answer does not parse: %v\n%s", err, raw)
	}
	return rubric.WeightedMean(r, met)
}

// refine runs iters RTD iterations on a pool (top two by the current rubric,
// ties in pool order, both dropped after use).
func refine(t testing.TB, p tailworld.Prompt, r *rubric.Rubric, pool []tailworld.Candidate, iters int, prop rubric.Proposer, v rubric.Verifier) *rubric.Rubric {
	t.Helper()
	left := append([]tailworld.Candidate(nil), pool...)
	for it := 0; it < iters && len(left) >= 2; it++ {
		best, second := -1, -1
		var sb, ss float64
		for i, c := range left {
			s := rubricScore(t, v, r, c.Response)
			switch {
			case best < 0 || s > sb:
				best, second, sb, ss = i, best, s, sb
			case second < 0 || s > ss:
				second, ss = i, s
			}
		}
		raw, err := prop.Propose(context.Background(), rubric.ProposeRequest{PromptID: p.ID, Prompt: p.Text, Current: r,
			Pair: [2]string{left[best].Response, left[second].Response}})
		if err != nil {
			t.Fatal(err)
		}
		r = parseRubric(t, p, raw)
		var next []tailworld.Candidate
		for i, c := range left {
			if i != best && i != second {
				next = append(next, c)
			}
		}
		left = next
	}
	return r
}

// goldKeys are the sim keys that coincide with prompt q's gold tail and
// tension criteria (attribute, order, summary, no hedging, a word limit).
func goldTailKey(q tailworld.Request, k sim.Key) bool {
	dir := "asc"
	if q.Intent.Desc {
		dir = "desc"
	}
	switch {
	case k == sim.Key("attr:"+q.Intent.Attr.String()),
		k == sim.Key("order:"+q.Intent.Attr.String()+":"+dir),
		k == sim.Key("summary:"+q.Intent.Superlative()),
		k == "no_hedge", k.Family() == "max_words":
		return true
	}
	return false
}
