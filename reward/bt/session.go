package bt

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/safetensors"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// Checkpoint files beyond the model (Save writes the model's).
const (
	optimizerFile = "optimizer.safetensors"
	stateFile     = "trainer_state.json"
)

// encPair is a pair tokenised once, as Model.Encode makes its inputs.
type encPair struct {
	chosen, rejected []int
	source           string
}

// Session is a prepared `rft rm train` run: pairs tokenised, backbone,
// head and optimizers loaded (from the latest checkpoint when resuming).
type Session struct {
	job         *configs.Job
	model       *Model
	train, eval []encPair
	order       *batchOrder
	sched       policy.Schedule
	step        int

	grads    *policy.Params[float32] // nil when the backbone is frozen
	opt      *policy.AdamW           // nil when the backbone is frozen
	headGrad []float32
	headOpt  *headAdam
	dhidden  []float32

	initialEvalAccuracy float64
}

// trainerState is what exact resume needs beyond the weights and moments.
type trainerState struct {
	Step                int     `json:"step"`
	AdamStep            int     `json:"adam_step"`
	HeadAdamStep        int     `json:"head_adam_step"`
	Seed                uint64  `json:"seed"`
	InitialEvalAccuracy float64 `json:"initial_eval_accuracy"`
}

// Prepare loads the base policy of model.path (or, when run has
// checkpoints, the latest one), initialises the head from the seed and
// tokenises the pairs. It writes nothing, so bad input fails before a run
// directory exists.
func Prepare(run *checkpoints.Run, job *configs.Job, train, eval []Pair) (*Session, error) {
	t := job.Train
	if len(train) == 0 || len(eval) == 0 {
		return nil, fmt.Errorf("data: %d training and %d held-out pairs; both must be non-empty", len(train), len(eval))
	}
	if t.BatchSize > len(train) {
		return nil, fmt.Errorf("train.batch_size: %d is more than the %d training pairs", t.BatchSize, len(train))
	}
	var latest *checkpoints.Checkpoint
	if run != nil {
		if err := run.CleanTemp(); err != nil {
			return nil, err
		}
		var err error
		if latest, err = run.Latest(); err != nil {
			return nil, err
		}
	}
	s := &Session{job: job}
	var err error
	if latest != nil {
		s.model, err = Load(latest.Dir)
	} else {
		s.model, err = newFromBase(job)
	}
	if err != nil {
		return nil, err
	}
	if s.train, err = s.encode(train, "data.train"); err != nil {
		return nil, err
	}
	if s.eval, err = s.encode(eval, "held-out pairs"); err != nil {
		return nil, err
	}
	c := s.model.Backbone.Config
	s.sched = policy.Schedule{Kind: t.Schedule, LR: t.LR, WarmupSteps: t.WarmupSteps, TotalSteps: t.Steps, MinRatio: t.MinLRRatio}
	if err := s.sched.Validate(); err != nil {
		return nil, err
	}
	s.order = newBatchOrder(job.Seed, len(s.train))
	s.headGrad = make([]float32, len(s.model.Head))
	s.headOpt = newHeadAdam(c.Hidden, t)
	if !job.RM.FreezeBackbone {
		s.grads = policy.NewParams[float32](c)
		s.opt = policy.NewAdamW(c, t.Beta1, t.Beta2, t.Eps, t.WeightDecay)
		s.model.ws = policy.NewWorkspace[float32](t.Recompute)
	}
	if latest != nil {
		if err := s.restore(latest.Dir); err != nil {
			return nil, err
		}
		return s, nil
	}
	ev, err := s.Evaluate()
	if err != nil {
		return nil, err
	}
	s.initialEvalAccuracy = ev.Accuracy
	slog.Info("reward model", "train_pairs", len(s.train), "eval_pairs", len(s.eval), "sources", sources(s.train),
		"initial_eval_accuracy", ev.Accuracy, "freeze_backbone", job.RM.FreezeBackbone)
	return s, nil
}

// Model is the reward model being trained (its weights change with Run).
func (s *Session) Model() *Model { return s.model }

