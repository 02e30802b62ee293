package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// rftRubric runs a command line with the rubric commands registered (the
// lead registers them in newRootCmd; until then the test adds them).
func rftRubric(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := newRootCmd()
	found := false
	for _, c := range root.Commands() {
		found = found || c.Name() == "rubric"
	}
	if !found {
		root.AddCommand(newRubricCmd())
	}
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := exitOK
	if err := root.Execute(); err != nil {
		errOut.WriteString("rft: " + err.Error() + "\n")
		code = exitJobFail
		var bi badInput
		if rubricAsBadInput(err, &bi) || isUsageError(err) {
			code = exitBadInput
		}
	}
	global = globalFlags{}
	return code, out.String(), errOut.String()
}

func rubricAsBadInput(err error, bi *badInput) bool {
	for e := err; e != nil; {
		if b, ok := e.(badInput); ok {
			*bi = b
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

var rubricCritRE = regexp.MustCompile(`(?m)^(c\d+): (.*)$`)

// rubricFakeJudge answers proposer prompts with a rubric and verifier prompts
// with "yes" for criteria whose text has an even length.
func rubricFakeJudge(t *testing.T, calls *atomic.Int64) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		p := req.Messages[0].Content
		var answer string
		switch {
		case strings.HasPrefix(p, "You write grading rubrics"):
			answer = "```json\n{\"criteria\": [{\"criterion\": \"Answers the question directly.\", \"weight\": 3}, {\"criterion\": \"Gives one concrete example.\", \"weight\": 1},]}\n```"
		case strings.HasPrefix(p, "You refine grading rubrics"):
			answer = `{"criteria": [{"criterion": "Answers the question directly in the first sentence.", "weight": 3}, {"criterion": "Gives one concrete example.", "weight": 1}, {"criterion": "Mentions the lit half of the moon.", "weight": 2}]}`
		default:
			m := map[string]string{}
			for _, c := range rubricCritRE.FindAllStringSubmatch(p, -1) {
				m[c[1]] = map[bool]string{true: "yes", false: "no"}[len(c[2])%2 == 0]
			}
			b, _ := json.Marshal(m)
			answer = string(b)
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": "m",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": answer}}},
			"usage":   map[string]any{"prompt_tokens": 10, "completion_tokens": 5}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRubricCLIScoreCached(t *testing.T) {
	var calls atomic.Int64
	url := rubricFakeJudge(t, &calls)
	dir := t.TempDir()
	fix := filepath.Join("..", "..", "testdata", "rubric")
	out := filepath.Join(dir, "scores.jsonl")
	args := []string{"--json", "rubric", "score", "--rubrics", filepath.Join(fix, "rubrics.jsonl"), "--responses", filepath.Join(fix, "candidates.jsonl"),
		"--verifier", "openai:judge", "--base-url", url, "--cache", filepath.Join(dir, "cache"), "--out", out}
	code, stdout, stderr := rftRubric(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if calls.Load() != 6 {
		t.Fatalf("%d calls, want 6 (one per response, batched)", calls.Load())
	}
	first, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(first)), "\n")
	var rec struct {
		PromptID      string          `json:"prompt_id"`
		ResponseIndex int             `json:"response_index"`
		Score         *float64        `json:"score"`
		Verdicts      map[string]bool `json:"verdicts"`
	}
	if len(lines) != 6 || json.Unmarshal([]byte(lines[4]), &rec) != nil || rec.PromptID != "p2" || rec.ResponseIndex != 0 || rec.Score == nil || len(rec.Verdicts) != 3 {
		t.Fatalf("scores:\n%s", first)
	}
	code, stdout, stderr = rftRubric(t, args...)
	var summary struct {
		CacheHitRate float64 `json:"cache_hit_rate"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &summary) != nil || summary.CacheHitRate != 1 || calls.Load() != 6 {
		t.Fatalf("second run: exit %d, %d calls, %q %s", code, calls.Load(), stdout, stderr)
	}
	second, _ := os.ReadFile(out)
	if !bytes.Equal(first, second) {
		t.Fatalf("cached scores differ:\n%s\n%s", first, second)
	}
	// Another mode misses the cache.
	code, _, stderr = rftRubric(t, append(args, "--mode", "per-criterion")...)
	if code != 0 || calls.Load() != 6+22 {
		t.Fatalf("per-criterion: exit %d, %d calls: %s", code, calls.Load(), stderr)
	}
	// Stats over the scores.
	code, stdout, stderr = rftRubric(t, "rubric", "stats", filepath.Join(fix, "rubrics.jsonl"), "--scores", out)
	if code != 0 || !strings.Contains(stdout, "tie rate") || !strings.Contains(stdout, "Names at least four phases") {
		t.Fatalf("stats: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestRubricCLIGenerateRefine(t *testing.T) {
	var calls atomic.Int64
	url := rubricFakeJudge(t, &calls)
	dir := t.TempDir()
	fix := filepath.Join("..", "..", "testdata", "rubric")
	gen := filepath.Join(dir, "gen.jsonl")
	code, _, stderr := rftRubric(t, "rubric", "generate", "--prompts", filepath.Join(fix, "prompts.jsonl"), "--proposer", "openai:writer", "--base-url", url, "--out", gen)
	if code != 0 {
		t.Fatalf("generate: exit %d: %s", code, stderr)
	}
	code, stdout, _ := rftRubric(t, "rubric", "show", gen, "--id", "p2")
	if code != 0 || !strings.Contains(stdout, "c2    +1  Gives one concrete example.") || strings.Contains(stdout, "p1") {
		t.Fatalf("show:\n%s", stdout)
	}
	ref := filepath.Join(dir, "ref.jsonl")
	code, _, stderr = rftRubric(t, "rubric", "refine", "--rubrics", gen, "--candidates", filepath.Join(fix, "candidates.jsonl"),
		"--proposer", "openai:writer", "--verifier", "openai:judge", "--base-url", url, "--iterations", "2",
		"--pairs", "top2-distinct-sources", "--cache", filepath.Join(dir, "cache"), "--out", ref)
	if code != 0 {
		t.Fatalf("refine: exit %d: %s", code, stderr)
	}
	code, stdout, _ = rftRubric(t, "rubric", "stats", ref)
	// Iteration 1 rewrites one criterion and adds one per prompt; iteration 2 gets the
	// same rubric back and stops.
	if code != 0 || !strings.Contains(stdout, "2 added, 0 deleted, 2 rewritten, 0 decomposed") || !strings.Contains(stdout, "unchanged") {
		t.Fatalf("stats after refine:\n%s", stdout)
	}
}

func TestRubricCLIImportExportAndBadInput(t *testing.T) {
	dir := t.TempDir()
	fix := filepath.Join("..", "..", "testdata", "rubric")
	rs := filepath.Join(dir, "r.jsonl")
	code, _, stderr := rftRubric(t, "rubric", "import", "--from", "paper", filepath.Join(fix, "paper_irregular.json"), "--out", rs)
	if code != 0 || !strings.Contains(stderr, "record 3 (id gen-0213)") {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	out := filepath.Join(dir, "out.json")
	if code, _, stderr = rftRubric(t, "rubric", "export", "--to", "paper", rs, "--out", out); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	if code, _, stderr = rftRubric(t, "rubric", "import", "--from", "paper", out, "--out", filepath.Join(dir, "again.jsonl")); code != 0 || strings.Contains(stderr, "WARN") {
		t.Fatalf("re-import: exit %d: %s", code, stderr)
	}
	a, _ := os.ReadFile(rs)
	b, _ := os.ReadFile(filepath.Join(dir, "again.jsonl"))
	if !bytes.Equal(a, b) {
		t.Fatalf("import → export → import differs:\n%s\n%s", a, b)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"prompt_id\": \"p1\", \"response\": \"x\"}\n{\"prompt_id\": \"nope\", \"response\": \"y\"}\n"), 0o644)
	scores := filepath.Join(dir, "s.jsonl")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"rubric", "score", "--rubrics", filepath.Join(fix, "rubrics.jsonl"), "--responses", bad, "--verifier", "openai:j", "--out", scores}, "bad.jsonl line 2: no rubric for prompt_id \"nope\""},
		{[]string{"rubric", "score", "--rubrics", filepath.Join(fix, "rubrics.jsonl"), "--responses", bad, "--verifier", "openai:j", "--mode", "chunk:0", "--out", scores}, "chunk:K"},
		{[]string{"rubric", "score", "--rubrics", filepath.Join(fix, "rubrics.jsonl"), "--responses", bad, "--verifier", "openai:j", "--aggregate", "median", "--out", scores}, "mean, points or implicit"},
		{[]string{"rubric", "score", "--rubrics", filepath.Join(fix, "paper_regular.json"), "--responses", bad, "--verifier", "openai:j", "--out", scores}, "paper_regular.json line 1"},
		{[]string{"rubric", "refine", "--rubrics", rs, "--candidates", bad, "--proposer", "openai:p", "--verifier", "openai:j", "--pairs", "best", "--out", scores}, "top2 or top2-distinct-sources"},
		{[]string{"rubric", "show", filepath.Join(fix, "rubrics.yaml"), "--id", "zzz"}, "no rubric for prompt \"zzz\""},
		{[]string{"rubric", "import", "--from", "hf", "x.json", "--out", scores}, "only paper"},
		{[]string{"rubric", "generate", "--prompts", bad, "--proposer", "openai:p", "--out", scores}, "bad.jsonl line 1: id: missing"},
		{[]string{"rubric", "score", "--rubrics", rs}, "--responses is required"},
	}
	for _, c := range cases {
		code, _, stderr := rftRubric(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	if _, err := os.Stat(scores); !os.IsNotExist(err) {
		t.Errorf("an output was written on failure: %v", err)
	}
	code, stdout, _ := rftRubric(t, "rubric", "show", filepath.Join(fix, "rubrics.yaml"))
	if code != 0 || !strings.Contains(stdout, `[check word_count {"max":350}]`) {
		t.Errorf("show yaml:\n%s", stdout)
	}
}
