package rubric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// kVerifier meets criteria c1…cK for a response "… k=K": with four criteria
// of weight 1 a response scores K/4 under any rubric.
func kVerifier() *scriptVerifier {
	return &scriptVerifier{fault: func(req VerifyRequest) (string, error, bool) {
		var k int
		fmt.Sscanf(req.Response[strings.Index(req.Response, "k=")+2:], "%d", &k)
		m := map[string]string{}
		for _, c := range req.Criteria {
			var n int
			fmt.Sscanf(c.ID, "c%d", &n)
			m[c.ID] = map[bool]string{true: "yes", false: "no"}[n <= k]
		}
		b, _ := json.Marshal(m)
		return string(b), nil, true
	}}
}

// scriptProposer returns rubric i for its i-th call and records requests.
type scriptProposer struct {
	mu      sync.Mutex
	reqs    []ProposeRequest
	answers func(n int, req ProposeRequest) (string, error)
}

func (p *scriptProposer) Propose(ctx context.Context, req ProposeRequest) (string, error) {
	p.mu.Lock()
	n := len(p.reqs)
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	return p.answers(n, req)
}

func rubricText(prefix string) string {
	return fmt.Sprintf(`{"criteria": [{"criterion": "%s one", "weight": 1}, {"criterion": "%s two", "weight": 1}, {"criterion": "%s three", "weight": 1}, {"criterion": "%s four", "weight": 1}]}`, prefix, prefix, prefix, prefix)
}

func kPool(ks []int, sources []string) []Candidate {
	var out []Candidate
	for i, k := range ks {
		out = append(out, Candidate{PromptID: "p", ID: fmt.Sprint(i), Index: i, Source: sources[i], Response: fmt.Sprintf("candidate %d k=%d", i, k)})
	}
	return out
}

func startRubric() *Rubric {
	crits, _, _ := ParseRubric(rubricText("alpha"))
	return &Rubric{PromptID: "p", Prompt: "Q?", Criteria: crits}
}

func TestSelectPair(t *testing.T) {
	cands := kPool([]int{2, 3, 3, 1, 3}, []string{"y", "x", "x", "y", "x"})
	scores := []float64{2, 3, 3, 1, 3}
	all := []bool{true, true, true, true, true}
	cases := []struct {
		rule PairRule
		ok   []bool
		a, b int
		err  bool
	}{
		{PairTop2, all, 1, 2, false},                                   // ties keep input order
		{PairTop2DistinctSources, all, 1, 0, false},                    // best x, then best y
		{PairTop2, []bool{true, false, true, true, true}, 2, 4, false}, // failed verification never picked
		{PairTop2DistinctSources, []bool{false, true, true, false, true}, 0, 0, true},
		{PairTop2, []bool{false, false, false, false, true}, 0, 0, true},
	}
	for i, c := range cases {
		a, b, err := SelectPair(c.rule, cands, scores, c.ok)
		if (err != nil) != c.err || (!c.err && (a != c.a || b != c.b)) {
			t.Errorf("case %d %s: %d %d %v, want %d %d err %v", i, c.rule, a, b, err, c.a, c.b, c.err)
		}
		if c.err && !errors.Is(err, ErrNoPair) {
			t.Errorf("case %d: %v is not ErrNoPair", i, err)
		}
	}
	tie := []float64{1, 1, 1, 1, 1}
	if a, b, _ := SelectPair(PairTop2, cands, tie, all); a != 0 || b != 1 {
		t.Errorf("all tied: %d %d, want 0 1", a, b)
	}
}

