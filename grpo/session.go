package grpo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
	"github.com/rft-dev/rft/reward"
)

// Options are what a training session needs beyond the job: the concrete
// rewards and the evaluation, wired by the command.
type Options struct {
	Reward reward.Reward
	// Gold, when the task has a ground truth, scores the same rollouts for
	// metrics only (the over-optimisation picture: gold vs proxy).
	Gold reward.Reward
	// Evaluator runs held-out evaluation (eval.every); nil disables it.
	Evaluator Evaluator
}

// Evaluator scores the current policy on held-out prompts (e.g. win-rate
// against reference answers under a judge). Higher is better; keep-best
// uses it, never the training reward.
type Evaluator interface {
	Evaluate(ctx context.Context, p Policy, step int) (EvalResult, error)
}

// EvalResult is one evaluation; Fields go to eval.jsonl as they are.
type EvalResult struct {
	Score  float64
	Fields map[string]any
}

// Session is a prepared training run.
type Session struct {
	job     *configs.Job
	opts    Options
	cfg     Config
	tok     *tokenizer.Tokenizer
	tmpl    tokenizer.ChatTemplate
	prompts []Prompt
	ids     [][]int // rendered prompt tokens, per prompt
	eos     []int

	trainer *policy.Trainer
	ref     *policy.Model[float32] // frozen reference; nil when unused
	refWS   *policy.Workspace[float32]
	engine  *policy.Engine

	cursor    int     // prompts consumed so far (the data cursor)
	permEpoch int     // the epoch perm belongs to (-1: none yet)
	perm      []int   // the data order of permEpoch
	best      float64 // best held-out score so far
	hasBest   bool
}

// trainerState is what a checkpoint adds to the model for exact resume.
type trainerState struct {
	Step       int     `json:"step"`
	Cursor     int     `json:"cursor"`
	AdamStep   int     `json:"adam_step"`
	Seed       uint64  `json:"seed"`
	ConfigHash string  `json:"config_hash"`
	Best       float64 `json:"best"`
	HasBest    bool    `json:"has_best"`
}

const (
	stateFile     = "trainer_state.json"
	optimizerFile = "optimizer.safetensors"
	tokenizerFile = "tokenizer.json"
)

