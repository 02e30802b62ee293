package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
)

// rolloutCmd runs `rft rollout` (built by newRolloutCmd, whether or not the
// root registers it yet).
func rolloutCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRolloutCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	return out.String(), err
}

func tinyCheckpoint(t *testing.T) string {
	t.Helper()
	tok, err := tokenizer.Load(filepath.Join("..", "..", "testdata", "tokenizer", "rft", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := policy.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	c.VocabSize = tok.VocabSize()
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := policy.SaveDir(dir, policy.InitParams[float32](c, 1), nil); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRolloutLocal(t *testing.T) {
	dir := tinyCheckpoint(t)
	tmp := t.TempDir()
	prompts := filepath.Join(tmp, "prompts.jsonl")
	os.WriteFile(prompts, []byte(`{"id":"p1","prompt":"Hello"}`+"\n"+`{"id":"p2","messages":[{"role":"user","content":"Hi"}]}`+"\n"), 0o644)
	cfg := filepath.Join(tmp, "job.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("seed: 3\nmodel:\n  path: %s\ndata:\n  train: %s\ngrpo:\n  group_size: 2\nrollout:\n  max_tokens: 6\n", dir, prompts)), 0o644)
	outPath := filepath.Join(tmp, "out.jsonl")
	if _, err := rolloutCmd(t, "--config", cfg, "--out", outPath); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d records, want 2 prompts × 2:\n%s", len(lines), data)
	}
	for i, l := range lines {
		var r rolloutRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.PromptID != []string{"p1", "p1", "p2", "p2"}[i] || r.Source != "local:"+dir || len(r.Tokens) == 0 || len(r.Tokens) > 6 || r.WeightVersion != "tiny" || r.FinishReason == "" {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	// Same seed, same records; on stdout without --out.
	again, err := rolloutCmd(t, "--config", cfg)
	if err != nil || again != string(data) {
		t.Errorf("rerun differs (%v):\n%s\n%s", err, again, data)
	}
}

func TestRolloutBadInput(t *testing.T) {
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"id":"p1","prompt":"x"}`+"\n"+`{"id":"p2","prompt":`+"\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--set", "data.train=" + bad, "--set", "rollout.policy=openai:m"}, "bad.jsonl line 2"},
		{[]string{"--set", "rollout.policy=openai:m"}, "no prompts"},
		{[]string{"--set", "data.train=" + bad + ".missing"}, "bad.jsonl.missing"},
		{[]string{"--prompts", bad, "--set", "rollout.policy=:x"}, "rollout.policy"},
		{[]string{"--set", "rollout.concurrency=0"}, "rollout.concurrency"},
	}
	good := filepath.Join(tmp, "good.jsonl")
	os.WriteFile(good, []byte(`{"id":"p1","prompt":"x"}`+"\n"), 0o644)
	cases = append(cases,
		struct {
			args []string
			want string
		}{[]string{"--prompts", good}, "so is model.path"},
		struct {
			args []string
			want string
		}{[]string{"--prompts", good, "--set", "rollout.policy=nope:x"}, `unknown backend "nope"`},
	)
	for _, c := range cases {
		_, err := rolloutCmd(t, c.args...)
		var bi badInput
		if err == nil || !errors.As(err, &bi) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("rollout %v: error %v, want bad input containing %q", c.args, err, c.want)
		}
	}
}
