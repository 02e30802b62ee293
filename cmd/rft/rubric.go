package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/rollout"
	"github.com/rft-dev/rft/rubric"
	"github.com/spf13/cobra"
)

func newRubricCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rubric",
		Short: "Generate, refine, score, inspect and convert rubrics",
		Long: `Rubrics are lists of weighted yes/no criteria per prompt ("Chasing the Tail",
arXiv 2509.21500). generate writes initial rubrics from the prompts alone,
refine sharpens them by Refinement-through-Differentiation over a candidate
pool, score verifies responses against them, stats and show inspect them,
import and export convert the paper's released JSON.`,
	}
	cmd.AddCommand(newRubricGenerateCmd(), newRubricRefineCmd(), newRubricScoreCmd(), newRubricShowCmd(),
		newRubricStatsCmd(), newRubricImportCmd(), newRubricExportCmd())
	return cmd
}

// llmFlags are the flags of every command that talks to a proposer or
// verifier.
type llmFlags struct {
	baseURLs    []string
	concurrency int
	timeout     time.Duration
	templates   string
	maxTokens   int
	jf          jobFlags
}

func (f *llmFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.baseURLs, "base-url", nil, "endpoint of the model backends (repeatable or comma-separated; default OPENAI_BASE_URL / OLLAMA_HOST)")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 16, "LLM calls in flight")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Minute, "one LLM call's limit (each retry gets its own)")
	cmd.Flags().StringVar(&f.templates, "templates", "", "directory of prompt templates replacing the embedded ones (NAME.tmpl)")
	cmd.Flags().IntVar(&f.maxTokens, "max-tokens", 0, "limit on each answer (0: the backend's default)")
	f.jf.register(cmd)
}

// check validates the job flags (the contract takes them on every job).
func (f *llmFlags) check() (*rubric.Templates, error) {
	if _, err := f.jf.load(); err != nil {
		return nil, err
	}
	if f.concurrency < 1 {
		return nil, inputErr(errors.New("--concurrency must be at least 1"))
	}
	t, err := rubric.LoadTemplates(f.templates)
	return t, inputErr(err)
}

// openLLM builds a model from its spec; tests replace it.
var openLLM = func(spec, role string, f *llmFlags) (rollout.LLM, error) {
	return rollout.Open(spec, rollout.Options{BaseURLs: f.baseURLs, Role: role, Concurrency: f.concurrency, Timeout: f.timeout})
}

func openProposer(spec string, f *llmFlags, t *rubric.Templates) (rubric.Proposer, error) {
	if spec == "" {
		return nil, inputErr(errors.New("--proposer is required (e.g. openai:gpt-4.1)"))
	}
	if fac, ok := rubric.LookupProposer(spec); ok {
		p, err := fac(spec)
		return p, inputErr(err)
	}
	llm, err := openLLM(spec, "proposer", f)
	if err != nil {
		return nil, inputErr(err)
	}
	return &rubric.LLMProposer{LLM: llm, Templates: t, MaxTokens: f.maxTokens}, nil
}

// verifierFlags configure the grader of refine and score.
type verifierFlags struct {
	spec, mode, aggregate, retry, cache string
	noCache                             bool
}

func (v *verifierFlags) register(cmd *cobra.Command, withAggregate bool) {
	cmd.Flags().StringVar(&v.spec, "verifier", "", "verifier model spec (e.g. openai:gpt-4.1-mini)")
	cmd.Flags().StringVar(&v.mode, "mode", "batched", "batched (one call per response, the paper), per-criterion, or chunk:K")
	if withAggregate {
		cmd.Flags().StringVar(&v.aggregate, "aggregate", "mean", "mean (Σw·v/Σw, the paper), points (HealthBench) or implicit (one holistic 1-10 score)")
	}
	cmd.Flags().StringVar(&v.retry, "retry", "default", "retry policy: default (two more attempts, the first at T=1; missing criteria asked again) or paper (one retry at T=1; missing = no)")
	cmd.Flags().StringVar(&v.cache, "cache", "", "verification cache directory (default: the user cache dir's rft/verify, else .rft-cache)")
	cmd.Flags().BoolVar(&v.noCache, "no-cache", false, "do not read or write the verification cache")
}

