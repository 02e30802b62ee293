package rollout

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func seedPtr(s int64) *int64 { return &s }

func chatReq(prompt string) ChatRequest {
	return ChatRequest{
		Messages: []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: prompt}},
		N:        3, Temperature: 0.7, TopP: 0.9, MaxTokens: 32, Seed: seedPtr(42), Logprobs: true, TopLogprobs: 1,
	}
}

func TestOpenAIRequestAndResponse(t *testing.T) {
	f := newFake(t, false)
	var s sleeps
	opts := testOptions(&s, f.srv.URL) // a bare host gets /v1
	opts.APIKey = "sk-test"
	llm, err := Open("openai:tiny-model", opts)
	if err != nil {
		t.Fatal(err)
	}
	req := chatReq("hello")
	req.TopK, req.Stop, req.JSON, req.SampledLogprobs, req.Temperature = 5, []string{"\n\n"}, true, true, 0
	resp, err := llm.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	body := f.requests()[0]
	want := map[string]any{
		"model": "tiny-model", "n": 3.0, "temperature": 1e-6, "top_p": 0.9, "max_tokens": 32.0, "seed": 42.0,
		"logprobs": true, "top_logprobs": 1.0, "top_k": 5.0, "sampled_logprobs": true,
		"stop": []any{"\n\n"}, "response_format": map[string]any{"type": "json_object"},
	}
	for k, v := range want {
		if got := body[k]; !reflect.DeepEqual(got, v) {
			t.Errorf("request %s = %#v, want %#v", k, got, v)
		}
	}
	if got := f.auth[0]; got != "Bearer sk-test" {
		t.Errorf("Authorization = %q", got)
	}
	if len(resp.Choices) != 3 || resp.WeightVersion != "v7" || resp.Model != "tiny-model" {
		t.Fatalf("response: %+v", resp)
	}
	if !reflect.DeepEqual(resp.PromptTokens, fakeTokens("hello")) {
		t.Errorf("prompt tokens %v", resp.PromptTokens)
	}
	for i, c := range resp.Choices {
		text := fakeText("hello", 42, i) // the fake sent them in reverse order
		if c.Text != text || !reflect.DeepEqual(c.Tokens, fakeTokens(text)) || c.FinishReason != "stop" {
			t.Errorf("choice %d: %+v", i, c)
		}
		if len(c.Logprobs) != len(text) || c.Logprobs[1] != -0.51 || len(c.TopLogprobs) != len(text) || c.TopLogprobs[0][0].Token != text[:1] {
			t.Errorf("choice %d log-probs: %v %v", i, c.Logprobs, c.TopLogprobs)
		}
	}
	if resp.Usage.PromptTokens != 5 || resp.Usage.CompletionTokens != 3*len(fakeText("hello", 42, 0)) {
		t.Errorf("usage %+v", resp.Usage)
	}
	u := opts.Meter.Snapshot()["policy"]
	if u.Calls != 1 || u.Requests != 1 || u.Retries != 0 || u.Failures != 0 || u.PromptTokens != 5 {
		t.Errorf("meter %+v", u)
	}
}

