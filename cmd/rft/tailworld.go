package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/spf13/cobra"
)

// newTailworldCmd groups the generators of the built-in tailworld task: the
// base model's SFT corpus, prompts, reference responses and candidate pools.
// Every file is a deterministic function of --seed and the flags, written
// atomically; bad input writes nothing and exits 2.
func newTailworldCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tailworld",
		Short: "Generate tailworld data: base corpus, prompts, references, candidate pools",
		Long: `tailworld is the built-in deterministic task (tasks/tailworld/README.md). These
commands write its data as JSONL, each a pure function of --seed (the world's
seed) and the flags:

  corpus      the base persona's SFT corpus on train prompts
  prompts     {"id","prompt"} of a split
  references  {"prompt_id","response"}: the reference persona (the fixed opponent)
  pool        {"prompt_id","response","source"} candidate pools for rft rubric refine`,
	}
	cmd.AddCommand(newTailworldCorpusCmd(), newTailworldPromptsCmd(), newTailworldReferencesCmd(), newTailworldPoolCmd())
	return cmd
}

// twFlags are the flags every tailworld generator shares.
type twFlags struct {
	seed uint64
	out  string
}

func (f *twFlags) register(cmd *cobra.Command) {
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "world seed")
	cmd.Flags().StringVar(&f.out, "out", "", "JSONL file to write (atomically)")
}

func (f *twFlags) world() *tailworld.World {
	return tailworld.NewWorld(f.seed, tailworld.DefaultEntities)
}

func (f *twFlags) check(name string) error {
	if f.out == "" {
		return inputErr(fmt.Errorf("tailworld %s: --out is required", name))
	}
	return nil
}

// parseSplit reads --split.
func parseSplit(s string) (tailworld.Split, error) {
	switch tailworld.Split(s) {
	case tailworld.Train, tailworld.Eval:
		return tailworld.Split(s), nil
	}
	return "", fmt.Errorf("--split: want train or eval, got %q", s)
}

// writeTailworld writes recs as JSONL atomically and reports it.
func writeTailworld[T any](cmd *cobra.Command, what, path string, recs []T) error {
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		if err := tailworld.WriteJSONL(bw, recs); err != nil {
			return err
		}
		return bw.Flush()
	}); err != nil {
		return err
	}
	if global.json {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"out": path, "records": len(recs), "kind": what})
	}
	slog.Info("tailworld "+what+" written", "out", path, "records", len(recs))
	return nil
}

