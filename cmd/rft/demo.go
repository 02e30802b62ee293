package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/grpo"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/policy"
	runreport "github.com/rft-dev/rft/report"
	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/rft-dev/rft/tasks/tailworld/oracle"
	"github.com/rft-dev/rft/tasks/tailworld/sim"
	"github.com/spf13/cobra"
)

// demoPreset is the demo's own defaults, applied before --config and --set:
// the GRPO settings sized so the whole loop fits the README's budget on a
// 2-core machine (README, "The demo", lists them).
var demoPreset = []string{
	"seed=1",
	// lr 2e-4 for 40 steps raises the oracle's gold reward of the samples
	// with the rubric reward (0.178 → 0.234, rubric 0.280 → 0.452); at 5e-4
	// and 1e-3 the policy pleases the gullible verifier and loses against the
	// reference (README, "The demo", has the measured grid).
	"train.steps=40", "train.lr=2e-4", "train.warmup_steps=2", "train.grad_accum=4",
	"grpo.group_size=8", "grpo.prompts_per_step=8", "grpo.beta=0.01", "grpo.loss_type=grpo",
	"rollout.temperature=1", "rollout.max_tokens=64",
	"reward.verifier=sim", "reward.gold=tailworld",
	"eval.judge=tailworld", "eval.every=10", "eval.prompts=64",
	"checkpoint.every=10", "checkpoint.keep=0",
}

// demoQuick shrinks the demo to a smoke run (tests, CI).
var demoQuick = []string{
	"train.steps=2", "grpo.prompts_per_step=2", "grpo.group_size=4", "rollout.max_tokens=16",
	"demo.train_prompts=4", "demo.eval_prompts=6", "demo.pool_size=4", "demo.iterations=2",
	"eval.every=1", "eval.prompts=4", "checkpoint.every=1", "train.grad_accum=1",
}

