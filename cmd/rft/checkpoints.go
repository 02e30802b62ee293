package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/spf13/cobra"
)

func newCheckpointsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "checkpoints", Short: "Inspect the checkpoints of a run directory"}
	list := &cobra.Command{
		Use:   "list RUN_DIR",
		Short: "List the complete checkpoints of a run, oldest first",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			run, _, err := checkpoints.Open(args[0])
			if err != nil {
				return inputErr(err)
			}
			cps, err := run.List()
			if err != nil {
				return err
			}
			type row struct {
				Step  int    `json:"step"`
				Dir   string `json:"dir"`
				Bytes int64  `json:"bytes"`
			}
			rows := make([]row, len(cps))
			for i, cp := range cps {
				rows[i] = row{cp.Step, cp.Dir, dirSize(cp.Dir)}
			}
			w := cmd.OutOrStdout()
			if global.json {
				return json.NewEncoder(w).Encode(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(w, "no checkpoints yet")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STEP\tSIZE\tDIR")
			for _, r := range rows {
				fmt.Fprintf(tw, "%d\t%.1f MB\t%s\n", r.Step, float64(r.Bytes)/1e6, r.Dir)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(list)
	return cmd
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
