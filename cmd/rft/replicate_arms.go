package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/grpo"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/pretrain"
	"github.com/rft-dev/rft/replicate"
	"github.com/rft-dev/rft/reward"
	"github.com/rft-dev/rft/reward/bt"
	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/rft-dev/rft/tasks/tailworld/oracle"
	"github.com/rft-dev/rft/tasks/tailworld/sim"
)

// armRunner runs replicate's arms on tailworld with the demo's pieces:
// candidate pools, the simulated proposer and verifier, RTD, `rft rm
// train`'s pairs and trainer, pretrain's SFT and grpo.
type armRunner struct {
	job        *configs.Job
	world      *tailworld.World
	train      []tailworld.Prompt // GRPO's prompts come first; rubrics cover the probe's too
	probe      []eval.ProbePair
	artifacts  []artifactPair
	evalPath   string
	refsPath   string
	progress   io.Writer
	trainCount int
}

// newArmRunner writes the shared data (held-out prompts and references)
// and draws the probe's pairs, the same for every arm and seed.
func newArmRunner(ctx context.Context, job *configs.Job, out string, progress io.Writer) (*armRunner, error) {
	r := job.Replicate
	w := tailworld.NewWorld(r.WorldSeed, tailworld.DefaultEntities)
	ar := &armRunner{job: job, world: w, progress: progress, trainCount: r.TrainPrompts,
		evalPath: filepath.Join(out, "data", "eval_prompts.jsonl"), refsPath: filepath.Join(out, "data", "references.jsonl")}
	ar.train = w.Prompts(tailworld.Train, 0, max(r.TrainPrompts, r.ProbePrompts))
	evalRecs := w.PromptRecords(tailworld.Eval, 0, r.EvalPrompts)
	refs := make([]map[string]string, len(evalRecs))
	for i, p := range evalRecs {
		ref, err := w.ReferenceResponse(p.Prompt)
		if err != nil {
			return nil, err
		}
		refs[i] = map[string]string{"prompt_id": p.ID, "response": ref}
	}
	if err := os.MkdirAll(filepath.Join(out, "data"), 0o755); err != nil {
		return nil, err
	}
	if err := writeJSONL(ar.evalPath, asChat(evalRecs)); err != nil {
		return nil, err
	}
	if err := writeJSONL(ar.refsPath, refs); err != nil {
		return nil, err
	}
	probePrompts := ar.train[:r.ProbePrompts]
	var err error
	if ar.probe, err = tailworldProbePairs(w, probePrompts); err != nil {
		return nil, err
	}
	if ar.artifacts, err = tailworldArtifactPairs(ctx, w, probePrompts); err != nil {
		return nil, err
	}
	return ar, nil
}

// armJob is the shared job with the arm's seed and its overrides.
func (r *armRunner) armJob(arm replicate.Arm, seed uint64) (*configs.Job, error) {
	j := *r.job
	j.Seed = seed
	if err := j.Apply(r.job.Replicate.Overrides[arm.Name]); err != nil {
		return nil, fmt.Errorf("replicate.overrides.%s: %w", arm.Name, err)
	}
	return &j, nil
}

// RunArm implements replicate.Runner.
func (r *armRunner) RunArm(ctx context.Context, arm replicate.Arm, seed uint64, dir string) error {
	job, err := r.armJob(arm, seed)
	if err != nil {
		return err
	}
	switch arm.Kind {
	case replicate.KindBase:
		return r.evalModel(ctx, job, job.Replicate.Base, 0, dir)
	case replicate.KindSFT:
		return r.runSFT(ctx, job, dir)
	case replicate.KindRubric:
		return r.runRubric(ctx, job, arm, dir)
	case replicate.KindBT:
		return r.runBT(ctx, job, arm, dir)
	case replicate.KindCorrupted:
		return r.runCorrupted(ctx, job, arm, dir)
	}
	return fmt.Errorf("arm %s: unknown kind %q", arm.Name, arm.Kind)
}

// curveRecorder is the held-out evaluator of an arm: the win-rate the
// trainer logs, plus every prompt's verdict in curve.jsonl for the paired
// comparisons of the report.
type curveRecorder struct {
	ev  *winRateEvaluator
	dir string
}

