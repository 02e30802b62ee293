package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// TestTrainTinyConfig runs the shipped configs/train-tiny.yaml briefly: the
// run directory gets metrics, samples, checkpoints and the report.
func TestTrainTinyConfig(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := rft(t, "--quiet", "train", "--config", repoPath("configs", "train-tiny.yaml"),
		"--set", "model.tokenizer="+repoPath("testdata", "tokenizer", "rft", "tokenizer.json"),
		"--set", "data.train="+repoPath("configs", "data", "tiny", "prompts.jsonl"),
		"--set", "reward.rubrics="+repoPath("configs", "data", "tiny", "rubrics.jsonl"),
		"--set", "reward.cache="+filepath.Join(t.TempDir(), "cache"),
		"--set", "train.steps=4", "--set", "checkpoint.every=2", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	for _, f := range []string{"config.yaml", "metrics.jsonl", "samples.jsonl", "summary.json", "report.html",
		"plots/reward.png", "checkpoints/step-000002/model.safetensors", "checkpoints/step-000004/trainer_state.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
}

// TestTrainBadInput: each is exit status 2 with a message naming the fault,
// and no run directory.
func TestTrainBadInput(t *testing.T) {
	dir := t.TempDir()
	prompts := filepath.Join(dir, "p.jsonl")
	os.WriteFile(prompts, []byte(`{"id":"t0","prompt":"a"}`+"\n"+`{"id":"zz","prompt":"b"}`+"\n"), 0o644)
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"id":"t0","prompt":"a"}`+"\n"+"not json\n"), 0o644)
	base := []string{"train", "--config", repoPath("configs", "train-tiny.yaml"),
		"--set", "model.tokenizer=" + repoPath("testdata", "tokenizer", "rft", "tokenizer.json"),
		"--set", "reward.rubrics=" + repoPath("configs", "data", "tiny", "rubrics.jsonl")}
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{"data.train=" + prompts}, `prompt "zz" has no rubric`},
		{[]string{"data.train=" + bad}, "bad.jsonl:2"},
		{[]string{"data.train=" + prompts, "grpo.beta=-1"}, "grpo.beta"},
		{[]string{"data.train=" + prompts, "grpo.group_size=1"}, "grpo.group_size"},
	} {
		args := append([]string(nil), base...)
		for _, s := range c.sets {
			args = append(args, "--set", s)
		}
		out := filepath.Join(dir, "run")
		args = append(args, "--out", out)
		code, _, stderr := rft(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q (want %q)", c.sets, code, stderr, c.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v: bad input created the run directory", c.sets)
		}
	}
}
