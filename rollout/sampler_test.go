package rollout

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedLLM answers from the request alone, fails prompts whose text
// starts with "fail", and records how many calls run at once.
type scriptedLLM struct {
	hold      time.Duration
	noIDs     bool
	cur, peak atomic.Int64
	mu        sync.Mutex
	seeds     map[string]int64
}

func (s *scriptedLLM) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	n := s.cur.Add(1)
	defer s.cur.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	prompt := req.Messages[len(req.Messages)-1].Content
	s.mu.Lock()
	if s.seeds == nil {
		s.seeds = map[string]int64{}
	}
	if req.Seed != nil {
		s.seeds[prompt] = *req.Seed
	}
	s.mu.Unlock()
	select {
	case <-time.After(s.hold):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if strings.HasPrefix(prompt, "fail") {
		return nil, errors.New("scripted failure")
	}
	r := &ChatResponse{PromptTokens: []int{1, 2}, WeightVersion: "w3", Model: "m", Usage: Usage{PromptTokens: 2, CompletionTokens: req.N}}
	for i := range req.N {
		c := Choice{Text: fmt.Sprintf("%s-%d", prompt, i), FinishReason: "stop"}
		if !s.noIDs {
			c.Tokens, c.Logprobs = []int{i}, []float64{-1}
		}
		r.Choices = append(r.Choices, c)
	}
	return r, nil
}

func prompts(texts ...string) []Prompt {
	var ps []Prompt
	for _, t := range texts {
		ps = append(ps, Prompt{ID: "id-" + t, Prompt: t})
	}
	return ps
}

func TestSamplerGroups(t *testing.T) {
	llm := &scriptedLLM{hold: 5 * time.Millisecond}
	s := &Sampler{LLM: llm, G: 4, Seed: seedPtr(9), Concurrency: 3, Request: ChatRequest{Temperature: 1, MaxTokens: 8}}
	ps := prompts("a", "b", "fail-c", "d", "e", "f", "g")
	ps[1] = Prompt{ID: "id-b", Messages: []Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "b"}}}
	groups, err := s.Sample(context.Background(), ps)
	if err != nil {
		t.Fatal(err)
	}
	if p := llm.peak.Load(); p > 3 {
		t.Errorf("%d prompts in flight, limit 3", p)
	}
	for i, g := range groups {
		if g.Prompt.ID != ps[i].ID {
			t.Fatalf("group %d is prompt %s", i, g.Prompt.ID)
		}
		if ps[i].Prompt == "fail-c" {
			if g.Err == nil || g.Completions != nil {
				t.Errorf("failed prompt: %+v", g)
			}
			continue
		}
		if g.Err != nil || len(g.Completions) != 4 || g.WeightVersion != "w3" || g.Latency <= 0 || g.Seed == nil || *g.Seed != PromptSeed(9, ps[i].ID) {
			t.Fatalf("group %d: %+v", i, g)
		}
		for j, c := range g.Completions {
			text := fmt.Sprintf("%s-%d", ps[i].Conversation()[len(ps[i].Conversation())-1].Content, j)
			if c.Index != j || c.Text != text || !reflect.DeepEqual(c.Tokens, []int{j}) || c.Retokenized || c.WeightVersion != "w3" || c.FinishReason != "stop" {
				t.Errorf("group %d completion %d: %+v", i, j, c)
			}
		}
	}
	// A prompt's seed depends on its id, not on the batch around it.
	alone := &scriptedLLM{}
	(&Sampler{LLM: alone, G: 1, Seed: seedPtr(9)}).Sample(context.Background(), prompts("e"))
	if alone.seeds["e"] != llm.seeds["e"] {
		t.Errorf("seed of a prompt alone %d, in a batch %d", alone.seeds["e"], llm.seeds["e"])
	}
}

func TestSamplerFailFast(t *testing.T) {
	llm := &scriptedLLM{hold: 20 * time.Millisecond}
	s := &Sampler{LLM: llm, G: 2, Concurrency: 1, FailFast: true}
	groups, err := s.Sample(context.Background(), prompts("a", "fail-b", "c", "d"))
	if err == nil || !strings.Contains(err.Error(), `prompt "id-fail-b": scripted failure`) {
		t.Fatalf("err = %v", err)
	}
	if groups[0].Err != nil || groups[3].Err == nil {
		t.Errorf("groups after fail-fast: %v / %v", groups[0].Err, groups[3].Err)
	}
}