// TestRefinePairRules: RTD with a scripted proposer follows the pair rules
// exactly, shows the pair in pool order (never the ranking), drops used
// pairs when asked and records every iteration.
func TestRefinePairRules(t *testing.T) {
	pool := kPool([]int{2, 3, 3, 1, 3}, []string{"y", "x", "x", "y", "x"})
	cases := []struct {
		rule    PairRule
		exclude bool
		iters   int
		pairs   [][2]string
	}{
		{PairTop2, false, 2, [][2]string{{"1", "2"}, {"1", "2"}}},
		{PairTop2, true, 2, [][2]string{{"1", "2"}, {"0", "4"}}},
		{PairTop2DistinctSources, false, 1, [][2]string{{"0", "1"}}},
		{PairTop2DistinctSources, true, 3, [][2]string{{"0", "1"}, {"2", "3"}}}, // then only x remains: no pair
	}
	for _, c := range cases {
		prop := &scriptProposer{answers: func(n int, req ProposeRequest) (string, error) {
			return rubricText(fmt.Sprintf("gen%d", n)), nil
		}}
		rf := &Refiner{Proposer: prop, ProposerName: "script", Grader: &Grader{Verifier: kVerifier(), Policy: DefaultRetryPolicy()},
			Iterations: c.iters, Pairs: c.rule, ExcludeUsed: c.exclude}
		out, err := rf.Refine(context.Background(), startRubric(), pool)
		if err != nil {
			t.Fatalf("%s: %v", c.rule, err)
		}
		var got [][2]string
		for _, h := range out.Provenance.History {
			if h.Stop == "" {
				got = append(got, h.Pair)
			}
		}
		if !reflect.DeepEqual(got, c.pairs) {
			t.Errorf("%s exclude=%v: pairs %v, want %v", c.rule, c.exclude, got, c.pairs)
		}
		for i, req := range prop.reqs {
			byID := map[string]string{}
			for _, p := range pool {
				byID[p.ID] = p.Response
			}
			want := [2]string{byID[c.pairs[i][0]], byID[c.pairs[i][1]]}
			if req.Pair != want || req.Current == nil {
				t.Errorf("%s: request %d shows %q, want %q", c.rule, i, req.Pair, want)
			}
		}
		if out.Provenance.Iteration != len(c.pairs) || out.Provenance.Pair != c.pairs[len(c.pairs)-1] || out.Provenance.Proposer != "script" {
			t.Errorf("%s: provenance %+v", c.rule, out.Provenance)
		}
		if c.iters == 3 {
			last := out.Provenance.History[len(out.Provenance.History)-1]
			if !strings.HasPrefix(last.Stop, "no pair") {
				t.Errorf("exhausted pool: last record %+v", last)
			}
		}
		h := out.Provenance.History[0]
		if len(h.Scores) != 5 || *h.Scores[1].Score != 0.75 || h.PairScores != [2]float64{0.75, 0.75} && c.rule == PairTop2 {
			t.Errorf("%s: first record %+v", c.rule, h)
		}
	}
}

func TestRefineStopsWhenUnchanged(t *testing.T) {
	pool := kPool([]int{1, 2, 3}, []string{"a", "b", "c"})
	prop := &scriptProposer{answers: func(n int, req ProposeRequest) (string, error) {
		return "```json\n" + rubricText("alpha") + "\n```", nil // the same rubric back
	}}
	rf := &Refiner{Proposer: prop, Grader: &Grader{Verifier: kVerifier(), Policy: DefaultRetryPolicy()}, Iterations: 4}
	start := startRubric()
	out, err := rf.Refine(context.Background(), start, pool)
	if err != nil || len(prop.reqs) != 1 || len(out.Provenance.History) != 1 || out.Provenance.History[0].Stop != "unchanged" {
		t.Fatalf("err %v, %d calls, history %+v", err, len(prop.reqs), out.Provenance.History)
	}
	if !reflect.DeepEqual(out.Criteria, start.Criteria) || out.Provenance.Iteration != 0 {
		t.Fatalf("rubric changed: %+v", out)
	}
}

func TestRefineProposerFailure(t *testing.T) {
	pool := kPool([]int{1, 2}, []string{"a", "b"})
	prop := &scriptProposer{answers: func(n int, req ProposeRequest) (string, error) {
		if n == 1 && req.Feedback == "" {
			return "", errors.New("retry without feedback")
		}
		return "I would rather not.", nil
	}}
	rf := &Refiner{Proposer: prop, Grader: &Grader{Verifier: kVerifier(), Policy: DefaultRetryPolicy()}, Iterations: 2}
	out, err := rf.Refine(context.Background(), startRubric(), pool)
	var pe *ProposeError
	if !errors.As(err, &pe) || pe.Raw != "I would rather not." || len(prop.reqs) != 2 || prop.reqs[1].Attempt != 1 {
		t.Fatalf("err %v, %d calls", err, len(prop.reqs))
	}
	if out == nil || !strings.HasPrefix(out.Provenance.History[0].Stop, "proposer failed") || out.Criteria[0].Text != "alpha one" {
		t.Fatalf("rubric after failure: %+v", out)
	}
}

