package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/pretrain"
	"github.com/spf13/cobra"
)

func newPretrainCmd() *cobra.Command {
	var jf jobFlags
	var out, resume string
	cmd := &cobra.Command{
		Use:   "pretrain --config FILE [--out RUN_DIR] | pretrain --resume RUN_DIR",
		Short: "Causal-LM pretraining or SFT of the native model from text or JSONL",
		Long: `Trains the native model on text (documents separated by blank lines) or JSONL
({"text"}, {"prompt","completion"} or {"messages"}; loss on the completion or the
assistant turns only), with held-out eval loss, checkpoints every checkpoint.every
steps, metrics.jsonl and a progress bar. data.train: synthetic:facts generates the
built-in corpus from the seed. A killed run continues with --resume RUN_DIR, bit for
bit as if it had not stopped. At the end, summary.json compares the eval loss with a
smoothed trigram model's on the same held-out tokens.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			var run *checkpoints.Run
			if resume != "" {
				if jf.config != "" || len(jf.sets) > 0 {
					return inputErr(fmt.Errorf("--resume takes the run's own config.yaml; drop --config and --set"))
				}
				r, job, err := checkpoints.Open(resume)
				if err != nil {
					return inputErr(err)
				}
				s, err := pretrain.Prepare(r, job)
				if err != nil {
					return inputErr(err)
				}
				return runPretrain(cmd, s, r)
			}
			job, err := jf.load()
			if err != nil {
				return err
			}
			// Everything is read and checked before the run directory exists.
			s, err := pretrain.Prepare(nil, job)
			if err != nil {
				return inputErr(err)
			}
			if out == "" {
				out = filepath.Join("runs", "pretrain-"+time.Now().Format("20060102-150405"))
			}
			if run, err = checkpoints.Create(out, job); err != nil {
				return inputErr(err)
			}
			return runPretrain(cmd, s, run)
		},
	}
	jf.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "run directory (default runs/pretrain-TIMESTAMP)")
	cmd.Flags().StringVar(&resume, "resume", "", "resume the run in this directory from its latest checkpoint")
	return cmd
}

func runPretrain(cmd *cobra.Command, s *pretrain.Session, run *checkpoints.Run) error {
	ctx, stop := jobContext()
	defer stop()
	sum, err := s.Run(ctx, run, pretrain.Options{Progress: progressOut()})
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if global.json {
		return json.NewEncoder(w).Encode(sum)
	}
	fmt.Fprintf(w, "run %s: %d steps, eval loss %.4f (trigram baseline %.4f) over %d held-out tokens\n",
		run.Dir, sum.Steps, sum.EvalLoss, sum.TrigramLoss, sum.EvalTokens)
	fmt.Fprintf(w, "final model: %s\n", sum.FinalModelDir)
	return nil
}
