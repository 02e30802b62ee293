package main

import (
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
)

// globalFlags are shared by every command.
type globalFlags struct {
	quiet bool
	json  bool
}

var global globalFlags

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rft",
		Short: "Reinforcement fine-tuning of language models with rubric rewards",
		Long: `rft trains language models with GRPO against rubric rewards, as in
"Chasing the Tail" (arXiv 2509.21500): rubric generation and refinement,
group rollouts from a served policy, KL-regularised policy updates,
checkpoints and win-rate evaluation, in one static binary.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			setupLogging(cmd.ErrOrStderr())
		},
	}
	root.PersistentFlags().BoolVarP(&global.quiet, "quiet", "q", false, "print only errors and results")
	root.PersistentFlags().BoolVar(&global.json, "json", false, "machine-readable output (JSON) and JSON logs")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(err) })
	root.AddCommand(newVersionCmd(), newModelCmd(), newConfigCmd(), newPretrainCmd(), newSampleCmd(), newTokenizerCmd(), newCheckpointsCmd(), newServeCmd(), newRolloutCmd(), newRubricCmd(), newTrainCmd(), newReportCmd(), newEvalCmd(), newDemoCmd(), newRMCmd(), newTailworldCmd(), newReplicateCmd())
	return root
}

func setupLogging(w io.Writer) {
	level := slog.LevelInfo
	if global.quiet {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if global.json {
		h = slog.NewJSONHandler(w, opts)
	}
	slog.SetDefault(slog.New(h))
}

// usageErr wraps cobra's flag and argument errors so they exit with status 2.
func usageErr(err error) error { return badInput{err} }

// isUsageError recognises cobra's own usage errors, which it returns
// unwrapped (unknown command, wrong argument count).
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// exactArgs is cobra.ExactArgs with a usage error that exits 2.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return inputErr(cobra.ExactArgs(n)(cmd, args))
	}
}
