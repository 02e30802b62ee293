package grpo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/rft-dev/rft/policy"
)

// group is one prompt's G completions and their scores.
type group struct {
	index   int // into Session.prompts
	samples []policy.GenSample
	texts   []string
}

// promptAt returns the prompt index at position k of the data order: epochs
// are seeded permutations, so the order depends only on (seed, k) and a
// resumed run needs only its cursor.
func (s *Session) promptAt(k int) int {
	n := len(s.prompts)
	if epoch := k / n; epoch != s.permEpoch {
		s.permEpoch, s.perm = epoch, rand.New(rand.NewPCG(s.job.Seed, uint64(epoch)+0x6e70)).Perm(n)
	}
	return s.perm[k%n]
}

// sampleGroups draws G completions for the next count prompts of the data
// order, all at once so the engine batches them. Request seeds derive from
// (seed, k): the same prompt position always gets the same samples.
func (s *Session) sampleGroups(ctx context.Context, count int) ([]*group, error) {
	r := s.job.Rollout
	groups := make([]*group, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for j := range count {
		k := s.cursor + j
		idx := s.promptAt(k)
		groups[j] = &group{index: idx}
		req := policy.GenRequest{
			Prompt: s.ids[idx], N: s.job.GRPO.GroupSize, MaxTokens: r.MaxTokens,
			Temperature: r.Temperature, TopP: r.TopP, TopK: r.TopK,
			Seed: s.job.Seed*0x9e3779b97f4a7c15 ^ uint64(k), EOS: s.eos, SampledLogprobs: true,
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.engine.Generate(ctx, req)
			if err != nil {
				errs[j] = fmt.Errorf("rollout of prompt %q: %w", s.prompts[idx].ID, err)
				return
			}
			groups[j].samples = res.Samples
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	s.cursor += count
	for _, g := range groups {
		g.texts = make([]string, len(g.samples))
		for i, smp := range g.samples {
			g.texts[i] = s.tok.Decode(stripEOS(smp.Tokens, s.eos))
		}
	}
	return groups, nil
}

// stripEOS drops a final stop token, which is not part of the answer text.
func stripEOS(toks []int, eos []int) []int {
	if n := len(toks); n > 0 && slices.Contains(eos, toks[n-1]) {
		return toks[:n-1]
	}
	return toks
}

// Complete generates one completion of a prompt with the current weights
// (for evaluation): greedy below temperature 1e-5.
func (s *Session) Complete(ctx context.Context, p Prompt, temperature float64, seed uint64) (string, error) {
	ids := s.render(p)
	res, err := s.engine.Generate(ctx, policy.GenRequest{Prompt: ids, N: 1, MaxTokens: s.job.Rollout.MaxTokens,
		Temperature: temperature, Seed: seed, EOS: s.eos})
	if err != nil {
		return "", err
	}
	return s.tok.Decode(stripEOS(res.Samples[0].Tokens, s.eos)), nil
}

// Policy is the current policy as evaluation sees it.
type Policy interface {
	Complete(ctx context.Context, p Prompt, temperature float64, seed uint64) (string, error)
}