func TestGenerateRecordsFailures(t *testing.T) {
	prop := &scriptProposer{answers: func(n int, req ProposeRequest) (string, error) {
		if req.PromptID == "bad" {
			return "```json\n{\"criteria\": [\n```", nil
		}
		if req.Reference != "" {
			return "Here is the rubric: " + rubricText("ref") + " Let me know!", nil
		}
		return rubricText("plain"), nil
	}}
	prompts := []Prompt{{ID: "a", Prompt: "A?"}, {ID: "bad", Prompt: "B?"}, {ID: "c", Prompt: "C?", Reference: "C!"}}
	res := Generate(context.Background(), prop, prompts, "script", true, 2)
	if res[0].Err != nil || res[0].Rubric.Criteria[0].Text != "plain one" || res[0].Rubric.Provenance.Proposer != "script" {
		t.Errorf("a: %+v", res[0])
	}
	if res[2].Err != nil || res[2].Rubric.Criteria[3].ID != "c4" || res[2].Rubric.Criteria[0].Text != "ref one" {
		t.Errorf("c: %+v", res[2])
	}
	var pe *ProposeError
	if !errors.As(res[1].Err, &pe) || pe.PromptID != "bad" || res[1].Rubric != nil {
		t.Errorf("bad: %+v", res[1])
	}
	n := 0
	for _, r := range prop.reqs {
		if r.PromptID == "bad" {
			n++
			if r.Attempt == 1 && r.Feedback == "" {
				t.Error("the retry was not told why")
			}
		}
	}
	if n != 2 {
		t.Errorf("bad prompt asked %d times, want 2 (one retry)", n)
	}
}

func TestDiffRubrics(t *testing.T) {
	old := &Rubric{Criteria: []Criterion{
		{ID: "c1", Text: "States the boiling point of water at sea level.", Weight: 3},
		{ID: "c2", Text: "Mentions altitude and pressure effects on boiling.", Weight: 2},
		{ID: "c3", Text: "Uses a friendly tone.", Weight: 1},
		{ID: "c4", Text: "Gives the answer in Celsius.", Weight: 1},
		{ID: "c5", Text: "Cites a source.", Weight: 1},
	}}
	new := &Rubric{Criteria: []Criterion{
		{ID: "c1", Text: "States the boiling point of water at sea level.", Weight: 3},
		{ID: "c2", Text: "Mentions that boiling temperature drops with altitude.", Weight: 2},
		{ID: "c3", Text: "Mentions that lower pressure lowers the boiling temperature.", Weight: 1},
		{ID: "c4", Text: "Gives the answer in Celsius.", Weight: 2},
		{ID: "c5", Text: "Cites a specific, verifiable source such as a textbook.", Weight: 1},
		{ID: "c6", Text: "Explains what happens in a pressure cooker.", Weight: 1},
	}}
	d := DiffRubrics(old, new)
	if d.Kept != 1 || len(d.Decomposed) != 1 || d.Decomposed[0].From.ID != "c2" || len(d.Decomposed[0].Into) != 2 {
		t.Errorf("decomposed: %+v", d)
	}
	if len(d.Rewritten) != 2 || d.Rewritten[0].From.ID != "c4" || d.Rewritten[1].From.ID != "c5" {
		t.Errorf("rewritten: %+v", d.Rewritten)
	}
	if len(d.Deleted) != 1 || d.Deleted[0].ID != "c3" || len(d.Added) != 1 || d.Added[0].ID != "c6" {
		t.Errorf("deleted %+v added %+v", d.Deleted, d.Added)
	}
	if same := DiffRubrics(old, old); !same.Empty() || same.Kept != 5 {
		t.Errorf("self diff %+v", same)
	}
}