func (c *curveRecorder) Evaluate(ctx context.Context, p grpo.Policy, step int) (grpo.EvalResult, error) {
	v, texts, err := c.ev.verdictsWithTexts(ctx, p)
	if err != nil {
		return grpo.EvalResult{}, err
	}
	w := eval.Summarize(v, c.ev.seed)
	pt := replicate.EvalPoint{Step: step, WinRate: w.WinRate, CILow: w.CILow, CIHigh: w.CIHigh, N: w.N, Verdicts: v, ArtifactRate: artifactRate(texts)}
	if err := replicate.AppendCurve(c.dir, pt); err != nil {
		return grpo.EvalResult{}, err
	}
	return grpo.EvalResult{Score: w.WinRate, Fields: map[string]any{
		"win_rate": w.WinRate, "wins": w.Wins, "ties": w.Ties, "losses": w.Losses, "n": w.N, "ci_low": w.CILow, "ci_high": w.CIHigh,
		"artifact_rate": pt.ArtifactRate,
	}}, nil
}

// withEval points a job at the shared held-out set, judged by the oracle.
func (r *armRunner) withEval(job *configs.Job) {
	job.Data.Eval, job.Eval.Reference, job.Eval.Judge = r.evalPath, r.refsPath, "tailworld"
}

// evalModel evaluates one model directory as the arm's evaluation at step,
// unless curve.jsonl has it already.
func (r *armRunner) evalModel(ctx context.Context, job *configs.Job, modelDir string, step int, dir string) error {
	have, err := replicate.CurveSteps(dir)
	if err != nil || have[step] {
		return err
	}
	j := *job
	r.withEval(&j)
	ev, err := evalOptions(&j, nil)
	if err != nil {
		return err
	}
	pol, err := openLocalPolicy(modelDir, j.Rollout.MaxTokens)
	if err != nil {
		return err
	}
	_, err = (&curveRecorder{ev: ev, dir: dir}).Evaluate(ctx, pol, step)
	return err
}

// trainGRPO runs (or resumes) GRPO in dir/train with the given reward on
// the arm's prompts; the gold reward and the held-out evaluation are the
// same for every arm.
func (r *armRunner) trainGRPO(ctx context.Context, job *configs.Job, dir string, opts grpo.Options) error {
	trainDir := filepath.Join(dir, "train")
	if _, err := os.Stat(filepath.Join(trainDir, "summary.json")); err == nil {
		return nil // trained; its evaluations are in curve.jsonl
	}
	var run *checkpoints.Run
	if _, err := os.Stat(filepath.Join(trainDir, "config.yaml")); err == nil {
		var err error
		if run, job, err = checkpoints.Open(trainDir); err != nil {
			return err
		}
		step := 0
		if latest, err := run.Latest(); err != nil {
			return err
		} else if latest != nil {
			step = latest.Step
		}
		// Evaluations after the last checkpoint are redone by the resumed run.
		if err := replicate.TruncateCurve(dir, step); err != nil {
			return err
		}
	} else {
		j := *job
		j.Model.Path = j.Replicate.Base
		j.Data.Train = filepath.Join(dir, "prompts.jsonl")
		j.Reward.Gold = "tailworld"
		r.withEval(&j)
		if err := writeJSONL(j.Data.Train, asChat(records(r.train[:r.trainCount]))); err != nil {
			return err
		}
		job = &j
		if err := job.Validate(); err != nil {
			return err
		}
		if err := replicate.TruncateCurve(dir, 0); err != nil {
			return err
		}
		var err error
		if run, err = checkpoints.Create(trainDir, job); err != nil {
			return err
		}
	}
	ev, err := evalOptions(job, nil)
	if err != nil {
		return err
	}
	opts.Gold, opts.Evaluator = oracle.Reward{}, &curveRecorder{ev: ev, dir: dir}
	s, err := grpo.Prepare(run, job, opts)
	if err != nil {
		return err
	}
	_, err = s.Run(ctx, run, grpo.RunOptions{Progress: r.progress})
	return err
}

func records(ps []tailworld.Prompt) []tailworld.PromptRecord {
	out := make([]tailworld.PromptRecord, len(ps))
	for i, p := range ps {
		out[i] = tailworld.PromptRecord{ID: p.ID, Prompt: p.Text}
	}
	return out
}

