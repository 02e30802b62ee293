package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/internal/atomicfile"
	"github.com/rft-dev/rft/replicate"
	"github.com/rft-dev/rft/reward"
	"github.com/rft-dev/rft/reward/bt"
	"github.com/rft-dev/rft/rubric"
	"github.com/rft-dev/rft/tasks/tailworld"
	"github.com/rft-dev/rft/tasks/tailworld/oracle"
	"github.com/spf13/cobra"
)

// probeSample is the first persona sample index of probe pairs: candidate
// pools and the SFT data use small indices, so probe responses are never
// ones a rubric was refined on.
const probeSample = 1000

// strongPersonas are the responders of high-reward probe pairs.
var strongPersonas = []string{"great", "diverse-1", "diverse-2", "diverse-3", "diverse-4", "diverse-5", "diverse-6"}

// tailworldProbePairs draws, per prompt, one high-reward pair (two distinct
// strong responders, chosen by a stream keyed by the prompt) and one
// low-reward pair (two base-persona samples), all from sample indices no
// pool uses.
func tailworldProbePairs(w *tailworld.World, prompts []tailworld.Prompt) ([]eval.ProbePair, error) {
	ps := tailworld.Personas()
	var out []eval.ProbePair
	for _, p := range prompts {
		r := rand.New(rand.NewPCG(w.Seed, tailworld.Hash64("probe-high", p.ID)))
		idx := r.Perm(len(strongPersonas))
		a, err := tailworld.Respond(p.Text, ps[strongPersonas[idx[0]]], w.Seed, probeSample)
		if err != nil {
			return nil, err
		}
		b, err := tailworld.Respond(p.Text, ps[strongPersonas[idx[1]]], w.Seed, probeSample)
		if err != nil {
			return nil, err
		}
		out = append(out, eval.ProbePair{PromptID: p.ID, Prompt: p.Text, A: a, B: b, Region: eval.RegionHigh})
		la, err := tailworld.Respond(p.Text, ps["base"], w.Seed, probeSample+1)
		if err != nil {
			return nil, err
		}
		lb, err := tailworld.Respond(p.Text, ps["base"], w.Seed, probeSample+2)
		if err != nil {
			return nil, err
		}
		out = append(out, eval.ProbePair{PromptID: p.ID, Prompt: p.Text, A: la, B: lb, Region: eval.RegionLow})
	}
	return out, nil
}

// artifactPair is one great response written with and without one artifact.
type artifactPair struct {
	promptID, prompt, with, without, artifact string
}

// tailworldArtifactPairs writes, per prompt and artifact, one plan of the
// great persona twice: clean, and with that artifact only. Rendering draws
// nothing for artifacts, so the texts differ by the artifact alone. Pairs
// the oracle judge does not tie (an artifact's words can break concision)
// are dropped: what is left changes nothing the judge values.
func tailworldArtifactPairs(ctx context.Context, w *tailworld.World, prompts []tailworld.Prompt) ([]artifactPair, error) {
	var out []artifactPair
	for _, p := range prompts {
		for a := range tailworld.NumArtifacts {
			key := tailworld.Hash64("probe-artifact", p.ID, a.String())
			plan := tailworld.Draw(p.Request, tailworld.Personas()["great"].Profile, rand.New(rand.NewPCG(w.Seed, key)))
			plan.Artifacts = [tailworld.NumArtifacts]bool{}
			clean := tailworld.Render(p.Request, plan, rand.New(rand.NewPCG(w.Seed, key+1)))
			plan.Artifacts[a] = true
			with := tailworld.Render(p.Request, plan, rand.New(rand.NewPCG(w.Seed, key+1)))
			if with == clean {
				continue // e.g. numbering on a response that is not a list
			}
			v, err := oracle.Judge{}.Compare(ctx, p.Text, with, clean)
			if err != nil {
				return nil, err
			}
			if v == eval.Tie {
				out = append(out, artifactPair{p.ID, p.Text, with, clean, a.String()})
			}
		}
	}
	return out, nil
}

// scoreArtifacts measures a reward's preference for the artifact version.
func scoreArtifacts(ctx context.Context, rw reward.Reward, pairs []artifactPair) (*replicate.ArtifactResult, error) {
	batch := make([]reward.Sample, 0, 2*len(pairs))
	for _, p := range pairs {
		batch = append(batch, reward.Sample{PromptID: p.promptID, Prompt: p.prompt, Completion: p.with},
			reward.Sample{PromptID: p.promptID, Prompt: p.prompt, Completion: p.without})
	}
	scores, err := rw.Score(ctx, batch)
	if err != nil {
		return nil, err
	}
	res := &replicate.ArtifactResult{ByArtifact: map[string]int{}, Counts: map[string]int{}}
	for i, p := range pairs {
		a, b := scores[2*i], scores[2*i+1]
		if a.Err != nil || b.Err != nil {
			continue
		}
		res.Pairs++
		res.Counts[p.artifact]++
		switch {
		case a.Value > b.Value:
			res.Prefers++
			res.ByArtifact[p.artifact]++
		case a.Value == b.Value:
			res.Ties++
		}
	}
	res.Summarize()
	return res, nil
}

// artifactLine finds the artifacts a completion can carry (tailworld's six,
// as the personas write them).
var artifactLine = regexp.MustCompile(`(?m)^(Sure!|Great question!|Hope this helps!|\d+\. )|\*\*|!$`)

// artifactRate is the share of completions with at least one artifact.
func artifactRate(texts []string) float64 {
	if len(texts) == 0 {
		return 0
	}
	n := 0
	for _, t := range texts {
		if artifactLine.MatchString(strings.TrimSpace(t)) {
			n++
		}
	}
	return float64(n) / float64(len(texts))
}

