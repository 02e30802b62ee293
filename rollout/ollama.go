package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/ollama/ollama/api"
)

// The ollama backend speaks Ollama's /api/chat through ollama/api (v0.17.4,
// whose ChatRequest has logprobs and top_logprobs). Ollama has no n: a
// request for N choices sends N requests at once, choice i with seed+i
// when seeded, each retried and balanced on its own. Ollama returns no token
// ids, so Choice.Tokens stays empty.
type ollamaLLM struct {
	pool  *pool
	model string
}

func openOllama(spec Spec, opts Options) (LLM, error) {
	if spec.Model == "" {
		return nil, fmt.Errorf("ollama: no model name (want ollama:MODEL, e.g. ollama:qwen3:8b)")
	}
	hosts := splitList(opts.BaseURLs...)
	if len(hosts) == 0 {
		hosts = splitList(os.Getenv("OLLAMA_HOST"))
	}
	if len(hosts) == 0 {
		hosts = []string{"http://127.0.0.1:11434"}
	}
	var urls []string
	for _, h := range hosts {
		u, err := ollamaHost(h)
		if err != nil {
			return nil, err
		}
		urls = append(urls, u.String())
	}
	// ollama/api sends no token of its own; rft serve --api-key wants one.
	hc := httpClient(opts, opts.APIKey)
	p, err := newPool("ollama", urls, opts, func(u string) (any, error) {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		return api.NewClient(parsed, hc), nil
	})
	if err != nil {
		return nil, err
	}
	return &ollamaLLM{pool: p, model: spec.Model}, nil
}

// ollamaHost reads an endpoint the way Ollama reads OLLAMA_HOST: the scheme
// defaults to http and the port to 11434 (80 or 443 after an explicit http://
// or https://).
func ollamaHost(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	scheme, hostport, ok := strings.Cut(s, "://")
	port := "11434"
	switch {
	case !ok:
		scheme, hostport = "http", s
	case scheme == "http":
		port = "80"
	case scheme == "https":
		port = "443"
	default:
		return nil, fmt.Errorf("ollama: host %q: scheme %q is not http or https", raw, scheme)
	}
	hostport, path, _ := strings.Cut(hostport, "/")
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	} else if p != "" {
		port = p
	}
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	u := &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port), Path: strings.TrimRight("/"+path, "/")}
	if _, err := url.Parse(u.String()); err != nil {
		return nil, fmt.Errorf("ollama: host %q: %w", raw, err)
	}
	return u, nil
}

func (o *ollamaLLM) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	n := max(req.N, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &ChatResponse{Choices: make([]Choice, n)}
	usage := make([]Usage, n)
	errs := make([]error, n)
	models := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			out.Choices[i], usage[i], models[i], err = o.one(ctx, req, i)
			if err != nil {
				errs[i] = fmt.Errorf("choice %d: %w", i, err)
				cancel() // the call fails as a whole; stop the others
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		// The first error that is not the cancellation it caused.
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, u := range usage {
		out.Usage.PromptTokens += u.PromptTokens
		out.Usage.CompletionTokens += u.CompletionTokens
	}
	out.Model = models[0]
	return out, nil
}

// one asks for choice i.
func (o *ollamaLLM) one(ctx context.Context, req ChatRequest, i int) (Choice, Usage, string, error) {
	model := req.Model
	if model == "" {
		model = o.model
	}
	stream := false
	opts := map[string]any{"temperature": req.Temperature}
	if req.Temperature < 1e-5 {
		opts["temperature"] = 0 // Ollama's greedy
	}
	if req.MaxTokens > 0 {
		opts["num_predict"] = req.MaxTokens
	}
	if req.TopK > 0 {
		opts["top_k"] = req.TopK
	}
	if req.TopP > 0 {
		opts["top_p"] = req.TopP
	}
	if req.Seed != nil {
		opts["seed"] = *req.Seed + int64(i)
	}
	if len(req.Stop) > 0 {
		opts["stop"] = req.Stop
	}
	areq := &api.ChatRequest{Model: model, Stream: &stream, Options: opts, Logprobs: req.Logprobs}
	if req.Logprobs {
		areq.TopLogprobs = req.TopLogprobs
	}
	if req.JSON {
		areq.Format = json.RawMessage(`"json"`)
	}
	for _, m := range req.Messages {
		areq.Messages = append(areq.Messages, api.Message{Role: m.Role, Content: m.Content})
	}
	var (
		ch    Choice
		usage Usage
		name  string
	)
	err := o.pool.do(ctx, nil, func(ctx context.Context, ep *endpoint, _ *exchange) error {
		// A server may stream despite stream: false; the parts add up.
		var text strings.Builder
		c, done := Choice{}, false
		err := ep.client.(*api.Client).Chat(ctx, areq, func(r api.ChatResponse) error {
			text.WriteString(r.Message.Content)
			for _, lp := range r.Logprobs {
				c.Logprobs = append(c.Logprobs, lp.Logprob)
				if req.TopLogprobs > 0 {
					alts := make([]TokenLogprob, len(lp.TopLogprobs))
					for j, a := range lp.TopLogprobs {
						alts[j] = TokenLogprob{Token: a.Token, Logprob: a.Logprob}
					}
					c.TopLogprobs = append(c.TopLogprobs, alts)
				}
			}
			if r.Done {
				done = true
				c.FinishReason = "stop"
				if r.DoneReason == "length" {
					c.FinishReason = "length"
				}
				usage = Usage{PromptTokens: r.PromptEvalCount, CompletionTokens: r.EvalCount}
				name = r.Model
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !done {
			return fmt.Errorf("the response ended before done: true")
		}
		c.Text = text.String()
		ch = c
		return nil
	})
	return ch, usage, name, err
}
