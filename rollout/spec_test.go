package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		in, backend, model, err string
	}{
		{in: "openai:gpt-4.1-mini", backend: "openai", model: "gpt-4.1-mini"},
		{in: "ollama:qwen3:8b", backend: "ollama", model: "qwen3:8b"},
		{in: "local:/runs/a:b/step-000010", backend: "local", model: "/runs/a:b/step-000010"},
		{in: "sim", backend: "sim"},
		{in: "sim:great", backend: "sim", model: "great"},
		{in: "", err: `model spec "": no backend`},
		{in: ":gpt", err: `model spec ":gpt": no backend`},
		{in: "OpenAI:gpt", err: `backend "OpenAI" is not a lower-case name`},
	}
	for _, c := range cases {
		s, err := ParseSpec(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseSpec(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || s.Backend != c.backend || s.Model != c.model || s.Raw != c.in {
			t.Errorf("ParseSpec(%q) = %+v, %v", c.in, s, err)
		}
	}
}

func TestOpenErrorsNameTheSpec(t *testing.T) {
	cases := map[string]string{
		"vllm:x":           `model spec "vllm:x": unknown backend "vllm" (registered: `,
		"openai:":          `model spec "openai:": openai: no model name`,
		"ollama:":          `model spec "ollama:": ollama: no model name`,
		"local:":           `model spec "local:": local: no checkpoint directory`,
		"local:/nonexist/": `model spec "local:/nonexist/": `,
	}
	for spec, want := range cases {
		_, err := Open(spec, Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) error %v, want %q", spec, err, want)
		}
	}
	_, err := Open("openai:m", Options{BaseURLs: []string{"localhost:8000"}})
	if err == nil || !strings.Contains(err.Error(), `base URL "localhost:8000"`) {
		t.Errorf("bad base URL: %v", err)
	}
}

func TestOpenReadsEnvironment(t *testing.T) {
	f := newFake(t, false)
	t.Setenv("OPENAI_BASE_URL", f.srv.URL+"/v1")
	t.Setenv("OPENAI_API_KEY", "sk-env")
	llm, err := Open("openai:m", Options{Meter: NewMeter()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := llm.Chat(context.Background(), chatReq("x")); err != nil {
		t.Fatal(err)
	}
	if f.auth[0] != "Bearer sk-env" {
		t.Errorf("Authorization %q", f.auth[0])
	}
	o := newFake(t, true)
	t.Setenv("OLLAMA_HOST", strings.TrimPrefix(o.srv.URL, "http://"))
	llm, err = Open("ollama:m", Options{Meter: NewMeter()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := llm.Chat(context.Background(), chatReq("x")); err != nil {
		t.Fatal(err)
	}
}

type echoLLM struct{ fail bool }

func (e echoLLM) Chat(_ context.Context, req ChatRequest) (*ChatResponse, error) {
	if e.fail {
		return nil, errors.New("simulated failure")
	}
	r := &ChatResponse{Usage: Usage{PromptTokens: 2, CompletionTokens: 3}}
	for range max(req.N, 1) {
		r.Choices = append(r.Choices, Choice{Text: req.Messages[len(req.Messages)-1].Content})
	}
	return r, nil
}

var registered atomic.Int64

func TestRegisterAndMeter(t *testing.T) {
	var got Spec
	name := fmt.Sprintf("test-echo-%d", registered.Add(1)) // -count=N registers again
	Register(name, func(s Spec, o Options) (LLM, error) {
		got = s
		if o.Role != "judge" || o.Timeout != DefaultTimeout || o.MaxRetries != DefaultMaxRetries {
			t.Errorf("factory options lack defaults: %+v", o)
		}
		return echoLLM{fail: s.Model == "broken"}, nil
	})
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	m := NewMeter()
	llm, err := Open(name+":x:y", Options{Role: "judge", Meter: m})
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "x:y" {
		t.Errorf("factory got %+v", got)
	}
	llm.Chat(context.Background(), ChatRequest{Messages: []Message{{Content: "a"}}})
	llm.Chat(context.Background(), ChatRequest{Messages: []Message{{Content: "a"}}})
	bad, _ := Open(name+":broken", Options{Role: "judge", Meter: m})
	bad.Chat(context.Background(), ChatRequest{})
	want := RoleUsage{Calls: 3, Failures: 1, PromptTokens: 4, CompletionTokens: 6}
	if u := m.Snapshot()["judge"]; u != want {
		t.Errorf("usage %+v, want %+v", u, want)
	}
	Register(name, func(Spec, Options) (LLM, error) { return nil, nil })
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"0.5":                           500 * time.Millisecond,
		"-1":                            0,
		"soon":                          0,
		"Wed, 01 Jan 2025 00:01:00 GMT": time.Minute,
		"Tue, 31 Dec 2024 23:00:00 GMT": 0, // past
	}
	for in, want := range cases {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestBackoffFullJitter(t *testing.T) {
	base, cap := 100*time.Millisecond, time.Second
	a, b := newBackoff(base, cap, 7), newBackoff(base, cap, 7)
	for k := range 8 {
		ceil := min(cap, base<<k)
		var spread time.Duration
		for range 50 {
			d := a.wait(k, 0)
			if d < 0 || d > ceil {
				t.Fatalf("retry %d: wait %s outside [0, %s]", k, d, ceil)
			}
			if d != b.wait(k, 0) {
				t.Fatal("the same seed gave other waits")
			}
			spread = max(spread, d)
		}
		if spread < ceil/2 {
			t.Errorf("retry %d: waits never above %s of a ceiling %s: not full jitter", k, spread, ceil)
		}
	}
	if d := a.wait(0, 5*time.Second); d != 5*time.Second {
		t.Errorf("Retry-After 5s gave a wait of %s", d)
	}
	if d := newBackoff(base, cap, 1).wait(1000, 0); d > cap {
		t.Errorf("retry 1000 waits %s", d)
	}
}
