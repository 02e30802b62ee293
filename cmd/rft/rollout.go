package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/internal/progress"
	"github.com/rft-dev/rft/rollout"
	"github.com/spf13/cobra"
)

// rolloutRecord is one line of `rft rollout`'s output: a response record
// (DESIGN.md, records) with the token ids and log-probabilities the trainer
// reads.
type rolloutRecord struct {
	PromptID      string    `json:"prompt_id"`
	Response      string    `json:"response"`
	Source        string    `json:"source"`
	Tokens        []int     `json:"tokens"`
	Logprobs      []float64 `json:"logprobs"`
	FinishReason  string    `json:"finish_reason"`
	WeightVersion string    `json:"weight_version"`
}

func newRolloutCmd() *cobra.Command {
	var (
		jf               jobFlags
		out, promptsPath string
		urls             []string
	)
	cmd := &cobra.Command{
		Use:   "rollout --config FILE [--out FILE.jsonl]",
		Short: "Sample a group of completions of every prompt from the policy",
		Long: `Samples grpo.group_size completions of every prompt of a prompts JSONL file
({"id", "prompt"} or {"id", "messages"} per line; --prompts, else data.train)
from the policy rollout.policy (a model spec: local:PATH, openai:NAME,
ollama:NAME; empty means local:<model.path>), with rollout.temperature,
top_p, top_k, max_tokens and the job's seed: prompt p draws from the stream
keyed by (seed, p's id), so a prompt gets the same completions alone or in
any batch on a local or rft server backend. Writes one JSON line per
completion, {"prompt_id", "response", "source", "tokens", "logprobs",
"finish_reason", "weight_version"}, to --out (atomically) or stdout. The
log-probabilities are those of the distribution sampled (logits / T) where
the backend can give them (local, rft serve), raw ones elsewhere.
--base-url (comma-separated for several, load-balanced) or OPENAI_BASE_URL /
OLLAMA_HOST give the endpoints, OPENAI_API_KEY the key. Prompts that fail
after retries are reported, the others written, and the exit status is 1.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			job, err := jf.load()
			if err != nil {
				return err
			}
			path := promptsPath
			if path == "" {
				path = job.Data.Train
			}
			if path == "" {
				return inputErr(fmt.Errorf("no prompts: set data.train or pass --prompts"))
			}
			prompts, err := readPromptsFile(path)
			if err != nil {
				return inputErr(err)
			}
			spec := job.Rollout.Policy
			if spec == "" {
				if job.Model.Path == "" {
					return inputErr(fmt.Errorf("rollout.policy is empty and so is model.path: nothing to sample from"))
				}
				spec = "local:" + job.Model.Path
			}
			opts := rollout.Options{Concurrency: job.Rollout.Concurrency, Role: "policy"}
			if len(urls) > 0 {
				opts.BaseURLs = urls
			}
			llm, err := rollout.Open(spec, opts)
			if err != nil {
				return inputErr(err)
			}
			groups, err := sampleRollouts(cmd, job, llm, prompts)
			if err != nil {
				return err
			}
			write := func(w io.Writer) error { return writeRollouts(w, groups, spec) }
			if out == "" {
				err = write(cmd.OutOrStdout())
			} else {
				err = atomicfile.Write(out, 0o644, write)
			}
			if err != nil {
				return err
			}
			failed := 0
			var first error
			for _, g := range groups {
				if g.Err != nil {
					failed++
					slog.Error("rollout failed", "prompt", g.Prompt.ID, "err", g.Err)
					if first == nil {
						first = fmt.Errorf("prompt %q: %w", g.Prompt.ID, g.Err)
					}
				}
			}
			u := rollout.DefaultMeter.Snapshot()["policy"]
			slog.Info("rollout done", "prompts", len(groups), "failed", failed, "completions", (len(groups)-failed)*job.GRPO.GroupSize,
				"prompt_tokens", u.PromptTokens, "completion_tokens", u.CompletionTokens, "retries", u.Retries)
			if failed > 0 {
				return fmt.Errorf("%d of %d prompts failed; first: %w", failed, len(groups), first)
			}
			return nil
		},
	}
	jf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "output JSONL file (written atomically); empty: stdout")
	f.StringVar(&promptsPath, "prompts", "", "prompts JSONL file; empty: data.train")
	f.StringSliceVar(&urls, "base-url", nil, "endpoint(s) of an openai or ollama policy, repeatable or comma-separated (default OPENAI_BASE_URL / OLLAMA_HOST)")
	return cmd
}

func readPromptsFile(path string) ([]rollout.Prompt, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	prompts, err := rollout.ReadPrompts(f, path)
	if err != nil {
		return nil, err
	}
	if len(prompts) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	return prompts, nil
}

// sampleRollouts runs the sampler with the job's parameters and a progress
// bar on stderr.
func sampleRollouts(cmd *cobra.Command, job *configs.Job, llm rollout.LLM, prompts []rollout.Prompt) ([]rollout.Group, error) {
	seed := int64(job.Seed)
	r := job.Rollout
	var w io.Writer = cmd.ErrOrStderr()
	if global.quiet || global.json {
		w = nil
	}
	bar, start := progress.New(w, "rollout", 0, len(prompts)), time.Now()
	s := &rollout.Sampler{
		LLM: llm, G: job.GRPO.GroupSize, Seed: &seed, Concurrency: r.Concurrency,
		Request: rollout.ChatRequest{
			Temperature: r.Temperature, TopP: r.TopP, TopK: r.TopK, MaxTokens: r.MaxTokens,
			Logprobs: true, SampledLogprobs: true,
		},
		Progress: func(done, total int) {
			bar.Update(done, float64(done)/time.Since(start).Seconds(), "prompts/s", "")
		},
	}
	return s.Sample(cmd.Context(), prompts)
}

func writeRollouts(w io.Writer, groups []rollout.Group, source string) error {
	enc := json.NewEncoder(w)
	for _, g := range groups {
		for _, c := range g.Completions {
			rec := rolloutRecord{
				PromptID: g.Prompt.ID, Response: c.Text, Source: source, Tokens: c.Tokens, Logprobs: c.Logprobs,
				FinishReason: c.FinishReason, WeightVersion: c.WeightVersion,
			}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
	}
	return nil
}
