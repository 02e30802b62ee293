package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fault is what a scripted fake does with one request instead of answering:
// "500", "502", "503", "400", "429:SECONDS" (Retry-After), "hang" (until the
// client gives up), "malformed" (200 with a body that is not JSON),
// "truncated" (200 with half a JSON body).
type fault string

// fake is an OpenAI-compatible or Ollama server whose answers are a pure
// function of the request, so a run with faults can be compared with a run
// without. Requests take the next fault of script, then succeed.
type fake struct {
	t      *testing.T
	srv    *httptest.Server
	hold   time.Duration // every good answer waits this long (concurrency tests)
	mu     sync.Mutex
	script []fault
	bodies []map[string]any // every request body, in arrival order
	auth   []string         // Authorization headers
	served atomic.Int64     // good answers
	cur    atomic.Int64     // requests in flight
	peak   atomic.Int64     // most requests in flight at once
}

func newFake(t *testing.T, ollama bool, script ...fault) *fake {
	f := &fake{t: t, script: script}
	answer := f.openAIAnswer
	if ollama {
		answer = f.ollamaAnswer
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.cur.Add(1)
		defer f.cur.Add(-1)
		for {
			p := f.peak.Load()
			if n <= p || f.peak.CompareAndSwap(p, n) {
				break
			}
		}
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, `{"error":"bad json"}`, 400)
			return
		}
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		var fl fault
		if len(f.script) > 0 {
			fl, f.script = f.script[0], f.script[1:]
		}
		f.mu.Unlock()
		switch {
		case fl == "":
		case fl == "hang":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		case fl == "malformed":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "<html>bad gateway</html>\n")
			return
		case fl == "truncated":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"x","choices":[{"index":0,"mess`)
			return
		case strings.HasPrefix(string(fl), "429"):
			if _, secs, ok := strings.Cut(string(fl), ":"); ok {
				w.Header().Set("Retry-After", secs)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(429)
			io.WriteString(w, `{"error":{"message":"rate limited","type":"rate_limit"}}`)
			return
		default:
			var code int
			fmt.Sscan(string(fl), &code)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":{"message":"scripted %d"}}`, code)
			return
		}
		if f.hold > 0 {
			select {
			case <-time.After(f.hold):
			case <-r.Context().Done():
				return
			}
		}
		f.served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer(r.URL.Path, body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.bodies...)
}

// lastUser is the content of the last message of a request body.
func lastUser(body map[string]any) string {
	msgs, _ := body["messages"].([]any)
	if len(msgs) == 0 {
		return ""
	}
	m, _ := msgs[len(msgs)-1].(map[string]any)
	s, _ := m["content"].(string)
	return s
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// fakeText is choice i's answer: it depends on the prompt, the seed and i.
func fakeText(prompt string, seed int64, i int) string {
	return fmt.Sprintf("re:%s/s%d/c%d", prompt, seed, i)
}

// fakeTokens are the "token ids" of a text: one per byte.
func fakeTokens(s string) []int {
	ids := make([]int, len(s))
	for i := range s {
		ids[i] = int(s[i])
	}
	return ids
}

func (f *fake) openAIAnswer(path string, body map[string]any) any {
	if path != "/v1/chat/completions" {
		f.t.Errorf("openai fake: path %s", path)
	}
	n := max(int(num(body["n"])), 1)
	prompt := lastUser(body)
	var choices []any
	completion := 0
	for i := range n {
		text := fakeText(prompt, num(body["seed"]), i)
		ids := fakeTokens(text)
		completion += len(ids)
		var content []any
		for j := range ids {
			content = append(content, map[string]any{
				"token": text[j : j+1], "logprob": -0.5 - float64(j)/100,
				"top_logprobs": []any{map[string]any{"token": text[j : j+1], "logprob": -0.5 - float64(j)/100}},
			})
		}
		choices = append(choices, map[string]any{
			"index": i, "message": map[string]any{"role": "assistant", "content": text},
			"finish_reason": "stop", "logprobs": map[string]any{"content": content},
			"token_ids": ids,
		})
	}
	// Choices arrive out of order: the client must order them by index.
	for i, j := 0, len(choices)-1; i < j; i, j = i+1, j-1 {
		choices[i], choices[j] = choices[j], choices[i]
	}
	return map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"], "choices": choices,
		"usage":            map[string]any{"prompt_tokens": len(prompt), "completion_tokens": completion, "total_tokens": len(prompt) + completion},
		"prompt_token_ids": fakeTokens(prompt),
		"weight_version":   "v7",
	}
}

func (f *fake) ollamaAnswer(path string, body map[string]any) any {
	if path != "/api/chat" {
		f.t.Errorf("ollama fake: path %s", path)
	}
	opts, _ := body["options"].(map[string]any)
	prompt := lastUser(body)
	text := fakeText(prompt, num(opts["seed"]), 0)
	var lps []any
	for j := range text {
		lps = append(lps, map[string]any{"token": text[j : j+1], "logprob": -0.25, "top_logprobs": []any{map[string]any{"token": "x", "logprob": -1}}})
	}
	reason := "stop"
	if num(opts["num_predict"]) > 0 && int(num(opts["num_predict"])) <= len(text) {
		reason = "length"
	}
	return map[string]any{
		"model": body["model"], "created_at": "2025-01-01T00:00:00Z",
		"message": map[string]any{"role": "assistant", "content": text},
		"done":    true, "done_reason": reason, "logprobs": lps,
		"prompt_eval_count": len(prompt), "eval_count": len(text),
	}
}

// sleeps records the backoff waits instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// testOptions are fast options: short attempt timeout, recorded sleeps, a
// meter of the test's own.
func testOptions(s *sleeps, urls ...string) Options {
	return Options{
		BaseURLs: urls, Timeout: 500 * time.Millisecond, MaxRetries: 3, Role: "policy",
		Meter: NewMeter(), Sleep: s.sleep, JitterSeed: 1,
		Now: func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
}