// probeFlags are rft eval probe's options.
type probeFlags struct {
	rubrics, verifier, rewardModel, judge, out string
	prompts, worldSeed                         int
	baseURLs                                   []string
}

func newProbeCmd() *cobra.Command {
	var f probeFlags
	cmd := &cobra.Command{
		Use:   "probe (--rubrics FILE [--verifier SPEC] | --reward-model DIR) [--judge tailworld] [--prompts N] [--out FILE]",
		Short: "Reward-accuracy probe: agreement of a reward with the judge on high- and low-reward pairs",
		Long: `The analog of the paper's Table 2, on tailworld train prompts. For each prompt it draws
a high-reward pair (two responses of distinct strong responders: great and the diverse
family) and a low-reward pair (two samples of the base persona), from sample indices no
candidate pool uses. The reward scores both responses of a pair and prefers the higher;
the judge compares them. Agreement = pairs where they prefer the same response / pairs
the judge does not tie; a pair the reward ties counts as a disagreement (as in the
paper). Reported per region with a Wilson 95% interval.

The reward is a rubric file (its prompts are probed, the first --prompts of them, with
the --verifier) or a Bradley-Terry reward model from rft rm train (--reward-model; the
first --prompts train prompts of the world of --world-seed). --out writes the result
as JSON, per-pair outcomes included.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (f.rubrics == "") == (f.rewardModel == "") {
				return inputErr(fmt.Errorf("give exactly one of --rubrics FILE or --reward-model DIR"))
			}
			if f.prompts < 1 {
				return inputErr(fmt.Errorf("--prompts: must be at least 1, got %d", f.prompts))
			}
			res, err := runProbe(cmd.Context(), &f)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if global.json {
				return json.NewEncoder(w).Encode(res)
			}
			for _, region := range []string{eval.RegionHigh, eval.RegionLow} {
				a := res.Regions[region]
				fmt.Fprintf(w, "%-18s agreement %5.1f%%  95%% CI [%4.1f, %4.1f]  %d of %d counted (%d judge ties left out, %d reward ties counted wrong, %d failed)\n",
					region+"-reward pairs:", 100*a.Rate, 100*a.CILow, 100*a.CIHigh, a.Agree, a.N, a.JudgeTies, a.RewardTies, a.Failed)
			}
			if f.out != "" {
				fmt.Fprintf(w, "wrote %s\n", f.out)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.rubrics, "rubrics", "", "rubric JSONL: the rubric reward to probe")
	fl.StringVar(&f.verifier, "verifier", "sim", "verifier spec of the rubric reward")
	fl.StringVar(&f.rewardModel, "reward-model", "", "a Bradley-Terry reward-model directory (rft rm train checkpoint)")
	fl.StringVar(&f.judge, "judge", "tailworld", "judge: tailworld (oracle) or an LLM spec")
	fl.IntVar(&f.prompts, "prompts", 100, "prompts probed (two pairs each)")
	fl.IntVar(&f.worldSeed, "world-seed", 1, "seed of the tailworld world")
	fl.StringVar(&f.out, "out", "", "write the result (with per-pair outcomes) as JSON")
	fl.StringSliceVar(&f.baseURLs, "base-url", nil, "endpoint(s) of an LLM verifier or judge")
	return cmd
}

// runProbe resolves the reward and the prompts, then probes.
func runProbe(ctx context.Context, f *probeFlags) (*eval.ProbeResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	w := tailworld.NewWorld(uint64(f.worldSeed), tailworld.DefaultEntities)
	judge, err := openJudge(f.judge, f.baseURLs)
	if err != nil {
		return nil, inputErr(err)
	}
	var rw reward.Reward
	var prompts []tailworld.Prompt
	if f.rubrics != "" {
		rubrics, err := rubric.ReadRubrics(f.rubrics)
		if err != nil {
			return nil, inputErr(err)
		}
		for i, r := range rubrics {
			if i == f.prompts {
				break
			}
			q, err := tailworld.ParsePrompt(r.Prompt)
			if err != nil {
				return nil, inputErr(fmt.Errorf("%s: rubric %d (prompt %s): not a tailworld prompt: %w", f.rubrics, i+1, r.PromptID, err))
			}
			prompts = append(prompts, tailworld.Prompt{ID: r.PromptID, Text: r.Prompt, Request: q})
		}
		vf := verifierFlags{spec: f.verifier, mode: "batched", aggregate: "mean", retry: "default", noCache: true}
		t, err := rubric.LoadTemplates("")
		if err != nil {
			return nil, err
		}
		g, cache, err := vf.grader(&llmFlags{baseURLs: f.baseURLs, concurrency: 8, maxTokens: 1024}, t)
		if err != nil {
			return nil, inputErr(err)
		}
		if cache != nil {
			defer cache.Close()
		}
		rw = reward.NewRubric(rubrics, g)
	} else {
		m, err := bt.Load(f.rewardModel)
		if err != nil {
			return nil, inputErr(err)
		}
		rw = m
		prompts = w.Prompts(tailworld.Train, 0, f.prompts)
	}
	pairs, err := tailworldProbePairs(w, prompts)
	if err != nil {
		return nil, err
	}
	res, err := eval.Probe(ctx, pairs, rw, judge)
	if err != nil {
		return nil, err
	}
	if f.out != "" {
		data, _ := json.MarshalIndent(res, "", "  ")
		if err := atomicfile.WriteBytes(filepath.Clean(f.out), append(data, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	return res, nil
}
