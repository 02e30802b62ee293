package configs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaultsValidate(t *testing.T) {
	j, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if j.GRPO.Beta != 0.01 || j.GRPO.GroupSize != 16 || j.Train.LR != 1e-5 {
		t.Fatalf("defaults do not follow the paper: %+v", j)
	}
}

func TestLoadFileAndSets(t *testing.T) {
	p := writeFile(t, "seed: 7\ntrain:\n  steps: 20\n  lr: 3e-4\ngrpo:\n  loss_type: dapo\n")
	j, err := Load(p, []string{"train.steps=5", "grpo.epsilon_high=0.28", "rollout.temperature=0.7", "checkpoint.every=2"})
	if err != nil {
		t.Fatal(err)
	}
	if j.Seed != 7 || j.Train.Steps != 5 || j.Train.LR != 3e-4 || j.GRPO.LossType != "dapo" ||
		j.GRPO.EpsilonHigh != 0.28 || j.Rollout.Temperature != 0.7 || j.Checkpoint.Every != 2 {
		t.Fatalf("got %+v", j)
	}
	if j.GRPO.Beta != 0.01 {
		t.Fatalf("a key absent from file and flags must keep its default, got beta %g", j.GRPO.Beta)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, file string
		sets       []string
		want       []string
	}{
		{"unknown key names file line and key", "train:\n  steps: 3\n  lrr: 1\n", nil, []string{"job.yaml:3:", `unknown key "train.lrr"`, "lr,"}},
		{"unknown section", "trian:\n  steps: 3\n", nil, []string{"job.yaml:1:", `"trian"`}},
		{"wrong type", "train:\n  steps: many\n", nil, []string{"job.yaml", "line 2", "many"}},
		{"section given a scalar", "train: 5\n", nil, []string{"job.yaml:1:", "train must be a mapping"}},
		{"bad yaml", "train: [\n", nil, []string{"job.yaml"}},
		{"top level not a mapping", "- 1\n- 2\n", nil, []string{"job.yaml:1:", "mapping"}},
		{"validation names line", "grpo:\n  loss_type: ppo\n", nil, []string{"job.yaml:2:", "grpo.loss_type", `"ppo"`}},
		{"validation names set", "", []string{"grpo.group_size=1"}, []string{"--set grpo.group_size=1", "at least 2"}},
		{"set unknown key", "", []string{"train.stepz=1"}, []string{"--set train.stepz=1", `unknown key "train.stepz"`}},
		{"set bad type", "", []string{"train.lr=fast"}, []string{"--set train.lr=fast", "fast"}},
		{"set without value", "", []string{"train.lr"}, []string{"want section.key=value"}},
		{"set on section", "", []string{"train=1"}, []string{"is a section"}},
		{"several problems at once", "train:\n  steps: 0\n  lr: -1\n", nil, []string{"train.steps", "train.lr"}},
		{"duplicate key", "seed: 1\nseed: 2\n", nil, []string{"job.yaml", "already defined"}},
		{"unknown architecture", "model:\n  arch: gpt2\n", nil, []string{"job.yaml:2:", "model.arch", `"gpt2"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(writeFile(t, c.file), c.sets)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestWriteResolvedRoundTrip(t *testing.T) {
	j, err := Load("", []string{"train.steps=9", "grpo.beta=0.04"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := j.WriteResolved(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(filepath.Join(dir, "config.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, j) {
		t.Fatalf("resolved config does not reproduce the job:\n%+v\n%+v", back, j)
	}
}
