package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rft-dev/rft/eval"
	"github.com/rft-dev/rft/tasks/tailworld"
)

// TestEvalProbe probes rubrics written by the sim proposer: both regions
// are reported with intervals, the JSON holds one outcome per pair, and a
// wrong invocation is bad input.
func TestEvalProbe(t *testing.T) {
	dir := t.TempDir()
	w := tailworld.NewWorld(1, tailworld.DefaultEntities)
	prompts := filepath.Join(dir, "prompts.jsonl")
	if err := writeJSONL(prompts, w.PromptRecords(tailworld.Train, 0, 6)); err != nil {
		t.Fatal(err)
	}
	rubrics := filepath.Join(dir, "rubrics.jsonl")
	if code, _, stderr := rft(t, "--quiet", "rubric", "generate", "--prompts", prompts, "--proposer", "sim", "--out", rubrics); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	out := filepath.Join(dir, "probe.json")
	code, stdout, stderr := rft(t, "eval", "probe", "--rubrics", rubrics, "--prompts", "5", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "high-reward pairs: agreement") || !strings.Contains(stdout, "low-reward pairs:  agreement") {
		t.Fatalf("output: %s", stdout)
	}
	var res eval.ProbeResult
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Outcomes) != 10 || res.Regions[eval.RegionHigh].Pairs != 5 || res.Regions[eval.RegionLow].Pairs != 5 {
		t.Fatalf("want one high and one low pair for each of 5 prompts: %+v", res.Regions)
	}
	for _, o := range res.Outcomes {
		if o.Error != "" {
			t.Fatalf("the sim verifier failed a pair: %+v", o)
		}
	}
	for _, bad := range [][]string{{"eval", "probe"}, {"eval", "probe", "--rubrics", rubrics, "--reward-model", dir}, {"eval", "probe", "--rubrics", "/nope.jsonl"}} {
		if code, _, _ := rft(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

func TestArtifactPairsDifferOnlyByTheArtifact(t *testing.T) {
	w := tailworld.NewWorld(1, tailworld.DefaultEntities)
	pairs, err := tailworldArtifactPairs(t.Context(), w, w.Prompts(tailworld.Train, 0, 10))
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) < 20 {
		t.Fatalf("only %d judge-tied artifact pairs from 10 prompts", len(pairs))
	}
	for _, p := range pairs {
		if p.with == p.without || artifactRate([]string{p.without}) != 0 {
			t.Fatalf("pair %s: the clean version must carry no artifact:\n%s\n---\n%s", p.artifact, p.with, p.without)
		}
		if artifactRate([]string{p.with}) != 1 {
			t.Errorf("artifact %s not detected in %q", p.artifact, p.with)
		}
	}
}