// TestOpenAIOmitsUnset checks that a plain request carries no extension
// fields, which hosted APIs would reject.
func TestOpenAIOmitsUnset(t *testing.T) {
	f := newFake(t, false)
	var s sleeps
	llm, err := Open("openai:m", testOptions(&s, f.srv.URL+"/v1/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := llm.Chat(context.Background(), ChatRequest{Messages: []Message{{Role: "user", Content: "x"}}, Temperature: 1}); err != nil {
		t.Fatal(err)
	}
	body := f.requests()[0]
	for _, k := range []string{"top_k", "sampled_logprobs", "seed", "stop", "logprobs", "response_format", "max_tokens"} {
		if _, ok := body[k]; ok {
			t.Errorf("request has %s: %v", k, body[k])
		}
	}
	if body["temperature"] != 1.0 {
		t.Errorf("temperature %v", body["temperature"])
	}
}

// faultCase is one scripted failure sequence and what the client must do.
type faultCase struct {
	name     string
	script   []fault
	ok       bool
	requests int64 // HTTP attempts
	minSleep time.Duration
	errHas   string
}

var faultCases = []faultCase{
	{name: "clean", ok: true, requests: 1},
	{name: "500", script: []fault{"500"}, ok: true, requests: 2},
	{name: "5xx thrice", script: []fault{"500", "502", "503"}, ok: true, requests: 4},
	{name: "429 seconds", script: []fault{"429:7"}, ok: true, requests: 2, minSleep: 7 * time.Second},
	{name: "429 date", script: []fault{"429:Wed, 01 Jan 2025 00:00:09 GMT"}, ok: true, requests: 2, minSleep: 9 * time.Second},
	{name: "hang", script: []fault{"hang"}, ok: true, requests: 2},
	{name: "malformed", script: []fault{"malformed"}, ok: true, requests: 2},
	{name: "truncated", script: []fault{"truncated"}, ok: true, requests: 2},
	{name: "mixed", script: []fault{"hang", "429:1", "malformed"}, ok: true, requests: 4, minSleep: time.Second},
	{name: "400 not retried", script: []fault{"400"}, requests: 1, errHas: "400"},
	{name: "retries exhausted", script: []fault{"500", "500", "500", "500", "500"}, requests: 4, errHas: "attempt 4 of 4"},
}

// runFaults runs every fault case against a fake and compares with the
// fault-free answer.
func runFaults(t *testing.T, ollama bool, spec string) {
	for _, c := range faultCases {
		t.Run(c.name, func(t *testing.T) {
			clean := newFake(t, ollama)
			f := newFake(t, ollama, c.script...)
			var s0, s sleeps
			ref, err := Open(spec, testOptions(&s0, clean.srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			opts := testOptions(&s, f.srv.URL)
			llm, err := Open(spec, opts)
			if err != nil {
				t.Fatal(err)
			}
			req := chatReq("q")
			req.N = 1
			want, err := ref.Chat(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := llm.Chat(context.Background(), req)
			if c.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.errHas)) {
				t.Fatalf("err = %v, want ok=%v containing %q", err, c.ok, c.errHas)
			}
			if c.ok && !reflect.DeepEqual(got, want) {
				t.Errorf("answer with faults differs:\n%+v\n%+v", got, want)
			}
			u := opts.Meter.Snapshot()["policy"]
			wantU := RoleUsage{Calls: 1, Requests: c.requests, Retries: c.requests - 1}
			if c.ok {
				wantU.PromptTokens, wantU.CompletionTokens = int64(want.Usage.PromptTokens), int64(want.Usage.CompletionTokens)
			} else {
				wantU.Failures = 1
			}
			if u != wantU {
				t.Errorf("usage %+v, want %+v", u, wantU)
			}
			waits := s.all()
			if int64(len(waits)) != c.requests-1 {
				t.Errorf("%d waits for %d retries", len(waits), c.requests-1)
			}
			var longest time.Duration
			for _, w := range waits {
				longest = max(longest, w)
				if w > DefaultBackoffMax && w != c.minSleep {
					t.Errorf("wait %s beyond the backoff cap", w)
				}
			}
			if longest < c.minSleep {
				t.Errorf("waits %v ignore Retry-After %s", waits, c.minSleep)
			}
		})
	}
}

func TestOpenAIFaults(t *testing.T) { runFaults(t, false, "openai:m") }

func TestOpenAIChoiceCountMismatchIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":"one"},"finish_reason":"stop"}]}`)
	}))
	defer srv.Close()
	var s sleeps
	opts := testOptions(&s, srv.URL)
	llm, err := Open("openai:m", opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = llm.Chat(context.Background(), ChatRequest{N: 2, Messages: []Message{{Role: "user", Content: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "asked for 2 choices") {
		t.Fatalf("err = %v", err)
	}
	if u := opts.Meter.Snapshot()["policy"]; u.Requests != 1 || u.Failures != 1 {
		t.Errorf("a protocol violation was retried: %+v", u)
	}
}
