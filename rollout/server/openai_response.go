package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/rft-dev/rft/policy"
)

// Response bodies. Fields after the OpenAI ones are rft's extensions.

type openaiTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

type openaiLogprob struct {
	Token       string             `json:"token"`
	Logprob     float64            `json:"logprob"`
	Bytes       []int              `json:"bytes"`
	TopLogprobs []openaiTopLogprob `json:"top_logprobs"`
	TokenID     int                `json:"token_id"` // rft extension
}

type openaiChatLogprobs struct {
	Content []openaiLogprob `json:"content"`
}

type openaiLegacyLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type openaiChoice struct {
	Index   int               `json:"index"`
	Message *openaiOutMessage `json:"message,omitempty"` // chat
	Delta   *openaiOutMessage `json:"delta,omitempty"`   // chat stream
	Text    *string           `json:"text,omitempty"`    // completions
	// Logprobs is a *openaiChatLogprobs, *openaiLegacyLogprobs or nil.
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
	TokenIDs     []int   `json:"token_ids"` // rft extension
}

type openaiOutMessage struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type openaiUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type openaiResponse struct {
	ID                string         `json:"id"`
	Object            string         `json:"object"`
	Created           int64          `json:"created"`
	Model             string         `json:"model"`
	SystemFingerprint string         `json:"system_fingerprint,omitempty"`
	Choices           []openaiChoice `json:"choices"`
	Usage             *openaiUsage   `json:"usage,omitempty"`
	PromptTokenIDs    []int          `json:"prompt_token_ids,omitempty"` // rft extension
	WeightVersion     string         `json:"weight_version,omitempty"`   // rft extension
}

// streamUsage marshals "usage": null on stream chunks when include_usage is
// set, as OpenAI does.
type streamChunk struct {
	openaiResponse
	Usage *openaiUsage `json:"usage"`
}

