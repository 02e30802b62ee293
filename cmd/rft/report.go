package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	// Aliased: package main already has a func report (rubric.go).
	runreport "github.com/rft-dev/rft/report"
	"github.com/spf13/cobra"
)

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "Write PNG plots and a self-contained report.html for a run directory",
		Long: `report reads a run directory (metrics.jsonl, and eval.jsonl, summary.json
and config.yaml when present) and writes RUN_DIR/plots/*.png and
RUN_DIR/report.html, a single file with the plots embedded. It works on a run
that is still going or was killed: an incomplete last line is skipped.
It prints the path of report.html (with --json, what it wrote).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := runreport.Generate(args[0])
			if errors.Is(err, runreport.ErrNotRun) {
				return inputErr(err)
			}
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				slog.Warn(w)
			}
			out := cmd.OutOrStdout()
			if global.json {
				return json.NewEncoder(out).Encode(res)
			}
			_, err = fmt.Fprintln(out, res.Report)
			return err
		},
	}
}
