package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/rft-dev/rft/grpo"
	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
	"github.com/rft-dev/rft/rollout"
)

// localPolicy generates from a checkpoint directory in-process, rendering
// prompts the way `rft train` does (plain prompts as they are, chat
// messages through the template), so evaluation sees the policy as
// training did.
type localPolicy struct {
	engine    *policy.Engine
	tok       *tokenizer.Tokenizer
	tmpl      tokenizer.ChatTemplate
	eos       []int
	maxTokens int
	penalties policy.Penalties // decoding penalties (rft eval's flags)
}

func openLocalPolicy(dir string, maxTokens int) (*localPolicy, error) {
	local, err := rollout.OpenLocal(dir)
	if err != nil {
		return nil, err
	}
	tok, eos := local.Tokenizer(), local.EOS()
	// Documents end with <|endoftext|> too (pretraining), as in rft train.
	if id, ok := tok.TokenID(tokenizer.EndOfText); ok && !slices.Contains(eos, id) {
		eos = append(eos, id)
	}
	return &localPolicy{engine: local.Engine(), tok: tok, tmpl: local.Template(), eos: eos, maxTokens: maxTokens}, nil
}

func (l *localPolicy) Complete(ctx context.Context, p grpo.Prompt, temperature float64, seed uint64) (string, error) {
	text := p.Prompt
	if len(p.Messages) > 0 {
		msgs := make([]tokenizer.Message, len(p.Messages))
		for i, m := range p.Messages {
			msgs[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
		}
		text = l.tmpl.Render(msgs, true)
	}
	ids := l.tok.Encode(text)
	maxTok := min(l.maxTokens, l.engine.Config().MaxPositions-len(ids))
	if maxTok < 1 {
		return "", fmt.Errorf("prompt %q does not fit the context window", p.ID)
	}
	res, err := l.engine.Generate(ctx, policy.GenRequest{Prompt: ids, N: 1, MaxTokens: maxTok, Temperature: temperature, Seed: seed, EOS: l.eos, Penalties: l.penalties})
	if err != nil {
		return "", err
	}
	toks := res.Samples[0].Tokens
	if n := len(toks); n > 0 && slices.Contains(l.eos, toks[n-1]) {
		toks = toks[:n-1]
	}
	return l.tok.Decode(toks), nil
}
