package server

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

func openaiClient(base, key string) *openai.Client {
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = base + "/v1"
	return openai.NewClientWithConfig(cfg)
}

// greedy is what go-openai users send for temperature 0, which it omits.
const greedy = 1e-6

func chatRequest(n, maxTokens, seed int, temperature float32) openai.ChatCompletionRequest {
	return openai.ChatCompletionRequest{
		Model:       "tiny",
		Messages:    []openai.ChatCompletionMessage{{Role: "user", Content: "List two colours."}},
		N:           n,
		MaxTokens:   maxTokens,
		Seed:        &seed,
		Temperature: temperature,
	}
}

func TestOpenAIClientChat(t *testing.T) {
	s := newServer(t, Options{})
	c := openaiClient(listen(t, s), "")
	ctx := context.Background()

	models, err := c.ListModels(ctx)
	if err != nil || len(models.Models) != 1 || models.Models[0].ID != "tiny" {
		t.Fatalf("models %+v, %v", models, err)
	}

	req := chatRequest(4, 10, 11, 1)
	a, err := c.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Choices) != 4 || a.Object != "chat.completion" || a.SystemFingerprint != "v1" {
		t.Fatalf("response: %+v", a)
	}
	distinct := map[string]bool{}
	for i, ch := range a.Choices {
		if ch.Index != i || ch.Message.Role != "assistant" || (ch.FinishReason != "stop" && ch.FinishReason != "length") {
			t.Errorf("choice %d: %+v", i, ch)
		}
		if ch.Message.Content != b.Choices[i].Message.Content {
			t.Errorf("choice %d differs between two calls with seed 11: %q, %q", i, ch.Message.Content, b.Choices[i].Message.Content)
		}
		distinct[ch.Message.Content] = true
	}
	if len(distinct) < 2 {
		t.Errorf("4 samples at temperature 1 are all %q", a.Choices[0].Message.Content)
	}
	if a.Usage.PromptTokens == 0 || a.Usage.CompletionTokens == 0 || a.Usage.TotalTokens != a.Usage.PromptTokens+a.Usage.CompletionTokens {
		t.Errorf("usage %+v", a.Usage)
	}

	// Greedy decoding ignores the seed; max_completion_tokens bounds it too.
	g1, err := c.CreateChatCompletion(ctx, chatRequest(1, 8, 1, greedy))
	if err != nil {
		t.Fatal(err)
	}
	g2, err := c.CreateChatCompletion(ctx, chatRequest(1, 8, 2, greedy))
	if err != nil {
		t.Fatal(err)
	}
	if g1.Choices[0].Message.Content != g2.Choices[0].Message.Content {
		t.Errorf("greedy answers differ across seeds: %q, %q", g1.Choices[0].Message.Content, g2.Choices[0].Message.Content)
	}
	mc := chatRequest(1, 0, 1, greedy)
	mc.MaxCompletionTokens = 3
	r3, err := c.CreateChatCompletion(ctx, mc)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Usage.CompletionTokens > 3 {
		t.Errorf("max_completion_tokens 3 gave %d tokens", r3.Usage.CompletionTokens)
	}
}

func TestOpenAIClientStream(t *testing.T) {
	s := newServer(t, Options{})
	c := openaiClient(listen(t, s), "")
	ctx := context.Background()
	req := chatRequest(3, 12, 5, 0.8)
	whole, err := c.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	req.Stream = true
	req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	st, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	texts := make([]strings.Builder, 3)
	finish := make([]openai.FinishReason, 3)
	var usage *openai.Usage
	chunks := 0
	for {
		r, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		if r.Usage != nil {
			usage = r.Usage
		}
		for _, ch := range r.Choices {
			texts[ch.Index].WriteString(ch.Delta.Content)
			if ch.FinishReason != "" {
				finish[ch.Index] = ch.FinishReason
			}
		}
	}
	for i := range 3 {
		if texts[i].String() != whole.Choices[i].Message.Content || finish[i] != whole.Choices[i].FinishReason {
			t.Errorf("choice %d: streamed %q (%s), whole %q (%s)", i, texts[i].String(), finish[i], whole.Choices[i].Message.Content, whole.Choices[i].FinishReason)
		}
	}
	if usage == nil || usage.CompletionTokens != whole.Usage.CompletionTokens || usage.PromptTokens != whole.Usage.PromptTokens {
		t.Errorf("streamed usage %+v, whole %+v", usage, whole.Usage)
	}
	if chunks < 4 {
		t.Errorf("%d chunks", chunks)
	}
}