func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "rft", "verify")
	}
	return ".rft-cache"
}

// validate checks the flags before any file is read.
func (v *verifierFlags) validate() error {
	if _, err := rubric.ParseMode(v.mode); err != nil {
		return inputErr(err)
	}
	if v.aggregate != "" {
		if _, err := rubric.ParseAggregation(v.aggregate); err != nil {
			return inputErr(err)
		}
	}
	_, err := rubric.ParseRetryPolicy(v.retry)
	return inputErr(err)
}

// grader builds the verifier, the grader and the cache (nil with --no-cache);
// the caller closes the cache.
func (v *verifierFlags) grader(f *llmFlags, t *rubric.Templates) (*rubric.Grader, *rubric.Cache, error) {
	if v.spec == "" {
		return nil, nil, inputErr(errors.New("--verifier is required (e.g. openai:gpt-4.1-mini)"))
	}
	mode, err := rubric.ParseMode(v.mode)
	if err != nil {
		return nil, nil, inputErr(err)
	}
	agg := rubric.AggMean
	if v.aggregate != "" {
		if agg, err = rubric.ParseAggregation(v.aggregate); err != nil {
			return nil, nil, inputErr(err)
		}
	}
	policy, err := rubric.ParseRetryPolicy(v.retry)
	if err != nil {
		return nil, nil, inputErr(err)
	}
	var ver rubric.Verifier
	if fac, ok := rubric.LookupVerifier(v.spec); ok {
		if ver, err = fac(v.spec); err != nil {
			return nil, nil, inputErr(err)
		}
	} else {
		llm, err := openLLM(v.spec, "verifier", f)
		if err != nil {
			return nil, nil, inputErr(err)
		}
		ver = &rubric.LLMVerifier{LLM: llm, Name: v.spec, Templates: t, MaxTokens: f.maxTokens}
	}
	g := &rubric.Grader{Verifier: ver, Mode: mode, Aggregate: agg, Policy: policy, Concurrency: f.concurrency,
		Fingerprint: "spec:" + v.spec}
	if fp, ok := ver.(rubric.Fingerprinter); ok {
		g.Fingerprint = fp.Fingerprint()
	}
	if v.noCache {
		return g, nil, nil
	}
	dir := v.cache
	if dir == "" {
		dir = defaultCacheDir()
	}
	c, err := rubric.OpenCache(dir)
	if err != nil {
		return nil, nil, err
	}
	g.Cache = c
	return g, c, nil
}

