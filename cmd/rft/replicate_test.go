package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
	"github.com/rft-dev/rft/replicate"
)

// tinyBase writes a random tiny policy with the test tokenizer: the study
// runs end to end on it in seconds (what it learns is the real run's job).
func tinyBase(t *testing.T) string {
	t.Helper()
	tok, err := tokenizer.Load(filepath.Join("..", "..", "testdata", "tokenizer", "rft", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := policy.Preset("tiny")
	c.VocabSize, c.MaxPositions = tok.VocabSize(), 512
	base := filepath.Join(t.TempDir(), "base")
	if err := policy.SaveDir(base, policy.InitParams[float32](c, 1), nil); err != nil {
		t.Fatal(err)
	}
	tok.Save(filepath.Join(base, "tokenizer.json"))
	return base
}

// replicateTestSets shrink the quick config further for the test suite.
func replicateTestSets(base string) []string {
	return []string{"--set", "replicate.base=" + base, "--set", "train.steps=3", "--set", "eval.every=1", "--set", "checkpoint.every=1",
		"--set", "rollout.max_tokens=12", "--set", "grpo.prompts_per_step=2", "--set", "replicate.train_prompts=4",
		"--set", "replicate.eval_prompts=6", "--set", "replicate.probe_prompts=4", "--set", "rm.prompts=6", "--set", "rm.eval_prompts=3",
		"--set", "replicate.rm.steps=2", "--set", "replicate.rm.batch_size=2", "--set", "replicate.sft.steps=2",
		"--set", "replicate.sft.batch_size=2", "--set", "replicate.sft.eval_every=1", "--set", "replicate.sft.seq_len=512",
		"--set", "replicate.rm.seq_len=512"}
}

// TestReplicateQuick runs the quick config, every arm, end to end on a tiny
// base: every table and plot is written, every claim gets a verdict computed
// from the run directory, and a second invocation reruns nothing.
func TestReplicateQuick(t *testing.T) {
	base := tinyBase(t)
	out := filepath.Join(t.TempDir(), "rep")
	args := append([]string{"--quiet", "replicate", "--config", filepath.Join("..", "..", "configs", "replicate-quick.yaml"), "--out", out}, replicateTestSets(base)...)
	code, stdout, stderr := rft(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stdout, stderr)
	}
	for _, f := range []string{replicate.FrozenFile, replicate.HashFile, "config.yaml", replicate.ReportMD, replicate.ReportHTML, replicate.ResultsFile,
		"plots/winrate_vs_step.png", "plots/winrate_vs_kl.png", "plots/reward_initial.png", "plots/reward_bt-off.png", "plots/reward_mech1-top.png",
		"arms/initial/seed-1/probe.json", "arms/bt-off/seed-1/artifacts.json", "arms/sft/seed-1/curve.jsonl", "arms/mech1-top/seed-1/mechanism1.json",
		"arms/4-great-diverse/seed-1/rubrics.jsonl", "arms/4-great-diverse/seed-1/train/metrics.jsonl", "arms/bt-on+off/seed-1/rm/summary.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("replicate did not write %s", f)
		}
	}
	var rep replicate.Report
	data, _ := os.ReadFile(filepath.Join(out, replicate.ResultsFile))
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Verdicts) != len(replicate.Claims) || len(rep.Missing) != 0 || rep.EvalN != 6 {
		t.Fatalf("results: %d verdicts, missing %v, eval n %d", len(rep.Verdicts), rep.Missing, rep.EvalN)
	}
	for _, v := range rep.Verdicts {
		if v.Outcome == replicate.NotRun {
			t.Errorf("claim %s was not decided: %s", v.Claim, v.Detail)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, replicate.ReportMD))
	for _, want := range []string{"Table 1 analog", "Table 2 analog", "| 4-great-diverse |", "| bt-off |", "| sft |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// The curve of a GRPO arm has every evaluation, with per-prompt verdicts.
	curve, _ := os.ReadFile(filepath.Join(out, "arms", "initial", "seed-1", "curve.jsonl"))
	if lines := strings.Split(strings.TrimSpace(string(curve)), "\n"); len(lines) != 3 || !strings.Contains(lines[2], `"verdicts":[`) {
		t.Fatalf("curve.jsonl: %s", curve)
	}
	// Resuming a finished run reruns nothing and gives the same verdicts.
	before, _ := os.Stat(filepath.Join(out, "arms", "initial", "seed-1", "curve.jsonl"))
	if code, stdout, stderr := rft(t, args...); code != 0 {
		t.Fatalf("resume: exit %d: %s\n%s", code, stdout, stderr)
	}
	after, _ := os.Stat(filepath.Join(out, "arms", "initial", "seed-1", "curve.jsonl"))
	if !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Fatal("a finished arm was rerun")
	}
	// The same directory with another config is refused, exit 2.
	other := append(append([]string(nil), args...), "--set", "replicate.mechanism1.error=0.2")
	if code, _, stderr := rft(t, other...); code != 2 || !strings.Contains(stderr, "frozen") {
		t.Fatalf("changed config on resume: exit %d %q", code, stderr)
	}
}

// TestReplicateBadInput: unknown arms, overrides of the shared GRPO
// settings and unknown keys are bad input (exit 2) naming file and line, and
// nothing is written.
func TestReplicateBadInput(t *testing.T) {
	base := tinyBase(t)
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown arm", "replicate:\n  base: " + base + "\n  arms:\n    - initial\n    - 5-great\n", []string{"job.yaml:5:", `replicate.arms[1]: unknown arm "5-great"`, "4-great-diverse"}},
		{"arms disagree on GRPO settings", "replicate:\n  base: " + base + "\n  arms: [initial, bt-off]\n  overrides:\n    bt-off: [\"grpo.beta=0.05\"]\n",
			[]string{"job.yaml:5:", "replicate.overrides.bt-off: grpo.beta", "must share the GRPO settings"}},
		{"unknown key", "replicate:\n  base: " + base + "\n  arms: [initial]\n  mechanism1:\n    eror: 0.1\n", []string{"job.yaml:5:", `unknown key "replicate.mechanism1.eror"`}},
		{"bad override value", "replicate:\n  base: " + base + "\n  arms: [bt-off]\n  overrides:\n    bt-off: [\"rm.prompts=0\"]\n", []string{"job.yaml:5:", "rm.prompts"}},
		{"no base", "replicate:\n  base: /nope\n  arms: [initial]\n", []string{"replicate.base", "make base"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "job.yaml")
			os.WriteFile(cfg, []byte(tc.yaml), 0o644)
			out := filepath.Join(dir, "out")
			code, _, stderr := rft(t, "replicate", "--config", cfg, "--out", out)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("error %q lacks %q", stderr, w)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("bad input must write nothing")
			}
		})
	}
}

// TestReplicateConfigsLoad: the committed configs are valid, list every
// arm, and the default one runs several seeds.
func TestReplicateConfigsLoad(t *testing.T) {
	base := tinyBase(t)
	for _, name := range []string{"replicate-quick.yaml", "replicate-tailworld.yaml", "replicate-full.yaml"} {
		job, err := loadReplicate(filepath.Join("..", "..", "configs", name), []string{"replicate.base=" + base})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(job.Replicate.Arms) != len(replicate.Catalogue) {
			t.Errorf("%s runs %d of the %d arms", name, len(job.Replicate.Arms), len(replicate.Catalogue))
		}
		if name != "replicate-quick.yaml" && len(job.Replicate.Seeds) < 2 {
			t.Errorf("%s: several seeds per arm, got %v", name, job.Replicate.Seeds)
		}
	}
}