func TestOpenAIClientCompletion(t *testing.T) {
	s := newServer(t, Options{})
	c := openaiClient(listen(t, s), "")
	ctx := context.Background()
	seed := 3
	req := openai.CompletionRequest{Model: "tiny", Prompt: "Once upon a time", MaxTokens: 6, N: 2, Seed: &seed, Temperature: 1}
	a, err := c.CreateCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreateCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Choices) != 2 || a.Object != "text_completion" || a.Choices[0].Text != b.Choices[0].Text || a.Choices[1].Text != b.Choices[1].Text {
		t.Fatalf("completions: %+v then %+v", a, b)
	}
	if a.Usage == nil || a.Usage.CompletionTokens > 12 {
		t.Errorf("usage %+v", a.Usage)
	}

	// The legacy integer logprobs; needs an engine that reports them.
	req.LogProbs = 2
	lp, err := c.CreateCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	l := lp.Choices[0].LogProbs
	if len(l.Tokens) == 0 || len(l.TokenLogprobs) != len(l.Tokens) || len(l.TopLogprobs) != len(l.Tokens) || len(l.TextOffset) != len(l.Tokens) {
		t.Fatalf("legacy logprobs: %+v", l)
	}
	if strings.Join(l.Tokens, "") != lp.Choices[0].Text && lp.Choices[0].FinishReason == "length" {
		t.Errorf("tokens %q do not spell the text %q", l.Tokens, lp.Choices[0].Text)
	}
	if lp.Choices[0].Text != a.Choices[0].Text {
		t.Errorf("asking for logprobs changed the text: %q, %q", lp.Choices[0].Text, a.Choices[0].Text)
	}
}

// TestOpenAIClientLogprobs needs an engine that reports log-probabilities.
func TestOpenAIClientLogprobs(t *testing.T) {
	s := newServer(t, Options{})
	c := openaiClient(listen(t, s), "")
	ctx := context.Background()
	req := chatRequest(2, 8, 9, 0.7)
	req.LogProbs, req.TopLogProbs = true, 4
	raw, err := c.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for i, ch := range raw.Choices {
		if ch.LogProbs == nil || len(ch.LogProbs.Content) == 0 {
			t.Fatalf("choice %d: no logprobs", i)
		}
		var text strings.Builder
		for k, lp := range ch.LogProbs.Content {
			if lp.LogProb > 0 || len(lp.TopLogProbs) != 4 || lp.TopLogProbs[0].LogProb < lp.LogProb {
				t.Fatalf("choice %d position %d: %+v", i, k, lp)
			}
			if string(lp.Bytes) != lp.Token && !strings.ContainsRune(lp.Token, '\uFFFD') {
				t.Errorf("position %d: bytes %v for token %q", k, lp.Bytes, lp.Token)
			}
			text.Write(lp.Bytes)
		}
		if ch.FinishReason == "length" && string([]rune(text.String())) != ch.Message.Content {
			t.Errorf("choice %d: token bytes spell %q, content %q", i, text.String(), ch.Message.Content)
		}
	}

	// The rollout path's log-probabilities are those of logits/T: at T = 0.7
	// they differ from the raw ones for the same tokens.
	body := map[string]any{"model": "tiny", "n": 2, "max_tokens": 8, "seed": 9, "temperature": 0.7,
		"logprobs": true, "messages": []any{map[string]any{"role": "user", "content": "List two colours."}}}
	rawExt := postChat(t, s, body)
	body["sampled_logprobs"] = true
	sampled := postChat(t, s, body)
	differ := false
	for i, ch := range sampled.Choices {
		if !slices.Equal(ch.TokenIDs, rawExt.Choices[i].TokenIDs) || ch.Message.Content != raw.Choices[i].Message.Content {
			t.Fatalf("choice %d: sampled_logprobs changed the tokens", i)
		}
		for k, lp := range ch.Logprobs.Content {
			if lp.TokenID != ch.TokenIDs[k] {
				t.Errorf("choice %d position %d: token_id %d, token_ids has %d", i, k, lp.TokenID, ch.TokenIDs[k])
			}
			if math.Abs(lp.Logprob-rawExt.Choices[i].Logprobs.Content[k].Logprob) > 1e-6 {
				differ = true
			}
		}
	}
	if !differ {
		t.Error("sampled_logprobs at T = 0.7 equal the raw log-probabilities")
	}
}

// extChat reads a chat completion with rft's extension fields.
type extChat struct {
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
		TokenIDs     []int  `json:"token_ids"`
		Logprobs     *struct {
			Content []struct {
				Token   string  `json:"token"`
				Logprob float64 `json:"logprob"`
				TokenID int     `json:"token_id"`
			} `json:"content"`
		} `json:"logprobs"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	PromptTokenIDs []int  `json:"prompt_token_ids"`
	WeightVersion  string `json:"weight_version"`
}

func postChat(t testing.TB, s *Server, body any) extChat {
	t.Helper()
	code, out := call(t, s.Handler(), "POST", "/v1/chat/completions", body)
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, out)
	}
	return decode[extChat](t, out)
}
