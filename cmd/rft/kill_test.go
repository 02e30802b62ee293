package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for rft: with RFT_AS_CLI set it
// runs the command line and exits, so tests can start (and SIGKILL) real
// rft processes without building a separate binary.
func TestMain(m *testing.M) {
	if os.Getenv("RFT_AS_CLI") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func rftProcess(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RFT_AS_CLI=1")
	return cmd
}

// TestKillAndResumeIsExact kills `rft train` with SIGKILL at random moments
// (during rollouts, updates and checkpoint writes alike), resumes each time,
// and requires the final weights to be bitwise those of a run left alone.
func TestKillAndResumeIsExact(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many processes")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	work := t.TempDir()
	args := []string{"--quiet", "train", "--config", filepath.Join(root, "configs", "train-tiny.yaml"),
		"--set", "model.tokenizer=" + filepath.Join(root, "testdata", "tokenizer", "rft", "tokenizer.json"),
		"--set", "data.train=" + filepath.Join(root, "configs", "data", "tiny", "prompts.jsonl"),
		"--set", "reward.rubrics=" + filepath.Join(root, "configs", "data", "tiny", "rubrics.jsonl"),
		"--set", "reward.cache=" + filepath.Join(work, "cache"),
		"--set", "train.steps=30", "--set", "checkpoint.every=4"}
	straight := filepath.Join(work, "straight")
	if out, err := rftProcess(t, work, append(args, "--out", straight)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	killed := filepath.Join(work, "killed")
	rng := rand.New(rand.NewPCG(7, 7))
	kills := 0
	cmdArgs := append(args, "--out", killed)
	for attempt := 0; attempt < 40; attempt++ {
		cmd := rftProcess(t, work, cmdArgs...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		if kills < 5 {
			select {
			case err = <-done:
			case <-time.After(time.Duration(200+rng.IntN(900)) * time.Millisecond):
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				kills++
				if _, err := os.Stat(filepath.Join(killed, "config.yaml")); err == nil {
					cmdArgs = append(args[:2:2], "--resume", killed)
				} else {
					os.RemoveAll(killed) // killed before the run directory existed
				}
				continue
			}
		} else {
			err = <-done
		}
		if err != nil {
			t.Fatalf("run %d: %v\n%s", attempt, err, out.String())
		}
		break
	}
	if kills == 0 {
		t.Fatal("no run was killed: the kill points missed the run")
	}
	for _, f := range []string{"model.safetensors", "optimizer.safetensors", "trainer_state.json"} {
		a, _ := os.ReadFile(filepath.Join(straight, "checkpoints", "step-000030", f))
		b, err := os.ReadFile(filepath.Join(killed, "checkpoints", "step-000030", f))
		if err != nil || len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs after %d kills and resumes (%v)", f, kills, err)
		}
	}
	t.Logf("%d SIGKILLs, resumed each time, final checkpoint bitwise identical", kills)
}
