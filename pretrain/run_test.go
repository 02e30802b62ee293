package pretrain

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/policy"
)

func smallJob(t *testing.T, sets ...string) *configs.Job {
	t.Helper()
	base := []string{"data.train=synthetic:facts", "data.docs=120", "data.eval_fraction=0.1", "model.init=tiny",
		"model.vocab_size=300", "train.seq_len=48", "train.batch_size=4", "train.grad_accum=2", "train.steps=6",
		"train.lr=3e-3", "train.warmup_steps=2", "train.schedule=cosine", "train.eval_every=3", "checkpoint.every=3"}
	job, err := configs.Load("", append(base, sets...))
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func runJob(t *testing.T, dir string, job *configs.Job, opts Options) *Summary {
	t.Helper()
	run, err := checkpoints.Create(dir, job)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Prepare(nil, job)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Run(context.Background(), run, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestResumeIsExact: a run stopped after 4 steps (its last checkpoint at
// step 3) and resumed ends with bitwise the weights, optimizer state and
// metrics of a run that never stopped.
func TestResumeIsExact(t *testing.T) {
	job := smallJob(t)
	root := t.TempDir()
	straight := filepath.Join(root, "straight")
	runJob(t, straight, job, Options{})

	killed := filepath.Join(root, "killed")
	if sum := runJob(t, killed, job, Options{StopAfter: 4}); sum != nil {
		t.Fatal("a stopped run must not report a summary")
	}
	run, rjob, err := checkpoints.Open(killed)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Prepare(run, rjob)
	if err != nil {
		t.Fatal(err)
	}
	if s.st.trainer.Step != 3 {
		t.Fatalf("resumed at step %d, want the checkpoint at 3", s.st.trainer.Step)
	}
	if _, err := s.Run(context.Background(), run, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", "optimizer.safetensors", "trainer_state.json", "tokenizer.json"} {
		a, _ := os.ReadFile(filepath.Join(straight, "checkpoints", "step-000006", f))
		b, _ := os.ReadFile(filepath.Join(killed, "checkpoints", "step-000006", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the straight and the resumed run", f)
		}
	}
	ma, _ := os.ReadFile(filepath.Join(straight, "metrics.jsonl"))
	mb, _ := os.ReadFile(filepath.Join(killed, "metrics.jsonl"))
	if strip(ma) != strip(mb) {
		t.Errorf("metrics differ:\n%s\n---\n%s", ma, mb)
	}
}

// strip drops the timing fields, the only ones allowed to differ.
func strip(b []byte) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		i := strings.Index(line, `,"tokens_per_second"`)
		out = append(out, line[:i])
	}
	return strings.Join(out, "\n")
}

func TestPretrainLearnsAndWritesRunDir(t *testing.T) {
	job := smallJob(t, "train.steps=30", "checkpoint.keep=1", "train.eval_every=10")
	dir := filepath.Join(t.TempDir(), "run")
	var bar bytes.Buffer
	sum := runJob(t, dir, job, Options{Progress: &bar})
	if sum.Steps != 30 || !(sum.EvalLoss < 4.5) || !(sum.TrigramLoss > 0) {
		t.Fatalf("summary %+v", sum)
	}
	for _, f := range []string{"config.yaml", "metrics.jsonl", "summary.json", "checkpoints/step-000030/config.json",
		"checkpoints/step-000030/tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints", "step-000010")); !os.IsNotExist(err) {
		t.Error("checkpoint.keep=1 kept an old checkpoint")
	}
	if !strings.Contains(bar.String(), "pretrain 30/30") {
		t.Errorf("progress output %q", bar.String())
	}
}

// model.arch=llama initialises the preset without QK-norm and writes a
// checkpoint that transformers reads as a Llama model; tie_embeddings shares
// the embedding with the head (no lm_head tensor).
func TestPresetArchLlama(t *testing.T) {
	job := smallJob(t, "model.arch=llama", "model.tie_embeddings=true", "train.steps=3", "checkpoint.every=3")
	dir := filepath.Join(t.TempDir(), "run")
	sum := runJob(t, dir, job, Options{})
	c, p, err := policy.LoadDir(sum.FinalModelDir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Architecture != "LlamaForCausalLM" || c.QKNorm || !c.TieEmbeddings {
		t.Fatalf("architecture %s, QK-norm %v, tied %v; want LlamaForCausalLM without QK-norm, tied", c.Architecture, c.QKNorm, c.TieEmbeddings)
	}
	for _, tn := range p.Tensors {
		if strings.Contains(tn.Name, "q_norm") || strings.Contains(tn.Name, "k_norm") || tn.Name == "lm_head.weight" {
			t.Fatalf("a Llama checkpoint with tensor %s", tn.Name)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(sum.FinalModelDir, "config.json"))
	if !strings.Contains(string(raw), `"model_type": "llama"`) {
		t.Fatalf("config.json is not a llama config:\n%s", raw)
	}
}

func TestPrepareBadInput(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(notJSON, []byte("{\"text\": \"fine\"}\n{oops\n"), 0o644)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, nil, 0o644)
	for _, c := range []struct{ train, want string }{
		{notJSON, "bad.jsonl:2"},
		{empty, "empty.txt: no examples"},
		{"synthetic:poems", "synthetic corpus \"poems\""},
		{filepath.Join(dir, "missing.txt"), "missing.txt"},
	} {
		_, err := Prepare(nil, smallJob(t, "data.train="+c.train))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("data.train=%s: error %v, want it to name %q", c.train, err, c.want)
		}
	}
}
