package reward

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rft-dev/rft/rubric"
)

// yesVerifier says yes to criteria whose text the response contains.
type yesVerifier struct{ calls atomic.Int64 }

func (v *yesVerifier) Verify(ctx context.Context, req rubric.VerifyRequest) (string, error) {
	v.calls.Add(1)
	m := map[string]string{}
	for _, c := range req.Criteria {
		m[c.ID] = map[bool]string{true: "yes", false: "no"}[strings.Contains(req.Response, c.Text)]
	}
	b, _ := json.Marshal(m)
	return string(b), nil
}

func testRubric() *rubric.Rubric {
	r := &rubric.Rubric{PromptID: "p", Prompt: "Name two colours.", Criteria: []rubric.Criterion{
		{Text: "red", Weight: 3}, {Text: "blue", Weight: 1},
		{Text: "short", Weight: 1, Check: &rubric.Check{Name: "word_count", Args: map[string]any{"max": 5}}},
	}}
	r.AssignIDs()
	return r
}

func TestRubricReward(t *testing.T) {
	dir := t.TempDir()
	cache, err := rubric.OpenCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	v := &yesVerifier{}
	rw := NewRubric([]*rubric.Rubric{testRubric()}, &rubric.Grader{Verifier: v, Cache: cache, Fingerprint: "yes", Policy: rubric.DefaultRetryPolicy()})
	rw.PerCriterion = true
	batch := []Sample{
		{PromptID: "p", Completion: "red and blue"},
		{PromptID: "p", Completion: "red, then a very long list of other words"},
		{PromptID: "missing", Completion: "red"},
	}
	scores, err := rw.Score(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if s := scores[0]; s.Err != nil || s.Value != 1 || s.Components["rubric/met_share"] != 1 || s.Components["rubric/c2"] != 1 || s.Components["rubric/calls"] != 1 {
		t.Errorf("sample 0: %+v", s)
	}
	if s := scores[1]; s.Err != nil || s.Value != 3.0/5 || s.Components["rubric/c3"] != 0 {
		t.Errorf("sample 1: %+v", s)
	}
	if scores[2].Err == nil || !strings.Contains(scores[2].Err.Error(), `no rubric for prompt "missing"`) {
		t.Errorf("sample 2: %+v", scores[2])
	}
	again, _ := rw.Score(context.Background(), batch[:2])
	if v.calls.Load() != 2 || again[0].Components["rubric/cache_hits"] != 2 || again[0].Value != 1 {
		t.Errorf("second batch: %d calls, %+v", v.calls.Load(), again[0])
	}
}

type constReward struct {
	v   float64
	err error
}

func (c constReward) Score(ctx context.Context, batch []Sample) ([]Score, error) {
	out := make([]Score, len(batch))
	for i := range out {
		out[i] = Score{Value: c.v, Components: map[string]float64{"x": c.v * 2}, Err: c.err}
		if batch[i].PromptID == "bad" && c.v == 1 {
			out[i] = Score{Err: context.DeadlineExceeded}
		}
	}
	return out, nil
}

func TestWeighted(t *testing.T) {
	w := &Weighted{Terms: []Term{{"a", 0.5, constReward{v: 1}}, {"b", 2, constReward{v: 0.25}}}}
	scores, err := w.Score(context.Background(), []Sample{{PromptID: "ok"}, {PromptID: "bad"}})
	if err != nil {
		t.Fatal(err)
	}
	if s := scores[0]; s.Err != nil || s.Value != 1 || s.Components["a"] != 1 || s.Components["b"] != 0.25 || s.Components["b/x"] != 0.5 {
		t.Errorf("%+v", s)
	}
	if s := scores[1]; s.Err == nil || !strings.Contains(s.Err.Error(), "reward a:") {
		t.Errorf("%+v", s)
	}
}

func TestHTTPReward(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		case 2:
			w.Header().Set("Retry-After", "0.01")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		case 3:
			time.Sleep(300 * time.Millisecond) // longer than the attempt timeout
		}
		var req struct {
			Samples []struct {
				Completion string `json:"completion"`
			} `json:"samples"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		var out []any
		for _, s := range req.Samples {
			if s.Completion == "" {
				out = append(out, map[string]any{"error": "empty completion"})
			} else {
				out = append(out, map[string]any{"value": float64(len(s.Completion)), "components": map[string]float64{"len": 1}})
			}
		}
		out[0] = 0.5
		json.NewEncoder(w).Encode(map[string]any{"scores": out})
	}))
	defer srv.Close()
	h := &HTTP{URL: srv.URL, Retries: 3, Backoff: time.Millisecond, Timeout: 100 * time.Millisecond}
	scores, err := h.Score(context.Background(), []Sample{{Completion: "a"}, {Completion: "abc"}, {Completion: ""}})
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 4 || scores[0].Value != 0.5 || scores[1].Value != 3 || scores[1].Components["len"] != 1 || scores[2].Err == nil {
		t.Fatalf("%d requests, %+v", n.Load(), scores)
	}
	// A 4xx is not retried, and the error names the endpoint.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such reward", http.StatusNotFound)
	}))
	defer bad.Close()
	_, err = (&HTTP{URL: bad.URL + "/score", Retries: 3, Backoff: time.Millisecond}).Score(context.Background(), []Sample{{}})
	if err == nil || !strings.Contains(err.Error(), bad.URL+"/score") || !strings.Contains(err.Error(), "HTTP 404: no such reward") {
		t.Fatalf("%v", err)
	}
	// Wrong count.
	short := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"scores": [1]}`))
	}))
	defer short.Close()
	if _, err = NewHTTP(short.URL).Score(context.Background(), []Sample{{}, {}}); err == nil || !strings.Contains(err.Error(), "1 scores for 2 samples") {
		t.Fatalf("%v", err)
	}
}

func TestCommandReward(t *testing.T) {
	c := &Command{Argv: []string{"sh", "-c", `cat >/dev/null; echo '{"scores": [1, {"value": 0.5, "components": {"f": 1}}]}'`}}
	scores, err := c.Score(context.Background(), []Sample{{}, {}})
	if err != nil || scores[0].Value != 1 || scores[1].Value != 0.5 || scores[1].Components["f"] != 1 {
		t.Fatalf("%v %+v", err, scores)
	}
	// The batch arrives on stdin.
	echo := &Command{Argv: []string{"sh", "-c", `grep -q '"completion":"hello"' && echo '{"scores": [0.25]}'`}}
	if scores, err := echo.Score(context.Background(), []Sample{{Completion: "hello"}}); err != nil || scores[0].Value != 0.25 {
		t.Fatalf("stdin: %v %+v", err, scores)
	}
	fail := &Command{Argv: []string{"sh", "-c", `cat >/dev/null; echo "model file missing" >&2; exit 3`}}
	if _, err := fail.Score(context.Background(), []Sample{{}}); err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "model file missing") {
		t.Fatalf("%v", err)
	}
	slow := &Command{Argv: []string{"sh", "-c", `sleep 5`}, Timeout: 50 * time.Millisecond}
	if _, err := slow.Score(context.Background(), []Sample{{}}); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("%v", err)
	}
	garbage := &Command{Argv: []string{"sh", "-c", `cat >/dev/null; echo nope`}}
	if _, err := garbage.Score(context.Background(), []Sample{{}}); err == nil || !strings.Contains(err.Error(), "not {\"scores\"") {
		t.Fatalf("%v", err)
	}
}
