package rubric

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// faultFree grades every response with a well-behaved verifier.
func faultFree(t *testing.T, r *Rubric, resps []string, mode Mode, agg Aggregation) []Result {
	t.Helper()
	g := &Grader{Verifier: &scriptVerifier{}, Mode: mode, Aggregate: agg, Policy: DefaultRetryPolicy()}
	res := g.GradeBatch(context.Background(), items(r, resps))
	for i, x := range res {
		if x.Err != nil {
			t.Fatalf("fault-free response %d: %v", i, x.Err)
		}
	}
	return res
}

func items(r *Rubric, resps []string) []Item {
	out := make([]Item, len(resps))
	for i, s := range resps {
		out[i] = Item{Rubric: r, Response: s}
	}
	return out
}

func TestGraderModesCallsAndChecks(t *testing.T) {
	r := testRubric("p")
	resps := testResponses(4)
	want := faultFree(t, r, resps, ModeBatched, AggMean)
	for _, c := range []struct {
		mode  Mode
		calls int
	}{{ModeBatched, 1}, {ModePerCriterion, 5}, {ModeChunk(2), 3}, {ModeChunk(5), 1}} {
		sv := &scriptVerifier{}
		g := &Grader{Verifier: sv, Mode: c.mode, Policy: DefaultRetryPolicy()}
		res := g.GradeBatch(context.Background(), items(r, resps))
		for i, x := range res {
			if x.Err != nil || x.Calls != c.calls || x.Score != want[i].Score {
				t.Errorf("%s response %d: err %v, %d calls (want %d), score %v (want %v)", c.mode, i, x.Err, x.Calls, c.calls, x.Score, want[i].Score)
			}
			if v := x.Verdicts["c6"]; v.Source != "check" {
				t.Errorf("%s: c6 verdict %+v, want a local check", c.mode, v)
			}
		}
		for _, req := range sv.reqs {
			for _, cr := range req.Criteria {
				if cr.Check != nil {
					t.Errorf("%s: programmatic criterion %s sent to the verifier", c.mode, cr.ID)
				}
			}
		}
	}
}

// TestGraderFaultsRecover: malformed answers, partial answers and failed
// calls are retried; every score equals the fault-free run's, and the
// retries are counted.
func TestGraderFaultsRecover(t *testing.T) {
	r := testRubric("p")
	resps := testResponses(40)
	for _, mode := range []Mode{ModeBatched, ModePerCriterion, ModeChunk(2)} {
		want := faultFree(t, r, resps, mode, AggMean)
		sv := &scriptVerifier{fault: func(req VerifyRequest) (string, error, bool) {
			switch hashOf(req.Response) % 5 {
			case 1: // malformed once
				if req.Attempt == 0 {
					return "Sure! {\"c1\": yes", nil, true
				}
			case 2: // partial on the first ask: the last criterion left out
				if req.Attempt == 0 && len(req.Criteria) > 1 && !strings.Contains(req.Response, "asked-again") {
					req.Criteria = req.Criteria[:len(req.Criteria)-1]
					req.Response += "" // same verdicts for the rest
					return answerFor(req), nil, true
				}
			case 3: // a failed call (after the client's own retries)
				if req.Attempt == 0 {
					return "", errors.New("HTTP 500"), true
				}
			case 4: // malformed twice, fine on the last attempt
				if req.Attempt < 2 {
					return "```json\n{oops}\n```", nil, true
				}
			}
			return "", nil, false
		}}
		g := &Grader{Verifier: sv, Mode: mode, Policy: DefaultRetryPolicy()}
		res := g.GradeBatch(context.Background(), items(r, resps))
		for i, x := range res {
			if x.Err != nil || x.Score != want[i].Score {
				t.Errorf("%s response %d: err %v, score %v, want %v", mode, i, x.Err, x.Score, want[i].Score)
			}
			for id, v := range x.Verdicts {
				if v.Source == "default" {
					t.Errorf("%s response %d: %s counted no by default", mode, i, id)
				}
			}
		}
		st := g.Stats()
		if st.Failed != 0 || st.Retries == 0 || st.ParseFailures == 0 || st.CallErrors == 0 {
			t.Errorf("%s: stats %+v", mode, st)
		}
		if mode != ModePerCriterion && st.MissingAsked == 0 {
			t.Errorf("%s: no missing criterion asked again: %+v", mode, st)
		}
		// Temperatures: 0 first, 1 after a parse failure, unchanged after a failed call.
		for _, req := range sv.reqs {
			k := hashOf(req.Response) % 5
			wantT := 0.0
			if (k == 1 || k == 4) && req.Attempt > 0 {
				wantT = 1
			}
			if req.Temperature != wantT {
				t.Errorf("%s: fault %d attempt %d at temperature %v, want %v", mode, k, req.Attempt, req.Temperature, wantT)
			}
		}
	}
}

