package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/tasks/tailworld"
)

// rftTW runs a command line like rft, with the tailworld group attached if
// the root does not register it yet.
func rftTW(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := newRootCmd()
	if c, _, err := root.Find([]string{"tailworld"}); err != nil || c == root {
		root.AddCommand(newTailworldCmd())
	}
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.Execute()
	if err == nil {
		return exitOK, out.String(), errOut.String()
	}
	var bi badInput
	if errors.As(err, &bi) || isUsageError(err) {
		return exitBadInput, out.String(), err.Error()
	}
	return exitJobFail, out.String(), err.Error()
}

// readLines decodes a JSONL file into one map per line.
func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		out = append(out, m)
	}
	return out
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func mustRun(t *testing.T, args ...string) {
	t.Helper()
	if code, _, errOut := rftTW(t, args...); code != 0 {
		t.Fatalf("rft %v: exit %d: %s", args, code, errOut)
	}
}

func TestTailworldCorpus(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "c.jsonl")
	mustRun(t, "tailworld", "corpus", "--n", "5", "--per-prompt", "2", "--out", a)
	mustRun(t, "tailworld", "corpus", "--n", "5", "--per-prompt", "2", "--out", b)
	mustRun(t, "tailworld", "corpus", "--n", "5", "--per-prompt", "2", "--seed", "2", "--out", c)
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	dc, _ := os.ReadFile(c)
	if !bytes.Equal(da, db) || bytes.Equal(da, dc) {
		t.Fatal("the corpus is not a function of --seed")
	}
	lines := readLines(t, a)
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 10", len(lines))
	}
	w := tailworld.NewWorld(1, tailworld.DefaultEntities)
	train := w.Prompts(tailworld.Train, 0, 5)
	for i, l := range lines {
		if got := keys(l); !slices.Equal(got, []string{"completion", "prompt"}) {
			t.Fatalf("line %d keys %v", i+1, got)
		}
		if l["prompt"] != train[i/2].Text || l["completion"] == "" {
			t.Fatalf("line %d is not a base response to train prompt %d", i+1, i/2)
		}
	}
	if lines[0]["completion"] == lines[1]["completion"] && lines[2]["completion"] == lines[3]["completion"] {
		t.Error("the samples per prompt do not differ")
	}
	// --worlds 2: world 1's examples, then world 2's.
	two := filepath.Join(dir, "two.jsonl")
	mustRun(t, "tailworld", "corpus", "--n", "5", "--per-prompt", "2", "--worlds", "2", "--out", two)
	d2, _ := os.ReadFile(two)
	if !bytes.Equal(d2, append(append([]byte(nil), da...), dc...)) {
		t.Fatal("--worlds 2 is not the seed-1 corpus followed by the seed-2 corpus")
	}
	// --drills 3: each world's examples, then its drills on the prompts after them.
	drilled := filepath.Join(dir, "drilled.jsonl")
	mustRun(t, "tailworld", "corpus", "--n", "5", "--per-prompt", "2", "--drills", "3", "--copies", "2", "--lists", "2", "--out", drilled)
	dl := readLines(t, drilled)
	if len(dl) != 17 || !reflect.DeepEqual(dl[:10], lines) {
		t.Fatalf("--drills 3 --copies 2 --lists 2 gave %d lines, want the 10 of the corpus, 3 drills, 2 copy drills, 2 list drills", len(dl))
	}
	for i, d := range append(append(w.Drills(5, 3), w.CopyDrills(8, 2)...), w.ListDrills(10, 2)...) {
		if dl[10+i]["prompt"] != d.Prompt || dl[10+i]["completion"] != d.Completion {
			t.Fatalf("line %d is not drill %d (drills on prompts 5-7, copy drills on 8-9)", 11+i, i)
		}
	}
	// --chat writes the same pairs as conversations.
	mustRun(t, "tailworld", "corpus", "--n", "5", "--per-prompt", "2", "--chat", "--out", c)
	for i, l := range readLines(t, c) {
		ms := l["messages"].([]any)
		u, a := ms[0].(map[string]any), ms[1].(map[string]any)
		if u["role"] != "user" || a["role"] != "assistant" || u["content"] != lines[i]["prompt"] || a["content"] != lines[i]["completion"] {
			t.Fatalf("chat line %d: %v", i+1, l)
		}
	}
}

