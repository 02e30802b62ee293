package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/grpo"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/policy"
	runreport "github.com/rft-dev/rft/report"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/spf13/cobra"
)

// evalFlags are rft eval's options.
type evalFlags struct {
	checkpoint, run, judge, reference, prompts, baseline, out string
	n, maxTokens, worldSeed                                   int
	temperature                                               float64
	penalties                                                 policy.Penalties
	seed                                                      uint64
	baseURLs                                                  []string
}

func newEvalCmd() *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval (--checkpoint DIR | --run RUN_DIR) [--judge SPEC] [--reference FILE] [--out DIR]",
		Short: "Win-rate of checkpoints against reference responses, with 95% intervals",
		Long: `Generates a completion for every held-out prompt (greedy by default) and asks the judge
to compare it with the reference response; ties count half. Judges: tailworld (the task's
oracle) or an LLM spec (openai:NAME, ollama:NAME), asked in both orders with disagreement
counted as a tie. Prompts and references default to tailworld's eval split and its reference
persona. With --run every checkpoint is evaluated (win-rate vs step and vs KL, eval.jsonl and
report.html in the run directory); with --baseline a second model is evaluated on the same
prompts and the difference is given with a paired-bootstrap 95% interval. summary.json holds,
per evaluated model, win_rate, wins, ties, losses, n, ci_low and ci_high (Wilson 95%).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (f.checkpoint == "") == (f.run == "") {
				return inputErr(fmt.Errorf("give exactly one of --checkpoint DIR or --run RUN_DIR"))
			}
			if f.n < 1 {
				return inputErr(fmt.Errorf("--n: must be at least 1, got %d", f.n))
			}
			if err := f.penalties.Validate(0); err != nil { // no biases: the vocabulary is not needed
				return inputErr(fmt.Errorf("--%s", strings.Replace(err.Error(), "_", "-", 1)))
			}
			sum, err := runEval(cmd.Context(), &f)
			if err != nil {
				return err
			}
			return printEvalSummary(cmd, sum)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.checkpoint, "checkpoint", "", "model directory to evaluate")
	fl.StringVar(&f.run, "run", "", "run directory: evaluate every checkpoint")
	fl.StringVar(&f.judge, "judge", "tailworld", "judge: tailworld (oracle) or an LLM spec")
	fl.StringVar(&f.reference, "reference", "", "reference responses JSONL {prompt_id, response} (default: tailworld's reference persona)")
	fl.StringVar(&f.prompts, "prompts", "", "held-out prompts JSONL {id, prompt} (default: tailworld's eval split)")
	fl.StringVar(&f.baseline, "baseline", "", "also evaluate this model directory and compare (paired bootstrap)")
	fl.StringVar(&f.out, "out", "", "output directory (default: the run directory with --run, else runs/eval-TIMESTAMP)")
	fl.IntVar(&f.n, "n", 200, "tailworld eval prompts when --prompts is not given")
	fl.IntVar(&f.worldSeed, "world-seed", 1, "seed of the tailworld world")
	fl.IntVar(&f.maxTokens, "max-tokens", 256, "completion length limit")
	fl.Float64Var(&f.temperature, "temperature", 0, "sampling temperature (0: greedy)")
	fl.Float64Var(&f.penalties.Presence, "presence-penalty", 0, "OpenAI's presence penalty in [-2, 2], for both models (policy.Penalties)")
	fl.Float64Var(&f.penalties.Frequency, "frequency-penalty", 0, "OpenAI's frequency penalty in [-2, 2], for both models")
	fl.Float64Var(&f.penalties.Repetition, "repetition-penalty", 0, "vLLM's repetition penalty (positive; 0 or 1: off), for both models")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of sampling and of the bootstrap")
	fl.StringSliceVar(&f.baseURLs, "base-url", nil, "endpoint(s) of an LLM judge")
	cmd.AddCommand(newProbeCmd())
	return cmd
}

// EvalSummary is summary.json of rft eval.
type EvalSummary struct {
	Judge       string                     `json:"judge"`
	Prompts     int                        `json:"prompts"`
	Models      map[string]eval.WinRate    `json:"models"`
	Order       []string                   `json:"order"`
	Comparisons map[string]eval.PairedDiff `json:"comparisons,omitempty"` // "A - B"
	Out         string                     `json:"out"`
}

// evalSet is the held-out prompts and their references.
type evalSet struct {
	prompts []grpo.Prompt
	refs    map[string]string
}

func loadEvalSet(f *evalFlags) (*evalSet, error) {
	set := &evalSet{refs: map[string]string{}}
	var err error
	if f.prompts != "" {
		if set.prompts, err = grpo.ReadPrompts(f.prompts); err != nil {
			return nil, err
		}
	} else {
		w := tailworld.NewWorld(uint64(f.worldSeed), tailworld.DefaultEntities)
		for _, r := range w.PromptRecords(tailworld.Eval, 0, f.n) {
			// A user turn, as the tailworld base was fine-tuned on chats.
			set.prompts = append(set.prompts, grpo.Prompt{ID: r.ID, Messages: []grpo.Message{{Role: "user", Content: r.Prompt}}})
			if f.reference == "" {
				ref, err := w.ReferenceResponse(r.Prompt)
				if err != nil {
					return nil, err
				}
				set.refs[r.ID] = ref
			}
		}
	}
	if f.reference != "" {
		if set.refs, err = readReferences(f.reference); err != nil {
			return nil, err
		}
	}
	for _, p := range set.prompts {
		if _, ok := set.refs[p.ID]; !ok {
			return nil, fmt.Errorf("no reference response for prompt %q (give --reference)", p.ID)
		}
	}
	return set, nil
}

// evalModel generates and judges one model's completions.
func evalModel(ctx context.Context, f *evalFlags, judge eval.Judge, set *evalSet, dir string) ([]eval.Verdict, []map[string]any, error) {
	pol, err := openLocalPolicy(dir, f.maxTokens)
	if err != nil {
		return nil, nil, inputErr(err)
	}
	ev := &winRateEvaluator{judge: judge, prompts: set.prompts, refs: set.refs, seed: f.seed}
	ev.temperature = f.temperature
	pol.penalties = f.penalties
	v, texts, err := ev.verdictsWithTexts(ctx, pol)
	if err != nil {
		return nil, nil, err
	}
	samples := make([]map[string]any, len(v))
	for i, p := range set.prompts {
		samples[i] = map[string]any{"prompt_id": p.ID, "response": texts[i], "verdict": int(v[i])}
	}
	return v, samples, nil
}

func runEval(ctx context.Context, f *evalFlags) (*EvalSummary, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	set, err := loadEvalSet(f)
	if err != nil {
		return nil, inputErr(err)
	}
	judge, err := openJudge(f.judge, f.baseURLs)
	if err != nil {
		return nil, inputErr(err)
	}
	type target struct {
		name, dir string
		step      int
	}
	var targets []target
	if f.baseline != "" {
		targets = append(targets, target{"baseline", f.baseline, -1})
	}
	var kls map[int]float64
	if f.run != "" {
		run, _, err := checkpoints.Open(f.run)
		if err != nil {
			return nil, inputErr(err)
		}
		cps, err := run.List()
		if err != nil {
			return nil, err
		}
		if len(cps) == 0 {
			return nil, inputErr(fmt.Errorf("%s has no checkpoints", f.run))
		}
		for _, cp := range cps {
			targets = append(targets, target{fmt.Sprintf("step-%d", cp.Step), cp.Dir, cp.Step})
		}
		kls = readKLs(filepath.Join(f.run, "metrics.jsonl"))
		if f.out == "" {
			f.out = f.run
		}
	} else {
		targets = append(targets, target{"checkpoint", f.checkpoint, -1})
	}
	// Every model is checked (headers only) before anything is written.
	for _, t := range targets {
		if _, err := policy.Inspect(t.dir); err != nil {
			return nil, inputErr(err)
		}
	}
	if f.out == "" {
		f.out = filepath.Join("runs", "eval-"+time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return nil, err
	}
	sum := &EvalSummary{Judge: f.judge, Prompts: len(set.prompts), Models: map[string]eval.WinRate{}, Out: f.out}
	verdicts := map[string][]eval.Verdict{}
	var evalLines, sampleLines []byte
	for _, t := range targets {
		v, samples, err := evalModel(ctx, f, judge, set, t.dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.dir, err)
		}
		w := eval.Summarize(v, f.seed)
		sum.Models[t.name], verdicts[t.name] = w, v
		sum.Order = append(sum.Order, t.name)
		if t.step >= 0 {
			rec := map[string]any{"step": t.step, "win_rate": w.WinRate, "ci_low": w.CILow, "ci_high": w.CIHigh,
				"wins": w.Wins, "ties": w.Ties, "losses": w.Losses, "n": w.N}
			if kl, ok := kls[t.step]; ok {
				rec["kl"] = kl
			}
			line, _ := json.Marshal(rec)
			evalLines = append(append(evalLines, line...), '\n')
		}
		for _, s := range samples {
			s["model"] = t.name
			line, _ := json.Marshal(s)
			sampleLines = append(append(sampleLines, line...), '\n')
		}
	}
	// Each model against the baseline (or the last checkpoint against the
	// first), on the same prompts.
	if len(sum.Order) > 1 {
		sum.Comparisons = map[string]eval.PairedDiff{}
		first := sum.Order[0]
		for _, name := range sum.Order[1:] {
			sum.Comparisons[name+" - "+first] = eval.Paired(verdicts[name], verdicts[first], f.seed)
		}
	}
	if evalLines != nil {
		if err := atomicfile.WriteBytes(filepath.Join(f.out, "eval.jsonl"), evalLines, 0o644); err != nil {
			return nil, err
		}
	}
	if err := atomicfile.WriteBytes(filepath.Join(f.out, "eval_samples.jsonl"), sampleLines, 0o644); err != nil {
		return nil, err
	}
	data, _ := json.MarshalIndent(sum, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(f.out, "summary.json"), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	if f.run != "" {
		if err := runreport.Write(f.run); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// readKLs maps step → kl from a metrics log (missing or torn lines skipped).
func readKLs(path string) map[int]float64 {
	out := map[int]float64{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		var r struct {
			Step int      `json:"step"`
			KL   *float64 `json:"kl"`
		}
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.KL != nil {
			out[r.Step] = *r.KL
		}
	}
	return out
}

func printEvalSummary(cmd *cobra.Command, sum *EvalSummary) error {
	w := cmd.OutOrStdout()
	if global.json {
		return json.NewEncoder(w).Encode(sum)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "MODEL\tWIN-RATE\t95%% CI\tW/T/L\tN\n")
	for _, name := range sum.Order {
		m := sum.Models[name]
		fmt.Fprintf(tw, "%s\t%.1f%%\t[%.1f, %.1f]\t%d/%d/%d\t%d\n", name, 100*m.WinRate, 100*m.CILow, 100*m.CIHigh, m.Wins, m.Ties, m.Losses, m.N)
	}
	tw.Flush()
	keys := make([]string, 0, len(sum.Comparisons))
	for k := range sum.Comparisons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d := sum.Comparisons[k]
		fmt.Fprintf(w, "%s: %+.1f points, paired-bootstrap 95%% CI [%+.1f, %+.1f]\n", k, 100*d.Diff, 100*d.CILow, 100*d.CIHigh)
	}
	fmt.Fprintf(w, "judge %s on %d prompts; %s\n", sum.Judge, sum.Prompts, strings.TrimSpace(filepath.Join(sum.Out, "summary.json")))
	return nil
}