// runRubric: initial rubrics from the prompts alone, RTD on the arm's pool,
// the probe, then GRPO on the rubric reward (the gullible sim verifier).
func (r *armRunner) runRubric(ctx context.Context, job *configs.Job, arm replicate.Arm, dir string) error {
	proposer := sim.NewProposer(job.Seed)
	var rprompts []rubric.Prompt
	for _, p := range r.train {
		rprompts = append(rprompts, rubric.Prompt{ID: p.ID, Prompt: p.Text})
	}
	grader := &rubric.Grader{Verifier: sim.NewVerifier(job.Seed, 0), Mode: rubric.Mode(job.Reward.Mode),
		Policy: rubric.DefaultRetryPolicy(), Fingerprint: "sim"}
	refiner := &rubric.Refiner{Proposer: proposer, ProposerName: "sim", Grader: grader, Iterations: arm.Pairs,
		Pairs: rubric.PairTop2, ExcludeUsed: arm.Pairs > 1}
	var initial, refined []*rubric.Rubric
	for i, g := range rubric.Generate(ctx, proposer, rprompts, "sim", false, 8) {
		if g.Err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue // the prompt is dropped, as in the demo
		}
		initial = append(initial, g.Rubric)
		rb := g.Rubric
		if arm.Pairs > 0 {
			pool, err := r.world.CandidatePool(r.train[i], arm.Pool, arm.PoolSize())
			if err != nil {
				return err
			}
			cands := make([]rubric.Candidate, len(pool))
			for j, c := range pool {
				cands[j] = rubric.Candidate{PromptID: c.PromptID, Response: c.Response, Source: c.Source, ID: strconv.Itoa(j), Index: j}
			}
			if rb, err = refiner.Refine(ctx, g.Rubric, cands); err != nil && ctx.Err() != nil {
				return err
			}
		}
		refined = append(refined, rb)
	}
	if len(refined) == 0 {
		return fmt.Errorf("the proposer wrote no rubric")
	}
	path := filepath.Join(dir, "rubrics.jsonl")
	if err := rubric.WriteJSONL(filepath.Join(dir, "rubrics_initial.jsonl"), initial); err != nil {
		return err
	}
	if err := rubric.WriteJSONL(path, refined); err != nil {
		return err
	}
	res, err := eval.Probe(ctx, r.probe, reward.NewRubric(refined, grader), oracle.Judge{})
	if err != nil {
		return err
	}
	if err := replicate.WriteProbe(dir, res); err != nil {
		return err
	}
	// Prompts whose proposer failed are not trained on.
	have := map[string]bool{}
	for _, rb := range refined {
		have[rb.PromptID] = true
	}
	j := *job
	j.Reward.Rubrics, j.Reward.Verifier, j.Reward.Cache = path, "sim", filepath.Join(dir, "verify-cache")
	train := r.train[:r.trainCount]
	kept := train[:0:0]
	for _, p := range train {
		if have[p.ID] {
			kept = append(kept, p)
		}
	}
	rr := *r
	rr.train, rr.trainCount = kept, len(kept)
	j.Data.Train = filepath.Join(dir, "prompts.jsonl")
	opts, closeFn, err := trainOptionsReward(&j, rr.train)
	if err != nil {
		return err
	}
	defer closeFn()
	return rr.trainGRPO(ctx, &j, dir, opts)
}

// trainOptionsReward builds the rubric reward of a job the way rft train
// does (verifier, cache), for prompts that are about to be written.
func trainOptionsReward(job *configs.Job, prompts []tailworld.Prompt) (grpo.Options, func(), error) {
	if err := writeJSONL(job.Data.Train, asChat(records(prompts))); err != nil {
		return grpo.Options{}, func() {}, err
	}
	j := *job
	j.Eval.Judge = "" // trainGRPO wires the evaluation
	opts, closeFn, err := trainOptions(&j, nil)
	return grpo.Options{Reward: opts.Reward}, closeFn, err
}

