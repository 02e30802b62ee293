package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rft-dev/rft/configs"
	"github.com/spf13/cobra"
)

// jobFlags are the flags every job command takes: --config FILE and repeated
// --set section.key=value.
type jobFlags struct {
	config string
	sets   []string
}

func (f *jobFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", "", "YAML job file (defaults apply to every key it omits)")
	cmd.Flags().StringArrayVar(&f.sets, "set", nil, "override one config key, e.g. --set train.lr=1e-5 (repeatable)")
}

// load resolves the job; any problem is bad input (exit status 2).
func (f *jobFlags) load() (*configs.Job, error) {
	job, err := configs.Load(f.config, f.sets)
	return job, inputErr(err)
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect job configurations"}
	var jf jobFlags
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the resolved job configuration (defaults, then --config, then --set)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			job, err := jf.load()
			if err != nil {
				return err
			}
			data, err := job.Marshal()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(data)
			return err
		},
	}
	jf.register(show)
	cmd.AddCommand(show)
	return cmd
}

// jobContext ends on SIGINT or SIGTERM: a job stops between steps and its
// last checkpoint stays the point to resume from.
func jobContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// progressOut is where progress bars go: stderr, unless --quiet or --json.
func progressOut() io.Writer {
	if global.quiet || global.json {
		return nil
	}
	return os.Stderr
}
