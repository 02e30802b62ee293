package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rft-dev/rft/eval"
)

// TestDemoQuick runs the whole loop at smoke size on a random tiny base:
// every stage runs and writes its outputs (the improvement itself is the
// real demo's job, on the committed base).
func TestDemoQuick(t *testing.T) {
	base := tinyBase(t)
	out := filepath.Join(t.TempDir(), "demo")
	code, stdout, stderr := rft(t, "--quiet", "demo", "--quick", "--set", "demo.base="+base, "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{"summary.json", "rubrics.jsonl", "rubrics_initial.jsonl", "data/pool.jsonl",
		"data/references.jsonl", "train/metrics.jsonl", "train/eval.jsonl", "train/report.html", "eval_samples.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("demo did not write %s", f)
		}
	}
	var sum DemoSummary
	data, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(data, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Models["base"].N != 6 || sum.Models["final"].N != 6 || sum.Train == nil || sum.Train.Steps != 2 {
		t.Fatalf("summary: %+v", sum)
	}
	if _, ok := sum.Comparisons["final - base"]; !ok {
		t.Fatalf("no paired comparison: %+v", sum.Comparisons)
	}
	if sum.Rubrics.RefinedCriteria <= 0 || sum.Rubrics.Prompts != 4 {
		t.Fatalf("rubrics: %+v", sum.Rubrics)
	}
	// Every rollout was scored: the sim verifier answered every criterion.
	metrics, _ := os.ReadFile(filepath.Join(out, "train", "metrics.jsonl"))
	for _, line := range strings.Split(strings.TrimSpace(string(metrics)), "\n") {
		var rec struct {
			Step           int `json:"step"`
			RewardFailures int `json:"reward_failures"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.RewardFailures != 0 {
			t.Fatalf("step %d: %d completions could not be scored (%v)", rec.Step, rec.RewardFailures, err)
		}
	}
	// No base: bad input, nothing written.
	out2 := filepath.Join(t.TempDir(), "none")
	if code, _, stderr := rft(t, "demo", "--quick", "--set", "demo.base=/nope", "--out", out2); code != 2 || !strings.Contains(stderr, "make base") {
		t.Fatalf("missing base: exit %d %q", code, stderr)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Fatal("a failed demo must not create its directory")
	}
}

// --require-gain passes only when the paired interval lies above zero.
func TestDemoRequireGain(t *testing.T) {
	sum := func(lo, hi float64) *DemoSummary {
		s := &DemoSummary{}
		s.Comparisons = map[string]eval.PairedDiff{"final - base": {Diff: (lo + hi) / 2, CILow: lo, CIHigh: hi, N: 200}}
		return s
	}
	if err := checkGain(sum(0.01, 0.09)); err != nil {
		t.Fatalf("a significant gain fails: %v", err)
	}
	for _, s := range []*DemoSummary{sum(0, 0), sum(-0.02, 0.06), sum(-0.09, -0.01), {}} {
		if err := checkGain(s); err == nil {
			t.Fatalf("%+v passes", s.Comparisons)
		}
	}
	if err := checkGain(sum(-0.02, 0.06)); !strings.Contains(err.Error(), "[-2.0, +6.0]") {
		t.Fatalf("message does not give the interval: %v", err)
	}
}

// demo.reward picks what GRPO maximises: with oracle every rollout's reward
// is its gold reward r*; with initial the rewards differ from the refined
// rubrics' on the same seed; an unknown value is bad input naming the key.
func TestDemoRewardChoice(t *testing.T) {
	base := tinyBase(t)
	samples := func(kind string) (rewards, golds []float64) {
		out := filepath.Join(t.TempDir(), kind)
		code, stdout, stderr := rft(t, "--quiet", "demo", "--quick", "--set", "demo.base="+base, "--set", "demo.reward="+kind, "--out", out)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s\n%s", kind, code, stdout, stderr)
		}
		var sum DemoSummary
		data, _ := os.ReadFile(filepath.Join(out, "summary.json"))
		if err := json.Unmarshal(data, &sum); err != nil || sum.Reward != kind {
			t.Fatalf("%s: summary reward %q (%v)", kind, sum.Reward, err)
		}
		data, _ = os.ReadFile(filepath.Join(out, "train", "samples.jsonl"))
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var rec struct {
				Reward float64  `json:"reward"`
				Gold   *float64 `json:"gold"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Gold == nil {
				t.Fatalf("%s: sample %q (%v)", kind, line, err)
			}
			rewards, golds = append(rewards, rec.Reward), append(golds, *rec.Gold)
		}
		return rewards, golds
	}
	rw, gold := samples("oracle")
	for i := range rw {
		if rw[i] != gold[i] {
			t.Fatalf("oracle: sample %d reward %v, gold %v", i, rw[i], gold[i])
		}
	}
	refined, _ := samples("rubric")
	initial, _ := samples("initial")
	same := len(refined) == len(initial)
	for i := 0; same && i < len(refined); i++ {
		same = refined[i] == initial[i]
	}
	if same {
		t.Fatal("initial and refined rubrics gave the same rewards: demo.reward=initial did not switch rubrics")
	}
	code, _, stderr := rft(t, "demo", "--quick", "--set", "demo.base="+base, "--set", "demo.reward=gold", "--out", filepath.Join(t.TempDir(), "bad"))
	if code != 2 || !strings.Contains(stderr, "demo.reward") {
		t.Fatalf("demo.reward=gold: exit %d %q", code, stderr)
	}
}
