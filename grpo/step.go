package grpo

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/reward"
)

// StepRecord is one line of metrics.jsonl. The first keys are the CLI
// contract's (DESIGN.md); the rest are diagnostics.
type StepRecord struct {
	Step              int     `json:"step"`
	RewardMean        float64 `json:"reward_mean"`
	RewardStd         float64 `json:"reward_std"`
	KL                float64 `json:"kl"`
	Loss              float64 `json:"loss"`
	LR                float64 `json:"lr"`
	GradNorm          float64 `json:"grad_norm"`
	CompletionLenMean float64 `json:"completion_len_mean"`
	Seconds           float64 `json:"seconds"`

	RewardComponents    map[string]float64 `json:"reward_components,omitempty"`
	GoldRewardMean      *float64           `json:"gold_reward_mean,omitempty"`
	PolicyLoss          float64            `json:"policy_loss"`
	ClipLow             float64            `json:"clip_low"`
	ClipHigh            float64            `json:"clip_high"`
	ClipDual            float64            `json:"clip_dual"`
	Entropy             float64            `json:"entropy"`
	TruncationRate      float64            `json:"truncation_rate"`
	ZeroVarianceGroups  float64            `json:"zero_variance_groups"` // fraction of sampled groups
	DroppedGroups       int                `json:"dropped_groups"`
	RewardFailures      int                `json:"reward_failures"`
	Completions         int                `json:"completions"`
	TokensPerSecond     float64            `json:"tokens_per_second"`
	RolloutSeconds      float64            `json:"rollout_seconds"`
	RewardSeconds       float64            `json:"reward_seconds"`
	UpdateSeconds       float64            `json:"update_seconds"`
	LogprobMismatchMean float64            `json:"logprob_mismatch_mean"` // |sampler − trainer| per token
	LogprobMismatchMax  float64            `json:"logprob_mismatch_max"`
	SkippedUpdates      int                `json:"skipped_updates,omitempty"`
	WeightVersion       string             `json:"weight_version"`
	Eval                map[string]any     `json:"eval,omitempty"`
}

// SampleRecord is one line of samples.jsonl.
type SampleRecord struct {
	Step         int                `json:"step"`
	PromptID     string             `json:"prompt_id"`
	Completion   string             `json:"completion"`
	Reward       float64            `json:"reward"`
	Advantage    float64            `json:"advantage"`
	FinishReason string             `json:"finish_reason"`
	Components   map[string]float64 `json:"components,omitempty"`
	Gold         *float64           `json:"gold,omitempty"`
	Error        string             `json:"error,omitempty"`
}

// rolloutSeq is one completion laid out for training.
type rolloutSeq struct {
	g, j      int
	tokens    []int     // prompt + completion without its last token (the model's input)
	targets   []int     // the completion tokens at their positions, -1 elsewhere
	comp      int       // completion length (loss tokens before masking)
	promptLen int       //
	sampler   []float64 // the sampler's log-probs of the completion (nil when it gave none)
	old, ref  []float64 // the trainer's π_old and the reference's log-probs
	truncated bool
	reward    float64
	advantage float64
}

// temperature at which log-probs are compared: the sampling temperature
// (greedy rollouts count as T = 1).
func (s *Session) temperature() float64 {
	if t := s.job.Rollout.Temperature; t >= policy.GreedyBelow {
		return t
	}
	return 1
}

