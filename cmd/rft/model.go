package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/linalg"
	"github.com/spf13/cobra"
)

func matmulBackend() string { return linalg.Backend() }

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "Inspect model checkpoints (Hugging Face directories)"}
	show := &cobra.Command{
		Use:   "show DIR",
		Short: "Architecture, parameter count, dtype and tokenizer of a model directory",
		Long: `Reads config.json, the safetensors headers (never the weights), generation_config.json
and tokenizer.json of a Hugging Face model directory and summarises them.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := policy.Inspect(args[0])
			if err != nil {
				return inputErr(err)
			}
			w := cmd.OutOrStdout()
			if global.json {
				return json.NewEncoder(w).Encode(info)
			}
			return printModelInfo(w, info)
		},
	}
	cmd.AddCommand(show)
	return cmd
}

func printModelInfo(out interface{ Write([]byte) (int, error) }, info *policy.ModelInfo) error {
	c := info.Config
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(k string, format string, a ...any) { fmt.Fprintf(w, "%s\t%s\n", k, fmt.Sprintf(format, a...)) }
	row("architecture", "%s", c.Architecture)
	row("parameters", "%s (%d)", humanCount(info.Params), info.Params)
	row("dtype", "%s", info.DType)
	row("layers", "%d", c.Layers)
	row("hidden", "%d (intermediate %d)", c.Hidden, c.Intermediate)
	row("attention", "%d heads, %d kv heads, head_dim %d", c.Heads, c.KVHeads, c.HeadDim)
	row("vocab", "%d", c.VocabSize)
	row("context", "%d positions, rope_theta %g%s", c.MaxPositions, c.RopeTheta, ropeScalingText(c))
	var extras []string
	if c.TieEmbeddings {
		extras = append(extras, "tied embeddings")
	}
	if c.QKNorm {
		extras = append(extras, "QK-norm")
	}
	if c.QKVBias {
		extras = append(extras, "q/k/v bias")
	}
	if len(extras) == 0 {
		extras = append(extras, "none")
	}
	row("options", "%s", strings.Join(extras, ", "))
	row("eos ids", "%v", c.EOS)
	if info.TokenizerFile != "" {
		row("tokenizer", "%s (%d tokens)", info.TokenizerFile, info.TokenizerVocab)
	} else {
		row("tokenizer", "none")
	}
	row("files", "%s", strings.Join(info.Files, ", "))
	return w.Flush()
}

func ropeScalingText(c *policy.Config) string {
	if c.RopeScaling == nil {
		return ""
	}
	return fmt.Sprintf(", rope_scaling %s x%g", c.RopeScaling.Type, c.RopeScaling.Factor)
}

func humanCount(n int) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