func TestSamplerRetokenizesOnlyWithoutIDs(t *testing.T) {
	tokenize := func(s string) []int { return []int{len(s)} }
	for _, noIDs := range []bool{false, true} {
		s := &Sampler{LLM: &scriptedLLM{noIDs: noIDs}, G: 2, Tokenize: tokenize}
		groups, err := s.Sample(context.Background(), prompts("xy"))
		if err != nil {
			t.Fatal(err)
		}
		c := groups[0].Completions[1]
		want := []int{1}
		if noIDs {
			want = []int{len("xy-1")}
		}
		if c.Retokenized != noIDs || !reflect.DeepEqual(c.Tokens, want) {
			t.Errorf("noIDs=%v: %+v", noIDs, c)
		}
	}
}

func TestSamplerContextCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	s := &Sampler{LLM: &scriptedLLM{hold: 20 * time.Millisecond}, G: 1, Concurrency: 1}
	groups, err := s.Sample(ctx, prompts("a", "b", "c", "d", "e"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if groups[4].Err == nil || groups[4].Prompt.ID != "id-e" {
		t.Errorf("unstarted prompt: %+v", groups[4])
	}
}

// TestSamplerOverFaultyEndpoints: groups sampled through an OpenAI
// endpoint that fails now and then equal those of a clean one.
func TestSamplerOverFaultyEndpoints(t *testing.T) {
	clean := newFake(t, false)
	faulty := newFake(t, false, "500", "429:1", "malformed", "hang", "503")
	var s0, s1 sleeps
	sample := func(f *fake, sl *sleeps) []Group {
		opts := testOptions(sl, f.srv.URL)
		opts.MaxRetries = 8 // one prompt may meet every fault in turn
		llm, err := Open("openai:m", opts)
		if err != nil {
			t.Fatal(err)
		}
		s := &Sampler{LLM: llm, G: 3, Seed: seedPtr(1), Concurrency: 2, Request: ChatRequest{Temperature: 1, Logprobs: true}}
		groups, err := s.Sample(context.Background(), prompts("p1", "p2", "p3", "p4"))
		if err != nil {
			t.Fatal(err)
		}
		for i := range groups {
			if groups[i].Err != nil {
				t.Fatalf("prompt %d: %v", i, groups[i].Err)
			}
			groups[i].Start, groups[i].Latency = time.Time{}, 0
			for j := range groups[i].Completions {
				groups[i].Completions[j].Latency = 0
			}
		}
		return groups
	}
	want, got := sample(clean, &s0), sample(faulty, &s1)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups differ under faults")
	}
	if len(got[0].Completions[0].Tokens) == 0 || got[0].WeightVersion != "v7" {
		t.Errorf("token ids or weight version lost: %+v", got[0])
	}
}

func TestReadPrompts(t *testing.T) {
	good := `{"id":"a","prompt":"hi"}

{"id":"b","messages":[{"role":"user","content":"yo"}],"meta":1}
`
	ps, err := ReadPrompts(strings.NewReader(good), "p.jsonl")
	if err != nil || len(ps) != 2 || ps[1].Conversation()[0].Content != "yo" || ps[0].Conversation()[0].Role != "user" {
		t.Fatalf("%+v, %v", ps, err)
	}
	bad := map[string]string{
		`{"id":"a","prompt":"x"}` + "\n" + `{"id":"b",`: "p.jsonl line 2:",
		`{"prompt":"x"}`: `p.jsonl line 1: missing "id"`,
		`{"id":"a"}`:     `p.jsonl line 1: id "a": needs "prompt" or "messages"`,
		`{"id":"a","prompt":"x","messages":[{"role":"user","content":"y"}]}`: "has both",
		`{"id":"a","messages":[{"content":"y"}]}`:                            "messages[0]: missing role",
		`{"id":"a","prompt":"x"}` + "\n" + `{"id":"a","prompt":"y"}`:         `p.jsonl line 2: id "a": also on line 1`,
		`{"id":3,"prompt":"x"}`:                                              "p.jsonl line 1:",
		`["id"]`:                                                             "p.jsonl line 1:",
	}
	for in, want := range bad {
		if _, err := ReadPrompts(strings.NewReader(in), "p.jsonl"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}
