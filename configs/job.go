// Package configs holds rft's YAML job files and their loader: strict
// decoding (an unknown key names file, line and key), defaults, --set
// overrides and validation. It knows nothing about how jobs run.
package configs

// Job is the whole configuration of a job. Every command reads the sections
// it needs; the resolved Job is written into the run directory.
type Job struct {
	Seed       uint64     `yaml:"seed"`
	Model      Model      `yaml:"model"`
	Data       Data       `yaml:"data"`
	Train      Train      `yaml:"train"`
	GRPO       GRPO       `yaml:"grpo"`
	Rollout    Rollout    `yaml:"rollout"`
	Checkpoint Checkpoint `yaml:"checkpoint"`
}

// Model says where the policy starts: a Hugging Face directory, or a size
// preset initialised from the seed.
type Model struct {
	Path      string `yaml:"path"`       // HF directory (config.json, model.safetensors, tokenizer.json)
	Init      string `yaml:"init"`       // size preset when path is empty: tiny, demo or 124m
	Tokenizer string `yaml:"tokenizer"`  // tokenizer.json for a model initialised from a preset; empty: train one on data.train
	VocabSize int    `yaml:"vocab_size"` // vocabulary of a tokenizer trained on data.train
}

// Data names the job's input files.
type Data struct {
	Train        string  `yaml:"train"`         // text or JSONL file, or synthetic:facts (generated from seed)
	Eval         string  `yaml:"eval"`          // held-out file; empty: the last eval_fraction of train
	EvalFraction float64 `yaml:"eval_fraction"` // share of train held out when eval is empty
	Docs         int     `yaml:"docs"`          // documents generated for a synthetic corpus
}

// Train is the optimizer and schedule.
type Train struct {
	Steps        int     `yaml:"steps"`
	LR           float64 `yaml:"lr"`
	Schedule     string  `yaml:"schedule"`     // constant, linear or cosine (after warmup)
	WarmupSteps  int     `yaml:"warmup_steps"` // linear warmup from 0
	MinLRRatio   float64 `yaml:"min_lr_ratio"` // floor of linear/cosine decay, as a fraction of lr
	WeightDecay  float64 `yaml:"weight_decay"` // decoupled (AdamW)
	Beta1        float64 `yaml:"beta1"`
	Beta2        float64 `yaml:"beta2"`
	Eps          float64 `yaml:"eps"`
	GradClip     float64 `yaml:"grad_clip"`  // global norm; 0 disables
	BatchSize    int     `yaml:"batch_size"` // sequences per optimizer step
	GradAccum    int     `yaml:"grad_accum"` // micro-batches per step
	SeqLen       int     `yaml:"seq_len"`
	Recompute    bool    `yaml:"recompute"` // recompute activations in backward to save memory
	NaNTolerance int     `yaml:"nan_tolerance"`
	EvalEvery    int     `yaml:"eval_every"` // steps between held-out evaluations (0: only at the end)
}

// GRPO is the policy-gradient objective (see package grpo for the papers).
type GRPO struct {
	GroupSize    int     `yaml:"group_size"`
	Beta         float64 `yaml:"beta"`          // KL coefficient
	KLEstimator  string  `yaml:"kl_estimator"`  // k1, k2 or k3
	LossType     string  `yaml:"loss_type"`     // grpo, bnpo, dr_grpo or dapo
	ScaleRewards string  `yaml:"scale_rewards"` // group, batch or none
	EpsilonLow   float64 `yaml:"epsilon_low"`
	EpsilonHigh  float64 `yaml:"epsilon_high"`
	Mu           int     `yaml:"mu"` // inner iterations per batch of rollouts
}

// Rollout is how completions are sampled.
type Rollout struct {
	Temperature float64 `yaml:"temperature"`
	TopP        float64 `yaml:"top_p"`
	TopK        int     `yaml:"top_k"`
	MaxTokens   int     `yaml:"max_tokens"`
}

// Checkpoint is how often checkpoints are written and how many are kept.
type Checkpoint struct {
	Every int `yaml:"every"`
	Keep  int `yaml:"keep"` // 0 keeps all
}

// Defaults are the values a key takes when no file or --set gives it. They
// follow the paper's training settings where it gives them (PAPER.md).
func Defaults() Job {
	return Job{
		Seed:  1,
		Model: Model{Init: "tiny", VocabSize: 512},
		Data:  Data{EvalFraction: 0.05, Docs: 4000},
		Train: Train{
			Steps: 100, LR: 1e-5, Schedule: "constant", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
			GradClip: 1.0, BatchSize: 8, GradAccum: 1, SeqLen: 256, NaNTolerance: 3, EvalEvery: 50,
		},
		GRPO: GRPO{
			GroupSize: 16, Beta: 0.01, KLEstimator: "k3", LossType: "grpo", ScaleRewards: "group",
			EpsilonLow: 0.2, EpsilonHigh: 0.2, Mu: 1,
		},
		Rollout:    Rollout{Temperature: 1.0, TopP: 1.0, MaxTokens: 256},
		Checkpoint: Checkpoint{Every: 50},
	}
}