// report prints a job's summary: JSON with --json, else a log line.
func report(cmd *cobra.Command, msg string, fields map[string]any) error {
	if global.json {
		enc := json.NewEncoder(cmd.OutOrStdout())
		return enc.Encode(fields)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []any
	for _, k := range keys {
		args = append(args, k, fields[k])
	}
	slog.Info(msg, args...)
	return nil
}

func required(name, value string) error {
	if value == "" {
		return inputErr(fmt.Errorf("--%s is required", name))
	}
	return nil
}

func newRubricGenerateCmd() *cobra.Command {
	var prompts, proposer, out string
	var reference bool
	var lf llmFlags
	cmd := &cobra.Command{
		Use:   "generate --prompts PROMPTS.jsonl --proposer SPEC --out RUBRICS.jsonl",
		Short: "Write an initial rubric for each prompt, from the prompt alone (the paper)",
		Long: `Asks the proposer (at temperature 0) for a rubric per prompt with the style
guide of the paper: mutually exclusive and collectively exhaustive, atomic,
specific, self-contained criteria weighted 1-3. --reference also shows each
prompt's "reference" answer (Rubrics as Rewards). An answer that cannot be
parsed is retried once; a prompt that still fails is reported and left out.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, r := range [][2]string{{"prompts", prompts}, {"out", out}} {
				if err := required(r[0], r[1]); err != nil {
					return err
				}
			}
			t, err := lf.check()
			if err != nil {
				return err
			}
			ps, err := rubric.ReadPrompts(prompts)
			if err != nil {
				return inputErr(err)
			}
			p, err := openProposer(proposer, &lf, t)
			if err != nil {
				return err
			}
			results := rubric.Generate(cmd.Context(), p, ps, proposer, reference, lf.concurrency)
			var rubrics []*rubric.Rubric
			var failed []map[string]string
			for i, r := range results {
				for _, w := range r.Warnings {
					slog.Warn("proposer answer irregular", "prompt", ps[i].ID, "warning", w)
				}
				if r.Err != nil {
					slog.Error("no rubric", "prompt", ps[i].ID, "err", r.Err)
					failed = append(failed, map[string]string{"prompt_id": ps[i].ID, "error": r.Err.Error()})
					continue
				}
				rubrics = append(rubrics, r.Rubric)
			}
			if len(rubrics) == 0 {
				return fmt.Errorf("rubric generate: every prompt failed (%d)", len(failed))
			}
			if err := rubric.WriteJSONL(out, rubrics); err != nil {
				return err
			}
			return report(cmd, "rubrics generated", map[string]any{"out": out, "rubrics": len(rubrics), "failed": len(failed), "failures": failed, "usage": usage()})
		},
	}
	cmd.Flags().StringVar(&prompts, "prompts", "", `prompts JSONL: {"id", "prompt"} or {"id", "messages"}, optional "reference"`)
	cmd.Flags().StringVar(&proposer, "proposer", "", "proposer model spec (e.g. openai:gpt-4.1)")
	cmd.Flags().StringVar(&out, "out", "", "rubrics JSONL to write")
	cmd.Flags().BoolVar(&reference, "reference", false, "show the proposer each prompt's reference answer")
	lf.register(cmd)
	return cmd
}

// usage is the token usage per role so far.
func usage() map[string]rollout.RoleUsage { return rollout.DefaultMeter.Snapshot() }

func newRubricRefineCmd() *cobra.Command {
	var rubricsPath, candidates, proposer, pairs, out string
	var iterations int
	var exclude bool
	var lf llmFlags
	var vf verifierFlags
	cmd := &cobra.Command{
		Use:   "refine --rubrics RUBRICS.jsonl --candidates CANDIDATES.jsonl --proposer SPEC --verifier SPEC [--iterations N] [--pairs top2|top2-distinct-sources] --out RUBRICS.jsonl",
		Short: "Refine rubrics by Refinement-through-Differentiation over candidate responses",
		Long: `Each iteration scores every candidate of a prompt with its current rubric,
takes a pair (top2: the two highest, ties in input order; or
top2-distinct-sources), and asks the proposer to rewrite the whole rubric so
that it tells the two apart, without saying which is better. Refinement of a
prompt stops early when the rubric stops changing; every iteration is
recorded in the rubric's provenance (rft rubric stats shows them).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, r := range [][2]string{{"rubrics", rubricsPath}, {"candidates", candidates}, {"out", out}} {
				if err := required(r[0], r[1]); err != nil {
					return err
				}
			}
			rule, err := rubric.ParsePairRule(pairs)
			if err != nil {
				return inputErr(err)
			}
			if err := vf.validate(); err != nil {
				return err
			}
			if iterations < 1 {
				return inputErr(errors.New("--iterations must be at least 1"))
			}
			t, err := lf.check()
			if err != nil {
				return err
			}
			rs, err := rubric.ReadRubrics(rubricsPath)
			if err != nil {
				return inputErr(err)
			}
			pool, err := rubric.ReadCandidates(candidates)
			if err != nil {
				return inputErr(err)
			}
			p, err := openProposer(proposer, &lf, t)
			if err != nil {
				return err
			}
			g, cache, err := vf.grader(&lf, t)
			if err != nil {
				return err
			}
			if cache != nil {
				defer cache.Close()
			}
			rf := &rubric.Refiner{Proposer: p, ProposerName: proposer, Grader: g, Iterations: iterations, Pairs: rule, ExcludeUsed: exclude}
			outRubrics := make([]*rubric.Rubric, len(rs))
			errs := make([]error, len(rs))
			var wg sync.WaitGroup
			sem := make(chan struct{}, lf.concurrency)
			for i, r := range rs {
				cands := pool.By[r.PromptID]
				if len(cands) < 2 {
					slog.Warn("fewer than two candidates, rubric kept", "prompt", r.PromptID, "candidates", len(cands))
					outRubrics[i] = r
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					outRubrics[i], errs[i] = rf.Refine(cmd.Context(), r, cands)
				}()
			}
			wg.Wait()
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			var failed []map[string]string
			changed := 0
			for i, e := range errs {
				if e != nil {
					slog.Error("refinement stopped", "prompt", rs[i].PromptID, "err", e)
					failed = append(failed, map[string]string{"prompt_id": rs[i].PromptID, "error": e.Error()})
				}
				if outRubrics[i].Provenance.Iteration != rs[i].Provenance.Iteration {
					changed++
				}
			}
			for id := range pool.By {
				found := false
				for _, r := range rs {
					found = found || r.PromptID == id
				}
				if !found {
					slog.Warn("candidates for a prompt without a rubric, ignored", "prompt", id)
				}
			}
			if err := rubric.WriteJSONL(out, outRubrics); err != nil {
				return err
			}
			fields := map[string]any{"out": out, "rubrics": len(outRubrics), "changed": changed, "failed": len(failed), "failures": failed,
				"verifier": g.Stats(), "usage": usage()}
			if cache != nil {
				fields["cache"] = cache.Stats()
			}
			return report(cmd, "rubrics refined", fields)
		},
	}
	cmd.Flags().StringVar(&rubricsPath, "rubrics", "", "rubrics to refine (JSONL, or YAML)")
	cmd.Flags().StringVar(&candidates, "candidates", "", `candidate pool JSONL: {"prompt_id", "response", "source"}`)
	cmd.Flags().StringVar(&proposer, "proposer", "", "proposer model spec")
	cmd.Flags().IntVar(&iterations, "iterations", 1, "refinement iterations per prompt (the paper: 1 pair = 1, four pairs = 4)")
	cmd.Flags().StringVar(&pairs, "pairs", "top2", "pair rule: top2 or top2-distinct-sources")
	cmd.Flags().BoolVar(&exclude, "exclude-used", false, "drop each used pair from the pool")
	cmd.Flags().StringVar(&out, "out", "", "refined rubrics JSONL to write (may be --rubrics itself)")
	vf.register(cmd, false)
	lf.register(cmd)
	return cmd
}

