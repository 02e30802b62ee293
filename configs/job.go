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
	Reward     Reward     `yaml:"reward"`
	Eval       Eval       `yaml:"eval"`
	Demo       Demo       `yaml:"demo"`
	RM         RM         `yaml:"rm"`
	Replicate  Replicate  `yaml:"replicate"`
}

// Demo sizes the tailworld loop of `rft demo` (the GRPO part uses the other
// sections).
type Demo struct {
	Base         string `yaml:"base"`          // base policy directory (make base)
	WorldSeed    uint64 `yaml:"world_seed"`    // seed of the tailworld world
	TrainPrompts int    `yaml:"train_prompts"` // training prompts (each with a rubric)
	EvalPrompts  int    `yaml:"eval_prompts"`  // held-out prompts for win-rates
	PoolSize     int    `yaml:"pool_size"`     // candidates per prompt (great & diverse responders)
	Iterations   int    `yaml:"iterations"`    // RTD iterations per rubric
	Pool         string `yaml:"pool"`          // good, great, great-diverse or null
	// Reward is what GRPO maximises: rubric (the refined rubrics through the
	// gullible verifier, the demo itself), initial (the unrefined rubrics:
	// what refinement adds) or oracle (tailworld's r*, a reward no real task
	// has: the ceiling, which says whether the reward or the policy limits
	// the gain).
	Reward string `yaml:"reward"`
}

// Model says where the policy starts: a Hugging Face directory, or a size
// preset initialised from the seed.
type Model struct {
	Path string `yaml:"path"` // HF directory (config.json, model.safetensors, tokenizer.json)
	Init string `yaml:"init"` // size preset when path is empty: tiny, demo or 124m
	// Arch is the preset's architecture: qwen3 (QK-norm) or llama (none).
	// Without QK-norm attention can sharpen from the first step, and small
	// models learn to copy from their prompt sooner (docs/BASE.md).
	Arch string `yaml:"arch"`
	// TieEmbeddings shares the input embedding with the output head in a
	// preset. Copying a token from the prompt then needs no learned map from
	// each token's embedding to its logit: attention moves the embedding, and
	// the shared matrix reads it back as the same token, for rare tokens
	// (names) as well as frequent ones (docs/BASE.md).
	TieEmbeddings bool   `yaml:"tie_embeddings"`
	Tokenizer     string `yaml:"tokenizer"`  // tokenizer.json for a model initialised from a preset; empty: train one on data.train
	VocabSize     int    `yaml:"vocab_size"` // vocabulary of a tokenizer trained on data.train
}

// Data names the job's input files.
type Data struct {
	Train        string  `yaml:"train"`         // text or JSONL file, or synthetic:facts (generated from seed)
	Eval         string  `yaml:"eval"`          // held-out file; empty: the last eval_fraction of train
	EvalFraction float64 `yaml:"eval_fraction"` // share of train held out when eval is empty
	Docs         int     `yaml:"docs"`          // documents generated for a synthetic corpus
	// PromptLoss also learns the prompt (and non-assistant turns) of SFT
	// examples, as TRL's completion_only_loss=false does; off by default.
	PromptLoss bool `yaml:"prompt_loss"`
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
	// Objective options (package grpo documents each with its paper).
	DualClip             float64 `yaml:"dual_clip"`              // 0: off; else c > 1 (dual-clip PPO)
	ImportanceLevel      string  `yaml:"importance_level"`       // token, or sequence (GSPO)
	KLIn                 string  `yaml:"kl_in"`                  // loss, or reward
	KLImportanceWeighted bool    `yaml:"kl_importance_weighted"` // TRL's use_bias_correction_kl
	AdvantageEps         float64 `yaml:"advantage_eps"`          // added to the std before dividing
	RecomputeOldLogprobs bool    `yaml:"recompute_old_logprobs"` // π_old from the trainer instead of the sampler
	ISCorrection         string  `yaml:"is_correction"`          // "", token_truncate, token_mask, sequence_truncate, sequence_mask
	ISCap                float64 `yaml:"is_cap"`                 // C of the truncated/masked importance-sampling correction
	MaskTruncated        bool    `yaml:"mask_truncated"`         // completions cut at max_tokens carry no loss
	OverlongCache        int     `yaml:"overlong_cache"`         // DAPO soft overlong penalty over the last N tokens (0: off)
	DynamicSampling      bool    `yaml:"dynamic_sampling"`       // drop groups whose rewards are all equal and refill
	PromptsPerStep       int     `yaml:"prompts_per_step"`       // P: prompts sampled per step (G completions each)
}

