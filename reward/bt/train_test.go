package bt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rft-dev/rft/checkpoints"
	"github.com/rft-dev/rft/configs"
	"github.com/rft-dev/rft/policy"
	"github.com/rft-dev/rft/policy/tokenizer"
	"github.com/rft-dev/rft/reward"
)

// tinyBase writes a randomly initialised tiny model with the committed test
// tokenizer: a stand-in for a base policy directory.
func tinyBase(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	tokPath := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "tokenizer", "rft", "tokenizer.json")
	tok, err := tokenizer.Load(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := policy.Preset("tiny")
	c.VocabSize = tok.VocabSize()
	eot, _ := tok.TokenID(tokenizer.EndOfText)
	c.EOS = []int{eot}
	dir := filepath.Join(t.TempDir(), "base")
	if err := policy.SaveDir(dir, policy.InitParams[float32](c, 7), nil); err != nil {
		t.Fatal(err)
	}
	if err := tok.Save(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	return dir
}

var words = strings.Fields(`the cat sat on a mat while small birds sang over green hills and old trees
near quiet rivers where children played with red kites under warm skies`)

// markerPairs makes n pairs whose chosen response contains the marker word
// "zebra" and whose rejected response, of the same length, does not.
func markerPairs(seed uint64, n int) []Pair {
	r := rand.New(rand.NewPCG(seed, 1))
	sentence := func(k int) []string {
		s := make([]string, k)
		for i := range s {
			s[i] = words[r.IntN(len(words))]
		}
		return s
	}
	out := make([]Pair, n)
	for i := range out {
		k := 6 + r.IntN(6)
		good := sentence(k)
		good[r.IntN(k)] = "zebra"
		out[i] = Pair{Prompt: "Tell me something: " + strings.Join(sentence(3), " "),
			Chosen: strings.Join(good, " "), Rejected: strings.Join(sentence(k), " "), Source: "marker"}
	}
	return out
}

func rmJob(t *testing.T, base string, sets ...string) *configs.Job {
	t.Helper()
	all := append([]string{"model.path=" + base, "train.steps=40", "train.lr=3e-3", "train.batch_size=8",
		"train.grad_accum=2", "train.seq_len=64", "train.warmup_steps=4", "train.schedule=cosine",
		"train.eval_every=20", "checkpoint.every=20"}, sets...)
	job, err := configs.Load("", all)
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func runRM(t *testing.T, dir string, job *configs.Job, train, eval []Pair, opts Options) (*Session, *Summary) {
	t.Helper()
	run, err := checkpoints.Create(dir, job)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Prepare(nil, job, train, eval)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Run(context.Background(), run, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, sum
}

// TestTrainMarkerPairs: on pairs whose chosen response carries a marker
// word, held-out accuracy climbs from chance to well above it in 40 steps;
// the checkpoint loads back (bt.Load) with bitwise the same scores, which
// are the same alone or in a batch; metrics and summary report accuracy.
func TestTrainMarkerPairs(t *testing.T) {
	base := tinyBase(t)
	train, eval := markerPairs(1, 256), markerPairs(2, 64)
	job := rmJob(t, base)
	out := filepath.Join(t.TempDir(), "run")
	s, sum := runRM(t, out, job, train, eval, Options{})
	t.Logf("held-out accuracy %.3f (initial %.3f), eval loss %.3f, train loss %.3f",
		sum.EvalAccuracy, sum.InitialEvalAccuracy, sum.EvalLoss, sum.TrainLoss)
	if sum.EvalAccuracy < 0.85 {
		t.Errorf("held-out accuracy %.3f after %d steps, want ≥ 0.85", sum.EvalAccuracy, sum.Steps)
	}
	if sum.EvalAccuracyBySrc["marker"] != sum.EvalAccuracy {
		t.Errorf("per-source accuracy %v, want marker = %g", sum.EvalAccuracyBySrc, sum.EvalAccuracy)
	}

	var samples []reward.Sample
	for _, p := range eval[:8] {
		samples = append(samples, reward.Sample{Prompt: p.Prompt, Completion: p.Chosen},
			reward.Sample{Prompt: p.Prompt, Completion: p.Rejected})
	}
	want, err := s.Model().Score(context.Background(), samples)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(sum.FinalModelDir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Chat == nil || loaded.MaxLen != 64 {
		t.Errorf("loaded tokenisation: chat %v, max length %d; want chat, 64", loaded.Chat, loaded.MaxLen)
	}
	got, err := loaded.Score(context.Background(), samples)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Float64bits(got[i].Value) != math.Float64bits(want[i].Value) || got[i].Err != nil {
			t.Fatalf("sample %d: loaded model scores %v, trained model %v", i, got[i], want[i])
		}
		alone, err := loaded.Score(context.Background(), samples[i:i+1])
		if err != nil || math.Float64bits(alone[0].Value) != math.Float64bits(want[i].Value) {
			t.Fatalf("sample %d: alone %v, in a batch %v (%v)", i, alone[0].Value, want[i].Value, err)
		}
	}

	f, err := os.Open(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evals, lines int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec StepRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		lines++
		if rec.EvalAccuracy != nil {
			evals++
		}
	}
	if lines != 40 || evals != 2 {
		t.Errorf("metrics.jsonl: %d lines, %d with eval_accuracy; want 40, 2", lines, evals)
	}
	if _, err := os.Stat(filepath.Join(out, "summary.json")); err != nil {
		t.Error(err)
	}
}

// TestResumeIsExact: a frozen-backbone run stopped after 3 steps (its last
// checkpoint at 2) and resumed ends with bitwise the weights, optimizer
// state and metrics of a run that never stopped; the backbone is unchanged.
func TestResumeIsExact(t *testing.T) {
	base := tinyBase(t)
	train, eval := markerPairs(1, 64), markerPairs(2, 16)
	job := rmJob(t, base, "train.steps=6", "checkpoint.every=2", "train.eval_every=3", "rm.freeze_backbone=true", "rm.input=plain")
	root := t.TempDir()
	straight, killed := filepath.Join(root, "straight"), filepath.Join(root, "killed")
	runRM(t, straight, job, train, eval, Options{})
	if _, sum := runRM(t, killed, job, train, eval, Options{StopAfter: 3}); sum != nil {
		t.Fatal("a stopped run must not report a summary")
	}
	run, rjob, err := checkpoints.Open(killed)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Prepare(run, rjob, train, eval)
	if err != nil {
		t.Fatal(err)
	}
	if s.step != 2 {
		t.Fatalf("resumed at step %d, want the checkpoint at 2", s.step)
	}
	if _, err := s.Run(context.Background(), run, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.safetensors", HeadFile, "optimizer.safetensors", "trainer_state.json"} {
		a, _ := os.ReadFile(filepath.Join(straight, "checkpoints", "step-000006", f))
		b, _ := os.ReadFile(filepath.Join(killed, "checkpoints", "step-000006", f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the straight and the resumed run", f)
		}
	}
	a, _ := os.ReadFile(filepath.Join(base, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(straight, "checkpoints", "step-000006", "model.safetensors"))
	if !bytes.Equal(a, b) {
		t.Error("rm.freeze_backbone: the backbone changed")
	}
	ma, _ := os.ReadFile(filepath.Join(straight, "metrics.jsonl"))
	mb, _ := os.ReadFile(filepath.Join(killed, "metrics.jsonl"))
	if stripSeconds(ma) != stripSeconds(mb) {
		t.Errorf("metrics differ:\n%s\nvs\n%s", ma, mb)
	}
}

// stripSeconds drops the wall-clock fields of metrics lines.
func stripSeconds(b []byte) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return "unparsable: " + line
		}
		delete(m, "seconds")
		j, _ := json.Marshal(m)
		out = append(out, string(j))
	}
	return strings.Join(out, "\n")
}

// TestReadPairsErrors: a bad pairs file names its line.
func TestReadPairsErrors(t *testing.T) {
	good := `{"prompt":"p","chosen":"a","rejected":"b"}`
	for _, c := range []struct {
		name, body, want string
	}{
		{"not json", good + "\n\n{oops\n", "pairs.jsonl:3:"},
		{"missing rejected", good + "\n" + `{"prompt":"p","chosen":"a"}`, `pairs.jsonl:2: "rejected" is missing`},
		{"typo", `{"prompt":"p","choosen":"a","rejected":"b"}`, `pairs.jsonl:1:`},
		{"same", good + "\n" + good + "\n" + `{"prompt":"p","chosen":"a","rejected":"a"}`, "pairs.jsonl:3: chosen and rejected are the same"},
		{"empty", "\n\n", "no pairs"},
	} {
		path := filepath.Join(t.TempDir(), "pairs.jsonl")
		if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadPairs(path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
	path := filepath.Join(t.TempDir(), "pairs.jsonl")
	var buf bytes.Buffer
	ps := markerPairs(3, 5)
	if err := WritePairs(&buf, ps); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, buf.Bytes(), 0o644)
	back, err := ReadPairs(path)
	if err != nil || len(back) != 5 || back[4] != ps[4] {
		t.Errorf("round trip: %v, %v", back, err)
	}
}