// newFromBase loads the base policy of model.path with its tokenizer and
// draws the head from the seed: w ~ N(0, 1/d), so the initial rewards have
// about unit scale over unit-RMS hidden states, and b = 0.
func newFromBase(job *configs.Job) (*Model, error) {
	dir := job.Model.Path
	if dir == "" {
		return nil, fmt.Errorf("model.path: rft rm train starts from the base policy's model directory; give model.path")
	}
	_, params, err := policy.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.Load(filepath.Join(dir, tokenizerFile))
	if err != nil {
		return nil, err
	}
	backbone, err := policy.NewModel(params)
	if err != nil {
		return nil, err
	}
	c := params.Config
	eos, err := EOSOf(c, tok)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	head := make([]float32, c.Hidden+1)
	rng := rand.New(rand.NewPCG(job.Seed, 0x7e_a4d))
	for i := range c.Hidden {
		head[i] = float32(rng.NormFloat64() / math.Sqrt(float64(c.Hidden)))
	}
	var chat *tokenizer.ChatTemplate
	if job.RM.Input == "chat" {
		tmpl, err := tokenizer.LoadChatTemplate(dir)
		if err != nil {
			return nil, err
		}
		if tmpl.Warning != "" {
			slog.Warn(tmpl.Warning)
		}
		chat = &tmpl
	}
	m, err := New(backbone, head, tok, chat, eos, min(job.Train.SeqLen, c.MaxPositions))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}

// encode tokenises pairs; what names them in errors.
func (s *Session) encode(ps []Pair, what string) ([]encPair, error) {
	out := make([]encPair, len(ps))
	for i, p := range ps {
		out[i] = encPair{s.model.Encode(p.Prompt, p.Chosen), s.model.Encode(p.Prompt, p.Rejected), p.Source}
		for _, ids := range [][]int{out[i].chosen, out[i].rejected} {
			for _, id := range ids {
				if id >= s.model.Backbone.Config.VocabSize {
					return nil, fmt.Errorf("%s: pair %d: token id %d beyond the model's vocabulary %d (tokenizer and model disagree)",
						what, i+1, id, s.model.Backbone.Config.VocabSize)
				}
			}
		}
	}
	return out, nil
}

// batch packs pairs rows as sequences chosen, rejected, chosen, ...
func (s *Session) batch(ps []encPair, rows []int) policy.Batch {
	var b policy.Batch
	for _, r := range rows {
		b.Tokens = append(append(b.Tokens, ps[r].chosen...), ps[r].rejected...)
		b.Lens = append(b.Lens, len(ps[r].chosen), len(ps[r].rejected))
	}
	return b
}

// batchOrder picks the pairs of each step: epochs are seeded permutations,
// so the rows of step s depend only on (seed, s) and resume needs no cursor.
type batchOrder struct {
	seed  uint64
	n     int
	epoch int
	perm  []int
}

func newBatchOrder(seed uint64, n int) *batchOrder { return &batchOrder{seed: seed, n: n, epoch: -1} }

func (o *batchOrder) rows(step, b int) []int {
	idx := make([]int, b)
	for j := range idx {
		k := step*b + j
		if e := k / o.n; e != o.epoch {
			o.epoch, o.perm = e, rand.New(rand.NewPCG(o.seed, uint64(e)+0xb7)).Perm(o.n)
		}
		idx[j] = o.perm[k%o.n]
	}
	return idx
}

// headAdam is AdamW for the head's d+1 values, with policy.AdamW's update
// (float32 moments, bias correction); w is decayed as a matrix (HF stores it
// [1, d]), b is not.
type headAdam struct {
	beta1, beta2, eps, wd float64
	d, step               int
	m, v                  []float32
}

func newHeadAdam(d int, t configs.Train) *headAdam {
	return &headAdam{beta1: t.Beta1, beta2: t.Beta2, eps: t.Eps, wd: t.WeightDecay, d: d,
		m: make([]float32, d+1), v: make([]float32, d+1)}
}

