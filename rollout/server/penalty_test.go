package server

import (
	"context"
	"encoding/json"
	"fmt"
	openai "github.com/sashabaranov/go-openai"
	"net/http"
	"slices"
	"testing"

	"github.com/rft-dev/rft/policy"
)

// TestOpenAIPenalties: presence_penalty, frequency_penalty and vLLM's
// repetition_penalty reach the engine exactly (the completion's tokens are
// those of an engine request with the same penalties, on the prompt ids the
// server reports), each changes what the test model writes greedily when it
// should, and the log-probabilities reported stay the unpenalised ones.
func TestOpenAIPenalties(t *testing.T) {
	s := newServer(t, Options{})
	type answer struct {
		Choices []struct {
			Text     string `json:"text"`
			TokenIDs []int  `json:"token_ids"`
			Logprobs *struct {
				TokenLogprobs []float64 `json:"token_logprobs"`
			} `json:"logprobs"`
		} `json:"choices"`
		PromptTokenIDs []int `json:"prompt_token_ids"`
	}
	complete := func(extra string) answer {
		t.Helper()
		body := `{"model":"tiny","prompt":"Once upon a time there was","max_tokens":24,"temperature":0,"logprobs":1` + extra + `}`
		code, out := call(t, s.Handler(), "POST", "/v1/completions", body)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", body, code, out)
		}
		var a answer
		if err := json.Unmarshal(out, &a); err != nil {
			t.Fatal(err)
		}
		if len(a.Choices) != 1 || len(a.PromptTokenIDs) == 0 {
			t.Fatalf("answer %s", out)
		}
		return a
	}
	plain := complete("")
	// The random test model's greedy answer repeats no token and copies none
	// from the prompt, so positive penalties leave it as it is; negative
	// ones (and a repetition penalty below 1) reward repeats and must change
	// it, each knob alone.
	for _, c := range []struct {
		p       policy.Penalties
		changes bool
	}{
		{policy.Penalties{Presence: -2}, true},
		{policy.Penalties{Frequency: -2}, true},
		{policy.Penalties{Repetition: 0.2}, true},
		{policy.Penalties{Presence: 2, Frequency: 1, Repetition: 1.5}, false},
	} {
		p := c.p
		extra := fmt.Sprintf(`,"presence_penalty":%g,"frequency_penalty":%g`, p.Presence, p.Frequency)
		if p.Repetition != 0 {
			extra += fmt.Sprintf(`,"repetition_penalty":%g`, p.Repetition)
		}
		a := complete(extra)
		got := a.Choices[0].TokenIDs
		res, err := s.Engine().Generate(context.Background(), policy.GenRequest{Prompt: a.PromptTokenIDs, N: 1, MaxTokens: 24, EOS: s.eos, Penalties: p, TopLogprobs: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := res.Samples[0].Tokens
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: server tokens %v, engine %v", p, got, want)
		}
		if changed := !slices.Equal(got, plain.Choices[0].TokenIDs); changed != c.changes {
			t.Errorf("%+v: changed the greedy answer: %v, want %v (%v; plain %v)", p, changed, c.changes, got, plain.Choices[0].TokenIDs)
		}
		// Unpenalised log-probabilities: where the penalised answer agrees
		// with the plain one, so do the log-probabilities.
		for k := range min(len(got), len(plain.Choices[0].TokenIDs)) {
			if got[k] != plain.Choices[0].TokenIDs[k] {
				break
			}
			if a.Choices[0].Logprobs.TokenLogprobs[k] != plain.Choices[0].Logprobs.TokenLogprobs[k] {
				t.Fatalf("%+v token %d: log-prob %v, unpenalised %v", p, k, a.Choices[0].Logprobs.TokenLogprobs[k], plain.Choices[0].Logprobs.TokenLogprobs[k])
			}
		}
	}
}

// TestOpenAILogitBias: go-openai's logit_bias reaches the sampler (a +100
// bias makes one token the whole greedy answer), and a "text"
// response_format and an empty tools list are accepted as no-ops.
func TestOpenAILogitBias(t *testing.T) {
	s := newServer(t, Options{})
	c := openaiClient(listen(t, s), "")
	ctx := context.Background()
	ask := func(bias map[string]int) openai.ChatCompletionResponse {
		t.Helper()
		req := chatRequest(1, 6, 1, greedy)
		req.LogitBias = bias
		req.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeText}
		req.Tools = []openai.Tool{}
		res, err := c.CreateChatCompletion(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	plain := ask(nil)
	forced := ask(map[string]int{"5": 100})
	want := s.tok.Decode([]int{5, 5, 5, 5, 5, 5})
	if forced.Choices[0].Message.Content != want || forced.Choices[0].FinishReason != "length" {
		t.Fatalf("+100 on token 5: %q (%s), want %q", forced.Choices[0].Message.Content, forced.Choices[0].FinishReason, want)
	}
	if plain.Choices[0].Message.Content == want {
		t.Fatal("the plain answer is already token 5 repeated: the test shows nothing")
	}
}
