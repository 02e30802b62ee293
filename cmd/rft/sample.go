package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
	"github.com/spf13/cobra"
)

func newSampleCmd() *cobra.Command {
	var (
		dir, prompt string
		n, maxTok   int
		topK        int
		temp, topP  float64
		seed        uint64
		chat        bool
	)
	cmd := &cobra.Command{
		Use:   "sample --model DIR --prompt TEXT",
		Short: "Generate completions of a prompt with a model directory",
		Long: `Generates n completions of a prompt. Temperature below 1e-5 is greedy. Sample i of
a seed always gives the same text. Generation stops at any EOS id of the model
(config.json and generation_config.json) or after --max-tokens. With --chat the prompt
is sent as a user message through the model's chat template.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case dir == "":
				return inputErr(fmt.Errorf("--model is required"))
			case n < 1 || n > 1024:
				return inputErr(fmt.Errorf("-n: %d is not in [1, 1024]", n))
			case maxTok < 1:
				return inputErr(fmt.Errorf("--max-tokens: must be at least 1, got %d", maxTok))
			case temp < 0:
				return inputErr(fmt.Errorf("--temperature: must be non-negative, got %g", temp))
			case !(topP > 0 && topP <= 1):
				return inputErr(fmt.Errorf("--top-p: must be in (0, 1], got %g", topP))
			}
			_, params, err := policy.LoadDir(dir)
			if err != nil {
				return inputErr(err)
			}
			tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
			if err != nil {
				return inputErr(err)
			}
			text := prompt
			if chat {
				tmpl, err := tokenizer.LoadChatTemplate(dir)
				if err != nil {
					return inputErr(err)
				}
				text = tmpl.Render([]tokenizer.Message{{Role: "user", Content: prompt}}, true)
			}
			ids := tok.Encode(text)
			if len(ids) == 0 {
				return inputErr(fmt.Errorf("--prompt: encodes to no tokens"))
			}
			if len(ids) >= params.Config.MaxPositions {
				return inputErr(fmt.Errorf("--prompt: %d tokens leave no room in the context of %d", len(ids), params.Config.MaxPositions))
			}
			m, err := policy.NewModel(params)
			if err != nil {
				return inputErr(err)
			}
			opts := policy.SampleOptions{MaxTokens: maxTok, Temperature: temp, TopP: topP, TopK: topK, Seed: seed, EOS: params.Config.EOS}
			ws := policy.NewWorkspace[float32](false)
			type sampleOut struct {
				Text         string `json:"text"`
				Tokens       []int  `json:"tokens"`
				FinishReason string `json:"finish_reason"`
			}
			var outs []sampleOut
			for i := range n {
				c, err := policy.Generate(m, ws, ids, opts, i)
				if err != nil {
					return err
				}
				outs = append(outs, sampleOut{Text: tok.Decode(c.Tokens), Tokens: c.Tokens, FinishReason: c.FinishReason})
			}
			w := cmd.OutOrStdout()
			if global.json {
				return json.NewEncoder(w).Encode(map[string]any{"prompt_tokens": ids, "samples": outs})
			}
			for i, o := range outs {
				if n > 1 {
					fmt.Fprintf(w, "--- sample %d (%s, %d tokens)\n", i, o.FinishReason, len(o.Tokens))
				}
				fmt.Fprintln(w, o.Text)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "model", "", "model directory (config.json, model.safetensors, tokenizer.json)")
	f.StringVar(&prompt, "prompt", "", "prompt text")
	f.IntVarP(&n, "n", "n", 1, "number of completions")
	f.IntVar(&maxTok, "max-tokens", 64, "maximum new tokens per completion")
	f.Float64Var(&temp, "temperature", 1, "sampling temperature (below 1e-5: greedy)")
	f.Float64Var(&topP, "top-p", 1, "nucleus sampling threshold")
	f.IntVar(&topK, "top-k", 0, "keep only the k most likely tokens (0: all)")
	f.Uint64Var(&seed, "seed", 0, "random seed")
	f.BoolVar(&chat, "chat", false, "wrap the prompt in the model's chat template as a user message")
	return cmd
}
