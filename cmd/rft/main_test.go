package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rft runs one command line in-process and returns its exit status and output.
func rft(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitStatuses(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, 0, "rft "},
		{[]string{"--help"}, 0, "Usage:"},
		{[]string{"completion", "bash"}, 0, "bash completion"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"version", "--nope"}, 2, "unknown flag"},
		{[]string{"version", "extra"}, 2, "accepts 0 arg"},
		{[]string{"model", "show"}, 2, "accepts 1 arg"},
		{[]string{"config", "show", "--set", "train.stepz=3"}, 2, `unknown key "train.stepz"`},
		{[]string{"config", "show", "--set", "grpo.loss_type=ppo"}, 2, "grpo.loss_type"},
		{[]string{"config", "show", "--config", "/does/not/exist.yaml"}, 2, "exist.yaml"},
		{[]string{"model", "show", "/does/not/exist"}, 2, "config.json"},
		{[]string{"report", "/does/not/exist"}, 2, "does not exist"},
		{[]string{"train", "--set", "grpo.beta=-1"}, 2, "grpo.beta"},
		{[]string{"train", "--set", "grpo.group_size=1"}, 2, "grpo.group_size"},
	}
	for _, c := range cases {
		code, out, errOut := rft(t, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("rft %v: exit %d (want %d), output %q does not contain %q", c.args, code, c.code, out+errOut, c.want)
		}
	}
}

func TestConfigShowResolves(t *testing.T) {
	code, out, errOut := rft(t, "config", "show", "--set", "train.steps=7", "--set", "grpo.beta=0.04")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "steps: 7") || !strings.Contains(out, "beta: 0.04") {
		t.Fatalf("resolved config lacks the overrides:\n%s", out)
	}
}

func TestModelShowFixture(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "hf", "qwen3")
	code, out, errOut := rft(t, "model", "show", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Qwen3ForCausalLM", "QK-norm", "4 heads, 2 kv heads, head_dim 16", "F32", "[1 2]"} {
		if !strings.Contains(out, want) {
			t.Errorf("model show lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = rft(t, "--json", "model", "show", dir)
	var info struct {
		Architecture string
		Params       int
	}
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil || info.Architecture != "Qwen3ForCausalLM" || info.Params == 0 {
		t.Fatalf("--json model show: exit %d, %q", code, out)
	}
}

// TestModelShowBadCheckpoint: a truncated weights file is bad input (exit 2)
// and the message names the file.
func TestModelShowBadCheckpoint(t *testing.T) {
	src := filepath.Join("..", "..", "testdata", "hf", "llama")
	dir := t.TempDir()
	for _, f := range []string{"config.json", "generation_config.json"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	weights, _ := os.ReadFile(filepath.Join(src, "model.safetensors"))
	os.WriteFile(filepath.Join(dir, "model.safetensors"), weights[:len(weights)/2], 0o644)
	code, _, errOut := rft(t, "model", "show", dir)
	if code != 2 || !strings.Contains(errOut, "model.safetensors") {
		t.Fatalf("exit %d, %q", code, errOut)
	}
}
