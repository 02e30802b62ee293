package server

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
)

// ollamaClient is the official Go client pointed at base, sending key as a
// bearer token when set.
func ollamaClient(t testing.TB, base, key string) *api.Client {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	hc := http.DefaultClient
	if key != "" {
		hc = &http.Client{Transport: bearer{key, http.DefaultTransport}}
	}
	return api.NewClient(u, hc)
}

type bearer struct {
	key  string
	next http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.next.RoundTrip(r)
}

func ptr[T any](v T) *T { return &v }

func TestOllamaClientGenerate(t *testing.T) {
	s := newServer(t, Options{})
	c := ollamaClient(t, listen(t, s), "")
	ctx := context.Background()
	opts := map[string]any{"num_predict": 12, "seed": 7, "temperature": 0.9}

	var whole api.GenerateResponse
	calls := 0
	err := c.Generate(ctx, &api.GenerateRequest{Model: "tiny", Prompt: "Name three rivers.", Stream: ptr(false), Options: opts}, func(r api.GenerateResponse) error {
		whole, calls = r, calls+1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 || !whole.Done || whole.DoneReason == "" {
		t.Fatalf("non-streamed: %d callbacks, done %v, done_reason %q", calls, whole.Done, whole.DoneReason)
	}
	if whole.EvalCount < 1 || whole.EvalCount > 12 || whole.PromptEvalCount < 1 || whole.TotalDuration <= 0 || whole.EvalDuration <= 0 {
		t.Errorf("metrics: %+v", whole.Metrics)
	}
	if len(whole.Context) != whole.PromptEvalCount+whole.EvalCount {
		t.Errorf("context holds %d ids, want prompt %d + answer %d", len(whole.Context), whole.PromptEvalCount, whole.EvalCount)
	}

	// Streaming is the default; the pieces concatenate to the same answer.
	var pieces strings.Builder
	var last api.GenerateResponse
	lines := 0
	err = c.Generate(ctx, &api.GenerateRequest{Model: "tiny:latest", Prompt: "Name three rivers.", Options: opts}, func(r api.GenerateResponse) error {
		pieces.WriteString(r.Response)
		last, lines = r, lines+1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pieces.String() != whole.Response || !last.Done || last.DoneReason != whole.DoneReason || last.EvalCount != whole.EvalCount {
		t.Fatalf("streamed %q (%d lines, done_reason %q), non-streamed %q (%q)", pieces.String(), lines, last.DoneReason, whole.Response, whole.DoneReason)
	}
	if lines < 2 {
		t.Errorf("streaming sent %d lines", lines)
	}
	if !slices.Equal(last.Context, whole.Context) {
		t.Errorf("streamed context %v, non-streamed %v", last.Context, whole.Context)
	}

	// Raw mode: the prompt is not wrapped in the chat template.
	var raw api.GenerateResponse
	err = c.Generate(ctx, &api.GenerateRequest{Model: "tiny", Prompt: "Name three rivers.", Raw: true, Stream: ptr(false), Options: opts}, func(r api.GenerateResponse) error {
		raw = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if raw.PromptEvalCount >= whole.PromptEvalCount {
		t.Errorf("raw prompt has %d tokens, templated %d", raw.PromptEvalCount, whole.PromptEvalCount)
	}

	// An empty prompt loads the model, as in Ollama.
	var load api.GenerateResponse
	if err := c.Generate(ctx, &api.GenerateRequest{Model: "tiny"}, func(r api.GenerateResponse) error { load = r; return nil }); err != nil {
		t.Fatal(err)
	}
	if !load.Done || load.DoneReason != "load" {
		t.Errorf("empty prompt: %+v", load)
	}
}

func TestOllamaClientChat(t *testing.T) {
	s := newServer(t, Options{})
	c := ollamaClient(t, listen(t, s), "")
	ctx := context.Background()
	chat := func(seed int, stream bool) (string, api.ChatResponse) {
		t.Helper()
		var text strings.Builder
		var last api.ChatResponse
		req := &api.ChatRequest{Model: "tiny", Stream: &stream,
			Messages: []api.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is a river?"}},
			Options:  map[string]any{"num_predict": 10, "seed": seed, "temperature": 1.0, "top_k": 50, "top_p": 0.95}}
		if err := c.Chat(ctx, req, func(r api.ChatResponse) error {
			text.WriteString(r.Message.Content)
			last = r
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if last.Message.Role != "assistant" || !last.Done {
			t.Fatalf("last message: %+v", last)
		}
		return text.String(), last
	}
	a, ra := chat(1, false)
	b, _ := chat(1, false)
	streamed, rs := chat(1, true)
	other, _ := chat(2, false)
	if a != b {
		t.Errorf("seed 1 twice: %q then %q", a, b)
	}
	if streamed != a || rs.EvalCount != ra.EvalCount || rs.DoneReason != ra.DoneReason {
		t.Errorf("streamed %q (%d tokens), non-streamed %q (%d tokens)", streamed, rs.EvalCount, a, ra.EvalCount)
	}
	if other == a {
		t.Errorf("seeds 1 and 2 gave the same text %q", a)
	}
	if ra.PromptEvalCount == 0 || ra.EvalCount == 0 || ra.TotalDuration <= 0 || ra.LoadDuration <= 0 {
		t.Errorf("metrics: %+v", ra.Metrics)
	}
}

// TestOllamaClientLogprobs needs an engine that reports log-probabilities.
func TestOllamaClientLogprobs(t *testing.T) {
	s := newServer(t, Options{})
	c := ollamaClient(t, listen(t, s), "")
	for _, stream := range []bool{false, true} {
		var lps []api.Logprob
		var last api.ChatResponse
		req := &api.ChatRequest{Model: "tiny", Stream: &stream, Logprobs: true, TopLogprobs: 3,
			Messages: []api.Message{{Role: "user", Content: "Count to three."}},
			Options:  map[string]any{"num_predict": 6, "seed": 3}}
		if err := c.Chat(context.Background(), req, func(r api.ChatResponse) error {
			lps = append(lps, r.Logprobs...)
			last = r
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(lps) != last.EvalCount {
			t.Fatalf("stream %v: %d log-probabilities for %d tokens", stream, len(lps), last.EvalCount)
		}
		for i, lp := range lps {
			if lp.Logprob > 0 || len(lp.TopLogprobs) != 3 {
				t.Fatalf("stream %v: position %d: %+v", stream, i, lp)
			}
			for k := 1; k < 3; k++ {
				if lp.TopLogprobs[k].Logprob > lp.TopLogprobs[k-1].Logprob {
					t.Errorf("position %d: alternatives not sorted: %+v", i, lp.TopLogprobs)
				}
			}
		}
	}
}

func TestOllamaClientModels(t *testing.T) {
	s := newServer(t, Options{Version: "1.2.3"})
	c := ollamaClient(t, listen(t, s), "")
	ctx := context.Background()
	if err := c.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := c.Version(ctx)
	if err != nil || v != "1.2.3" {
		t.Fatalf("version %q, %v", v, err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list.Models) != 1 || list.Models[0].Name != "tiny:latest" || list.Models[0].Details.Family != "qwen3" {
		t.Fatalf("list %+v, %v", list, err)
	}
	ps, err := c.ListRunning(ctx)
	if err != nil || len(ps.Models) != 1 || ps.Models[0].ContextLength != 256 {
		t.Fatalf("ps %+v, %v", ps, err)
	}
	show, err := c.Show(ctx, &api.ShowRequest{Model: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	if show.ModelInfo["general.architecture"] != "qwen3" || show.Details.ParameterSize == "" {
		t.Errorf("show: %+v", show)
	}
	_, err = c.Show(ctx, &api.ShowRequest{Model: "llama3"})
	if se, ok := err.(api.StatusError); !ok || se.StatusCode != http.StatusNotFound {
		t.Errorf("show of an unknown model: %v", err)
	}
}