// chatExample is a corpus line in the chat layout ({"messages"}), which rft
// pretrain renders with the model's chat template, as the rollout server
// renders a prompt: a base trained on it sees at training time exactly the
// tokens it is prompted with later.
type chatExample struct {
	Messages [2]chatMessage `json:"messages"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func newTailworldCorpusCmd() *cobra.Command {
	var f twFlags
	var n, per, from, worlds, drills, copies, lists int
	var chat bool
	cmd := &cobra.Command{
		Use:   "corpus --n N [--per-prompt K] [--worlds W] [--drills D] [--copies C] [--lists L] [--chat] --out FILE.jsonl",
		Short: "The base persona's SFT corpus: K responses to each of N train prompts",
		Long: `Writes the base model's SFT corpus: train prompts [from, from+N), each with K
samples of the base persona (poor to great, rarely excellent, artifacts at low
rates), as {"prompt","completion"} lines. With --worlds W the corpus covers W
worlds (seeds seed, seed+1, …), N prompts each: every world gives the shared
names new animals, so that a model fitted to it must copy names and numbers
from the prompt's facts rather than memorise animals (only train splits are used). With --chat each line is instead
{"messages":[{"role":"user",...},{"role":"assistant",...}]}, so that rft
pretrain trains on the chat template that rollouts, rft sample --chat and the
rollout server prompt the model with (configs/base-tailworld.yaml). With
--drills D each world also gives D reading drills on the train prompts that
follow the corpus's (facts, then "Copy the lines about the horses.",
answered with those fact lines verbatim, or "Which of them are horses?",
answered with the animals as a response describes them, "The horse Faron and
the horse Seza."): the base's lessons in reading its prompt. With
--copies C each world also gives C short copy drills (three fact lines, then
"Copy the facts.") on the train prompts after the drills'. With --lists L each
world also gives L list drills after those (a request answered with exactly the
asked number of described animals, then nothing: the lesson in stopping).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("corpus"); err != nil {
				return err
			}
			switch {
			case n < 1:
				return inputErr(fmt.Errorf("tailworld corpus: --n must be at least 1, got %d", n))
			case per < 1:
				return inputErr(fmt.Errorf("tailworld corpus: --per-prompt must be at least 1, got %d", per))
			case from < 0:
				return inputErr(fmt.Errorf("tailworld corpus: --from must not be negative, got %d", from))
			case worlds < 1:
				return inputErr(fmt.Errorf("tailworld corpus: --worlds must be at least 1, got %d", worlds))
			case drills < 0:
				return inputErr(fmt.Errorf("tailworld corpus: --drills must not be negative, got %d", drills))
			case copies < 0:
				return inputErr(fmt.Errorf("tailworld corpus: --copies must not be negative, got %d", copies))
			case lists < 0:
				return inputErr(fmt.Errorf("tailworld corpus: --lists must not be negative, got %d", lists))
			}
			var exs []tailworld.Example
			for k := range worlds {
				w := tailworld.NewWorld(f.seed+uint64(k), tailworld.DefaultEntities)
				exs = append(exs, w.BaseCorpus(from, n, per)...)
				exs = append(exs, w.Drills(from+n, drills)...)
				exs = append(exs, w.CopyDrills(from+n+drills, copies)...)
				exs = append(exs, w.ListDrills(from+n+drills+copies, lists)...)
			}
			if !chat {
				return writeTailworld(cmd, "corpus", f.out, exs)
			}
			recs := make([]chatExample, len(exs))
			for i, ex := range exs {
				recs[i].Messages = [2]chatMessage{{"user", ex.Prompt}, {"assistant", ex.Completion}}
			}
			return writeTailworld(cmd, "corpus", f.out, recs)
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&n, "n", 0, "train prompts")
	cmd.Flags().IntVar(&per, "per-prompt", 1, "base responses per prompt")
	cmd.Flags().IntVar(&from, "from", 0, "first train prompt index")
	cmd.Flags().IntVar(&worlds, "worlds", 1, "worlds: seeds seed, seed+1, …, each giving N train prompts")
	cmd.Flags().IntVar(&drills, "drills", 0, "reading drills per world, on the train prompts after the corpus's")
	cmd.Flags().IntVar(&copies, "copies", 0, "short copy drills per world, on the train prompts after the drills'")
	cmd.Flags().IntVar(&lists, "lists", 0, "list drills per world (exactly the asked count, then stop), on the train prompts after the copy drills'")
	cmd.Flags().BoolVar(&chat, "chat", false, `write {"messages"} (user, assistant) instead of {"prompt","completion"}`)
	return cmd
}

func newTailworldPromptsCmd() *cobra.Command {
	var f twFlags
	var split string
	var n, from int
	cmd := &cobra.Command{
		Use:   "prompts --split train|eval --n N --out FILE.jsonl",
		Short: `Prompts of a split as {"id","prompt"}`,
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("prompts"); err != nil {
				return err
			}
			sp, err := parseSplit(split)
			if err != nil {
				return inputErr(fmt.Errorf("tailworld prompts: %w", err))
			}
			if n < 1 || from < 0 {
				return inputErr(fmt.Errorf("tailworld prompts: want --n ≥ 1 and --from ≥ 0, got %d and %d", n, from))
			}
			return writeTailworld(cmd, "prompts", f.out, f.world().PromptRecords(sp, from, n))
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&split, "split", "", "train or eval")
	cmd.Flags().IntVar(&n, "n", 0, "prompts")
	cmd.Flags().IntVar(&from, "from", 0, "first prompt index")
	return cmd
}

// referenceRecord is one reference response, keyed like the prompts file.
type referenceRecord struct {
	PromptID string `json:"prompt_id"`
	Response string `json:"response"`
}