// step runs one GRPO step: rollouts, rewards, advantages, μ updates, push.
func (s *Session) step(ctx context.Context, step int) (StepRecord, []SampleRecord, error) {
	start := time.Now()
	rec := StepRecord{Step: step}
	g := s.job.GRPO
	var groups []*group
	var scores [][]reward.Score
	var gold [][]reward.Score
	sampled := 0
	for round := 0; len(groups) < g.PromptsPerStep && round < 4; round++ {
		t0 := time.Now()
		batch, err := s.sampleGroups(ctx, g.PromptsPerStep-len(groups))
		if err != nil {
			return rec, nil, err
		}
		rec.RolloutSeconds += time.Since(t0).Seconds()
		t1 := time.Now()
		sc, gd, err := s.score(ctx, batch)
		if err != nil {
			return rec, nil, err
		}
		rec.RewardSeconds += time.Since(t1).Seconds()
		sampled += len(batch)
		for i, gr := range batch {
			if uniform(sc[i]) {
				rec.ZeroVarianceGroups++
				if g.DynamicSampling {
					rec.DroppedGroups++
					continue
				}
			}
			groups = append(groups, gr)
			scores = append(scores, sc[i])
			gold = append(gold, gd[i])
		}
		if !g.DynamicSampling {
			break
		}
	}
	rec.ZeroVarianceGroups /= float64(max(sampled, 1))
	samples := s.summarise(&rec, step, groups, scores, gold)
	if len(groups) == 0 {
		rec.Seconds = time.Since(start).Seconds()
		return rec, samples, nil
	}
	t2 := time.Now()
	seqs := s.layout(groups, scores)
	if err := s.update(&rec, seqs); err != nil {
		return rec, nil, err
	}
	for i := range samples {
		if i < len(seqs) {
			samples[i].Advantage = seqs[i].advantage
		}
	}
	rec.UpdateSeconds = time.Since(t2).Seconds()
	if err := s.push(step); err != nil {
		return rec, nil, err
	}
	rec.WeightVersion = s.engine.Version()
	rec.Seconds = time.Since(start).Seconds()
	toks := 0
	for _, q := range seqs {
		toks += len(q.tokens) + 1
	}
	rec.TokensPerSecond = float64(toks) / rec.Seconds
	return rec, samples, nil
}

func uniform(sc []reward.Score) bool {
	for _, x := range sc[1:] {
		if x.Value != sc[0].Value || (x.Err == nil) != (sc[0].Err == nil) {
			return false
		}
	}
	return true
}

// score runs the reward (and the gold reward, when set) over all groups'
// completions in one batch.
func (s *Session) score(ctx context.Context, groups []*group) (sc, gold [][]reward.Score, err error) {
	var batch []reward.Sample
	for _, gr := range groups {
		p := s.prompts[gr.index]
		for _, t := range gr.texts {
			batch = append(batch, reward.Sample{PromptID: p.ID, Prompt: p.Text(), Completion: t, Reference: p.Reference})
		}
	}
	flat, err := s.opts.Reward.Score(ctx, batch)
	if err != nil {
		return nil, nil, fmt.Errorf("reward: %w", err)
	}
	if len(flat) != len(batch) {
		return nil, nil, fmt.Errorf("reward: %d scores for %d completions", len(flat), len(batch))
	}
	var gflat []reward.Score
	if s.opts.Gold != nil {
		if gflat, err = s.opts.Gold.Score(ctx, batch); err != nil {
			return nil, nil, fmt.Errorf("gold reward: %w", err)
		}
	}
	G := s.job.GRPO.GroupSize
	for i, gr := range groups {
		row := flat[i*G : (i+1)*G]
		// The scale and DAPO's overlong penalty shape the reward the policy sees.
		for j := range row {
			if row[j].Err != nil {
				continue
			}
			row[j].Value *= s.job.Reward.Scale
			if c := s.job.GRPO.OverlongCache; c > 0 {
				row[j].Value += OverlongPenalty(len(gr.samples[j].Tokens), s.job.Rollout.MaxTokens, c)
			}
		}
		sc = append(sc, row)
		if gflat != nil {
			gold = append(gold, gflat[i*G:(i+1)*G])
		} else {
			gold = append(gold, nil)
		}
	}
	return sc, gold, nil
}