// runBT trains the arm's Bradley-Terry reward model (rft rm train's pairs
// and trainer, the replicate.rm schedule), probes it, measures its taste
// for artifacts, then runs GRPO on it.
func (r *armRunner) runBT(ctx context.Context, job *configs.Job, arm replicate.Arm, dir string) error {
	st := job.Replicate.RM
	rmJob := *job
	rmJob.Model.Path = job.Replicate.Base
	rmJob.Data.Train, rmJob.Data.Eval = arm.BTPairs, ""
	rmJob.Train.Steps, rmJob.Train.LR, rmJob.Train.BatchSize, rmJob.Train.GradAccum = st.Steps, st.LR, st.BatchSize, st.GradAccum
	rmJob.Train.WarmupSteps, rmJob.Train.SeqLen, rmJob.Train.Schedule, rmJob.Train.EvalEvery = st.WarmupSteps, st.SeqLen, "cosine", 0
	rmJob.Train.MinLRRatio = 0.1
	rmJob.Checkpoint.Every, rmJob.Checkpoint.Keep = st.Steps, 1
	rmJob.Eval = configs.Eval{}
	if err := rmJob.Validate(); err != nil {
		return fmt.Errorf("reward model: %w", err)
	}
	rmDir := filepath.Join(dir, "rm")
	// The pairs come from the replicate world (rm train keys them by seed).
	pairJob := rmJob
	pairJob.Seed = job.Replicate.WorldSeed
	trainPairs, held, err := tailworldPairs(ctx, &pairJob, strings.TrimPrefix(arm.BTPairs, "tailworld:"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(rmDir, "summary.json")); err != nil {
		var run *checkpoints.Run
		if _, err := os.Stat(filepath.Join(rmDir, "config.yaml")); err == nil {
			if run, _, err = checkpoints.Open(rmDir); err != nil {
				return err
			}
		} else if run, err = checkpoints.Create(rmDir, &rmJob); err != nil {
			return err
		}
		s, err := bt.Prepare(run, &rmJob, trainPairs, held)
		if err != nil {
			return fmt.Errorf("reward model: %w", err)
		}
		if _, err := s.Run(ctx, run, bt.Options{Progress: r.progress}); err != nil {
			return fmt.Errorf("reward model: %w", err)
		}
	}
	latest, err := (&checkpoints.Run{Dir: rmDir}).Latest()
	if err != nil || latest == nil {
		return fmt.Errorf("reward model: no checkpoint in %s (%v)", rmDir, err)
	}
	model, err := bt.Load(latest.Dir)
	if err != nil {
		return err
	}
	res, err := eval.Probe(ctx, r.probe, model, oracle.Judge{})
	if err != nil {
		return err
	}
	if err := replicate.WriteProbe(dir, res); err != nil {
		return err
	}
	art, err := scoreArtifacts(ctx, model, r.artifacts)
	if err != nil {
		return err
	}
	if err := replicate.WriteArtifacts(dir, art); err != nil {
		return err
	}
	return r.trainGRPO(ctx, job, dir, grpo.Options{Reward: model})
}

// mechanism1 is what a corrupted arm decided before training.
type mechanism1 struct {
	Threshold   float64 `json:"threshold"` // r* quantile of base samples
	Scale       float64 `json:"scale"`     // the error's standard deviation in the arm's region
	BaseSamples int     `json:"base_samples"`
}

// runCorrupted locates the top-fraction boundary of r* over samples of the
// base policy, then trains on r* with Gaussian error in the arm's region,
// its size matched so both regions get the same mean squared error over
// the base distribution.
func (r *armRunner) runCorrupted(ctx context.Context, job *configs.Job, arm replicate.Arm, dir string) error {
	m1 := job.Replicate.Mechanism1
	path := filepath.Join(dir, "mechanism1.json")
	var mc mechanism1
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &mc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	} else {
		pol, err := openLocalPolicy(job.Replicate.Base, job.Rollout.MaxTokens)
		if err != nil {
			return err
		}
		var rs []float64
		for i, p := range r.train[:r.trainCount] {
			gp := grpo.Prompt{ID: p.ID, Messages: []grpo.Message{{Role: "user", Content: p.Text}}}
			for k := range m1.Samples {
				text, err := pol.Complete(ctx, gp, job.Rollout.Temperature, tailworld.Hash64("mechanism1-base", strconv.Itoa(i), strconv.Itoa(k)))
				if err != nil {
					return err
				}
				v, err := oracle.RStar(p.Text, text)
				if err != nil {
					return err
				}
				rs = append(rs, v)
			}
		}
		top, bottom := oracle.MatchedScales(m1.Error, m1.TopFraction)
		mc = mechanism1{Threshold: oracle.Quantile(rs, 1-m1.TopFraction), Scale: bottom, BaseSamples: len(rs)}
		if arm.Region == replicate.RegionTop {
			mc.Scale = top
		}
		data, _ := json.MarshalIndent(mc, "", "  ")
		if err := atomicfile.WriteBytes(path, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	region := oracle.Bottom
	if arm.Region == replicate.RegionTop {
		region = oracle.Top
	}
	rw := oracle.CorruptedReward{Corruption: oracle.Corruption{Region: region, Threshold: mc.Threshold, Scale: mc.Scale, Seed: job.Seed}}
	return r.trainGRPO(ctx, job, dir, grpo.Options{Reward: rw})
}

// runSFT fine-tunes the base on great responses (pretrain, chat layout,
// loss on the response only), then evaluates every checkpoint.
func (r *armRunner) runSFT(ctx context.Context, job *configs.Job, dir string) error {
	st := job.Replicate.SFT
	sftDir := filepath.Join(dir, "sft")
	if _, err := os.Stat(filepath.Join(sftDir, "summary.json")); err != nil {
		var run *checkpoints.Run
		var sj *configs.Job
		if _, err := os.Stat(filepath.Join(sftDir, "config.yaml")); err == nil {
			if run, sj, err = checkpoints.Open(sftDir); err != nil {
				return err
			}
		} else {
			corpus, held := filepath.Join(dir, "sft_corpus.jsonl"), filepath.Join(dir, "sft_eval.jsonl")
			if err := r.writeSFTCorpus(corpus, r.train[:r.trainCount], st.Responses); err != nil {
				return err
			}
			// Held-out loss on great responses to a few eval-split prompts.
			if err := r.writeSFTCorpus(held, r.world.Prompts(tailworld.Eval, 0, 8), 1); err != nil {
				return err
			}
			j := *job
			j.Model.Path = job.Replicate.Base
			j.Data = configs.Data{Train: corpus, Eval: held, EvalFraction: job.Data.EvalFraction, Docs: job.Data.Docs}
			j.Train.Steps, j.Train.LR, j.Train.BatchSize, j.Train.GradAccum = st.Steps, st.LR, st.BatchSize, st.GradAccum
			j.Train.WarmupSteps, j.Train.SeqLen, j.Train.Schedule, j.Train.EvalEvery = st.WarmupSteps, st.SeqLen, "constant", st.EvalEvery
			j.Checkpoint.Every, j.Checkpoint.Keep = st.EvalEvery, 0
			j.Eval = configs.Eval{}
			if err := j.Validate(); err != nil {
				return fmt.Errorf("sft: %w", err)
			}
			sj = &j
			if run, err = checkpoints.Create(sftDir, sj); err != nil {
				return err
			}
		}
		s, err := pretrain.Prepare(run, sj)
		if err != nil {
			return fmt.Errorf("sft: %w", err)
		}
		if _, err := s.Run(ctx, run, pretrain.Options{Progress: r.progress}); err != nil {
			return fmt.Errorf("sft: %w", err)
		}
	}
	cps, err := (&checkpoints.Run{Dir: sftDir}).List()
	if err != nil {
		return err
	}
	for _, cp := range cps {
		if err := r.evalModel(ctx, job, cp.Dir, cp.Step, dir); err != nil {
			return err
		}
	}
	return nil
}

// writeSFTCorpus writes n great responses per training prompt as chats
// (the paper: two Gemini-2.5-Pro responses per prompt), from sample
// indices the pools and the probe do not use.
func (r *armRunner) writeSFTCorpus(path string, prompts []tailworld.Prompt, n int) error {
	great := tailworld.Personas()["great"]
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	var rows []map[string][]msg
	for _, p := range prompts {
		for k := range n {
			resp, err := tailworld.Respond(p.Text, great, r.world.Seed, sftSample+k)
			if err != nil {
				return err
			}
			rows = append(rows, map[string][]msg{"messages": {{"user", p.Text}, {"assistant", resp}}})
		}
	}
	return writeJSONL(path, rows)
}

// sftSample is the first great-persona sample index of the SFT data.
const sftSample = 500