func newTailworldReferencesCmd() *cobra.Command {
	var f twFlags
	var split string
	var n, from int
	cmd := &cobra.Command{
		Use:   "references [--split eval] --n N --out FILE.jsonl",
		Short: `The reference persona's responses as {"prompt_id","response"}`,
		Long: `Writes the fixed opponent of win-rate evaluation: the reference persona's
sample 0 for prompts [from, from+N) of the split, with the same ids that
rft tailworld prompts gives them.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("references"); err != nil {
				return err
			}
			sp, err := parseSplit(split)
			if err != nil {
				return inputErr(fmt.Errorf("tailworld references: %w", err))
			}
			if n < 1 || from < 0 {
				return inputErr(fmt.Errorf("tailworld references: want --n ≥ 1 and --from ≥ 0, got %d and %d", n, from))
			}
			w := f.world()
			var recs []referenceRecord
			for _, p := range w.Prompts(sp, from, n) {
				s, err := w.ReferenceResponse(p.Text)
				if err != nil {
					return fmt.Errorf("tailworld references: %s: %w", p.ID, err)
				}
				recs = append(recs, referenceRecord{PromptID: p.ID, Response: s})
			}
			return writeTailworld(cmd, "references", f.out, recs)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&split, "split", string(tailworld.Eval), "train or eval")
	cmd.Flags().IntVar(&n, "n", 0, "prompts")
	cmd.Flags().IntVar(&from, "from", 0, "first prompt index")
	return cmd
}

func newTailworldPoolCmd() *cobra.Command {
	var f twFlags
	var prompts, kind string
	var size int
	cmd := &cobra.Command{
		Use:   "pool --prompts FILE --kind good|great|great-diverse|null --size K --out FILE.jsonl",
		Short: "Candidate pools for rft rubric refine",
		Long: `Writes K candidates per prompt of a prompts file ({"id","prompt"} JSONL, as
rft tailworld prompts writes it) as {"prompt_id","response","source"}:
good and great are samples of those personas, great-diverse one sample of
each diverse persona then great, null great responses that differ only in
wordless artifacts (the control under which refinement must not help).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check("pool"); err != nil {
				return err
			}
			switch {
			case prompts == "":
				return inputErr(errors.New("tailworld pool: --prompts is required"))
			case !slices.Contains(tailworld.Pools, kind):
				return inputErr(fmt.Errorf("tailworld pool: --kind: want one of %v, got %q", tailworld.Pools, kind))
			case size < 1:
				return inputErr(fmt.Errorf("tailworld pool: --size must be at least 1, got %d", size))
			}
			ps, err := readTailworldPrompts(prompts)
			if err != nil {
				return inputErr(fmt.Errorf("tailworld pool: %w", err))
			}
			w := f.world()
			var recs []tailworld.Candidate
			for _, p := range ps {
				c, err := w.CandidatePool(p, kind, size)
				if err != nil {
					return inputErr(fmt.Errorf("tailworld pool: %s: %w", p.ID, err))
				}
				recs = append(recs, c...)
			}
			return writeTailworld(cmd, "pool", f.out, recs)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&prompts, "prompts", "", `prompts JSONL {"id","prompt"}`)
	cmd.Flags().StringVar(&kind, "kind", "", "good, great, great-diverse or null")
	cmd.Flags().IntVar(&size, "size", 0, "candidates per prompt")
	return cmd
}

// readTailworldPrompts reads a prompts file and parses every prompt (the
// prompt text alone defines a tailworld task).
func readTailworldPrompts(path string) ([]tailworld.Prompt, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []tailworld.Prompt
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec tailworld.PromptRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		switch {
		case rec.ID == "":
			return nil, fmt.Errorf("%s line %d: no \"id\"", path, line)
		case seen[rec.ID]:
			return nil, fmt.Errorf("%s line %d: id %q repeated", path, line, rec.ID)
		}
		seen[rec.ID] = true
		q, err := tailworld.ParsePrompt(rec.Prompt)
		if err != nil {
			return nil, fmt.Errorf("%s line %d (%s): %w", path, line, rec.ID, err)
		}
		out = append(out, tailworld.Prompt{ID: rec.ID, Text: rec.Prompt, Request: q})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	return out, nil
}
