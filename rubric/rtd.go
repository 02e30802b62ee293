package rubric

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// PairRule picks the pair a refinement iteration differentiates.
type PairRule string

const (
	// PairTop2 takes the two highest-scoring candidates, ties in input order
	// (the paper).
	PairTop2 PairRule = "top2"
	// PairTop2DistinctSources takes the highest-scoring candidate and the
	// highest-scoring one from another source (ties in input order).
	PairTop2DistinctSources PairRule = "top2-distinct-sources"
)

// ParsePairRule reads top2 or top2-distinct-sources.
func ParsePairRule(s string) (PairRule, error) {
	switch r := PairRule(s); r {
	case PairTop2, PairTop2DistinctSources:
		return r, nil
	}
	return "", fmt.Errorf("pairs %q: want top2 or top2-distinct-sources", s)
}

// ErrNoPair means the pool holds no pair the rule accepts.
var ErrNoPair = errors.New("no pair to differentiate")

// SelectPair applies a rule to scored candidates: scores[i] is candidate i's
// score and ok[i] whether it has one (failed verifications are never picked).
// It returns indices (first the higher-scoring). Ties keep input order.
func SelectPair(rule PairRule, cands []Candidate, scores []float64, ok []bool) (int, int, error) {
	var idx []int
	for i := range cands {
		if ok[i] {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	if len(idx) < 2 {
		return 0, 0, fmt.Errorf("%w: %d scored candidates", ErrNoPair, len(idx))
	}
	switch rule {
	case PairTop2, "":
		return idx[0], idx[1], nil
	case PairTop2DistinctSources:
		for _, j := range idx[1:] {
			if cands[j].Source != cands[idx[0]].Source {
				return idx[0], j, nil
			}
		}
		return 0, 0, fmt.Errorf("%w: no scored candidate from a source other than %q", ErrNoPair, cands[idx[0]].Source)
	}
	return 0, 0, fmt.Errorf("unknown pair rule %q", rule)
}

// CandidateScore is one candidate's score in an iteration.
type CandidateScore struct {
	ID     string   `json:"id"`
	Source string   `json:"source,omitempty"`
	Score  *float64 `json:"score,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// IterationRecord is what one refinement iteration did.
type IterationRecord struct {
	Iteration int              `json:"iteration"` // 1-based
	Scores    []CandidateScore `json:"scores"`    // the pool as scored by the rubric before this iteration
	// Pair is the candidate ids as shown to the proposer (in pool order,
	// so the order says nothing about which scored higher); PairScores
	// are their scores in the same order.
	Pair       [2]string  `json:"pair"`
	PairScores [2]float64 `json:"pair_scores"`
	Diff       *Diff      `json:"diff,omitempty"`
	// Stop says why refinement ended here: "unchanged" (the proposer
	// returned the same rubric), "no pair", or the proposer's failure.
	Stop string `json:"stop,omitempty"`
}

// Refiner runs Refinement-through-Differentiation (PAPER.md): each iteration
// scores the pool with the current rubric, picks a pair, asks the proposer
// to rewrite the whole rubric so that it separates the two (without saying
// which is better) and replaces the rubric.
type Refiner struct {
	Proposer     Proposer
	ProposerName string // recorded in provenance
	Grader       *Grader
	Iterations   int      // 0 is 1
	Pairs        PairRule // "" is top2
	ExcludeUsed  bool     // drop each used pair from the pool
}

// Refine refines one rubric over its prompt's candidate pool. It returns the
// final rubric (the input itself if no iteration changed it) with every
// iteration appended to Provenance.History. A proposer that fails ends the
// refinement with the last good rubric; the failure is recorded in the last
// iteration and returned as a *ProposeError beside the rubric.
func (rf *Refiner) Refine(ctx context.Context, r *Rubric, pool []Candidate) (*Rubric, error) {
	iters := rf.Iterations
	if iters <= 0 {
		iters = 1
	}
	cur := r.Clone()
	live := append([]Candidate(nil), pool...)
	start := cur.Provenance.Iteration
	for it := 1; it <= iters; it++ {
		rec := IterationRecord{Iteration: start + it}
		items := make([]Item, len(live))
		for i, c := range live {
			items[i] = Item{Rubric: cur, Response: c.Response}
		}
		results := rf.Grader.GradeBatch(ctx, items)
		if err := ctx.Err(); err != nil {
			return cur, err
		}
		scores := make([]float64, len(live))
		ok := make([]bool, len(live))
		for i, res := range results {
			cs := CandidateScore{ID: live[i].ID, Source: live[i].Source}
			if res.Err != nil {
				cs.Error = res.Err.Error()
			} else {
				s := res.Score
				cs.Score, scores[i], ok[i] = &s, s, true
			}
			rec.Scores = append(rec.Scores, cs)
		}
		a, b, err := SelectPair(rf.Pairs, live, scores, ok)
		if err != nil {
			rec.Stop = "no pair: " + err.Error()
			cur.Provenance.History = append(cur.Provenance.History, rec)
			return cur, nil
		}
		if b < a {
			a, b = b, a // show the pair in pool order: position must not leak the ranking
		}
		rec.Pair = [2]string{live[a].ID, live[b].ID}
		rec.PairScores = [2]float64{scores[a], scores[b]}
		next, _, err := Propose(ctx, rf.Proposer, ProposeRequest{
			PromptID: cur.PromptID, Prompt: cur.Prompt, Current: cur,
			Pair: [2]string{live[a].Response, live[b].Response},
		})
		if err != nil {
			rec.Stop = "proposer failed: " + err.Error()
			cur.Provenance.History = append(cur.Provenance.History, rec)
			return cur, err
		}
		d := DiffRubrics(cur, next)
		rec.Diff = &d
		if d.Empty() {
			rec.Stop = "unchanged"
			cur.Provenance.History = append(cur.Provenance.History, rec)
			return cur, nil
		}
		next.Provenance = Provenance{
			Iteration: rec.Iteration,
			Pair:      rec.Pair,
			Proposer:  rf.ProposerName,
			History:   append(cur.Provenance.History, rec),
		}
		cur = next
		if rf.ExcludeUsed {
			live = append(append(live[:a:a], live[a+1:b]...), live[b+1:]...)
		}
	}
	return cur, nil
}