func (o *headAdam) update(p, g []float32, lr float64) {
	o.step++
	b1, b2 := float32(o.beta1), float32(o.beta2)
	c1 := float32(1 - math.Pow(o.beta1, float64(o.step)))
	c2 := float32(1 - math.Pow(o.beta2, float64(o.step)))
	eps, flr := float32(o.eps), float32(lr)
	for i := range p {
		keep := float32(1)
		if i < o.d {
			keep = float32(1 - lr*o.wd)
		}
		o.m[i] = b1*o.m[i] + (1-b1)*g[i]
		o.v[i] = b2*o.v[i] + (1-b2)*g[i]*g[i]
		mh, vh := o.m[i]/c1, o.v[i]/c2
		p[i] = p[i]*keep - flr*mh/(float32(math.Sqrt(float64(vh)))+eps)
	}
}

// save writes a checkpoint: the reward-model directory (HF model,
// tokenizer, head), the base directory's other tokenizer files, and the
// optimizer and trainer state that make resume exact.
func (s *Session) save(run *checkpoints.Run) error {
	return run.Save(s.step, s.job.Checkpoint.Keep, func(dir string) error {
		if err := s.model.Save(dir); err != nil {
			return err
		}
		if p := s.job.Model.Path; p != "" {
			if err := policy.CopyTokenizerFiles(p, dir); err != nil {
				return err
			}
		}
		ts := []*safetensors.Tensor{
			safetensors.F32Tensor("head.m", []int{len(s.headOpt.m)}, s.headOpt.m),
			safetensors.F32Tensor("head.v", []int{len(s.headOpt.v)}, s.headOpt.v),
		}
		st := trainerState{Step: s.step, HeadAdamStep: s.headOpt.step, Seed: s.job.Seed, InitialEvalAccuracy: s.initialEvalAccuracy}
		if s.opt != nil {
			ts = append(ts, safetensors.F32Tensor("adam.m", []int{len(s.opt.M)}, s.opt.M),
				safetensors.F32Tensor("adam.v", []int{len(s.opt.V)}, s.opt.V))
			st.AdamStep = s.opt.Step
		}
		if err := safetensors.Write(filepath.Join(dir, optimizerFile), ts, nil); err != nil {
			return err
		}
		data, _ := json.Marshal(st)
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
	path := filepath.Join(dir, optimizerFile)
	f, err := safetensors.Read(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	want := map[string][]float32{"head.m": s.headOpt.m, "head.v": s.headOpt.v}
	if s.opt != nil {
		want["adam.m"], want["adam.v"] = s.opt.M, s.opt.V
	}
	for name, dst := range want {
		t, ok := f.Tensors[name]
		if !ok {
			return fmt.Errorf("resume: %s lacks %s (was rm.freeze_backbone changed?)", path, name)
		}
		if err := t.Float32sInto(dst); err != nil {
			return fmt.Errorf("resume: %s: %w", path, err)
		}
	}
	s.step, s.headOpt.step, s.initialEvalAccuracy = st.Step, st.HeadAdamStep, st.InitialEvalAccuracy
	if s.opt != nil {
		s.opt.Step = st.AdamStep
	}
	return nil
}

// LoadPairs reads the training pairs of data.train and the held-out pairs of
// data.eval, or else the last data.eval_fraction of data.train. (Generated
// pairs, such as tailworld's, are the command's business.)
func LoadPairs(job *configs.Job) (train, eval []Pair, err error) {
	d := job.Data
	if d.Train == "" {
		return nil, nil, fmt.Errorf("data.train: a pairs file {\"prompt\",\"chosen\",\"rejected\"} is required")
	}
	if train, err = ReadPairs(d.Train); err != nil {
		return nil, nil, err
	}
	if d.Eval != "" {
		eval, err = ReadPairs(d.Eval)
		return train, eval, err
	}
	nEval := int(float64(len(train)) * d.EvalFraction)
	if nEval < 1 || nEval >= len(train) {
		return nil, nil, fmt.Errorf("data.eval_fraction: %g of %d pairs leaves no held-out or no training pair; give data.eval", d.EvalFraction, len(train))
	}
	return train[:len(train)-nEval], train[len(train)-nEval:], nil
}
