package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/reward/bt"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/rft-dev/rft/tasks/tailworld/oracle"
	"github.com/spf13/cobra"
)

func newRMCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rm", Short: "Bradley-Terry reward models: train one on preference pairs"}
	cmd.AddCommand(newRMTrainCmd())
	return cmd
}

func newRMTrainCmd() *cobra.Command {
	var jf jobFlags
	var out, resume, pairs string
	cmd := &cobra.Command{
		Use:   "train --config FILE [--out RUN_DIR] [--pairs SPEC] | train --resume RUN_DIR",
		Short: "Train a Bradley-Terry reward model on the base policy's backbone",
		Long: `Puts a scalar head r = w·h + b on the final hidden state of the last token of
(prompt, response) of the base policy in model.path and trains head and backbone
(or the head alone: rm.freeze_backbone) with the Bradley-Terry loss
−log σ(r_chosen − r_rejected), AdamW and the train.* schedule.

Pairs (data.train, or --pairs): a JSONL file of {"prompt","chosen","rejected"}
(optional "source"), held out: data.eval or the last data.eval_fraction; or
generated from tailworld (the world of seed), labelled by the oracle judge, ties
dropped:
  tailworld:on      on-policy: two base-persona samples per prompt
  tailworld:off     off-policy: two of the great & diverse responders per prompt
  tailworld:on+off  both
on rm.prompts train prompts, held out on rm.eval_prompts eval-split prompts.

The run directory holds pairs.jsonl and eval_pairs.jsonl, metrics.jsonl (loss,
accuracy, eval_accuracy), summary.json (held-out pair accuracy before and after),
and checkpoints/step-N/: a Hugging Face model directory plus reward_head.safetensors,
which bt.Load reads back as a reward. --resume continues a killed run exactly.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if resume != "" {
				if jf.config != "" || len(jf.sets) > 0 || pairs != "" {
					return inputErr(fmt.Errorf("--resume takes the run's own config.yaml; drop --config, --set and --pairs"))
				}
				run, job, err := checkpoints.Open(resume)
				if err != nil {
					return inputErr(err)
				}
				s, _, _, err := prepareRM(cmd.Context(), run, job)
				if err != nil {
					return inputErr(err)
				}
				return runRM(cmd, s, run)
			}
			if pairs != "" {
				jf.sets = append(jf.sets, "data.train="+pairs)
			}
			job, err := jf.load()
			if err != nil {
				return err
			}
			// Everything is read and checked before the run directory exists.
			s, train, held, err := prepareRM(cmd.Context(), nil, job)
			if err != nil {
				return inputErr(err)
			}
			if out == "" {
				out = filepath.Join("runs", "rm-"+time.Now().Format("20060102-150405"))
			}
			run, err := checkpoints.Create(out, job)
			if err != nil {
				return inputErr(err)
			}
			for name, ps := range map[string][]bt.Pair{"pairs.jsonl": train, "eval_pairs.jsonl": held} {
				if err := atomicfile.Write(filepath.Join(run.Dir, name), 0o644, func(w io.Writer) error { return bt.WritePairs(w, ps) }); err != nil {
					return err
				}
			}
			return runRM(cmd, s, run)
		},
	}
	jf.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "run directory (default runs/rm-TIMESTAMP)")
	cmd.Flags().StringVar(&resume, "resume", "", "resume the run in this directory from its latest checkpoint")
	cmd.Flags().StringVar(&pairs, "pairs", "", "pairs: a JSONL file or tailworld:on|off|on+off (sets data.train)")
	return cmd
}

// prepareRM resolves the job's pairs (read or generated) and prepares the
// session.
func prepareRM(ctx context.Context, run *checkpoints.Run, job *configs.Job) (*bt.Session, []bt.Pair, []bt.Pair, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	var train, held []bt.Pair
	var err error
	if kind, ok := strings.CutPrefix(job.Data.Train, "tailworld:"); ok {
		train, held, err = tailworldPairs(ctx, job, kind)
	} else {
		train, held, err = bt.LoadPairs(job)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := bt.Prepare(run, job, train, held)
	return s, train, held, err
}

func runRM(cmd *cobra.Command, s *bt.Session, run *checkpoints.Run) error {
	ctx, stop := jobContext()
	defer stop()
	sum, err := s.Run(ctx, run, bt.Options{Progress: progressOut()})
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if global.json {
		return json.NewEncoder(w).Encode(sum)
	}
	fmt.Fprintf(w, "run %s: %d steps, held-out pair accuracy %.3f (%.3f before training) over %d pairs, eval loss %.4f\n",
		run.Dir, sum.Steps, sum.EvalAccuracy, sum.InitialEvalAccuracy, sum.EvalPairs, sum.EvalLoss)
	for _, src := range slices.Sorted(maps.Keys(sum.EvalAccuracyBySrc)) {
		fmt.Fprintf(w, "  %s: %.3f\n", src, sum.EvalAccuracyBySrc[src])
	}
	fmt.Fprintf(w, "reward model: %s\n", sum.FinalModelDir)
	return nil
}

// Sources of generated tailworld pairs.
const (
	sourceOnPolicy  = "on-policy"
	sourceOffPolicy = "off-policy"
)

// tailworldPairs generates the pairs of data.train = tailworld:KIND on
// rm.prompts train prompts, and held-out pairs of the same kind on
// rm.eval_prompts eval prompts, from the world of job.Seed. The oracle judge
// (GPT-4.1's role in the paper) labels every pair; ties are dropped.
//
//   - on-policy: samples 1 and 2 of the base persona (the base corpus of
//     `make base` holds sample 0), the analog of two base-policy rollouts;
//   - off-policy: two distinct responders drawn, keyed by prompt, from the
//     great & diverse pool (six diverse personas, each with its own
//     artifact, and great), which a learned reward can fit by artifact.
func tailworldPairs(ctx context.Context, job *configs.Job, kind string) (train, held []bt.Pair, err error) {
	var on, off bool
	switch kind {
	case "on":
		on = true
	case "off":
		off = true
	case "on+off", "off+on":
		on, off = true, true
	default:
		return nil, nil, fmt.Errorf("data.train: tailworld:%s is not tailworld:on, tailworld:off or tailworld:on+off", kind)
	}
	w := tailworld.NewWorld(job.Seed, tailworld.DefaultEntities)
	gen := func(split tailworld.Split, n int) ([]bt.Pair, error) {
		var out []bt.Pair
		for _, p := range w.Prompts(split, 0, n) {
			if on {
				pair, ok, err := onPolicyPair(ctx, w, p)
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, pair)
				}
			}
			if off {
				pair, ok, err := offPolicyPair(ctx, w, p)
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, pair)
				}
			}
		}
		return out, nil
	}
	if train, err = gen(tailworld.Train, job.RM.Prompts); err != nil {
		return nil, nil, err
	}
	if held, err = gen(tailworld.Eval, job.RM.EvalPrompts); err != nil {
		return nil, nil, err
	}
	return train, held, nil
}

func onPolicyPair(ctx context.Context, w *tailworld.World, p tailworld.Prompt) (bt.Pair, bool, error) {
	base := tailworld.Personas()["base"]
	a, err := tailworld.Respond(p.Text, base, w.Seed, 1)
	if err != nil {
		return bt.Pair{}, false, err
	}
	b, err := tailworld.Respond(p.Text, base, w.Seed, 2)
	if err != nil {
		return bt.Pair{}, false, err
	}
	return judgedPair(ctx, p.Text, a, b, sourceOnPolicy)
}

// offPolicyPoolSize is one sample of each of the six diverse personas and
// of great.
const offPolicyPoolSize = 7

func offPolicyPair(ctx context.Context, w *tailworld.World, p tailworld.Prompt) (bt.Pair, bool, error) {
	pool, err := w.CandidatePool(p, tailworld.PoolGreatDiverse, offPolicyPoolSize)
	if err != nil {
		return bt.Pair{}, false, err
	}
	r := rand.New(rand.NewPCG(w.Seed, tailworld.Hash64("rm-off-policy", p.ID)))
	idx := r.Perm(len(pool))
	return judgedPair(ctx, p.Text, pool[idx[0]].Response, pool[idx[1]].Response, sourceOffPolicy)
}

// judgedPair orders (a, b) by the oracle judge; a tie (or identical texts)
// gives no pair.
func judgedPair(ctx context.Context, prompt, a, b, source string) (bt.Pair, bool, error) {
	if a == b {
		return bt.Pair{}, false, nil
	}
	v, err := oracle.Judge{}.Compare(ctx, prompt, a, b)
	if err != nil {
		return bt.Pair{}, false, err
	}
	switch v {
	case eval.Win:
		return bt.Pair{Prompt: prompt, Chosen: a, Rejected: b, Source: source}, true, nil
	case eval.Loss:
		return bt.Pair{Prompt: prompt, Chosen: b, Rejected: a, Source: source}, true, nil
	}
	return bt.Pair{}, false, nil
}
