package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/grpo"
	runreport "github.com/rft-dev/rft/report"
	"github.com/rft-dev/rft/reward"
	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld/oracle"
	"github.com/spf13/cobra"
)

func newTrainCmd() *cobra.Command {
	var jf jobFlags
	var out, resume string
	var baseURLs []string
	cmd := &cobra.Command{
		Use:   "train --config FILE [--out RUN_DIR] | train --resume RUN_DIR",
		Short: "GRPO training of the policy against a reward (rubric, HTTP or command)",
		Long: `Each step samples grpo.prompts_per_step prompts × grpo.group_size completions from the
policy served in-process, scores them with the configured reward, computes group-relative
advantages and takes grpo.mu optimizer steps of the configured GRPO-family objective, then
pushes the new weights to the sampler. Writes metrics.jsonl, samples.jsonl, eval.jsonl (when
eval.judge is set), checkpoints and summary.json into the run directory. A killed run
continues with --resume RUN_DIR and ends bit for bit where it would have.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			var run *checkpoints.Run
			var job *configs.Job
			var err error
			if resume != "" {
				if jf.config != "" || len(jf.sets) > 0 {
					return inputErr(fmt.Errorf("--resume takes the run's own config.yaml; drop --config and --set"))
				}
				if run, job, err = checkpoints.Open(resume); err != nil {
					return inputErr(err)
				}
			} else if job, err = jf.load(); err != nil {
				return err
			}
			opts, closeFn, err := trainOptions(job, baseURLs)
			if err != nil {
				return inputErr(err)
			}
			defer closeFn()
			s, err := grpo.Prepare(run, job, opts)
			if err != nil {
				return inputErr(err)
			}
			if run == nil {
				if out == "" {
					out = filepath.Join("runs", "train-"+time.Now().Format("20060102-150405"))
				}
				if run, err = checkpoints.Create(out, job); err != nil {
					return inputErr(err)
				}
			}
			ctx, stop := jobContext()
			defer stop()
			ro := grpo.RunOptions{Progress: progressOut()}
			sum, err := s.Run(ctx, run, ro)
			if err != nil {
				return err
			}
			if err := runreport.Write(run.Dir); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			w := cmd.OutOrStdout()
			if global.json {
				return json.NewEncoder(w).Encode(sum)
			}
			fmt.Fprintf(w, "run %s: %d steps, reward %.3f → %.3f, KL %.4f\nfinal model: %s\nreport: %s\n",
				run.Dir, sum.Steps, sum.RewardFirst, sum.RewardLast, sum.KLLast, sum.FinalModelDir, filepath.Join(run.Dir, "report.html"))
			return nil
		},
	}
	jf.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "run directory (default runs/train-TIMESTAMP)")
	cmd.Flags().StringVar(&resume, "resume", "", "resume the run in this directory from its latest checkpoint")
	cmd.Flags().StringSliceVar(&baseURLs, "base-url", nil, "endpoint(s) of LLM verifiers and judges (else OPENAI_BASE_URL / OLLAMA_HOST)")
	return cmd
}

// trainOptions builds the reward, gold reward and evaluator of a job.
func trainOptions(job *configs.Job, baseURLs []string) (grpo.Options, func(), error) {
	var opts grpo.Options
	closeFn := func() {}
	rw := job.Reward
	switch {
	case rw.Rubrics != "":
		rubrics, err := rubric.ReadRubrics(rw.Rubrics)
		if err != nil {
			return opts, closeFn, err
		}
		prompts, err := grpo.ReadPrompts(job.Data.Train)
		if err != nil {
			return opts, closeFn, err
		}
		have := map[string]bool{}
		for _, r := range rubrics {
			have[r.PromptID] = true
		}
		for _, p := range prompts {
			id := p.ID
			if p.Rubric != "" {
				id = p.Rubric
			}
			if !have[id] {
				return opts, closeFn, fmt.Errorf("%s: prompt %q has no rubric in %s", job.Data.Train, p.ID, rw.Rubrics)
			}
		}
		vf := verifierFlags{spec: rw.Verifier, mode: rw.Mode, aggregate: rw.Aggregate, retry: "default", cache: rw.Cache}
		t, err := rubric.LoadTemplates("")
		if err != nil {
			return opts, closeFn, err
		}
		g, cache, err := vf.grader(&llmFlags{baseURLs: baseURLs, concurrency: job.Rollout.Concurrency, timeout: 2 * time.Minute, maxTokens: 1024}, t)
		if err != nil {
			return opts, closeFn, err
		}
		if cache != nil {
			closeFn = func() { cache.Close() }
		}
		opts.Reward = reward.NewRubric(rubrics, g)
	case rw.HTTP != "":
		opts.Reward = reward.NewHTTP(rw.HTTP)
	case rw.Command != "":
		opts.Reward = &reward.Command{Argv: []string{"sh", "-c", rw.Command}, Timeout: 10 * time.Minute}
	default:
		return opts, closeFn, fmt.Errorf("reward: give reward.rubrics (with reward.verifier), reward.http or reward.command")
	}
	if rw.Gold == "tailworld" {
		opts.Gold = oracle.Reward{}
	}
	if job.Eval.Judge != "" {
		ev, err := evalOptions(job, baseURLs)
		if err != nil {
			return opts, closeFn, err
		}
		opts.Evaluator = ev
	}
	return opts, closeFn, nil
}

// evalOptions builds the held-out win-rate evaluator of a job's eval
// section (eval.judge, data.eval, eval.reference, eval.prompts).
func evalOptions(job *configs.Job, baseURLs []string) (*winRateEvaluator, error) {
	e := job.Eval
	if job.Data.Eval == "" || e.Reference == "" {
		return nil, fmt.Errorf("eval.judge needs data.eval (held-out prompts) and eval.reference (reference responses)")
	}
	judge, err := openJudge(e.Judge, baseURLs)
	if err != nil {
		return nil, err
	}
	prompts, err := grpo.ReadPrompts(job.Data.Eval)
	if err != nil {
		return nil, err
	}
	refs, err := readReferences(e.Reference)
	if err != nil {
		return nil, err
	}
	return newWinRateEvaluator(judge, prompts, refs, e.Prompts, job.Seed)
}
