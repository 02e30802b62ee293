package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"
	openai "github.com/sashabaranov/go-openai"
)

func TestBadRequestsOpenAI(t *testing.T) {
	s := newServer(t, Options{})
	user := `"messages":[{"role":"user","content":"hi"}]`
	long := strings.Repeat("word ", 400)
	cases := []struct {
		name, path, body string
		status           int
		param, code      string
	}{
		{"malformed JSON", "/v1/chat/completions", `{"model":`, 400, "", ""},
		{"empty body", "/v1/chat/completions", ``, 400, "", ""},
		{"not an object", "/v1/chat/completions", `[1,2]`, 400, "", "invalid_type"},
		{"trailing data", "/v1/chat/completions", `{"model":"tiny",` + user + `} {}`, 400, "", ""},
		{"messages wrong type", "/v1/chat/completions", `{"model":"tiny","messages":"hi"}`, 400, "messages", "invalid_type"},
		{"n wrong type", "/v1/chat/completions", `{"model":"tiny","n":"2",` + user + `}`, 400, "n", "invalid_type"},
		{"seed not an integer", "/v1/chat/completions", `{"model":"tiny","seed":1.5,` + user + `}`, 400, "seed", "invalid_type"},
		{"stop wrong type", "/v1/chat/completions", `{"model":"tiny","stop":7,` + user + `}`, 400, "stop", "invalid_type"},
		{"content wrong type", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":5}]}`, 400, "messages", "invalid_type"},
		{"image part", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, 400, "messages[0].content", "invalid_value"},
		{"no model", "/v1/chat/completions", `{` + user + `}`, 400, "model", ""},
		{"unknown model", "/v1/chat/completions", `{"model":"gpt-4o",` + user + `}`, 404, "model", "model_not_found"},
		{"no messages", "/v1/chat/completions", `{"model":"tiny","messages":[]}`, 400, "messages", "empty_array"},
		{"bad role", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"wizard","content":"hi"}]}`, 400, "messages[0].role", "invalid_value"},
		{"n zero", "/v1/chat/completions", `{"model":"tiny","n":0,` + user + `}`, 400, "n", "integer_below_min_value"},
		{"n absurd", "/v1/chat/completions", `{"model":"tiny","n":100000,` + user + `}`, 400, "n", "integer_above_max_value"},
		{"max_tokens zero", "/v1/chat/completions", `{"model":"tiny","max_tokens":0,` + user + `}`, 400, "max_tokens", "integer_below_min_value"},
		{"max_tokens absurd", "/v1/chat/completions", `{"model":"tiny","max_tokens":1000000000,` + user + `}`, 400, "max_tokens", "invalid_value"},
		{"max_completion_tokens absurd", "/v1/chat/completions", `{"model":"tiny","max_completion_tokens":100000,` + user + `}`, 400, "max_completion_tokens", "invalid_value"},
		{"temperature negative", "/v1/chat/completions", `{"model":"tiny","temperature":-1,` + user + `}`, 400, "temperature", "invalid_value"},
		{"temperature high", "/v1/chat/completions", `{"model":"tiny","temperature":2.5,` + user + `}`, 400, "temperature", "invalid_value"},
		{"top_p high", "/v1/chat/completions", `{"model":"tiny","top_p":1.5,` + user + `}`, 400, "top_p", "invalid_value"},
		{"presence_penalty high", "/v1/chat/completions", `{"model":"tiny","presence_penalty":2.5,` + user + `}`, 400, "presence_penalty", "invalid_value"},
		{"frequency_penalty low", "/v1/chat/completions", `{"model":"tiny","frequency_penalty":-3,` + user + `}`, 400, "frequency_penalty", "invalid_value"},
		{"repetition_penalty zero", "/v1/chat/completions", `{"model":"tiny","repetition_penalty":0,` + user + `}`, 400, "repetition_penalty", "invalid_value"},
		{"penalty with sampled_logprobs", "/v1/chat/completions", `{"model":"tiny","presence_penalty":1,"sampled_logprobs":true,` + user + `}`, 400, "sampled_logprobs", "invalid_value"},
		{"logit_bias key not a token", "/v1/chat/completions", `{"model":"tiny","logit_bias":{"abc":1},` + user + `}`, 400, "logit_bias", "invalid_value"},
		{"logit_bias key outside the vocabulary", "/v1/chat/completions", `{"model":"tiny","logit_bias":{"99999":1},` + user + `}`, 400, "logit_bias", "invalid_value"},
		{"logit_bias value high", "/v1/chat/completions", `{"model":"tiny","logit_bias":{"5":150},` + user + `}`, 400, "logit_bias", "invalid_value"},
		{"logit_bias with sampled_logprobs", "/v1/chat/completions", `{"model":"tiny","logit_bias":{"5":1},"sampled_logprobs":true,` + user + `}`, 400, "sampled_logprobs", "invalid_value"},
		{"response_format json", "/v1/chat/completions", `{"model":"tiny","response_format":{"type":"json_object"},` + user + `}`, 400, "response_format", "invalid_value"},
		{"tools", "/v1/chat/completions", `{"model":"tiny","tools":[{"type":"function","function":{"name":"f"}}],` + user + `}`, 400, "tools", "invalid_value"},
		{"functions", "/v1/chat/completions", `{"model":"tiny","functions":[{"name":"f"}],` + user + `}`, 400, "functions", "invalid_value"},
		{"completion: frequency_penalty wrong type", "/v1/completions", `{"model":"tiny","prompt":"a","frequency_penalty":"1"}`, 400, "frequency_penalty", "invalid_type"},
		{"top_logprobs high", "/v1/chat/completions", `{"model":"tiny","logprobs":true,"top_logprobs":21,` + user + `}`, 400, "top_logprobs", "invalid_value"},
		{"top_logprobs without logprobs", "/v1/chat/completions", `{"model":"tiny","top_logprobs":2,` + user + `}`, 400, "top_logprobs", "invalid_value"},
		{"stream_options without stream", "/v1/chat/completions", `{"model":"tiny","stream_options":{"include_usage":true},` + user + `}`, 400, "stream_options", "invalid_value"},
		{"prompt beyond the context", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"` + long + `"}]}`, 400, "messages", "context_length_exceeded"},
		{"completion: no prompt", "/v1/completions", `{"model":"tiny"}`, 400, "prompt", ""},
		{"completion: two prompts", "/v1/completions", `{"model":"tiny","prompt":["a","b"]}`, 400, "prompt", "invalid_value"},
		{"completion: prompt wrong type", "/v1/completions", `{"model":"tiny","prompt":{"a":1}}`, 400, "prompt", "invalid_type"},
		{"completion: token out of vocabulary", "/v1/completions", `{"model":"tiny","prompt":[1,2,99999]}`, 400, "prompt", "invalid_value"},
		{"completion: logprobs absurd", "/v1/completions", `{"model":"tiny","prompt":"a","logprobs":50}`, 400, "logprobs", "invalid_value"},
		{"completion: echo", "/v1/completions", `{"model":"tiny","prompt":"a","echo":true}`, 400, "echo", "invalid_value"},
		{"completion: beyond the context", "/v1/completions", `{"model":"tiny","prompt":"` + long + `"}`, 400, "prompt", "context_length_exceeded"},
		{"unknown route", "/v1/embeddings", `{}`, 404, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := call(t, s.Handler(), "POST", c.path, c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d: %s", code, c.status, body)
			}
			e := decode[struct {
				Error *struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}](t, body)
			if e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("error body %s", body)
			}
			if c.param != "" && (e.Error.Param == nil || *e.Error.Param != c.param) {
				t.Errorf("param %v, want %q: %s", e.Error.Param, c.param, body)
			}
			if c.code != "" && (e.Error.Code == nil || *e.Error.Code != c.code) {
				t.Errorf("code %v, want %q: %s", e.Error.Code, c.code, body)
			}
		})
	}
	// A body over the limit is 413.
	code, _ := call(t, s.Handler(), "POST", "/v1/chat/completions", `{"model":"tiny","x":"`+strings.Repeat("a", maxJSONBody)+`"}`)
	if code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d", code)
	}
	// go-openai surfaces the body as an *APIError.
	c := openaiClient(listen(t, s), "")
	_, err := c.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{Model: "nope", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}}})
	var ae *openai.APIError
	if !errors.As(err, &ae) || ae.HTTPStatusCode != 404 || ae.Code != "model_not_found" {
		t.Errorf("go-openai error %#v", err)
	}
}

