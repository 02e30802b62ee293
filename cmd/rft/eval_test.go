package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestEvalWithLLMJudge runs rft eval end to end against an OpenAI-compatible
// httptest judge that always prefers the reference: both orders must be
// visible in the requests, and the model loses every comparison.
func TestEvalWithLLMJudge(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		c := req.Messages[0].Content
		mu.Lock()
		bodies = append(bodies, c)
		mu.Unlock()
		// The reference text is "REFERENCE ANSWER"; prefer it wherever it is.
		verdict := "B"
		if strings.Index(c, "REFERENCE ANSWER") < strings.Index(c, "[Response B]") {
			verdict = "A"
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": "judge",
			"choices": []map[string]any{{"index": 0, "message": map[string]string{"role": "assistant", "content": "Verdict: " + verdict}, "finish_reason": "stop"}}})
	}))
	defer srv.Close()

	dir := tinyCheckpoint(t)
	tmp := t.TempDir()
	prompts := filepath.Join(tmp, "prompts.jsonl")
	refs := filepath.Join(tmp, "refs.jsonl")
	os.WriteFile(prompts, []byte(`{"id":"a","prompt":"Name a bird."}`+"\n"+`{"id":"b","prompt":"Name a tree."}`+"\n"), 0o644)
	os.WriteFile(refs, []byte(`{"prompt_id":"a","response":"REFERENCE ANSWER"}`+"\n"+`{"prompt_id":"b","response":"REFERENCE ANSWER"}`+"\n"), 0o644)
	out := filepath.Join(tmp, "out")
	t.Setenv("OPENAI_API_KEY", "test")
	code, stdout, stderr := rft(t, "eval", "--checkpoint", dir, "--judge", "openai:judge", "--base-url", srv.URL,
		"--prompts", prompts, "--reference", refs, "--max-tokens", "6", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	if len(bodies) != 4 {
		t.Fatalf("%d judge requests, want 2 per prompt (both orders)", len(bodies))
	}
	first := 0
	for _, b := range bodies {
		if strings.Index(b, "REFERENCE ANSWER") < strings.Index(b, "[Response B]") {
			first++
		}
	}
	if first != 2 {
		t.Fatalf("the reference came first in %d of 4 requests, want 2 (both orders)", first)
	}
	data, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum EvalSummary
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	m := sum.Models["checkpoint"]
	if m.N != 2 || m.Losses != 2 || m.WinRate != 0 || m.CIHigh <= 0 {
		t.Fatalf("summary %+v", m)
	}
}

func TestEvalBadInput(t *testing.T) {
	t.Chdir(t.TempDir()) // the default output directory is relative
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval"}, "exactly one of"},
		{[]string{"eval", "--checkpoint", "x", "--run", "y"}, "exactly one of"},
		{[]string{"eval", "--checkpoint", "/nope", "--n", "2"}, "config.json"},
		{[]string{"eval", "--run", "/nope"}, "not a run directory"},
		{[]string{"eval", "--checkpoint", "x", "--presence-penalty", "2.5"}, "--presence-penalty: 2.5 is not in [-2, 2]"},
		{[]string{"eval", "--checkpoint", "x", "--repetition-penalty", "-1"}, "--repetition-penalty"},
	} {
		code, _, stderr := rft(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, stderr)
		}
	}
	if _, err := os.Stat("runs"); !os.IsNotExist(err) {
		t.Error("bad input must write nothing, but runs/ exists")
	}
}
