package grpo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/reward"
)

// letterReward is a reward whose optimum is known: the share of the
// completion's bytes that are lowercase letters (1 for "abc…", less for
// anything with spaces, capitals, digits or punctuation; 0 when empty).
type letterReward struct{}

func (letterReward) Score(_ context.Context, batch []reward.Sample) ([]reward.Score, error) {
	out := make([]reward.Score, len(batch))
	for i, s := range batch {
		n := 0
		for j := 0; j < len(s.Completion); j++ {
			if c := s.Completion[j]; c >= 'a' && c <= 'z' {
				n++
			}
		}
		if s.Completion != "" {
			out[i].Value = float64(n) / float64(len(s.Completion))
		}
	}
	return out, nil
}

// constReward gives every completion the same reward: every advantage is 0.
type constReward struct{}

func (constReward) Score(_ context.Context, batch []reward.Sample) ([]reward.Score, error) {
	out := make([]reward.Score, len(batch))
	for i := range out {
		out[i].Value = 0.5
	}
	return out, nil
}

func writePrompts(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "prompts.jsonl")
	var b strings.Builder
	for i, q := range []string{"Say e", "Write letters", "Reply now", "Go", "Type something", "Answer"} {
		b.WriteString(`{"id":"p` + string(rune('0'+i)) + `","prompt":"` + q + `"}` + "\n")
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func tinyJob(t *testing.T, sets ...string) *configs.Job {
	t.Helper()
	dir := t.TempDir()
	base := []string{
		"data.train=" + writePrompts(t, dir), "model.init=tiny",
		"model.tokenizer=" + filepath.Join("..", "testdata", "tokenizer", "rft", "tokenizer.json"),
		"train.steps=6", "train.lr=1e-2", "train.grad_accum=2", "train.batch_size=8",
		"grpo.group_size=8", "grpo.prompts_per_step=4", "grpo.beta=0.01",
		"rollout.max_tokens=8", "rollout.temperature=1", "checkpoint.every=3",
	}
	job, err := configs.Load("", append(base, sets...))
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func runTrain(t *testing.T, dir string, job *configs.Job, r reward.Reward, ro RunOptions) *Summary {
	t.Helper()
	s, err := Prepare(nil, job, Options{Reward: r})
	if err != nil {
		t.Fatal(err)
	}
	run, err := checkpoints.Create(dir, job)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Run(context.Background(), run, ro)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestTrainReachesKnownOptimum: from a random tiny model, GRPO on a reward
// whose optimum is 1 reaches at least 80% of it, on 3 seeds.
func TestTrainReachesKnownOptimum(t *testing.T) {
	for _, seed := range []string{"1", "2", "3"} {
		job := tinyJob(t, "seed="+seed, "train.steps=60", "train.lr=2e-2", "checkpoint.every=0", "grpo.beta=0")
		sum := runTrain(t, filepath.Join(t.TempDir(), "run"), job, letterReward{}, RunOptions{})
		t.Logf("seed %s: reward %.3f → %.3f", seed, sum.RewardFirst, sum.RewardLast)
		if sum.RewardLast < 0.8 {
			t.Errorf("seed %s: final mean reward %.3f, want at least 0.8 of the optimum 1", seed, sum.RewardLast)
		}
	}
}

// TestZeroAdvantagesLeaveWeightsUnchanged: with every advantage zero and
// β = 0 the objective has zero gradient, and AdamW (no weight decay) leaves
// every weight bit as it was.
func TestZeroAdvantagesLeaveWeightsUnchanged(t *testing.T) {
	job := tinyJob(t, "grpo.beta=0", "train.steps=3", "checkpoint.every=0")
	s, err := Prepare(nil, job, Options{Reward: constReward{}})
	if err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), s.trainer.Model.Params.Data...)
	run, _ := checkpoints.Create(filepath.Join(t.TempDir(), "run"), job)
	if _, err := s.Run(context.Background(), run, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, w := range s.trainer.Model.Params.Data {
		if w != before[i] {
			t.Fatalf("weight %d changed from %v to %v", i, before[i], w)
		}
	}
}

// TestTrainResumeIsExact: a run stopped after 4 steps (checkpoint at 3) and
// resumed ends bitwise where the uninterrupted run does.
func TestTrainResumeIsExact(t *testing.T) {
	job := tinyJob(t)
	root := t.TempDir()
	straight := filepath.Join(root, "straight")
	runTrain(t, straight, job, letterReward{}, RunOptions{})
	killed := filepath.Join(root, "killed")
	if sum := runTrain(t, killed, job, letterReward{}, RunOptions{StopAfter: 4}); sum != nil {
		t.Fatal("a stopped run must not summarise")
	}
	run, rjob, err := checkpoints.Open(killed)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Prepare(run, rjob, Options{Reward: letterReward{}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Step() != 3 {
		t.Fatalf("resumed at step %d, want 3", s.Step())
	}
	if _, err := s.Run(context.Background(), run, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", "optimizer.safetensors", "trainer_state.json"} {
		a, _ := os.ReadFile(filepath.Join(straight, "checkpoints", "step-000006", f))
		b, _ := os.ReadFile(filepath.Join(killed, "checkpoints", "step-000006", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the uninterrupted and the resumed run", f)
		}
	}
	sa, _ := os.ReadFile(filepath.Join(straight, "samples.jsonl"))
	sb, _ := os.ReadFile(filepath.Join(killed, "samples.jsonl"))
	if !bytes.Equal(sa, sb) {
		t.Error("samples.jsonl differs after resume")
	}
}

func TestResumeRefusesChangedConfig(t *testing.T) {
	job := tinyJob(t, "train.steps=3")
	dir := filepath.Join(t.TempDir(), "run")
	runTrain(t, dir, job, letterReward{}, RunOptions{})
	// Edit the run's config behind its back.
	path := filepath.Join(dir, "config.yaml")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(data, []byte("beta: 0.01"), []byte("beta: 0.02"), 1), 0o644)
	run, rjob, err := checkpoints.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(run, rjob, Options{Reward: letterReward{}}); err == nil || !strings.Contains(err.Error(), "config.yaml changed") {
		t.Fatalf("want a refusal naming the changed config, got %v", err)
	}
}

func TestPrepareBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"id":"a","prompt":"x"}`+"\n"+`{"id":"b","prompt":`+"\n"), 0o644)
	dup := filepath.Join(dir, "dup.jsonl")
	os.WriteFile(dup, []byte(`{"id":"a","prompt":"x"}`+"\n"+`{"id":"a","prompt":"y"}`+"\n"), 0o644)
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{"data.train=" + bad}, "bad.jsonl:2"},
		{[]string{"data.train=" + dup}, `dup.jsonl:2: id "a" already used on line 1`},
		{[]string{"rollout.max_tokens=250"}, "does not fit the context"},
	} {
		_, err := Prepare(nil, tinyJob(t, c.sets...), Options{Reward: letterReward{}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.sets, err, c.want)
		}
	}
	if _, err := Prepare(nil, tinyJob(t), Options{}); err == nil || !strings.Contains(err.Error(), "no reward") {
		t.Errorf("no reward: %v", err)
	}
	for _, set := range []string{"grpo.beta=-1", "grpo.group_size=1"} {
		if _, err := configs.Load("", []string{set}); err == nil {
			t.Errorf("%s must be rejected", set)
		}
	}
}
