package rubric

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTemplatesRenderAndOverride(t *testing.T) {
	tm := DefaultTemplates()
	r := testRubric("p")
	for _, name := range templateNames {
		out, err := tm.Render(name, map[string]any{
			"Prompt": "PROMPT", "Response": "RESPONSE", "Reference": "REF", "Feedback": "",
			"Criteria": r.Criteria[:2], "ResponseA": "AAA", "ResponseB": "BBB",
		})
		if err != nil || !strings.Contains(out, "PROMPT") {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "verify_batched.tmpl"), []byte("custom {{.Prompt}}"), 0o644)
	tm2, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := tm2.Render(TmplVerifyBatched, map[string]any{"Prompt": "x"}); out != "custom x" {
		t.Errorf("override: %q", out)
	}
	if tm2.Hash(TmplVerifyBatched) == tm.Hash(TmplVerifyBatched) || tm2.Hash(TmplVerifyCriterion) != tm.Hash(TmplVerifyCriterion) {
		t.Error("hashes do not follow the template text")
	}
	os.WriteFile(filepath.Join(dir, "verify_batchd.tmpl"), []byte("typo"), 0o644)
	if _, err := LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "verify_batchd.tmpl: unknown template") {
		t.Errorf("typo: %v", err)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "propose_initial.tmpl"), []byte("{{.Prompt"), 0o644)
	if _, err := LoadTemplates(bad); err == nil || !strings.Contains(err.Error(), "propose_initial") {
		t.Errorf("bad template: %v", err)
	}
}

// TestLLMProposer: the initial prompt carries the style guide and the
// reference when given; the refinement prompt carries both responses and the
// current rubric, and nothing that ranks them. Temperature is greedy.
func TestLLMProposer(t *testing.T) {
	prompts := make(chan string, 4)
	llm := &fakeLLM{prompts: prompts, answer: func(string) string { return rubricText("x") }}
	p := &LLMProposer{LLM: llm}
	r, _, err := Propose(context.Background(), p, ProposeRequest{PromptID: "p", Prompt: "Why is the sky blue?", Reference: "Rayleigh scattering."})
	if err != nil || len(r.Criteria) != 4 {
		t.Fatalf("%v %+v", err, r)
	}
	first := <-prompts
	for _, want := range []string{"Why is the sky blue?", "Rayleigh scattering.", "mutually exclusive", "weight"} {
		if !strings.Contains(first, want) {
			t.Errorf("initial prompt lacks %q", want)
		}
	}
	_, _, err = Propose(context.Background(), p, ProposeRequest{PromptID: "p", Prompt: "Q", Current: r, Pair: [2]string{"RESPONSE ONE", "RESPONSE TWO"}})
	if err != nil {
		t.Fatal(err)
	}
	second := <-prompts
	for _, want := range []string{"RESPONSE ONE", "RESPONSE TWO", "x one", "do not assume either response is the better one"} {
		if !strings.Contains(second, want) {
			t.Errorf("refinement prompt lacks %q", want)
		}
	}
	for _, leak := range []string{"score", "higher", "winner"} {
		if strings.Contains(strings.ToLower(second), leak) {
			t.Errorf("refinement prompt says %q", leak)
		}
	}
	if u := p.Usage(); u.Calls != 2 || u.PromptTokens == 0 {
		t.Errorf("usage %+v", u)
	}
}

func TestStats(t *testing.T) {
	r := testRubric("p")
	r.Provenance.History = []IterationRecord{{Iteration: 1, Pair: [2]string{"0", "2"}, Diff: &Diff{
		Added: []Criterion{{}}, Decomposed: []Decomposition{{}, {}}, Rewritten: []Rewrite{{}, {}},
	}}}
	one, half, zero := 1.0, 0.5, 0.0
	scores := []ScoreRecord{
		{PromptID: "p", ResponseIndex: 0, Score: &one, Verdicts: map[string]bool{"c1": true, "c2": true}},
		{PromptID: "p", ResponseIndex: 1, Score: &one, Verdicts: map[string]bool{"c1": true, "c2": false}},
		{PromptID: "p", ResponseIndex: 2, Score: &half, Verdicts: map[string]bool{"c1": false, "c2": false}},
		{PromptID: "p", ResponseIndex: 3, Score: &zero},
		{PromptID: "p", ResponseIndex: 4, Error: "verifier answer: no JSON"},
	}
	st := ComputeStats([]*Rubric{r}, scores)
	if st.Responses != 5 || st.Failed != 1 || st.PerCriterion[0].PassRate != 2.0/3 || st.PerCriterion[1].Met != 1 || st.PassRate != 0.5 {
		t.Errorf("%+v", st)
	}
	if st.TieRate != 1.0/6 || st.TopTieRate != 1 {
		t.Errorf("tie rates %v %v", st.TieRate, st.TopTieRate)
	}
	if st.EditsDecomp != 2 || st.EditsRewrite != 2 || st.DecomposeRate != 0.5 || len(st.Iterations) != 1 {
		t.Errorf("edits %+v", st)
	}
}
