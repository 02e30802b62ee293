package rollout

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// Local serves a checkpoint in-process through policy.Engine: no HTTP, the
// token ids come straight from the engine, and the trainer can swap the
// engine's weights after each update (DESIGN.md decision 8).
type Local struct {
	engine *policy.Engine
	tok    *tokenizer.Tokenizer
	tmpl   tokenizer.ChatTemplate
	name   string
	eos    []int // tokenizer.StopIDs: the model's EOS ids, end of turn, end of text
}

// NewLocal serves engine with its tokenizer and chat template under a model
// name.
func NewLocal(engine *policy.Engine, tok *tokenizer.Tokenizer, tmpl tokenizer.ChatTemplate, name string) *Local {
	return &Local{engine: engine, tok: tok, tmpl: tmpl, name: name, eos: tokenizer.StopIDs(engine.Config().EOS, tok, tmpl)}
}

// OpenLocal loads a Hugging Face checkpoint directory (weights,
// tokenizer.json, chat template) and serves it. The weight version is the
// directory's name.
func OpenLocal(dir string) (*Local, error) {
	_, params, err := policy.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	tmpl, err := tokenizer.LoadChatTemplate(dir)
	if err != nil {
		return nil, err
	}
	m, err := policy.NewModel(params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	name := filepath.Base(filepath.Clean(dir))
	return NewLocal(policy.NewEngine(m, name), tok, tmpl, name), nil
}

func openLocal(spec Spec, _ Options) (LLM, error) {
	if spec.Model == "" {
		return nil, fmt.Errorf("local: no checkpoint directory (want local:PATH)")
	}
	return OpenLocal(spec.Model)
}

// Engine is the engine the backend generates with (to swap its weights).
func (l *Local) Engine() *policy.Engine { return l.engine }

// Tokenizer and Template are the checkpoint's, for callers that render
// prompts themselves (evaluation of plain-text prompts).
func (l *Local) Tokenizer() *tokenizer.Tokenizer { return l.tok }

func (l *Local) Template() tokenizer.ChatTemplate { return l.tmpl }

// EOS lists the ids that end a completion (tokenizer.StopIDs), the ones
// the trainer stops at.
func (l *Local) EOS() []int { return slices.Clone(l.eos) }

// Chat renders the conversation with the chat template and generates from
// it. MaxTokens 0 means up to the context window; JSON mode is not enforced
// (the engine has no constrained decoding). A stop string ends a choice
// with reason "stop" and is cut from the text, as OpenAI does; Tokens keep
// every sampled token (up to the one that completed the stop string, or the
// EOS token), since those are what the log-probabilities and the trainer
// refer to.
func (l *Local) Chat(ctx context.Context, req ChatRequest) (*ChatResponse, error) {
	msgs := make([]tokenizer.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
	}
	prompt := l.tok.Encode(l.tmpl.Render(msgs, true))
	seed := rand.Uint64()
	if req.Seed != nil {
		seed = uint64(*req.Seed)
	}
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = max(l.engine.Config().MaxPositions-len(prompt), 1)
	}
	g := policy.GenRequest{
		Prompt: prompt, N: max(req.N, 1), MaxTokens: maxTokens,
		Temperature: req.Temperature, TopP: req.TopP, TopK: req.TopK, Seed: seed,
		EOS: l.eos, SampledLogprobs: req.SampledLogprobs,
	}
	if req.Logprobs {
		g.TopLogprobs = req.TopLogprobs
	}
	if len(req.Stop) > 0 {
		g.Stop = l.stopper(req.Stop)
	}
	res, err := l.engine.Generate(ctx, g)
	if err != nil {
		return nil, fmt.Errorf("local %s: %w", l.name, err)
	}
	out := &ChatResponse{PromptTokens: prompt, Model: l.name, WeightVersion: res.WeightVersion}
	out.Usage.PromptTokens = len(prompt)
	for _, s := range res.Samples {
		out.Usage.CompletionTokens += len(s.Tokens)
		out.Choices = append(out.Choices, l.choice(s, req))
	}
	return out, nil
}

// stopper ends a sample once its text holds a stop string. A stop string of
// L bytes lies within the last L tokens (every token is at least a byte), so
// only that tail is decoded.
func (l *Local) stopper(stop []string) func(int, []int) bool {
	longest := 0
	for _, s := range stop {
		longest = max(longest, len(s))
	}
	return func(_ int, toks []int) bool {
		tail := l.tok.Decode(toks[max(len(toks)-longest-1, 0):])
		for _, s := range stop {
			if s != "" && strings.Contains(tail, s) {
				return true
			}
		}
		return false
	}
}

func (l *Local) choice(s policy.GenSample, req ChatRequest) Choice {
	if len(req.Stop) > 0 && s.FinishReason != "stop" {
		s = l.cutAtStop(s, req.Stop)
	}
	c := Choice{Tokens: s.Tokens, FinishReason: s.FinishReason}
	body := s.Tokens
	if n := len(body); n > 0 && slices.Contains(l.eos, body[n-1]) {
		body = body[:n-1] // the EOS token ends the turn; it is not text
	}
	c.Text = l.tok.Decode(body)
	for _, st := range req.Stop {
		if i := strings.Index(c.Text, st); st != "" && i >= 0 {
			c.Text = c.Text[:i]
		}
	}
	if req.Logprobs {
		for _, lp := range s.Logprobs {
			c.Logprobs = append(c.Logprobs, float64(lp))
		}
		for _, top := range s.Top {
			alts := make([]TokenLogprob, len(top))
			for i, a := range top {
				alts[i] = TokenLogprob{Token: l.tok.Decode([]int{a.ID}), ID: a.ID, Logprob: float64(a.Logprob)}
			}
			c.TopLogprobs = append(c.TopLogprobs, alts)
		}
	}
	return c
}

// cutAtStop ends a sample at the first token that completes a stop string,
// for an engine that generated past it (the reference engine ignores
// GenRequest.Stop), so every engine gives the same choices.
func (l *Local) cutAtStop(s policy.GenSample, stop []string) policy.GenSample {
	hit := l.stopper(stop)
	for k := 1; k <= len(s.Tokens); k++ {
		if !hit(0, s.Tokens[:k]) {
			continue
		}
		s.Tokens, s.FinishReason = s.Tokens[:k], "stop"
		if len(s.Logprobs) > k {
			s.Logprobs = s.Logprobs[:k]
		}
		if len(s.Top) > k {
			s.Top = s.Top[:k]
		}
		break
	}
	return s
}