func TestBadRequestsOllama(t *testing.T) {
	s := newServer(t, Options{})
	long := strings.Repeat("word ", 400)
	cases := []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"malformed JSON", "/api/generate", `{"model":`, 400, ""},
		{"empty body", "/api/chat", ``, 400, "missing request body"},
		{"unknown model", "/api/generate", `{"model":"llama3","prompt":"hi"}`, 404, "model 'llama3' not found"},
		{"no model (chat)", "/api/chat", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model is required"},
		{"unknown model (chat)", "/api/chat", `{"model":"llama3","messages":[{"role":"user","content":"hi"}]}`, 404, "model 'llama3' not found"},
		{"messages wrong type", "/api/chat", `{"model":"tiny","messages":{"role":"user"}}`, 400, ""},
		{"option wrong type", "/api/generate", `{"model":"tiny","prompt":"hi","options":{"temperature":"hot"}}`, 400, "temperature"},
		{"integer option wrong type", "/api/generate", `{"model":"tiny","prompt":"hi","options":{"num_predict":"ten"}}`, 400, "num_predict"},
		{"stop not an array", "/api/chat", `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"options":{"stop":"x"}}`, 400, "stop"},
		{"top_p out of range", "/api/generate", `{"model":"tiny","prompt":"hi","options":{"top_p":3}}`, 400, "top_p"},
		{"top_logprobs absurd", "/api/chat", `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":99}`, 400, "top_logprobs"},
		{"raw with system", "/api/generate", `{"model":"tiny","prompt":"hi","raw":true,"system":"x"}`, 400, "raw mode"},
		{"thinking", "/api/chat", `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"think":true}`, 400, "thinking"},
		{"images", "/api/generate", `{"model":"tiny","prompt":"hi","images":["aGk="]}`, 400, "images"},
		{"prompt beyond the context", "/api/generate", `{"model":"tiny","stream":false,"prompt":"` + long + `"}`, 400, "context length"},
		{"show: no model", "/api/show", `{}`, 400, "model is required"},
		{"show: unknown model", "/api/show", `{"model":"llama3"}`, 404, "not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := call(t, s.Handler(), "POST", c.path, c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d: %s", code, c.status, body)
			}
			e := decode[map[string]string](t, body)
			if e["error"] == "" || !strings.Contains(e["error"], c.msg) {
				t.Errorf("error %q, want it to contain %q", e["error"], c.msg)
			}
		})
	}
	// The Go client surfaces the status and message.
	cl := ollamaClient(t, listen(t, s), "")
	err := cl.Generate(context.Background(), &api.GenerateRequest{Model: "nope", Prompt: "x"}, func(api.GenerateResponse) error { return nil })
	var se api.StatusError
	if !errors.As(err, &se) || se.StatusCode != 404 || !strings.Contains(se.ErrorMessage, "not found") {
		t.Errorf("ollama client error %#v", err)
	}
}

