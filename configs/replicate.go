package configs

import (
	"fmt"
	"math"
)

// Replicate is `rft replicate`: the paper's comparison on tailworld. Every
// arm trains with the job's shared sections (seed aside: replicate.seeds),
// so the arms differ only in their reward (or, for SFT, in their data).
type Replicate struct {
	Base         string   `yaml:"base"`           // base policy directory (make base)
	WorldSeed    uint64   `yaml:"world_seed"`     // seed of the tailworld world
	Arms         []string `yaml:"arms,omitempty"` // arm names (docs/REPLICATE.md lists them)
	Seeds        []uint64 `yaml:"seeds"`          // each arm runs once per seed
	TrainPrompts int      `yaml:"train_prompts"`  // training prompts (each with a rubric)
	EvalPrompts  int      `yaml:"eval_prompts"`   // held-out prompts of every win-rate
	ProbePrompts int      `yaml:"probe_prompts"`  // prompts of the reward-accuracy probe (two pairs each)
	// Overrides are per-arm "key=value" settings of the arm's own
	// preparation (rm.*, reward.mode, ...); they may not change what the arms
	// must share (seed, train, grpo, rollout, eval, checkpoint).
	Overrides  map[string][]string `yaml:"overrides,omitempty"`
	SFT        Stage               `yaml:"sft"`        // the SFT arm's fine-tuning
	RM         Stage               `yaml:"rm"`         // the Bradley-Terry arms' reward-model training (with the rm section)
	Mechanism1 Mechanism1          `yaml:"mechanism1"` // the top-10% vs bottom-90% error control
}

// Stage is the optimizer schedule of a preparation stage (SFT, reward
// model), kept apart from train.*, which is GRPO's and shared by the arms.
type Stage struct {
	Steps       int     `yaml:"steps"`
	LR          float64 `yaml:"lr"`
	BatchSize   int     `yaml:"batch_size"`
	GradAccum   int     `yaml:"grad_accum"`
	WarmupSteps int     `yaml:"warmup_steps"`
	SeqLen      int     `yaml:"seq_len"`
	EvalEvery   int     `yaml:"eval_every"` // SFT: checkpoints evaluated (win-rate) every N steps; 0: at the end
	Responses   int     `yaml:"responses"`  // SFT: great responses per training prompt (the paper: 2)
}

// Mechanism1 sizes the control of PAPER.md's claim: the same mean squared
// error added to r* above the base policy's (1 − top_fraction) quantile or
// below it.
type Mechanism1 struct {
	Error       float64 `yaml:"error"`        // root-mean-square error over the whole base distribution
	TopFraction float64 `yaml:"top_fraction"` // the paper: 0.1
	Samples     int     `yaml:"samples"`      // base samples per training prompt that locate the quantile
}

func defaultReplicate() Replicate {
	return Replicate{
		Base: "assets/tailworld-base", WorldSeed: 1, Seeds: []uint64{1}, TrainPrompts: 32, EvalPrompts: 64, ProbePrompts: 64,
		SFT:        Stage{Steps: 60, LR: 1e-4, BatchSize: 16, GradAccum: 2, WarmupSteps: 5, SeqLen: 384, EvalEvery: 20, Responses: 2},
		RM:         Stage{Steps: 60, LR: 1e-4, BatchSize: 16, GradAccum: 2, WarmupSteps: 5, SeqLen: 384},
		Mechanism1: Mechanism1{Error: 0.1, TopFraction: 0.1, Samples: 2},
	}
}

// validateReplicate adds the replicate section's problems. Arm names are
// checked by the replicate package (it owns the catalogue).
func (j *Job) validateReplicate(bad func(key, format string, args ...any)) {
	r := j.Replicate
	if len(r.Seeds) == 0 {
		bad("replicate.seeds", "give at least one seed")
	}
	seen := map[uint64]bool{}
	for i, s := range r.Seeds {
		if seen[s] {
			bad(fmt.Sprintf("replicate.seeds[%d]", i), "seed %d is listed twice", s)
		}
		seen[s] = true
	}
	for _, c := range []struct {
		key string
		v   int
	}{{"replicate.train_prompts", r.TrainPrompts}, {"replicate.eval_prompts", r.EvalPrompts}, {"replicate.probe_prompts", r.ProbePrompts}} {
		if c.v < 1 {
			bad(c.key, "must be at least 1, got %d", c.v)
		}
	}
	for name, st := range map[string]Stage{"replicate.sft": r.SFT, "replicate.rm": r.RM} {
		if st.Steps < 1 {
			bad(name+".steps", "must be at least 1, got %d", st.Steps)
		}
		if !(st.LR > 0) || math.IsInf(st.LR, 0) {
			bad(name+".lr", "must be a positive number, got %g", st.LR)
		}
		if st.BatchSize < 1 || st.GradAccum < 1 || st.BatchSize%st.GradAccum != 0 {
			bad(name+".batch_size", "must be at least 1 and a multiple of grad_accum (%d), got %d", st.GradAccum, st.BatchSize)
		}
		if st.WarmupSteps < 0 || st.WarmupSteps > st.Steps {
			bad(name+".warmup_steps", "must be between 0 and steps (%d), got %d", st.Steps, st.WarmupSteps)
		}
		if st.SeqLen < 2 {
			bad(name+".seq_len", "must be at least 2, got %d", st.SeqLen)
		}
		if st.EvalEvery < 0 {
			bad(name+".eval_every", "must be non-negative, got %d", st.EvalEvery)
		}
	}
	if r.SFT.Responses < 1 {
		bad("replicate.sft.responses", "must be at least 1, got %d", r.SFT.Responses)
	}
	m := r.Mechanism1
	if !(m.Error >= 0) || math.IsInf(m.Error, 0) {
		bad("replicate.mechanism1.error", "must be non-negative, got %g", m.Error)
	}
	if !(m.TopFraction > 0 && m.TopFraction < 1) {
		bad("replicate.mechanism1.top_fraction", "must be in (0, 1), got %g", m.TopFraction)
	}
	if m.Samples < 1 {
		bad("replicate.mechanism1.samples", "must be at least 1, got %d", m.Samples)
	}
}
