package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// Ollama's documented defaults (docs/modelfile.md, api/types.go
// DefaultOptions): the API's own, not OpenAI's.
const (
	ollamaTemperature = 0.8
	ollamaTopK        = 40
	ollamaTopP        = 0.9
)

type ollamaGenerateRequest struct {
	Model     string          `json:"model"`
	Prompt    string          `json:"prompt"`
	Suffix    string          `json:"suffix"`
	System    string          `json:"system"`
	Template  string          `json:"template"`
	Context   []int           `json:"context"`
	Stream    *bool           `json:"stream"`
	Raw       bool            `json:"raw"`
	Format    json.RawMessage `json:"format"`
	KeepAlive json.RawMessage `json:"keep_alive"`
	Images    []string        `json:"images"`
	Options   map[string]any  `json:"options"`
	Think     json.RawMessage `json:"think"`

	Logprobs    bool `json:"logprobs"`
	TopLogprobs int  `json:"top_logprobs"`

	SampledLogprobs bool `json:"sampled_logprobs"` // rft extension
}

type ollamaMessage struct {
	Role    string   `json:"role"`
	Content string   `json:"content"`
	Images  []string `json:"images,omitempty"`
}

type ollamaChatRequest struct {
	Model     string          `json:"model"`
	Messages  []ollamaMessage `json:"messages"`
	Stream    *bool           `json:"stream"`
	Format    json.RawMessage `json:"format"`
	KeepAlive json.RawMessage `json:"keep_alive"`
	Tools     json.RawMessage `json:"tools"`
	Options   map[string]any  `json:"options"`
	Think     json.RawMessage `json:"think"`

	Logprobs    bool `json:"logprobs"`
	TopLogprobs int  `json:"top_logprobs"`

	SampledLogprobs bool `json:"sampled_logprobs"` // rft extension
}

type ollamaTokenLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes,omitempty"`
}

type ollamaLogprob struct {
	ollamaTokenLogprob
	TopLogprobs []ollamaTokenLogprob `json:"top_logprobs,omitempty"`
}