// TestGraderPaperPreset: one retry at temperature 1; a missing criterion
// counts as no without asking again; a second malformed answer fails the
// response, which then has an error and no score.
func TestGraderPaperPreset(t *testing.T) {
	r := testRubric("p")
	sv := &scriptVerifier{fault: func(req VerifyRequest) (string, error, bool) {
		if strings.HasPrefix(req.Response, "partial") {
			return `{"c1": "yes", "c2": "yes"}`, nil, true
		}
		if strings.HasPrefix(req.Response, "broken") {
			return "no idea", nil, true
		}
		return "", nil, false
	}}
	g := &Grader{Verifier: sv, Policy: PaperRetryPolicy()}
	res := g.Grade(context.Background(), r, "partial answer")
	if res.Err != nil || res.Calls != 1 {
		t.Fatalf("partial: %+v", res)
	}
	for _, id := range []string{"c3", "c4", "c5"} {
		if v := res.Verdicts[id]; v.Met || v.Source != "default" || v.Raw == "" {
			t.Errorf("%s: %+v, want a default no with the raw answer", id, v)
		}
	}
	// c1, c2 yes (weights 3+2); c6 (word_count ≤ 120) yes (1); total 10.
	if want := 6.0 / 10; res.Score != want {
		t.Errorf("score %v, want %v", res.Score, want)
	}
	res = g.Grade(context.Background(), r, "broken answer")
	if res.Err == nil || res.Calls != 2 || res.Score != 0 || !strings.Contains(res.Err.Error(), "after 2 attempts") {
		t.Fatalf("broken: %+v", res)
	}
	st := g.Stats()
	if st.Failed != 1 || st.DefaultedNo != 3 || st.Retries != 1 {
		t.Errorf("stats %+v", st)
	}
	rec := NewScoreRecord(Candidate{PromptID: "p", Index: 3}, res)
	if rec.Score != nil || rec.Error == "" {
		t.Errorf("failed record %+v", rec)
	}
}

func TestGraderCallTimeout(t *testing.T) {
	r := testRubric("p")
	hang := &scriptVerifier{fault: func(req VerifyRequest) (string, error, bool) {
		if req.Attempt == 0 {
			time.Sleep(time.Second) // ignores its context: a hung client
		}
		return "", nil, false
	}}
	g := &Grader{Verifier: hang, Policy: DefaultRetryPolicy(), CallTimeout: 50 * time.Millisecond}
	start := time.Now()
	res := g.Grade(context.Background(), r, "x")
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("a hung call held the grader %v", d)
	}
	want := faultFree(t, r, []string{"x"}, ModeBatched, AggMean)[0]
	if res.Err != nil || res.Score != want.Score || g.Stats().CallErrors != 1 {
		t.Fatalf("%+v %+v", res, g.Stats())
	}
}

func TestGraderImplicitAndPoints(t *testing.T) {
	r := testRubric("p")
	g := &Grader{Verifier: &scriptVerifier{}, Aggregate: AggImplicit, Policy: DefaultRetryPolicy()}
	res := g.Grade(context.Background(), r, "hello")
	want := float64(hashOf("hello")%10) / 9
	if res.Err != nil || res.Score != want || res.Calls != 1 {
		t.Fatalf("implicit: %+v, want %v", res, want)
	}
	pts := faultFree(t, r, []string{"hello"}, ModeBatched, AggPoints)[0]
	if pts.Score != Points(r, pts.Met()) {
		t.Fatalf("points %v", pts.Score)
	}
}

func TestAggregation(t *testing.T) {
	r := &Rubric{Criteria: []Criterion{{ID: "c1", Weight: 3}, {ID: "c2", Weight: 1}, {ID: "c3", Weight: -2}}}
	cases := []struct {
		met         map[string]bool
		mean, point float64
	}{
		{map[string]bool{"c1": true}, 5.0 / 6, 3.0 / 4},             // pitfall avoided
		{map[string]bool{"c1": true, "c3": true}, 3.0 / 6, 1.0 / 4}, // pitfall hit subtracts
		{map[string]bool{"c3": true}, 0, 0},                         // clipped at 0
		{map[string]bool{"c1": true, "c2": true}, 1, 1},             // all good
		{map[string]bool{}, 2.0 / 6, 0},                             // nothing met
	}
	for _, c := range cases {
		if m, p := WeightedMean(r, c.met), Points(r, c.met); m != c.mean || p != c.point {
			t.Errorf("%v: mean %v points %v, want %v %v", c.met, m, p, c.mean, c.point)
		}
	}
	// The paper's case: positive weights, Σw·v/Σw.
	paper := &Rubric{Criteria: []Criterion{{ID: "c1", Weight: 3}, {ID: "c2", Weight: 2}, {ID: "c3", Weight: 1}}}
	if got := WeightedMean(paper, map[string]bool{"c1": true, "c3": true}); got != 4.0/6 {
		t.Errorf("paper mean %v", got)
	}
	for _, s := range []string{"mean", "points", "implicit"} {
		if _, err := ParseAggregation(s); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseAggregation("median"); err == nil {
		t.Error("median accepted")
	}
	for s, ok := range map[string]bool{"batched": true, "per-criterion": true, "chunk:3": true, "chunk:0": false, "chunk:x": false, "all": false} {
		if _, err := ParseMode(s); (err == nil) != ok {
			t.Errorf("mode %q: %v", s, err)
		}
	}
}

var _ = filepath.Join
