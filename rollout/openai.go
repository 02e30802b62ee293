package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// The openai backend speaks the OpenAI chat-completions API through
// go-openai to any OpenAI-compatible server: OpenAI, vLLM, rft serve.
//
// go-openai cannot express fields outside the OpenAI schema, so rft's
// extensions travel through the pool's http.RoundTripper instead of a second
// client: it adds request fields (top_k, which vLLM and rft serve read, and
// sampled_logprobs) to the JSON body go-openai wrote, and keeps the raw
// response body, from which the extension fields are read: prompt_token_ids
// at the top level, token_ids per choice and weight_version. A server that
// does not send them leaves Choice.Tokens and WeightVersion empty.
type openAI struct {
	pool  *pool
	model string
}

// greedyTemperature is what the openai backend sends for T = 0: go-openai
// omits a zero temperature (omitempty), which servers read as 1; rft serve
// treats anything below 1e-5 as greedy (DESIGN.md decision 7).
const greedyTemperature = 1e-6

func openOpenAI(spec Spec, opts Options) (LLM, error) {
	if spec.Model == "" {
		return nil, fmt.Errorf("openai: no model name (want openai:MODEL)")
	}
	urls := splitList(opts.BaseURLs...)
	if len(urls) == 0 {
		urls = splitList(os.Getenv("OPENAI_BASE_URL"))
	}
	if len(urls) == 0 {
		urls = []string{"https://api.openai.com/v1"}
	}
	for i, u := range urls {
		n, err := openAIBaseURL(u)
		if err != nil {
			return nil, err
		}
		urls[i] = n
	}
	key := opts.APIKey
	if key == "" {
		key = os.Getenv("OPENAI_API_KEY")
	}
	hc := httpClient(opts, "") // go-openai sets the Bearer token itself
	p, err := newPool("openai", urls, opts, func(u string) (any, error) {
		cfg := openai.DefaultConfig(key)
		cfg.BaseURL = u
		cfg.HTTPClient = hc
		return openai.NewClientWithConfig(cfg), nil
	})
	if err != nil {
		return nil, err
	}
	return &openAI{pool: p, model: spec.Model}, nil
}

// openAIBaseURL checks a base URL and gives a bare host the /v1 prefix, so
// "http://127.0.0.1:11434" reaches rft serve's OpenAI routes.
func openAIBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("openai: base URL %q: want http(s)://HOST[:PORT][/PATH]", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Path == "" {
		u.Path = "/v1"
	}
	return u.String(), nil
}

// rftExtensions are the fields rft serve adds to a chat completion.
type rftExtensions struct {
	PromptTokenIDs []int  `json:"prompt_token_ids"`
	WeightVersion  string `json:"weight_version"`
	Choices        []struct {
		Index    int   `json:"index"`
		TokenIDs []int `json:"token_ids"`
	} `json:"choices"`
}

func (o *openAI) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	n := max(req.N, 1)
	model := req.Model
	if model == "" {
		model = o.model
	}
	creq := openai.ChatCompletionRequest{
		Model:       model,
		N:           n,
		Temperature: float32(req.Temperature),
		TopP:        float32(req.TopP),
		MaxTokens:   req.MaxTokens,
		Stop:        req.Stop,
		LogProbs:    req.Logprobs,
	}
	if req.Temperature < 1e-5 {
		creq.Temperature = greedyTemperature
	}
	if req.Logprobs {
		creq.TopLogProbs = req.TopLogprobs
	}
	for _, m := range req.Messages {
		creq.Messages = append(creq.Messages, openai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	if req.Seed != nil {
		s := int(*req.Seed)
		creq.Seed = &s
	}
	if errors.Is(openai.NewReasoningValidator().Validate(creq), openai.ErrReasoningModelMaxTokensDeprecated) {
		// o-series and gpt-5 models take max_completion_tokens only.
		creq.MaxTokens, creq.MaxCompletionTokens = 0, req.MaxTokens
	}
	if req.JSON {
		creq.ResponseFormat = &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	}
	extra := map[string]any{}
	if req.TopK > 0 {
		extra["top_k"] = req.TopK
	}
	if req.SampledLogprobs {
		extra["sampled_logprobs"] = true
	}
	var out *ChatResponse
	err := o.pool.do(ctx, extra, func(ctx context.Context, ep *endpoint, ex *exchange) error {
		resp, err := ep.client.(*openai.Client).CreateChatCompletion(ctx, creq)
		if err != nil {
			return err
		}
		out, err = fromOpenAI(&resp, ex.body, n)
		return err
	})
	return out, err
}

// fromOpenAI converts a chat completion, with rft's extension fields read
// from its raw body.
func fromOpenAI(resp *openai.ChatCompletionResponse, body []byte, n int) (*ChatResponse, error) {
	if len(resp.Choices) != n {
		return nil, permanent(fmt.Errorf("asked for %d choices, the server returned %d", n, len(resp.Choices)))
	}
	var ext rftExtensions
	if len(body) > 0 {
		// go-openai has parsed this body already; missing fields stay empty.
		_ = json.Unmarshal(body, &ext)
	}
	ids := map[int][]int{}
	for _, c := range ext.Choices {
		ids[c.Index] = c.TokenIDs
	}
	choices := slices.Clone(resp.Choices)
	slices.SortStableFunc(choices, func(a, b openai.ChatCompletionChoice) int { return a.Index - b.Index })
	out := &ChatResponse{
		Model:         resp.Model,
		Usage:         Usage{PromptTokens: resp.Usage.PromptTokens, CompletionTokens: resp.Usage.CompletionTokens},
		PromptTokens:  ext.PromptTokenIDs,
		WeightVersion: ext.WeightVersion,
	}
	for _, c := range choices {
		ch := Choice{Text: c.Message.Content, FinishReason: string(c.FinishReason), Tokens: ids[c.Index]}
		if c.LogProbs != nil {
			withTop := false
			for _, lp := range c.LogProbs.Content {
				ch.Logprobs = append(ch.Logprobs, lp.LogProb)
				withTop = withTop || len(lp.TopLogProbs) > 0
			}
			if withTop {
				for _, lp := range c.LogProbs.Content {
					alts := make([]TokenLogprob, len(lp.TopLogProbs))
					for i, a := range lp.TopLogProbs {
						alts[i] = TokenLogprob{Token: a.Token, Logprob: a.LogProb}
					}
					ch.TopLogprobs = append(ch.TopLogprobs, alts)
				}
			}
		}
		out.Choices = append(out.Choices, ch)
	}
	return out, nil
}