func newDemoCmd() *cobra.Command {
	var jf jobFlags
	var out string
	var quick, requireGain bool
	cmd := &cobra.Command{
		Use:   "demo [--out RUN_DIR] [--require-gain]",
		Short: "The whole loop on tailworld: pools, rubrics, RTD, GRPO, win-rates (no network, no GPU)",
		Long: `Runs the paper's pipeline on the built-in task world, offline:
  1. writes tailworld train/eval prompts, reference responses and candidate pools
     (great & diverse responders) into RUN_DIR/data;
  2. generates an initial rubric per training prompt (simulated proposer) and refines it
     with Refinement-through-Differentiation on the pools (demo.iterations);
  3. trains the base policy (demo.base, built by make base) with GRPO on the refined rubric
     reward (simulated, gullible verifier), logging the oracle's gold reward beside it
     (demo.reward: initial trains on the unrefined rubrics, oracle on r* itself);
  4. evaluates base and final checkpoints against the reference responses with the
     oracle judge and prints win-rates with 95% intervals and their paired difference.
Writes summary.json and RUN_DIR/train/report.html. Settings: the demo section and the
usual job sections (--config, --set); --quick is a smoke run; --require-gain exits 1
unless the final checkpoint's gain over the base is significant.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			preset := demoPreset
			if quick {
				preset = append(append([]string(nil), demoPreset...), demoQuick...)
			}
			job, err := configs.LoadPreset(preset, jf.config, jf.sets)
			if err != nil {
				return inputErr(err)
			}
			if _, err := policy.Inspect(job.Demo.Base); err != nil {
				return inputErr(fmt.Errorf("demo.base: %w (build the base policy with `make base`)", err))
			}
			if out == "" {
				out = filepath.Join("runs", "demo-"+time.Now().Format("20060102-150405"))
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				return inputErr(fmt.Errorf("%s already exists and is not empty; choose another --out", out))
			}
			ctx, stop := jobContext()
			defer stop()
			sum, err := runDemo(ctx, job, out, progressOut())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if global.json {
				err = json.NewEncoder(w).Encode(sum)
			} else {
				err = printDemoSummary(w, sum)
			}
			if err == nil && requireGain {
				err = checkGain(sum)
			}
			return err
		},
	}
	jf.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "run directory (default runs/demo-TIMESTAMP)")
	cmd.Flags().BoolVar(&quick, "quick", false, "a smoke run in seconds (tiny sizes)")
	cmd.Flags().BoolVar(&requireGain, "require-gain", false,
		"exit 1 unless the final checkpoint beats the base (paired-bootstrap 95% interval above zero)")
	return cmd
}

// checkGain is --require-gain: the demo's promise, checked on its own summary.
func checkGain(sum *DemoSummary) error {
	d, ok := sum.Comparisons["final - base"]
	if !ok {
		return fmt.Errorf("demo: no final - base comparison in the summary")
	}
	if d.CILow <= 0 {
		return fmt.Errorf("demo: the final checkpoint does not beat the base: %+.1f points, paired-bootstrap 95%% CI [%+.1f, %+.1f] includes zero or less",
			100*d.Diff, 100*d.CILow, 100*d.CIHigh)
	}
	return nil
}

// DemoSummary is summary.json of rft demo: the eval summary (per model
// win_rate, wins, ties, losses, n, ci_low, ci_high) plus what the loop did.
type DemoSummary struct {
	EvalSummary
	Rubrics struct {
		Prompts           int     `json:"prompts"`
		InitialCriteria   float64 `json:"initial_criteria_mean"`
		RefinedCriteria   float64 `json:"refined_criteria_mean"`
		ProposerFailures  int     `json:"proposer_failures"`
		RefinementChanges int     `json:"refinement_iterations_that_changed"`
	} `json:"rubrics"`
	Train   *grpo.Summary      `json:"train"`
	Reward  string             `json:"reward"` // demo.reward: what GRPO maximised
	Seconds map[string]float64 `json:"seconds"`
	Report  string             `json:"report"`
}

func runDemo(ctx context.Context, job *configs.Job, out string, progress io.Writer) (*DemoSummary, error) {
	sum := &DemoSummary{Seconds: map[string]float64{}}
	t0 := time.Now()
	dataDir := filepath.Join(out, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	d := job.Demo
	w := tailworld.NewWorld(d.WorldSeed, tailworld.DefaultEntities)
	train := w.PromptRecords(tailworld.Train, 0, d.TrainPrompts)
	evalRecs := w.PromptRecords(tailworld.Eval, 0, d.EvalPrompts)
	refs := make([]map[string]string, len(evalRecs))
	for i, r := range evalRecs {
		ref, err := w.ReferenceResponse(r.Prompt)
		if err != nil {
			return nil, err
		}
		refs[i] = map[string]string{"prompt_id": r.ID, "response": ref}
	}
	var pool []tailworld.Candidate
	var rprompts []rubric.Prompt
	pools := map[string][]rubric.Candidate{}
	for i, p := range w.Prompts(tailworld.Train, 0, d.TrainPrompts) {
		cands, err := w.CandidatePool(p, d.Pool, d.PoolSize)
		if err != nil {
			return nil, err
		}
		pool = append(pool, cands...)
		for j, c := range cands {
			pools[p.ID] = append(pools[p.ID], rubric.Candidate{PromptID: c.PromptID, Response: c.Response, Source: c.Source, ID: strconv.Itoa(j), Index: j})
		}
		rprompts = append(rprompts, rubric.Prompt{ID: train[i].ID, Prompt: train[i].Prompt})
	}
	paths := map[string]string{
		"prompts": filepath.Join(dataDir, "prompts.jsonl"), "eval": filepath.Join(dataDir, "eval_prompts.jsonl"),
		"refs": filepath.Join(dataDir, "references.jsonl"), "pool": filepath.Join(dataDir, "pool.jsonl"),
		"initial": filepath.Join(out, "rubrics_initial.jsonl"), "refined": filepath.Join(out, "rubrics.jsonl"),
	}
	for _, f := range []struct {
		path string
		recs any
	}{{paths["prompts"], asChat(train)}, {paths["eval"], asChat(evalRecs)}, {paths["refs"], refs}, {paths["pool"], pool}} {
		if err := writeJSONL(f.path, f.recs); err != nil {
			return nil, err
		}
	}
	slog.Info("demo: data written", "train_prompts", len(train), "eval_prompts", len(evalRecs), "pool", len(pool), "dir", dataDir)

	// Rubrics: the simulated proposer from the prompt alone, then RTD.
	proposer := sim.NewProposer(job.Seed)
	gen := rubric.Generate(ctx, proposer, rprompts, "sim", false, 8)
	var initial, refined []*rubric.Rubric
	grader := &rubric.Grader{Verifier: sim.NewVerifier(job.Seed, 0), Mode: rubric.Mode(job.Reward.Mode),
		Policy: rubric.DefaultRetryPolicy(), Fingerprint: "sim"}
	refiner := &rubric.Refiner{Proposer: proposer, ProposerName: "sim", Grader: grader, Iterations: d.Iterations, Pairs: rubric.PairTop2}
	for _, g := range gen {
		if g.Err != nil {
			sum.Rubrics.ProposerFailures++
			continue
		}
		initial = append(initial, g.Rubric)
		r := g.Rubric
		if d.Iterations > 0 {
			var err error
			if r, err = refiner.Refine(ctx, g.Rubric, pools[g.Rubric.PromptID]); err != nil && ctx.Err() != nil {
				return nil, err
			}
		}
		for _, it := range r.Provenance.History {
			if it.Stop == "" {
				sum.Rubrics.RefinementChanges++
			}
		}
		refined = append(refined, r)
	}
	if len(refined) == 0 {
		return nil, fmt.Errorf("demo: the proposer wrote no rubric")
	}
	sum.Rubrics.Prompts = len(refined)
	sum.Rubrics.InitialCriteria, sum.Rubrics.RefinedCriteria = meanCriteria(initial), meanCriteria(refined)
	if err := rubric.WriteJSONL(paths["initial"], initial); err != nil {
		return nil, err
	}
	if err := rubric.WriteJSONL(paths["refined"], refined); err != nil {
		return nil, err
	}
	sum.Seconds["rubrics"] = time.Since(t0).Seconds()
	slog.Info("demo: rubrics refined", "prompts", len(refined), "criteria_initial", sum.Rubrics.InitialCriteria,
		"criteria_refined", sum.Rubrics.RefinedCriteria, "seconds", sum.Seconds["rubrics"])

	// GRPO on the refined rubric reward; prompts whose proposer failed are
	// dropped from training.
	kept := keptPrompts(train, refined)
	if err := writeJSONL(paths["prompts"], asChat(kept)); err != nil {
		return nil, err
	}
	job.Model.Path = d.Base
	job.Data.Train, job.Data.Eval = paths["prompts"], paths["eval"]
	job.Reward.Rubrics, job.Eval.Reference = paths["refined"], paths["refs"]
	job.Reward.Cache = filepath.Join(out, "verify-cache")
	if d.Reward == "initial" {
		job.Reward.Rubrics = paths["initial"]
	}
	sum.Reward = d.Reward
	if err := job.Validate(); err != nil {
		return nil, inputErr(err)
	}
	t1 := time.Now()
	opts, closeFn, err := trainOptions(job, nil)
	if err != nil {
		return nil, inputErr(err)
	}
	defer closeFn()
	if d.Reward == "oracle" {
		// The ceiling control: r* itself, as the Mechanism-1 arms of rft
		// replicate use it (with no error injected).
		opts.Reward = oracle.Reward{}
	}
	s, err := grpo.Prepare(nil, job, opts)
	if err != nil {
		return nil, inputErr(err)
	}
	trainDir := filepath.Join(out, "train")
	run, err := checkpoints.Create(trainDir, job)
	if err != nil {
		return nil, err
	}
	if sum.Train, err = s.Run(ctx, run, grpo.RunOptions{Progress: progress}); err != nil {
		return nil, err
	}
	sum.Seconds["train"] = time.Since(t1).Seconds()

	// Base and final against the references on the full eval set.
	t2 := time.Now()
	ef := &evalFlags{checkpoint: sum.Train.FinalModelDir, baseline: d.Base, judge: "tailworld", prompts: paths["eval"],
		reference: paths["refs"], out: out, maxTokens: job.Rollout.MaxTokens, seed: job.Seed, n: d.EvalPrompts}
	es, err := runEval(ctx, ef)
	if err != nil {
		return nil, err
	}
	rename(es, "baseline", "base")
	rename(es, "checkpoint", "final")
	sum.EvalSummary = *es
	sum.Seconds["eval"] = time.Since(t2).Seconds()
	if err := runreport.Write(trainDir); err != nil {
		return nil, err
	}
	sum.Report = filepath.Join(trainDir, "report.html")
	sum.Seconds["total"] = time.Since(t0).Seconds()
	data, _ := json.MarshalIndent(sum, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(out, "summary.json"), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	return sum, nil
}

// rename relabels a model in an eval summary.
func rename(s *EvalSummary, from, to string) {
	if m, ok := s.Models[from]; ok {
		delete(s.Models, from)
		s.Models[to] = m
	}
	for i, n := range s.Order {
		if n == from {
			s.Order[i] = to
		}
	}
	for k, v := range s.Comparisons {
		parts := strings.Split(k, " - ")
		for i, p := range parts {
			if p == from {
				parts[i] = to
			}
		}
		if nk := strings.Join(parts, " - "); nk != k {
			delete(s.Comparisons, k)
			s.Comparisons[nk] = v
		}
	}
}

func meanCriteria(rs []*rubric.Rubric) float64 {
	n := 0
	for _, r := range rs {
		n += len(r.Criteria)
	}
	return float64(n) / float64(max(len(rs), 1))
}

func keptPrompts(train []tailworld.PromptRecord, refined []*rubric.Rubric) []tailworld.PromptRecord {
	have := map[string]bool{}
	for _, r := range refined {
		have[r.PromptID] = true
	}
	var out []tailworld.PromptRecord
	for _, p := range train {
		if have[p.ID] {
			out = append(out, p)
		}
	}
	return out
}

// asChat turns tailworld prompt records into single-user-turn chats: the
// base policy was fine-tuned on chats rendered with its template, so
// training and evaluation prompt it the same way.
func asChat(recs []tailworld.PromptRecord) []grpo.Prompt {
	out := make([]grpo.Prompt, len(recs))
	for i, r := range recs {
		out[i] = grpo.Prompt{ID: r.ID, Messages: []grpo.Message{{Role: "user", Content: r.Prompt}}}
	}
	return out
}

// writeJSONL writes a slice as JSON lines, atomically.
func writeJSONL(path string, recs any) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		b, err := json.Marshal(recs)
		if err != nil {
			return err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		for _, it := range items {
			if _, err := w.Write(append(it, '\n')); err != nil {
				return err
			}
		}
		return nil
	})
}

// rewardLabel names demo.reward in the summary line.
func rewardLabel(kind string) string {
	switch kind {
	case "initial":
		return "initial-rubric"
	case "oracle":
		return "oracle (r*)"
	}
	return "rubric"
}

func printDemoSummary(w io.Writer, sum *DemoSummary) error {
	fmt.Fprintf(w, "\nrubrics: %d prompts, %.1f criteria initially, %.1f after RTD (%d refining iterations changed a rubric)\n",
		sum.Rubrics.Prompts, sum.Rubrics.InitialCriteria, sum.Rubrics.RefinedCriteria, sum.Rubrics.RefinementChanges)
	if t := sum.Train; t != nil {
		fmt.Fprintf(w, "training: %d steps, %s reward %.3f → %.3f, KL %.4f", t.Steps, rewardLabel(sum.Reward), t.RewardFirst, t.RewardLast, t.KLLast)
		if t.GoldFirst != nil && t.GoldLast != nil {
			fmt.Fprintf(w, ", gold reward %.3f → %.3f", *t.GoldFirst, *t.GoldLast)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	for _, name := range sum.Order {
		m := sum.Models[name]
		fmt.Fprintf(w, "%-6s win-rate vs reference %5.1f%%  95%% CI [%4.1f, %4.1f]  W/T/L %d/%d/%d of %d\n",
			name, 100*m.WinRate, 100*m.CILow, 100*m.CIHigh, m.Wins, m.Ties, m.Losses, m.N)
	}
	for k, d := range sum.Comparisons {
		verdict := "the interval includes zero"
		if d.CILow > 0 {
			verdict = "improvement: the interval excludes zero"
		} else if d.CIHigh < 0 {
			verdict = "regression: the interval excludes zero"
		}
		fmt.Fprintf(w, "%s: %+.1f points, paired-bootstrap 95%% CI [%+.1f, %+.1f] (%s)\n", k, 100*d.Diff, 100*d.CILow, 100*d.CIHigh, verdict)
	}
	fmt.Fprintf(w, "\ntime: rubrics %.0fs, training %.0fs, evaluation %.0fs, total %.0fs\nreport: %s\n",
		sum.Seconds["rubrics"], sum.Seconds["train"], sum.Seconds["eval"], sum.Seconds["total"], sum.Report)
	return nil
}
