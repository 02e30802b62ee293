package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/policy/tokenizer"
)

// Legacy completions default to 16 new tokens (OpenAI's documented default);
// chat completions run to the end of the context window.
const openaiCompletionsMaxTokens = 16

// stopField is OpenAI's stop: a string, an array of strings, or null.
type stopField []string

func (s *stopField) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = stopField{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &apiError{status: http.StatusBadRequest, msg: "invalid type for 'stop': expected a string or an array of strings", param: "stop", code: "invalid_type"}
	}
	*s = many
	return nil
}

// contentField is a message's content: a string, an array of parts of which
// rft reads the text ones, or null.
type contentField struct {
	text  string
	other string // type of the first part that is not text
}

func (c *contentField) UnmarshalJSON(b []byte) error {
	if json.Unmarshal(b, &c.text) == nil {
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		return &apiError{status: http.StatusBadRequest, msg: "invalid type for 'content': expected a string or an array of content parts", param: "messages", code: "invalid_type"}
	}
	for _, p := range parts {
		if p.Type != "text" {
			if c.other == "" {
				c.other = p.Type
			}
			continue
		}
		c.text += p.Text
	}
	return nil
}

type openaiMessage struct {
	Role    string       `json:"role"`
	Content contentField `json:"content"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// openaiSampling is the part of a request both endpoints share. TopK, MinP
// and RepetitionPenalty are vLLM's extensions; SampledLogprobs is rft's.
// ResponseFormat is read only to refuse what the engine cannot do (JSON
// modes), rather than answer free text to a client that asked for JSON.
type openaiSampling struct {
	Model               string             `json:"model"`
	N                   *int               `json:"n"`
	Seed                *int64             `json:"seed"`
	Stop                stopField          `json:"stop"`
	MaxTokens           *int               `json:"max_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"`
	Temperature         *float64           `json:"temperature"`
	TopP                *float64           `json:"top_p"`
	TopK                *int               `json:"top_k"`
	MinP                *float64           `json:"min_p"`
	PresencePenalty     *float64           `json:"presence_penalty"`
	FrequencyPenalty    *float64           `json:"frequency_penalty"`
	RepetitionPenalty   *float64           `json:"repetition_penalty"`
	LogitBias           map[string]float64 `json:"logit_bias"`
	ResponseFormat      *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	Stream          bool           `json:"stream"`
	StreamOptions   *streamOptions `json:"stream_options"`
	SampledLogprobs bool           `json:"sampled_logprobs"`
}

type openaiChatRequest struct {
	openaiSampling
	Messages    []openaiMessage `json:"messages"`
	Logprobs    *bool           `json:"logprobs"`
	TopLogprobs *int            `json:"top_logprobs"`
	// Read only to refuse them: the chat template has no tool calls, and a
	// client that offers tools must not get an answer that ignored them.
	Tools     json.RawMessage `json:"tools"`
	Functions json.RawMessage `json:"functions"`
}

type openaiCompletionRequest struct {
	openaiSampling
	Prompt   json.RawMessage `json:"prompt"`
	Logprobs *int            `json:"logprobs"`
	Echo     bool            `json:"echo"`
	Suffix   *string         `json:"suffix"`
	BestOf   *int            `json:"best_of"`
}

// sampling checks the shared fields with OpenAI's bounds and defaults
// (temperature 1, top_p 1).
func (s *Server) openaiParams(q *openaiSampling, defaultMax int) (sampling, *apiError) {
	p := sampling{n: 1, temperature: 1, topP: 1, maxTokens: defaultMax, stops: q.Stop, sampled: q.SampledLogprobs}
	if q.Model == "" {
		return p, &apiError{status: http.StatusBadRequest, msg: "you must provide a model parameter", param: "model"}
	}
	if !s.modelMatches(q.Model) {
		return p, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", q.Model), param: "model", code: "model_not_found"}
	}
	intRange := func(name string, v, lo, hi int) *apiError {
		switch {
		case v < lo:
			return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= %d, but got %d instead.", name, lo, v), param: name, code: "integer_below_min_value"}
		case v > hi:
			return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid '%s': integer above maximum value. Expected a value <= %d, but got %d instead.", name, hi, v), param: name, code: "integer_above_max_value"}
		}
		return nil
	}
	numRange := func(name string, v, lo, hi float64) *apiError {
		if v < lo || v > hi {
			return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid '%s': %g is not in [%g, %g].", name, v, lo, hi), param: name, code: "invalid_value"}
		}
		return nil
	}
	if q.N != nil {
		if e := intRange("n", *q.N, 1, maxN); e != nil {
			return p, e
		}
		p.n = *q.N
	}
	for _, mt := range []struct {
		name string
		v    *int
	}{{"max_tokens", q.MaxTokens}, {"max_completion_tokens", q.MaxCompletionTokens}} {
		if mt.v == nil {
			continue
		}
		if *mt.v < 1 {
			return p, intRange(mt.name, *mt.v, 1, s.cfg.MaxPositions)
		}
		if *mt.v > s.cfg.MaxPositions {
			return p, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("%s is too large: %d. This model's context window is %d tokens.", mt.name, *mt.v, s.cfg.MaxPositions), param: mt.name, code: "invalid_value"}
		}
		p.maxTokens = *mt.v // max_completion_tokens, when both are given, wins
	}
	if q.Temperature != nil {
		if e := numRange("temperature", *q.Temperature, 0, 2); e != nil {
			return p, e
		}
		p.temperature = *q.Temperature
	}
	if q.TopP != nil {
		if e := numRange("top_p", *q.TopP, 0, 1); e != nil {
			return p, e
		}
		p.topP = *q.TopP
	}
	if q.MinP != nil {
		if e := numRange("min_p", *q.MinP, 0, 1); e != nil {
			return p, e
		}
		p.minP = *q.MinP
	}
	if q.TopK != nil {
		if *q.TopK != -1 { // vLLM: -1 disables top-k
			if e := intRange("top_k", *q.TopK, 0, 1<<30); e != nil {
				return p, e
			}
			p.topK = *q.TopK
		}
	}
	for _, pen := range []struct {
		name string
		v    *float64
		dst  *float64
	}{{"presence_penalty", q.PresencePenalty, &p.penalties.Presence}, {"frequency_penalty", q.FrequencyPenalty, &p.penalties.Frequency}} {
		if pen.v == nil {
			continue
		}
		if e := numRange(pen.name, *pen.v, -2, 2); e != nil {
			return p, e
		}
		*pen.dst = *pen.v
	}
	if q.RepetitionPenalty != nil {
		if *q.RepetitionPenalty <= 0 || math.IsNaN(*q.RepetitionPenalty) { // vLLM: must be positive
			return p, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid 'repetition_penalty': must be greater than zero, got %g.", *q.RepetitionPenalty), param: "repetition_penalty", code: "invalid_value"}
		}
		p.penalties.Repetition = *q.RepetitionPenalty
	}
	if len(q.LogitBias) > 0 {
		p.penalties.Bias = make(map[int]float64, len(q.LogitBias))
		for _, k := range slices.Sorted(maps.Keys(q.LogitBias)) { // the same error for the same request
			b := q.LogitBias[k]
			id, err := strconv.Atoi(k)
			if err != nil || id < 0 || id >= s.cfg.VocabSize {
				return p, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid key in 'logit_bias': %q is not a token id of this model's vocabulary [0, %d).", k, s.cfg.VocabSize), param: "logit_bias", code: "invalid_value"}
			}
			if e := numRange("logit_bias", b, -100, 100); e != nil {
				return p, e
			}
			p.penalties.Bias[id] = b
		}
	}
	if q.ResponseFormat != nil && q.ResponseFormat.Type != "" && q.ResponseFormat.Type != "text" {
		return p, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("'response_format' of type '%s' is not supported by this server (no constrained decoding).", q.ResponseFormat.Type), param: "response_format", code: "invalid_value"}
	}
	if p.sampled && p.penalties.Active() {
		return p, &apiError{status: http.StatusBadRequest, msg: "'sampled_logprobs' cannot be combined with presence_penalty, frequency_penalty, repetition_penalty or logit_bias: a trainer cannot recompute the adjusted distribution.", param: "sampled_logprobs", code: "invalid_value"}
	}
	if q.Seed != nil {
		seed := uint64(*q.Seed)
		p.seed = &seed
	}
	if q.StreamOptions != nil && !q.Stream {
		return p, &apiError{status: http.StatusBadRequest, msg: "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param: "stream_options", code: "invalid_value"}
	}
	return p, nil
}

func (s *Server) openaiChat(w http.ResponseWriter, r *http.Request) {
	var req openaiChatRequest
	if e := readJSON(w, r, &req); e != nil {
		writeOpenAIError(w, e)
		return
	}
	p, e := s.openaiParams(&req.openaiSampling, 0)
	if e != nil {
		writeOpenAIError(w, e)
		return
	}
	if req.Logprobs != nil && *req.Logprobs {
		p.logprobs = true
	}
	if req.TopLogprobs != nil {
		if *req.TopLogprobs < 0 || *req.TopLogprobs > maxTopLogprobs {
			writeOpenAIError(w, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid 'top_logprobs': %d is not in [0, %d].", *req.TopLogprobs, maxTopLogprobs), param: "top_logprobs", code: "invalid_value"})
			return
		}
		if *req.TopLogprobs > 0 && !p.logprobs {
			writeOpenAIError(w, &apiError{status: http.StatusBadRequest, msg: "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used.", param: "top_logprobs", code: "invalid_value"})
			return
		}
		p.topLogprobs = *req.TopLogprobs
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"tools", req.Tools}, {"functions", req.Functions}} {
		if v := strings.TrimSpace(string(f.raw)); v != "" && v != "null" && v != "[]" {
			writeOpenAIError(w, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("'%s' is not supported by this server: its chat template has no tool calls", f.name), param: f.name, code: "invalid_value"})
			return
		}
	}
	if len(req.Messages) == 0 {
		writeOpenAIError(w, &apiError{status: http.StatusBadRequest, msg: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", param: "messages", code: "empty_array"})
		return
	}
	msgs := make([]tokenizer.Message, len(req.Messages))
	for i, m := range req.Messages {
		role := m.Role
		switch role {
		case "system", "user", "assistant", "tool", "function":
		case "developer":
			role = "system"
		default:
			writeOpenAIError(w, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'.", m.Role), param: fmt.Sprintf("messages[%d].role", i), code: "invalid_value"})
			return
		}
		if m.Content.other != "" {
			writeOpenAIError(w, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("content parts of type '%s' are not supported by this model", m.Content.other), param: fmt.Sprintf("messages[%d].content", i), code: "invalid_value"})
			return
		}
		msgs[i] = tokenizer.Message{Role: role, Content: m.Content.text}
	}
	s.openaiServe(w, r, s.encodeChat(msgs), p, &req.openaiSampling, true)
}

func (s *Server) openaiCompletions(w http.ResponseWriter, r *http.Request) {
	var req openaiCompletionRequest
	if e := readJSON(w, r, &req); e != nil {
		writeOpenAIError(w, e)
		return
	}
	p, e := s.openaiParams(&req.openaiSampling, openaiCompletionsMaxTokens)
	if e != nil {
		writeOpenAIError(w, e)
		return
	}
	unsupported := func(param string) {
		writeOpenAIError(w, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("'%s' is not supported by this server", param), param: param, code: "invalid_value"})
	}
	switch {
	case req.Echo:
		unsupported("echo")
		return
	case req.Suffix != nil && *req.Suffix != "":
		unsupported("suffix")
		return
	case req.BestOf != nil && *req.BestOf != 1:
		unsupported("best_of")
		return
	}
	if req.Logprobs != nil {
		if *req.Logprobs < 0 || *req.Logprobs > maxTopLogprobs {
			writeOpenAIError(w, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid 'logprobs': %d is not in [0, %d].", *req.Logprobs, maxTopLogprobs), param: "logprobs", code: "invalid_value"})
			return
		}
		p.logprobs, p.topLogprobs = true, *req.Logprobs
	}
	prompt, e := s.completionPrompt(req.Prompt)
	if e != nil {
		writeOpenAIError(w, e)
		return
	}
	s.openaiServe(w, r, prompt, p, &req.openaiSampling, false)
}

// completionPrompt reads a legacy prompt: a string, an array of one string,
// or an array of token ids.
func (s *Server) completionPrompt(raw json.RawMessage) ([]int, *apiError) {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return s.encodeText(text), nil
	}
	var texts []string
	if json.Unmarshal(raw, &texts) == nil {
		if len(texts) != 1 {
			return nil, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid 'prompt': this server takes one prompt per request, got %d.", len(texts)), param: "prompt", code: "invalid_value"}
		}
		return s.encodeText(texts[0]), nil
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil {
		for _, id := range ids {
			if id < 0 || id >= s.cfg.VocabSize {
				return nil, &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("Invalid 'prompt': token id %d is outside the vocabulary [0, %d).", id, s.cfg.VocabSize), param: "prompt", code: "invalid_value"}
			}
		}
		return ids, nil
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, &apiError{status: http.StatusBadRequest, msg: "you must provide a prompt parameter", param: "prompt"}
	}
	return nil, &apiError{status: http.StatusBadRequest, msg: "invalid type for 'prompt': expected a string, an array of one string or an array of token ids", param: "prompt", code: "invalid_type"}
}

func (s *Server) openaiModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{s.openaiModelObject()}})
}

func (s *Server) openaiModel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	if !s.modelMatches(name) {
		writeOpenAIError(w, &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", name), param: "model", code: "model_not_found"})
		return
	}
	writeJSON(w, http.StatusOK, s.openaiModelObject())
}

func (s *Server) openaiModelObject() map[string]any {
	version, _ := s.snapshot()
	return map[string]any{"id": s.name, "object": "model", "created": s.startedAt.Unix(), "owned_by": "rft",
		"max_model_len": s.cfg.MaxPositions, "weight_version": version}
}
