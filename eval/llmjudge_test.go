package eval

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rft-dev/rft/rollout"
)

func TestParseVerdict(t *testing.T) {
	for in, want := range map[string]string{
		"Verdict: A": "A",
		"<think>B is longer... Verdict: B</think>\nVerdict: A": "A",
		"verdict = tie":  "TIE",
		"**Verdict:** B": "B",
		"B":              "B",
		"I like both.":   "",
	} {
		got, ok := parseVerdict(in)
		if got != want || ok != (want != "") {
			t.Errorf("%q: got %q %v, want %q", in, got, ok, want)
		}
	}
}

// TestLLMJudgeBothOrders runs the judge against an OpenAI-compatible
// httptest server that prefers the response containing "good": both orders
// must be visible in the requests, and position bias must cancel.
func TestLLMJudgeBothOrders(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		content := req.Messages[0].Content
		mu.Lock()
		seen = append(seen, content)
		mu.Unlock()
		a := content[strings.Index(content, "[Response A]"):strings.Index(content, "[Response B]")]
		b := content[strings.Index(content, "[Response B]"):]
		answer := "Verdict: TIE"
		switch {
		case strings.Contains(content, "always A"):
			answer = "Verdict: A" // a position-biased judge
		case strings.Contains(a, "good") && !strings.Contains(b, "good"):
			answer = "<think>hmm</think>Verdict: A"
		case strings.Contains(b, "good") && !strings.Contains(a, "good"):
			answer = "Verdict: B"
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": "judge",
			"choices": []map[string]any{{"index": 0, "message": map[string]string{"role": "assistant", "content": answer}, "finish_reason": "stop"}}})
	}))
	defer srv.Close()
	llm, err := rollout.Open("openai:judge", rollout.Options{BaseURLs: []string{srv.URL}, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	j := &LLMJudge{LLM: llm}
	ctx := context.Background()
	if v, err := j.Compare(ctx, "q", "a good answer", "a poor answer"); err != nil || v != Win {
		t.Fatalf("good vs poor: %v %v", v, err)
	}
	if v, _ := j.Compare(ctx, "q", "a poor answer", "a good answer"); v != Loss {
		t.Fatalf("poor vs good: %v", v)
	}
	if v, _ := j.Compare(ctx, "always A", "x", "y"); v != Tie {
		t.Fatalf("a position-biased judge must give a tie, got %v", v)
	}
	if len(seen) != 6 {
		t.Fatalf("%d requests, want 2 per comparison", len(seen))
	}
	// The first comparison asked (good, poor) and then (poor, good).
	if !strings.Contains(seen[0][strings.Index(seen[0], "[Response A]"):strings.Index(seen[0], "[Response B]")], "good") ||
		!strings.Contains(seen[1][strings.Index(seen[1], "[Response A]"):strings.Index(seen[1], "[Response B]")], "poor") {
		t.Fatal("both orders must be asked")
	}
}
