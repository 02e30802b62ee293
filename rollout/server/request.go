package server

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// sampling holds the settings both APIs share, after each API has applied
// its own defaults.
type sampling struct {
	n           int
	maxTokens   int // 0: up to the end of the context window
	temperature float64
	topP        float64
	topK        int
	minP        float64
	seed        *uint64 // nil: a fresh random seed
	stops       []string
	logprobs    bool
	topLogprobs int
	sampled     bool // rft extension: log-probabilities of the sampled distribution
	penalties   policy.Penalties
}

// job builds the engine request for prompt. It checks what the engine would
// refuse, so that every refusal is a 400 with a message that names the field.
func (s *Server) job(prompt []int, p sampling) (*genJob, *apiError) {
	maxTok := s.cfg.MaxPositions - len(prompt)
	if p.maxTokens > 0 {
		// A prompt that leaves less room than asked ends with "length" at
		// the end of the context window.
		maxTok = min(p.maxTokens, maxTok)
	}
	seed := rand.Uint64()
	if p.seed != nil {
		seed = *p.seed
	}
	var stops []string
	for _, st := range p.stops {
		if st != "" {
			stops = append(stops, st)
		}
	}
	j := &genJob{
		req: policy.GenRequest{
			Prompt:          prompt,
			N:               max(p.n, 1),
			MaxTokens:       max(maxTok, 1),
			Temperature:     p.temperature,
			TopP:            p.topP,
			TopK:            p.topK,
			MinP:            p.minP,
			Seed:            seed,
			SampledLogprobs: p.sampled,
			Penalties:       p.penalties,
		},
		stops:    stops,
		logprobs: p.logprobs,
	}
	if p.logprobs {
		j.req.TopLogprobs = p.topLogprobs
	}
	if err := j.req.Validate(s.cfg); err != nil {
		return nil, badRequest("", "%s", err.Error())
	}
	return j, nil
}

// checkContext refuses a prompt that leaves no room for a token.
func (s *Server) checkContext(prompt []int) error {
	if len(prompt) >= s.cfg.MaxPositions {
		return fmt.Errorf("prompt: %d tokens do not fit the context window of %d (one more token must fit)", len(prompt), s.cfg.MaxPositions)
	}
	return nil
}

// encodeChat renders a conversation in the model's chat template and
// encodes it, with the header of the assistant's turn at the end.
func (s *Server) encodeChat(msgs []tokenizer.Message) []int {
	return s.tok.Encode(s.tmpl.Render(msgs, true))
}

// encodeText encodes a raw prompt as Hugging Face's tokenizer(text) does,
// with the post-processor's special tokens (e.g. a BOS).
func (s *Server) encodeText(text string) []int {
	return s.tok.AddSpecialTokens(s.tok.Encode(text))
}

// tokenText is the text of one token (possibly an incomplete UTF-8
// sequence; its bytes are exact).
func (s *Server) tokenText(id int) string { return s.tok.Decode([]int{id}) }

// tokenBytes lists the bytes of a token as both APIs report them.
func tokenBytes(text string) []int {
	b := make([]int, len(text))
	for i := range len(text) {
		b[i] = int(text[i])
	}
	return b
}

// validVersion checks a weight version name given by a client.
func validVersion(v string) error {
	if v == "" || len(v) > maxVersionBytes {
		return fmt.Errorf("version: must be 1 to %d bytes", maxVersionBytes)
	}
	if strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return fmt.Errorf("version: %q has spaces or control characters", v)
	}
	return nil
}

// flusher returns w's Flush, or a no-op.
func flusher(w http.ResponseWriter) func() {
	if f, ok := w.(http.Flusher); ok {
		return f.Flush
	}
	return func() {}
}
