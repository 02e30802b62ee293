package pretrain

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// state is everything a run holds between steps.
type state struct {
	trainer     *policy.Trainer
	tok         *tokenizer.Tokenizer
	train, eval []Sequence
}

// trainerState is the part of a checkpoint beyond the model: what exact
// resume needs (the optimizer moments live in optimizer.safetensors).
type trainerState struct {
	Step     int    `json:"step"`
	AdamStep int    `json:"adam_step"`
	Seed     uint64 `json:"seed"`
}

const (
	optimizerFile = "optimizer.safetensors"
	stateFile     = "trainer_state.json"
	tokenizerFile = "tokenizer.json"
)

// prepare loads data, tokenizer and model, from the latest checkpoint when
// the run has one.
func prepare(run *checkpoints.Run, job *configs.Job) (*state, error) {
	trainEx, evalEx, err := loadExamples(job)
	if err != nil {
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
	st := &state{}
	var params *policy.Params[float32]
	switch {
	case latest != nil:
		_, params, err = policy.LoadDir(latest.Dir)
		if err == nil {
			st.tok, err = tokenizer.Load(filepath.Join(latest.Dir, tokenizerFile))
		}
	case job.Model.Path != "":
		_, params, err = policy.LoadDir(job.Model.Path)
		if err == nil {
			st.tok, err = tokenizer.Load(filepath.Join(job.Model.Path, tokenizerFile))
		}
	default:
		params, err = st.initModel(job, trainEx)
	}
	if err != nil {
		return nil, err
	}
	c := params.Config
	eos, err := eosOf(c, st.tok)
	if err != nil {
		return nil, err
	}
	tmpl, err := tokenizer.LoadChatTemplate(job.Model.Path)
	if err != nil {
		return nil, err
	}
	enc := Encoding{Encode: st.tok.Encode, EOS: eos, PromptLoss: job.Data.PromptLoss, Render: func(ms []Message, gen bool) string {
		tm := make([]tokenizer.Message, len(ms))
		for i, m := range ms {
			tm[i] = tokenizer.Message{Role: m.Role, Content: m.Content}
		}
		return tmpl.Render(tm, gen)
	}}
	if st.train, err = BuildSequences(trainEx, enc, job.Train.SeqLen); err != nil {
		return nil, fmt.Errorf("data.train: %w", err)
	}
	if st.eval, err = BuildSequences(evalEx, enc, job.Train.SeqLen); err != nil {
		return nil, fmt.Errorf("data.eval: %w", err)
	}
	if job.Train.BatchSize > len(st.train) {
		return nil, fmt.Errorf("train.batch_size: %d is more than the %d training rows", job.Train.BatchSize, len(st.train))
	}
	model, err := policy.NewModel(params)
	if err != nil {
		return nil, err
	}
	t := job.Train
	opt := policy.NewAdamW(c, t.Beta1, t.Beta2, t.Eps, t.WeightDecay)
	sched := policy.Schedule{Kind: t.Schedule, LR: t.LR, WarmupSteps: t.WarmupSteps, TotalSteps: t.Steps, MinRatio: t.MinLRRatio}
	if st.trainer, err = policy.NewTrainer(model, opt, sched, t.GradClip, t.Recompute); err != nil {
		return nil, err
	}
	if latest != nil {
		if err := st.restore(latest.Dir, job); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// initModel trains a tokenizer on the training text (unless one is given)
// and initialises the preset model from the seed.
func (st *state) initModel(job *configs.Job, exs []Example) (*policy.Params[float32], error) {
	var err error
	if job.Model.Tokenizer != "" {
		st.tok, err = tokenizer.Load(job.Model.Tokenizer)
	} else {
		var text strings.Builder
		for _, ex := range exs {
			text.WriteString(ex.Text + ex.Prompt + ex.Completion)
			for _, m := range ex.Messages {
				text.WriteString(m.Content)
			}
			text.WriteByte('\n')
		}
		st.tok, err = tokenizer.Train(strings.NewReader(text.String()), job.Model.VocabSize, tokenizer.DefaultSpecials)
	}
	if err != nil {
		return nil, err
	}
	c, err := policy.Preset(job.Model.Init)
	if err != nil {
		return nil, fmt.Errorf("model.init: %w", err)
	}
	if job.Model.Arch == "llama" {
		c.Architecture, c.QKNorm = "LlamaForCausalLM", false
	}
	c.TieEmbeddings = job.Model.TieEmbeddings
	c.VocabSize = st.tok.VocabSize()
	eos, ok := st.tok.TokenID(tokenizer.EndOfText)
	if !ok {
		return nil, fmt.Errorf("tokenizer: no %s token to end documents with", tokenizer.EndOfText)
	}
	c.EOS = []int{eos}
	if end, ok := st.tok.TokenID(tokenizer.EndOfTurn); ok && end != eos {
		c.EOS = append(c.EOS, end)
	}
	return policy.InitParams[float32](c, job.Seed), nil
}

// eosOf picks the id that ends documents: the tokenizer's end-of-text token
// when it has one, else the model's first EOS id.
func eosOf(c *policy.Config, tok *tokenizer.Tokenizer) (int, error) {
	if id, ok := tok.TokenID(tokenizer.EndOfText); ok {
		return id, nil
	}
	if len(c.EOS) > 0 {
		return c.EOS[0], nil
	}
	return 0, fmt.Errorf("the model has no EOS id (config.json eos_token_id) and the tokenizer no %s", tokenizer.EndOfText)
}

// save writes a checkpoint: the HF model directory, its tokenizer, and the
// optimizer and trainer state that make resume exact.
func (st *state) save(run *checkpoints.Run, job *configs.Job) error {
	tr := st.trainer
	return run.Save(tr.Step, job.Checkpoint.Keep, func(dir string) error {
		if err := policy.SaveDir(dir, tr.Model.Params, nil); err != nil {
			return err
		}
		if err := st.tok.Save(filepath.Join(dir, tokenizerFile)); err != nil {
			return err
		}
		if err := tr.Opt.SaveState(filepath.Join(dir, optimizerFile)); err != nil {
			return err
		}
		data, _ := json.Marshal(trainerState{Step: tr.Step, AdamStep: tr.Opt.Step, Seed: job.Seed})
		return atomicfile.WriteBytes(filepath.Join(dir, stateFile), data, 0o644)
	})
}

// restore reads the optimizer and trainer state of a checkpoint.
func (st *state) restore(dir string, job *configs.Job) error {
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	var ts trainerState
	if err := json.Unmarshal(raw, &ts); err != nil {
		return fmt.Errorf("resume: %s: %w", filepath.Join(dir, stateFile), err)
	}
	if ts.Seed != job.Seed {
		return fmt.Errorf("resume: the checkpoint was trained with seed %d, the run's config says %d", ts.Seed, job.Seed)
	}
	tr := st.trainer
	if err := tr.Opt.LoadState(filepath.Join(dir, optimizerFile)); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	tr.Step, tr.Opt.Step = ts.Step, ts.AdamStep
	return nil
}

// loadExamples reads (or generates) the train and eval examples.
func loadExamples(job *configs.Job) (train, eval []Example, err error) {
	d := job.Data
	if d.Train == "" {
		return nil, nil, fmt.Errorf("data.train: a training file (or synthetic:facts) is required")
	}
	if kind, ok := strings.CutPrefix(d.Train, "synthetic:"); ok {
		nEval := max(1, int(float64(d.Docs)*d.EvalFraction))
		docs, err := SyntheticDocs(kind, job.Seed, 0, d.Docs+nEval)
		if err != nil {
			return nil, nil, err
		}
		for i, doc := range docs {
			ex := Example{Text: doc, Source: fmt.Sprintf("%s #%d", d.Train, i)}
			if i < d.Docs {
				train = append(train, ex)
			} else {
				eval = append(eval, ex)
			}
		}
		return train, eval, nil
	}
	if train, err = ReadExamples(d.Train); err != nil {
		return nil, nil, err
	}
	if d.Eval != "" {
		eval, err = ReadExamples(d.Eval)
		return train, eval, err
	}
	nEval := int(float64(len(train)) * d.EvalFraction)
	if nEval < 1 || nEval >= len(train) {
		return nil, nil, fmt.Errorf("data.eval_fraction: %g of %d examples leaves no held-out or no training example; give data.eval", d.EvalFraction, len(train))
	}
	return train[:len(train)-nEval], train[len(train)-nEval:], nil
}