// Reward is what scores completions during training: exactly one of a
// rubric file with a verifier, an HTTP endpoint or a command. A task with a
// ground truth may also score the same rollouts for metrics (gold).
type Reward struct {
	Rubrics   string  `yaml:"rubrics"`   // rubric JSONL, one per prompt id
	Verifier  string  `yaml:"verifier"`  // model spec of the verifier (e.g. sim, openai:gpt-4.1-mini)
	Mode      string  `yaml:"mode"`      // batched, per-criterion or chunk:K
	Aggregate string  `yaml:"aggregate"` // mean, points or implicit
	HTTP      string  `yaml:"http"`      // URL of an external reward
	Command   string  `yaml:"command"`   // command of an external reward (JSON in, JSON out)
	Cache     string  `yaml:"cache"`     // verification cache directory ("" : the run's)
	Gold      string  `yaml:"gold"`      // a task whose ground truth also scores rollouts, for metrics only (tailworld)
	Scale     float64 `yaml:"scale"`     // multiplies the reward
}

// Eval is held-out evaluation during and after training.
type Eval struct {
	Judge     string `yaml:"judge"`     // judge spec; "" disables evaluation during training
	Reference string `yaml:"reference"` // reference responses JSONL {"prompt_id","response"}
	Every     int    `yaml:"every"`     // steps between evaluations (0: only at the end)
	Prompts   int    `yaml:"prompts"`   // held-out prompts evaluated (0: all)
	KeepBest  bool   `yaml:"keep_best"` // keep the checkpoint with the best held-out win-rate
}

// Rollout is how completions are sampled.
type Rollout struct {
	Temperature float64 `yaml:"temperature"`
	TopP        float64 `yaml:"top_p"`
	TopK        int     `yaml:"top_k"`
	MaxTokens   int     `yaml:"max_tokens"`
	Policy      string  `yaml:"policy"`      // model spec BACKEND:MODEL; empty: local:<model.path>
	Concurrency int     `yaml:"concurrency"` // prompts in flight, and requests in flight per endpoint
}

// RM is the Bradley-Terry reward model of `rft rm train`. Its pairs are
// data.train: a JSONL file of {"prompt","chosen","rejected"}, or
// tailworld:on, tailworld:off or tailworld:on+off (generated from the seed
// and labelled by the oracle judge); held-out pairs are data.eval, else the
// last data.eval_fraction of a file, or for tailworld pairs of eval prompts.
type RM struct {
	Input          string `yaml:"input"`           // chat (prompt as a user turn, as rollouts see it) or plain (prompt, completion, EOS)
	FreezeBackbone bool   `yaml:"freeze_backbone"` // train the head only
	Prompts        int    `yaml:"prompts"`         // tailworld pairs: train prompts drawn
	EvalPrompts    int    `yaml:"eval_prompts"`    // tailworld pairs: eval-split prompts for held-out accuracy
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
		Model: Model{Init: "tiny", Arch: "qwen3", VocabSize: 512},
		Data:  Data{EvalFraction: 0.05, Docs: 4000},
		Train: Train{
			Steps: 100, LR: 1e-5, Schedule: "constant", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
			GradClip: 1.0, BatchSize: 8, GradAccum: 1, SeqLen: 256, NaNTolerance: 3, EvalEvery: 50,
		},
		GRPO: GRPO{
			GroupSize: 16, Beta: 0.01, KLEstimator: "k3", LossType: "grpo", ScaleRewards: "group",
			EpsilonLow: 0.2, EpsilonHigh: 0.2, Mu: 1, ImportanceLevel: "token", KLIn: "loss", AdvantageEps: 1e-4,
			ISCap: 2, PromptsPerStep: 4,
		},
		Reward: Reward{Mode: "batched", Aggregate: "mean", Scale: 1},
		Demo: Demo{Base: "assets/tailworld-base", WorldSeed: 1, TrainPrompts: 64, EvalPrompts: 200, PoolSize: 16,
			Iterations: 4, Pool: "great-diverse", Reward: "rubric"},
		Rollout:    Rollout{Temperature: 1.0, TopP: 1.0, MaxTokens: 256, Concurrency: 8},
		Checkpoint: Checkpoint{Every: 50},
		RM:         RM{Input: "chat", Prompts: 400, EvalPrompts: 100},
		Replicate:  defaultReplicate(),
	}
}