func TestTailworldPromptsReferencesPool(t *testing.T) {
	dir := t.TempDir()
	prompts, refs := filepath.Join(dir, "p.jsonl"), filepath.Join(dir, "r.jsonl")
	mustRun(t, "tailworld", "prompts", "--split", "eval", "--n", "4", "--out", prompts)
	mustRun(t, "tailworld", "references", "--split", "eval", "--n", "4", "--out", refs)
	ps, rs := readLines(t, prompts), readLines(t, refs)
	w := tailworld.NewWorld(1, tailworld.DefaultEntities)
	for i, p := range w.Prompts(tailworld.Eval, 0, 4) {
		if ps[i]["id"] != p.ID || ps[i]["prompt"] != p.Text || !slices.Equal(keys(ps[i]), []string{"id", "prompt"}) {
			t.Fatalf("prompt %d: %v", i, ps[i])
		}
		want, _ := w.ReferenceResponse(p.Text)
		if rs[i]["prompt_id"] != p.ID || rs[i]["response"] != want || !slices.Equal(keys(rs[i]), []string{"prompt_id", "response"}) {
			t.Fatalf("reference %d: %v", i, rs[i])
		}
	}
	train := filepath.Join(dir, "t.jsonl")
	mustRun(t, "tailworld", "prompts", "--split", "train", "--n", "2", "--out", train)
	if readLines(t, train)[0]["id"] == ps[0]["id"] {
		t.Fatal("train and eval prompts share an id")
	}
	for _, kind := range tailworld.Pools {
		out := filepath.Join(dir, kind+".jsonl")
		mustRun(t, "tailworld", "pool", "--prompts", prompts, "--kind", kind, "--size", "3", "--out", out)
		cs := readLines(t, out)
		if len(cs) != 12 {
			t.Fatalf("%s: %d candidates, want 12", kind, len(cs))
		}
		for i, c := range cs {
			if c["prompt_id"] != ps[i/3]["id"] || c["response"] == "" || c["source"] == "" ||
				!slices.Equal(keys(c), []string{"prompt_id", "response", "source"}) {
				t.Fatalf("%s candidate %d: %v", kind, i, c)
			}
		}
	}
}

func TestTailworldBadInput(t *testing.T) {
	dir := t.TempDir()
	prompts := filepath.Join(dir, "p.jsonl")
	mustRun(t, "tailworld", "prompts", "--split", "eval", "--n", "2", "--out", prompts)
	garbage := filepath.Join(dir, "garbage.jsonl")
	os.WriteFile(garbage, []byte(`{"id":"x","prompt":"not a tailworld prompt"}`+"\n"), 0o644)
	out := filepath.Join(dir, "out.jsonl")
	cases := [][]string{
		{"corpus", "--n", "0", "--out", out},
		{"corpus", "--n", "3", "--per-prompt", "0", "--out", out},
		{"corpus", "--n", "3"},
		{"corpus", "--n", "3", "--worlds", "0", "--out", out},
		{"corpus", "--n", "3", "--drills", "-1", "--out", out},
		{"corpus", "--n", "3", "--copies", "-2", "--out", out},
		{"corpus", "--n", "3", "--lists", "-1", "--out", out},
		{"prompts", "--split", "test", "--n", "3", "--out", out},
		{"prompts", "--split", "train", "--n", "0", "--out", out},
		{"references", "--split", "dev", "--n", "3", "--out", out},
		{"references", "--n", "-1", "--out", out},
		{"pool", "--prompts", prompts, "--kind", "excellent", "--size", "2", "--out", out},
		{"pool", "--prompts", prompts, "--kind", "great", "--size", "0", "--out", out},
		{"pool", "--prompts", filepath.Join(dir, "missing.jsonl"), "--kind", "great", "--size", "2", "--out", out},
		{"pool", "--prompts", garbage, "--kind", "great", "--size", "2", "--out", out},
		{"pool", "--kind", "great", "--size", "2", "--out", out},
		{"pool", "--prompts", prompts, "--kind", "great", "--size", "2", "--seed", "x", "--out", out},
	}
	for _, c := range cases {
		args := append([]string{"tailworld"}, c...)
		if code, _, errOut := rftTW(t, args...); code != exitBadInput {
			t.Errorf("rft %v: exit %d, want 2 (%s)", args, code, errOut)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("rft %v wrote %s", args, out)
		}
	}
}

// TestTailworldBaseAssets: the committed base policy is the one SHA256SUMS
// names (make base rebuilds it bit for bit, docs/BASE.md), a demo-size model
// that loads.
func TestTailworldBaseAssets(t *testing.T) {
	dir := filepath.Join("..", "..", "assets", "tailworld-base")
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatalf("%v (make base writes it)", err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: bad line %q", sc.Text())
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(data)
		if got := hex.EncodeToString(h[:]); got != sum {
			t.Errorf("%s: sha256 %s, SHA256SUMS says %s", name, got, sum)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	if want := []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"}; !slices.Equal(names, want) {
		t.Fatalf("SHA256SUMS lists %v, want %v", names, want)
	}
	c, _, err := policy.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	demo, _ := policy.Preset("demo")
	if c.Hidden != demo.Hidden || c.Layers != demo.Layers || c.Heads != demo.Heads || c.KVHeads != demo.KVHeads || c.Intermediate != demo.Intermediate {
		t.Fatalf("the base is not demo-size: %+v", c)
	}
}