// summarise fills the reward metrics and the samples.jsonl records.
func (s *Session) summarise(rec *StepRecord, step int, groups []*group, scores, gold [][]reward.Score) []SampleRecord {
	var out []SampleRecord
	var vals, golds []float64
	comps := map[string]float64{}
	lens, trunc := 0.0, 0
	for i, gr := range groups {
		for j, sc := range scores[i] {
			smp := gr.samples[j]
			r := SampleRecord{Step: step, PromptID: s.prompts[gr.index].ID, Completion: gr.texts[j], FinishReason: smp.FinishReason}
			if sc.Err != nil {
				r.Error = sc.Err.Error()
				rec.RewardFailures++
			} else {
				r.Reward, r.Components = sc.Value, sc.Components
				vals = append(vals, sc.Value)
				for k, v := range sc.Components {
					comps[k] += v
				}
			}
			if gold[i] != nil && gold[i][j].Err == nil {
				v := gold[i][j].Value
				r.Gold = &v
				golds = append(golds, v)
			}
			lens += float64(len(smp.Tokens))
			if smp.FinishReason == "length" {
				trunc++
			}
			out = append(out, r)
		}
	}
	n := len(out)
	rec.Completions = n
	rec.RewardMean, rec.RewardStd = meanStd(vals)
	if len(comps) > 0 {
		rec.RewardComponents = map[string]float64{}
		for k, v := range comps {
			rec.RewardComponents[k] = v / float64(max(len(vals), 1))
		}
	}
	if len(golds) > 0 {
		m, _ := meanStd(golds)
		rec.GoldRewardMean = &m
	}
	if n > 0 {
		rec.CompletionLenMean = lens / float64(n)
		rec.TruncationRate = float64(trunc) / float64(n)
	}
	return out
}

func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

// layout turns the groups into training sequences with their rewards. A
// completion whose reward failed gets reward 0 (and is counted).
func (s *Session) layout(groups []*group, scores [][]reward.Score) []*rolloutSeq {
	var seqs []*rolloutSeq
	for gi, gr := range groups {
		ids := s.ids[gr.index]
		for j, smp := range gr.samples {
			full := append(append([]int(nil), ids...), smp.Tokens...)
			q := &rolloutSeq{g: gi, j: j, tokens: full[:len(full)-1], comp: len(smp.Tokens), promptLen: len(ids),
				truncated: smp.FinishReason == "length"}
			q.targets = make([]int, len(q.tokens))
			for i := range q.targets {
				q.targets[i] = -1
				if i >= len(ids)-1 {
					q.targets[i] = full[i+1]
				}
			}
			if len(smp.Logprobs) == q.comp {
				q.sampler = make([]float64, q.comp)
				for i, lp := range smp.Logprobs {
					q.sampler[i] = float64(lp)
				}
			}
			if sc := scores[gi][j]; sc.Err == nil {
				q.reward = sc.Value
			}
			seqs = append(seqs, q)
		}
	}
	return seqs
}

// microBatches splits the sequences into train.grad_accum contiguous parts.
func (s *Session) microBatches(seqs []*rolloutSeq) [][]*rolloutSeq {
	k := min(max(s.job.Train.GradAccum, 1), len(seqs))
	out := make([][]*rolloutSeq, k)
	for i := range k {
		out[i] = seqs[i*len(seqs)/k : (i+1)*len(seqs)/k]
	}
	return out
}

func packSeqs(mb []*rolloutSeq) policy.Batch {
	var b policy.Batch
	for _, q := range mb {
		b.Tokens = append(b.Tokens, q.tokens...)
		b.Targets = append(b.Targets, q.targets...)
		b.Lens = append(b.Lens, len(q.tokens))
	}
	return b
}

// completionLogprobs runs m over a micro-batch and returns each sequence's
// completion log-probs at temperature T (and, with ent, their entropies).
func completionLogprobs(m *policy.Model[float32], ws *policy.Workspace[float32], mb []*rolloutSeq, T float64, ent *[]float64) ([][]float64, error) {
	b := packSeqs(mb)
	if _, err := m.Forward(ws, b); err != nil {
		return nil, err
	}
	lp, err := m.Logprobs(ws, T)
	if err != nil {
		return nil, err
	}
	var e []float32
	if ent != nil {
		e = m.Entropy(ws, T)
	}
	out := make([][]float64, len(mb))
	off := 0
	for i, q := range mb {
		out[i] = make([]float64, q.comp)
		for t := range q.comp {
			pos := off + q.promptLen - 1 + t
			out[i][t] = float64(lp[pos])
			if ent != nil {
				*ent = append(*ent, float64(e[pos]))
			}
		}
		off += len(q.tokens)
	}
	return out, nil
}