// configHash fingerprints the resolved job, so a resume into a run whose
// config was edited is refused rather than silently mixing two runs.
func configHash(job *configs.Job) string {
	data, _ := job.Marshal()
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// Prepare loads prompts, tokenizer, policy and reference, and (when run has
// checkpoints) the latest one. It writes nothing.
func Prepare(run *checkpoints.Run, job *configs.Job, opts Options) (*Session, error) {
	if opts.Reward == nil {
		return nil, fmt.Errorf("reward: no reward configured (reward.rubrics, reward.http, reward.command or reward.task)")
	}
	cfg, err := objective(job)
	if err != nil {
		return nil, err
	}
	s := &Session{job: job, opts: opts, cfg: cfg, permEpoch: -1}
	if job.Data.Train == "" {
		return nil, fmt.Errorf("data.train: a prompts JSONL file is required")
	}
	if s.prompts, err = ReadPrompts(job.Data.Train); err != nil {
		return nil, err
	}
	base, err := s.loadBase()
	if err != nil {
		return nil, err
	}
	c := base.Config
	if err := s.renderPrompts(c); err != nil {
		return nil, err
	}
	var latest *checkpoints.Checkpoint
	if run != nil {
		if err := run.CleanTemp(); err != nil {
			return nil, err
		}
		if latest, err = run.Latest(); err != nil {
			return nil, err
		}
	}
	params := base
	if latest != nil {
		if _, params, err = policy.LoadDir(latest.Dir); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	}
	model, err := policy.NewModel(params)
	if err != nil {
		return nil, err
	}
	// The reference is the starting policy, frozen (its own copy).
	if s.ref, err = policy.NewModel(cloneParams(base)); err != nil {
		return nil, err
	}
	s.refWS = policy.NewWorkspace[float32](false)
	t := job.Train
	opt := policy.NewAdamW(c, t.Beta1, t.Beta2, t.Eps, t.WeightDecay)
	sched := policy.Schedule{Kind: t.Schedule, LR: t.LR, WarmupSteps: t.WarmupSteps, TotalSteps: t.Steps * job.GRPO.Mu, MinRatio: t.MinLRRatio}
	if s.trainer, err = policy.NewTrainer(model, opt, sched, t.GradClip, t.Recompute); err != nil {
		return nil, err
	}
	if latest != nil {
		if err := s.restore(latest.Dir); err != nil {
			return nil, err
		}
	}
	engineModel, err := policy.NewModel(cloneParams(s.trainer.Model.Params))
	if err != nil {
		return nil, err
	}
	s.engine = policy.NewEngine(engineModel, fmt.Sprintf("step-%d", s.trainer.Step/max(job.GRPO.Mu, 1)))
	return s, nil
}

// objective maps the job's grpo section onto the loss configuration.
func objective(job *configs.Job) (Config, error) {
	g := job.GRPO
	cfg := Config{
		LossType: LossType(g.LossType), EpsilonLow: g.EpsilonLow, EpsilonHigh: g.EpsilonHigh, DualClip: g.DualClip,
		ImportanceLevel: ImportanceLevel(g.ImportanceLevel), KLEstimator: KLEstimator(g.KLEstimator), Beta: g.Beta,
		KLIn: KLPlacement(g.KLIn), KLImportanceWeighted: g.KLImportanceWeighted, MaxCompletionLen: job.Rollout.MaxTokens,
	}
	return cfg, cfg.Validate()
}

// loadBase reads the starting policy: model.path, or a preset initialised
// from the seed with model.tokenizer.
func (s *Session) loadBase() (*policy.Params[float32], error) {
	m := s.job.Model
	var err error
	if m.Path != "" {
		_, p, err := policy.LoadDir(m.Path)
		if err != nil {
			return nil, err
		}
		if s.tok, err = tokenizer.Load(filepath.Join(m.Path, tokenizerFile)); err != nil {
			return nil, err
		}
		if s.tmpl, err = tokenizer.LoadChatTemplate(m.Path); err != nil {
			return nil, err
		}
		s.eos = tokenizer.StopIDs(p.Config.EOS, s.tok, s.tmpl)
		return p, nil
	}
	if m.Tokenizer == "" {
		return nil, fmt.Errorf("model: give model.path (a model directory) or model.tokenizer with model.init")
	}
	if s.tok, err = tokenizer.Load(m.Tokenizer); err != nil {
		return nil, err
	}
	s.tmpl = tokenizer.Plain
	c, err := policy.Preset(m.Init)
	if err != nil {
		return nil, fmt.Errorf("model.init: %w", err)
	}
	c.VocabSize = s.tok.VocabSize()
	c.EOS = tokenizer.StopIDs(c.EOS, s.tok, s.tmpl)
	s.eos = c.EOS
	return policy.InitParams[float32](c, s.job.Seed), nil
}

// renderPrompts tokenises every prompt once: chat messages through the chat
// template with the generation prompt, plain prompts as they are (the way a
// base model SFT'd on prompt/completion pairs saw them).
func (s *Session) renderPrompts(c *policy.Config) error {
	s.ids = make([][]int, len(s.prompts))
	limit := c.MaxPositions - s.job.Rollout.MaxTokens
	for i, p := range s.prompts {
		s.ids[i] = s.render(p)
		if len(s.ids[i]) == 0 {
			return fmt.Errorf("%s: prompt %q encodes to no tokens", s.job.Data.Train, p.ID)
		}
		if len(s.ids[i]) > limit {
			return fmt.Errorf("%s: prompt %q has %d tokens; with rollout.max_tokens %d it does not fit the context of %d",
				s.job.Data.Train, p.ID, len(s.ids[i]), s.job.Rollout.MaxTokens, c.MaxPositions)
		}
	}
	return nil
}

// render tokenises one prompt.
func (s *Session) render(p Prompt) []int {
	if len(p.Messages) == 0 {
		return s.tok.Encode(p.Prompt)
	}
	msgs := make([]tokenizer.Message, len(p.Messages))
	for j, m := range p.Messages {
		msgs[j] = tokenizer.Message{Role: m.Role, Content: m.Content}
	}
	return s.tok.Encode(s.tmpl.Render(msgs, true))
}

func cloneParams(p *policy.Params[float32]) *policy.Params[float32] {
	return policy.ViewParams(p.Config, append([]float32(nil), p.Data...))
}

// save writes the checkpoint of the current step.
func (s *Session) save(run *checkpoints.Run, step int) error {
	tr := s.trainer
	return run.Save(step, s.job.Checkpoint.Keep, func(dir string) error {
		if err := policy.SaveDir(dir, tr.Model.Params, nil); err != nil {
			return err
		}
		if err := s.tok.Save(filepath.Join(dir, tokenizerFile)); err != nil {
			return err
		}
		if s.job.Model.Path != "" {
			if err := policy.CopyTokenizerFiles(s.job.Model.Path, dir); err != nil {
				return err
			}
		}
		if err := tr.Opt.SaveState(filepath.Join(dir, optimizerFile)); err != nil {
			return err
		}
		st := trainerState{Step: step, Cursor: s.cursor, AdamStep: tr.Opt.Step, Seed: s.job.Seed,
			ConfigHash: configHash(s.job), Best: s.best, HasBest: s.hasBest}
		data, _ := json.MarshalIndent(st, "", "  ")
		return atomicfile.WriteBytes(filepath.Join(dir, stateFile), data, 0o644)
	})
}

// restore reads the optimizer and trainer state of a checkpoint.
func (s *Session) restore(dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("resume: %s: %w", filepath.Join(dir, stateFile), err)
	}
	if h := configHash(s.job); st.ConfigHash != h {
		return fmt.Errorf("resume: the run's config.yaml changed since %s was written (config hash %s, now %s); start a new run instead",
			dir, st.ConfigHash, h)
	}
	tr := s.trainer
	if err := tr.Opt.LoadState(filepath.Join(dir, optimizerFile)); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	tr.Step = st.Step * s.job.GRPO.Mu
	tr.Opt.Step = st.AdamStep
	s.cursor, s.best, s.hasBest = st.Cursor, st.Best, st.HasBest
	return nil
}