func newRubricScoreCmd() *cobra.Command {
	var rubricsPath, responses, out string
	var lf llmFlags
	var vf verifierFlags
	cmd := &cobra.Command{
		Use:   "score --rubrics RUBRICS.jsonl --responses RESPONSES.jsonl --verifier SPEC [--mode batched|per-criterion|chunk:K] [--aggregate mean|points|implicit] --out SCORES.jsonl",
		Short: "Verify responses against their prompts' rubrics and aggregate",
		Long: `Writes one record per response, in input order:
{"prompt_id", "response_index", "score", "verdicts": {"c1": true, ...}}, where
response_index counts the prompt's responses in file order from 0. A response
whose verification finally failed carries "error" and no score. Programmatic
checks run locally. Verdicts are cached on disk (--cache), so scoring the same
batch again makes no LLM call.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, r := range [][2]string{{"rubrics", rubricsPath}, {"responses", responses}, {"out", out}} {
				if err := required(r[0], r[1]); err != nil {
					return err
				}
			}
			if err := vf.validate(); err != nil {
				return err
			}
			t, err := lf.check()
			if err != nil {
				return err
			}
			rs, err := rubric.ReadRubrics(rubricsPath)
			if err != nil {
				return inputErr(err)
			}
			byID := map[string]*rubric.Rubric{}
			for _, r := range rs {
				byID[r.PromptID] = r
			}
			pool, err := rubric.ReadCandidates(responses)
			if err != nil {
				return inputErr(err)
			}
			// Records go out in file order.
			var cands []rubric.Candidate
			for _, id := range pool.Order {
				cands = append(cands, pool.By[id]...)
			}
			sort.Slice(cands, func(i, j int) bool { return cands[i].Line < cands[j].Line })
			items := make([]rubric.Item, len(cands))
			for i, c := range cands {
				r := byID[c.PromptID]
				if r == nil {
					return inputErr(fmt.Errorf("%s line %d: no rubric for prompt_id %q in %s", responses, c.Line, c.PromptID, rubricsPath))
				}
				items[i] = rubric.Item{Rubric: r, Response: c.Response}
			}
			g, cache, err := vf.grader(&lf, t)
			if err != nil {
				return err
			}
			if cache != nil {
				defer cache.Close()
			}
			results := g.GradeBatch(cmd.Context(), items)
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			st := g.Stats()
			if len(results) > 0 && st.Failed == int64(len(results)) {
				return fmt.Errorf("rubric score: every response failed verification; first: %v", results[0].Err)
			}
			err = atomicfile.Write(out, 0o644, func(w io.Writer) error {
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				for i, c := range cands {
					if err := enc.Encode(rubric.NewScoreRecord(c, results[i])); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			fields := map[string]any{"out": out, "responses": len(results), "failed": st.Failed, "verifier": st, "usage": usage()}
			if cache != nil {
				cs := cache.Stats()
				fields["cache"] = cs
				fields["cache_hit_rate"] = cs.HitRate
			}
			return report(cmd, "responses scored", fields)
		},
	}
	cmd.Flags().StringVar(&rubricsPath, "rubrics", "", "rubrics (JSONL, or YAML)")
	cmd.Flags().StringVar(&responses, "responses", "", `responses JSONL: {"prompt_id", "response", "source"}`)
	cmd.Flags().StringVar(&out, "out", "", "scores JSONL to write")
	vf.register(cmd, true)
	lf.register(cmd)
	return cmd
}

func newRubricShowCmd() *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "show RUBRICS.jsonl [--id PROMPT_ID]",
		Short: "Print rubrics (all, or one prompt's); --json prints them as JSONL",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := rubric.ReadRubrics(args[0])
			if err != nil {
				return inputErr(err)
			}
			if id != "" {
				var keep []*rubric.Rubric
				for _, r := range rs {
					if r.PromptID == id {
						keep = append(keep, r)
					}
				}
				if len(keep) == 0 {
					return inputErr(fmt.Errorf("%s: no rubric for prompt %q", args[0], id))
				}
				rs = keep
			}
			w := cmd.OutOrStdout()
			if global.json {
				return rubric.EncodeJSONL(w, rs)
			}
			for i, r := range rs {
				if i > 0 {
					fmt.Fprintln(w)
				}
				total := 0.0
				for _, c := range r.Criteria {
					if c.Weight > 0 {
						total += c.Weight
					}
				}
				fmt.Fprintf(w, "%s  (%d criteria, weight %g, iteration %d", r.PromptID, len(r.Criteria), total, r.Provenance.Iteration)
				if r.Provenance.Proposer != "" {
					fmt.Fprintf(w, ", proposer %s", r.Provenance.Proposer)
				}
				fmt.Fprintf(w, ")\n  %s\n", oneLine(r.Prompt, 200))
				for _, c := range r.Criteria {
					extra := ""
					if c.Check != nil {
						a, _ := json.Marshal(c.Check.Args)
						extra = fmt.Sprintf("  [check %s %s]", c.Check.Name, a)
					}
					if len(c.Tags) > 0 {
						extra += "  [" + strings.Join(c.Tags, ", ") + "]"
					}
					fmt.Fprintf(w, "  %-4s %+3g  %s%s\n", c.ID, c.Weight, c.Text, extra)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "show only this prompt's rubric")
	return cmd
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func newRubricStatsCmd() *cobra.Command {
	var scores string
	cmd := &cobra.Command{
		Use:   "stats RUBRICS.jsonl --scores SCORES.jsonl",
		Short: "Per-criterion pass rates, tie rates and what each refinement iteration did",
		Long: `Pass rates per criterion (the paper aims at criteria that about half of
strong responses fail), the tie rate among scored responses of a prompt and
among its two best (RTD cannot separate a tied top pair), and, for refined
rubrics, the criteria each iteration added, deleted, rewrote or decomposed.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := rubric.ReadRubrics(args[0])
			if err != nil {
				return inputErr(err)
			}
			var sc []rubric.ScoreRecord
			if scores != "" {
				if sc, err = rubric.ReadScores(scores); err != nil {
					return inputErr(err)
				}
			}
			st := rubric.ComputeStats(rs, sc)
			w := cmd.OutOrStdout()
			if global.json {
				return json.NewEncoder(w).Encode(st)
			}
			fmt.Fprintf(w, "rubrics %d, criteria %d, responses %d (failed %d)\n", st.Rubrics, st.Criteria, st.Responses, st.Failed)
			fmt.Fprintf(w, "pass rate %.3f, tie rate %.3f, top-pair tie rate %.3f\n", st.PassRate, st.TieRate, st.TopTieRate)
			if len(sc) > 0 {
				fmt.Fprintf(w, "\n%-14s %-4s %6s %9s  %s\n", "prompt", "id", "weight", "pass", "criterion")
				for _, c := range st.PerCriterion {
					pass := "-"
					if c.Answered > 0 {
						pass = fmt.Sprintf("%d/%d", c.Met, c.Answered)
					}
					fmt.Fprintf(w, "%-14s %-4s %6g %9s  %s\n", oneLine(c.PromptID, 14), c.ID, c.Weight, pass, oneLine(c.Text, 80))
				}
			}
			if len(st.Iterations) > 0 {
				fmt.Fprintf(w, "\nrefinement: %d added, %d deleted, %d rewritten, %d decomposed (decomposed share %.3f)\n",
					st.EditsAdded, st.EditsDeleted, st.EditsRewrite, st.EditsDecomp, st.DecomposeRate)
				fmt.Fprintf(w, "%-14s %4s %-12s %5s %7s %9s %10s  %s\n", "prompt", "iter", "pair", "added", "deleted", "rewritten", "decomposed", "stop")
				for _, it := range st.Iterations {
					fmt.Fprintf(w, "%-14s %4d %-12s %5d %7d %9d %10d  %s\n", oneLine(it.PromptID, 14), it.Iteration,
						it.Pair[0]+","+it.Pair[1], it.Added, it.Deleted, it.Rewritten, it.Decomposed, it.Stop)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&scores, "scores", "", "scores JSONL from rft rubric score")
	return cmd
}

func newRubricImportCmd() *cobra.Command {
	var from, out string
	cmd := &cobra.Command{
		Use:   "import --from paper IN.json --out RUBRICS.jsonl",
		Short: "Convert the paper's released rubric JSON to native JSONL",
		Long: `Reads the paper's records {id, prompt, original_rubric, total_criteria,
criteria: [{criterion, weight, local_id}], total_weight} (an array, one
record, or one per line), including irregular ones: criteria as a JSON string
or a {"criterion text": weight} map, missing local ids, non-numeric weights.
Each irregularity is a warning naming the record.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if from != "paper" {
				return inputErr(fmt.Errorf("--from %q: only paper is known", from))
			}
			if err := required("out", out); err != nil {
				return err
			}
			rs, warns, err := rubric.ImportPaper(args[0])
			for _, w := range warns {
				slog.Warn(w)
			}
			if err != nil {
				return inputErr(err)
			}
			if err := rubric.WriteJSONL(out, rs); err != nil {
				return err
			}
			return report(cmd, "rubrics imported", map[string]any{"out": out, "rubrics": len(rs), "warnings": len(warns)})
		},
	}
	cmd.Flags().StringVar(&from, "from", "paper", "source format: paper")
	cmd.Flags().StringVar(&out, "out", "", "rubrics JSONL to write")
	return cmd
}

func newRubricExportCmd() *cobra.Command {
	var to, out string
	cmd := &cobra.Command{
		Use:   "export --to paper RUBRICS.jsonl --out OUT.json",
		Short: "Convert native rubrics to the paper's JSON",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to != "paper" {
				return inputErr(fmt.Errorf("--to %q: only paper is known", to))
			}
			if err := required("out", out); err != nil {
				return err
			}
			rs, err := rubric.ReadRubrics(args[0])
			if err != nil {
				return inputErr(err)
			}
			warns, err := rubric.ExportPaper(out, rs)
			for _, w := range warns {
				slog.Warn(w)
			}
			if err != nil {
				return err
			}
			return report(cmd, "rubrics exported", map[string]any{"out": out, "rubrics": len(rs), "warnings": len(warns)})
		},
	}
	cmd.Flags().StringVar(&to, "to", "paper", "target format: paper")
	cmd.Flags().StringVar(&out, "out", "", "JSON file to write")
	return cmd
}