func TestAuth(t *testing.T) {
	const key = "s3cret"
	s := newServer(t, Options{APIKey: key})
	h := s.Handler()
	chat := `{"model":"tiny","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`
	cases := []struct {
		method, path, body, auth string
		status                   int
	}{
		{"GET", "/", "", "", 200},
		{"HEAD", "/", "", "", 200},
		{"GET", "/api/tags", "", "", 401},
		{"GET", "/api/version", "", "Bearer wrong", 401},
		{"GET", "/api/tags", "", "Bearer " + key, 200},
		{"POST", "/api/chat", `{"model":"tiny","stream":false,"messages":[{"role":"user","content":"hi"}],"options":{"num_predict":2}}`, "", 401},
		{"POST", "/api/chat", `{"model":"tiny","stream":false,"messages":[{"role":"user","content":"hi"}],"options":{"num_predict":2}}`, "Bearer " + key, 200},
		{"GET", "/v1/models", "", "", 401},
		{"POST", "/v1/chat/completions", chat, "Bearer wrong", 401},
		{"POST", "/v1/chat/completions", chat, key, 401}, // no "Bearer "
		{"POST", "/v1/chat/completions", chat, "Bearer " + key, 200},
		{"POST", "/rft/reload", "", "", 401},
		{"PUT", "/rft/weights", "junk", "Bearer nope", 401},
		{"GET", "/rft/weights", "", "Bearer " + key, 200},
	}
	for _, c := range cases {
		var hdr []string
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		code, body := call(t, h, c.method, c.path, c.body, hdr...)
		if code != c.status {
			t.Errorf("%s %s with %q: status %d, want %d: %s", c.method, c.path, c.auth, code, c.status, body)
			continue
		}
		if code == 401 {
			if strings.HasPrefix(c.path, "/v1/") {
				e := decode[map[string]map[string]any](t, body)
				if e["error"]["message"] == "" || e["error"]["type"] != "invalid_request_error" {
					t.Errorf("%s: OpenAI error body %s", c.path, body)
				}
			} else if e := decode[map[string]string](t, body); e["error"] != "unauthorized" {
				t.Errorf("%s: Ollama error body %s", c.path, body)
			}
		}
	}
	if v := s.WeightVersion(); v != "v1" {
		t.Errorf("unauthenticated weight routes changed the version to %q", v)
	}

	// The official clients send the key as a bearer token.
	base := listen(t, s)
	ctx := context.Background()
	if _, err := openaiClient(base, key).ListModels(ctx); err != nil {
		t.Errorf("go-openai with the key: %v", err)
	}
	_, err := openaiClient(base, "wrong").ListModels(ctx)
	var ae *openai.APIError
	if !errors.As(err, &ae) || ae.HTTPStatusCode != 401 {
		t.Errorf("go-openai with a wrong key: %v", err)
	}
	if _, err := ollamaClient(t, base, key).List(ctx); err != nil {
		t.Errorf("ollama client with the key: %v", err)
	}
	if _, err := ollamaClient(t, base, "").List(ctx); err == nil {
		t.Error("ollama client without the key was let in")
	}
	if err := ollamaClient(t, base, "").Heartbeat(ctx); err != nil {
		t.Errorf("heartbeat (/) needs no key: %v", err)
	}
}

func TestRecoverer(t *testing.T) {
	s := newServer(t, Options{Logger: slog.New(slog.DiscardHandler)})
	h := s.recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	code, body := call(t, h, "POST", "/v1/chat/completions", "{}")
	if e := decode[map[string]map[string]any](t, body); code != 500 || e["error"]["type"] != "server_error" {
		t.Errorf("OpenAI route: %d %s", code, body)
	}
	code, body = call(t, h, "POST", "/api/chat", "{}")
	if e := decode[map[string]string](t, body); code != 500 || !strings.Contains(e["error"], "boom") {
		t.Errorf("Ollama route: %d %s", code, body)
	}
}