// ollamaResponse is the body of /api/generate (Response, Context) and
// /api/chat (Message) answers and stream lines, with rft's extensions.
type ollamaResponse struct {
	Model      string         `json:"model"`
	CreatedAt  time.Time      `json:"created_at"`
	Response   *string        `json:"response,omitempty"`
	Message    *ollamaMessage `json:"message,omitempty"`
	Done       bool           `json:"done"`
	DoneReason string         `json:"done_reason,omitempty"`
	Context    []int          `json:"context,omitempty"`

	TotalDuration      time.Duration `json:"total_duration,omitempty"`
	LoadDuration       time.Duration `json:"load_duration,omitempty"`
	PromptEvalCount    int           `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration time.Duration `json:"prompt_eval_duration,omitempty"`
	EvalCount          int           `json:"eval_count,omitempty"`
	EvalDuration       time.Duration `json:"eval_duration,omitempty"`

	Logprobs []ollamaLogprob `json:"logprobs,omitempty"`

	// rft extensions: the ids of the prompt (on the final line), of this
	// line's tokens, and the weights that produced them (final line).
	PromptTokenIDs []int  `json:"prompt_token_ids,omitempty"`
	TokenIDs       []int  `json:"token_ids,omitempty"`
	WeightVersion  string `json:"weight_version,omitempty"`
}

// ollamaOptions reads the options object with Ollama's type rules: numbers
// for numeric options, an array of strings for stop. Options rft does not
// implement (repeat_penalty, num_ctx, ...) are accepted and ignored, as
// Ollama ignores options a runner lacks.
func ollamaOptions(m map[string]any) (sampling, *apiError) {
	p := sampling{n: 1, temperature: ollamaTemperature, topK: ollamaTopK, topP: ollamaTopP}
	num := func(key string) (float64, bool, *apiError) {
		v, ok := m[key]
		if !ok || v == nil {
			return 0, false, nil
		}
		f, isNum := v.(float64)
		if !isNum {
			return 0, false, badRequest("", "option %q must be a number", key)
		}
		return f, true, nil
	}
	integer := func(key string) (int, bool, *apiError) {
		f, ok, err := num(key)
		if err != nil || !ok {
			if err != nil {
				err.msg = fmt.Sprintf("option %q must be of type integer", key)
			}
			return 0, false, err
		}
		return int(f), true, nil
	}
	if v, ok, err := num("temperature"); err != nil {
		return p, err
	} else if ok {
		if v < 0 {
			return p, badRequest("", "option \"temperature\" must be non-negative, got %g", v)
		}
		p.temperature = v
	}
	if v, ok, err := num("top_p"); err != nil {
		return p, err
	} else if ok {
		if v < 0 || v > 1 {
			return p, badRequest("", "option \"top_p\" must be in [0, 1], got %g", v)
		}
		p.topP = v
	}
	if v, ok, err := num("min_p"); err != nil {
		return p, err
	} else if ok {
		if v < 0 || v > 1 {
			return p, badRequest("", "option \"min_p\" must be in [0, 1], got %g", v)
		}
		p.minP = v
	}
	if v, ok, err := integer("top_k"); err != nil {
		return p, err
	} else if ok {
		p.topK = max(v, 0) // Ollama: top_k <= 0 disables it
	}
	if v, ok, err := integer("num_predict"); err != nil {
		return p, err
	} else if ok && v > 0 {
		p.maxTokens = v // -1 (infinite) and -2 (fill the context) end at the context window
	}
	if v, ok, err := integer("seed"); err != nil {
		return p, err
	} else if ok && v >= 0 {
		seed := uint64(v) // -1, Ollama's default, is a random seed
		p.seed = &seed
	}
	for _, key := range []string{"num_ctx", "num_keep", "num_batch", "num_gpu", "main_gpu", "num_thread", "repeat_last_n"} {
		if _, _, err := integer(key); err != nil {
			return p, err
		}
	}
	for _, key := range []string{"typical_p", "repeat_penalty", "presence_penalty", "frequency_penalty"} {
		if _, _, err := num(key); err != nil {
			return p, err
		}
	}
	if v, ok := m["stop"]; ok && v != nil {
		list, isList := v.([]any)
		if !isList {
			return p, badRequest("", "option \"stop\" must be of type array")
		}
		for _, x := range list {
			str, isStr := x.(string)
			if !isStr {
				return p, badRequest("", "option \"stop\" must be of an array of strings")
			}
			p.stops = append(p.stops, str)
		}
	}
	return p, nil
}

// ollamaCheck applies the checks /api/generate and /api/chat share.
func (s *Server) ollamaCheck(p *sampling, logprobs bool, top int, sampled bool, think json.RawMessage, model string) *apiError {
	if top < 0 || top > maxTopLogprobs {
		return badRequest("", "top_logprobs must be between 0 and %d", maxTopLogprobs)
	}
	if t := strings.TrimSpace(string(think)); t != "" && t != "false" && t != "null" {
		return badRequest("", "%q does not support thinking", model)
	}
	p.logprobs, p.topLogprobs, p.sampled = logprobs, top, sampled
	return nil
}

func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req ollamaGenerateRequest
	if e := readJSON(w, r, &req); e != nil {
		ollamaError(w, e.status, e.msg)
		return
	}
	if !s.modelMatches(req.Model) {
		ollamaError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	p, e := ollamaOptions(req.Options)
	if e == nil {
		e = s.ollamaCheck(&p, req.Logprobs, req.TopLogprobs, req.SampledLogprobs, req.Think, req.Model)
	}
	switch {
	case e != nil:
	case req.Raw && (req.Template != "" || req.System != "" || len(req.Context) > 0):
		e = badRequest("", "raw mode does not support template, system, or context")
	case req.Template != "":
		e = badRequest("", "template: custom templates are not supported; the model directory's chat template is used")
	case req.Suffix != "":
		e = badRequest("", "%q does not support insert", req.Model)
	case len(req.Images) > 0:
		e = badRequest("", "%q does not support images", req.Model)
	}
	if e != nil {
		ollamaError(w, e.status, e.msg)
		return
	}
	if req.Prompt == "" && len(req.Context) == 0 {
		// Ollama answers an empty prompt by loading the model.
		writeJSON(w, http.StatusOK, ollamaResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Response: new(string), Done: true, DoneReason: "load"})
		return
	}
	var prompt []int
	if req.Raw {
		prompt = s.encodeText(req.Prompt)
	} else {
		var msgs []tokenizer.Message
		if req.System != "" {
			msgs = append(msgs, tokenizer.Message{Role: "system", Content: req.System})
		}
		msgs = append(msgs, tokenizer.Message{Role: "user", Content: req.Prompt})
		prompt = append(append([]int{}, req.Context...), s.encodeChat(msgs)...)
	}
	s.ollamaServe(w, r, req.Model, prompt, p, req.Stream, false, start)
}

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req ollamaChatRequest
	if e := readJSON(w, r, &req); e != nil {
		ollamaError(w, e.status, e.msg)
		return
	}
	if req.Model == "" {
		ollamaError(w, http.StatusBadRequest, "model is required")
		return
	}
	if !s.modelMatches(req.Model) {
		ollamaError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	p, e := ollamaOptions(req.Options)
	if e == nil {
		e = s.ollamaCheck(&p, req.Logprobs, req.TopLogprobs, req.SampledLogprobs, req.Think, req.Model)
	}
	if e != nil {
		ollamaError(w, e.status, e.msg)
		return
	}
	if len(req.Messages) == 0 {
		writeJSON(w, http.StatusOK, ollamaResponse{Model: req.Model, CreatedAt: time.Now().UTC(),
			Message: &ollamaMessage{Role: "assistant"}, Done: true, DoneReason: "load"})
		return
	}
	msgs := make([]tokenizer.Message, len(req.Messages))
	for i, m := range req.Messages {
		if len(m.Images) > 0 {
			ollamaError(w, http.StatusBadRequest, fmt.Sprintf("%q does not support images", req.Model))
			return
		}
		msgs[i] = tokenizer.Message{Role: strings.ToLower(m.Role), Content: m.Content}
	}
	s.ollamaServe(w, r, req.Model, s.encodeChat(msgs), p, req.Stream, true, start)
}

// ollamaServe generates and writes the answer: NDJSON lines while
// streaming (Ollama's default), else one object.
func (s *Server) ollamaServe(w http.ResponseWriter, r *http.Request, model string, prompt []int, p sampling, stream *bool, chat bool, start time.Time) {
	if err := s.checkContext(prompt); err != nil {
		ollamaError(w, http.StatusBadRequest, "the input length exceeds the context length: "+err.Error())
		return
	}
	j, e := s.job(prompt, p)
	if e != nil {
		ollamaError(w, e.status, e.msg)
		return
	}
	streaming := stream == nil || *stream
	line := func(text string) ollamaResponse {
		o := ollamaResponse{Model: model, CreatedAt: time.Now().UTC()}
		if chat {
			o.Message = &ollamaMessage{Role: "assistant", Content: text}
		} else {
			o.Response = &text
		}
		return o
	}
	var (
		started bool
		enc     = json.NewEncoder(w)
		flush   = flusher(w)
		last    delta // the final delta: what the last line still has to carry
	)
	begin := func() {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
	}
	var emit func(delta) error // run calls it on this goroutine
	if streaming {
		emit = func(d delta) error {
			if d.final {
				last = d // written below with the totals
				return nil
			}
			begin()
			o := line(d.text)
			o.TokenIDs = d.tokens
			if j.logprobs {
				o.Logprobs = s.ollamaLogprobs(d.tokens, d.logprobs, d.top)
			}
			if err := enc.Encode(o); err != nil {
				return err
			}
			flush()
			return nil
		}
	}
	res, err := s.run(r.Context(), j, emit)
	if err != nil {
		ae := genError(err)
		if started {
			enc.Encode(map[string]string{"error": ae.msg})
			return
		}
		ollamaError(w, ae.status, ae.msg)
		return
	}
	sr := res.samples[0]
	if !streaming {
		last = delta{text: sr.Text, tokens: sr.Tokens, logprobs: sr.Logprobs, top: sr.Top}
	}
	o := line(last.text)
	o.TokenIDs = last.tokens
	if j.logprobs {
		o.Logprobs = s.ollamaLogprobs(last.tokens, last.logprobs, last.top)
	}
	o.Done = true
	o.DoneReason = sr.Finish
	if !chat && o.Response != nil {
		// Ollama's conversation memory: the ids of prompt and answer.
		o.Context = append(append([]int{}, prompt...), sr.Tokens...)
	}
	o.TotalDuration = time.Since(start)
	o.LoadDuration = res.start.Sub(start)
	o.PromptEvalCount = len(prompt)
	o.EvalCount = len(sr.Tokens)
	if !res.firstToken.IsZero() {
		// The first token comes with the prefill; the rest is decoding.
		o.PromptEvalDuration = res.firstToken.Sub(res.start)
		o.EvalDuration = res.end.Sub(res.firstToken)
	}
	o.PromptTokenIDs = prompt
	o.WeightVersion = res.version
	if streaming {
		begin()
		enc.Encode(o)
		flush()
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) ollamaLogprobs(tokens []int, lps []float32, top [][]policy.TokenAlt) []ollamaLogprob {
	out := make([]ollamaLogprob, len(tokens))
	for i, id := range tokens {
		text := s.tokenText(id)
		out[i].ollamaTokenLogprob = ollamaTokenLogprob{Token: text, Logprob: float64(lps[i]), Bytes: tokenBytes(text)}
		if i < len(top) {
			for _, alt := range top[i] {
				at := s.tokenText(alt.ID)
				out[i].TopLogprobs = append(out[i].TopLogprobs, ollamaTokenLogprob{Token: at, Logprob: float64(alt.Logprob), Bytes: tokenBytes(at)})
			}
		}
	}
	return out
}