func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// openaiServe generates and writes a chat or legacy completion, as one
// object or as server-sent events ending in "data: [DONE]".
func (s *Server) openaiServe(w http.ResponseWriter, r *http.Request, prompt []int, p sampling, q *openaiSampling, chat bool) {
	if len(prompt) == 0 {
		writeOpenAIError(w, &apiError{status: http.StatusBadRequest, msg: "Invalid 'prompt': the prompt encodes to no tokens.", param: "prompt", code: "invalid_value"})
		return
	}
	if len(prompt) >= s.cfg.MaxPositions {
		param := "prompt"
		if chat {
			param = "messages"
		}
		writeOpenAIError(w, &apiError{status: http.StatusBadRequest, param: param, code: "context_length_exceeded",
			msg: fmt.Sprintf("This model's maximum context length is %d tokens. However, your %s resulted in %d tokens. Please reduce the length of the %s.", s.cfg.MaxPositions, param, len(prompt), param)})
		return
	}
	j, e := s.job(prompt, p)
	if e != nil {
		writeOpenAIError(w, e)
		return
	}
	base := openaiResponse{ID: newID("cmpl-"), Object: "text_completion", Created: time.Now().Unix(), Model: q.Model}
	if chat {
		base.ID, base.Object = newID("chatcmpl-"), "chat.completion"
	}
	if !q.Stream {
		res, err := s.run(r.Context(), j, nil)
		if err != nil {
			writeOpenAIError(w, genError(err))
			return
		}
		out := base
		out.SystemFingerprint, out.WeightVersion, out.PromptTokenIDs = res.version, res.version, prompt
		usage := openaiUsage{PromptTokens: len(prompt)}
		for i, sr := range res.samples {
			finish := sr.Finish
			c := openaiChoice{Index: i, FinishReason: &finish, TokenIDs: sr.Tokens}
			text := sr.Text
			if chat {
				c.Message = &openaiOutMessage{Role: "assistant", Content: &text}
			} else {
				c.Text = &text
			}
			if j.logprobs {
				c.Logprobs = s.openaiLogprobs(chat, sr.Tokens, sr.Logprobs, sr.Top, p.topLogprobs)
			}
			out.Choices = append(out.Choices, c)
			usage.CompletionTokens += len(sr.Tokens)
		}
		usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
		out.Usage = &usage
		writeJSON(w, http.StatusOK, out)
		return
	}

	// Streaming: headers go out with the first chunk, so that a request
	// the engine refuses still gets a proper status.
	includeUsage := q.StreamOptions != nil && q.StreamOptions.IncludeUsage
	if chat {
		base.Object = "chat.completion.chunk"
	}
	started := false
	flush := flusher(w)
	send := func(v any) error {
		if !started {
			h := w.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Set("Connection", "keep-alive")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return err
		}
		flush()
		return nil
	}
	chunk := func(c openaiChoice) any {
		o := base
		o.Choices = []openaiChoice{c}
		if includeUsage {
			return streamChunk{openaiResponse: o}
		}
		return o
	}
	roleSent := make([]bool, j.req.N)
	usage := openaiUsage{PromptTokens: len(prompt)}
	emit := func(d delta) error {
		text := d.text
		c := openaiChoice{Index: d.sample, TokenIDs: d.tokens}
		if c.TokenIDs == nil {
			c.TokenIDs = []int{}
		}
		if chat {
			c.Delta = &openaiOutMessage{Content: &text}
			if !roleSent[d.sample] {
				c.Delta.Role = "assistant"
				roleSent[d.sample] = true
			}
		} else {
			c.Text = &text
		}
		if j.logprobs {
			c.Logprobs = s.openaiLogprobs(chat, d.tokens, d.logprobs, d.top, p.topLogprobs)
		}
		usage.CompletionTokens += len(d.tokens)
		if !d.final {
			return send(chunk(c))
		}
		finish := d.finish
		c.FinishReason = &finish
		o := base
		o.Choices = []openaiChoice{c}
		o.SystemFingerprint, o.WeightVersion, o.PromptTokenIDs = d.version, d.version, prompt
		if includeUsage {
			return send(streamChunk{openaiResponse: o})
		}
		return send(o)
	}
	res, err := s.run(r.Context(), j, emit)
	if err != nil {
		ae := genError(err)
		if !started {
			writeOpenAIError(w, ae)
			return
		}
		typ := "server_error"
		if ae.status < 500 {
			typ = "invalid_request_error"
		}
		send(map[string]any{"error": map[string]any{"message": ae.msg, "type": typ, "param": nil, "code": nil}})
		return
	}
	if includeUsage {
		usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
		o := base
		o.Choices = []openaiChoice{}
		o.SystemFingerprint, o.WeightVersion = res.version, res.version
		send(streamChunk{openaiResponse: o, Usage: &usage})
	}
	if !started {
		send(base) // unreachable in practice: every sample has a final delta
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	flush()
}

// openaiLogprobs reports log-probabilities in the chat or the legacy shape.
func (s *Server) openaiLogprobs(chat bool, tokens []int, lps []float32, top [][]policy.TokenAlt, k int) any {
	if chat {
		out := &openaiChatLogprobs{Content: make([]openaiLogprob, len(tokens))}
		for i, id := range tokens {
			text := s.tokenText(id)
			e := openaiLogprob{Token: text, Logprob: float64(lps[i]), Bytes: tokenBytes(text), TopLogprobs: []openaiTopLogprob{}, TokenID: id}
			if k > 0 && i < len(top) {
				for _, alt := range top[i] {
					at := s.tokenText(alt.ID)
					e.TopLogprobs = append(e.TopLogprobs, openaiTopLogprob{Token: at, Logprob: float64(alt.Logprob), Bytes: tokenBytes(at)})
				}
			}
			out.Content[i] = e
		}
		return out
	}
	out := &openaiLegacyLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TextOffset: []int{}}
	offset := 0
	for i, id := range tokens {
		text := s.tokenText(id)
		out.Tokens = append(out.Tokens, text)
		out.TokenLogprobs = append(out.TokenLogprobs, float64(lps[i]))
		out.TextOffset = append(out.TextOffset, offset)
		offset += len(text)
		if k > 0 {
			m := map[string]float64{}
			if i < len(top) {
				for _, alt := range top[i] {
					m[s.tokenText(alt.ID)] = float64(alt.Logprob)
				}
			}
			m[text] = float64(lps[i]) // the sampled token is always listed
			out.TopLogprobs = append(out.TopLogprobs, m)
		}
	}
	if k == 0 {
		out.TopLogprobs = nil
	}
	return out
}
