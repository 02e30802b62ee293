package replicate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rft-dev/rft/eval"
)

// fakeRunner writes synthetic result files: each arm's final win-rate is
// its position in the catalogue (so the orderings are known), and it can be
// told to fail on one arm.
type fakeRunner struct {
	calls  []string
	failOn string
}

func (f *fakeRunner) RunArm(ctx context.Context, arm Arm, seed uint64, dir string) error {
	f.calls = append(f.calls, fmt.Sprintf("%s/%d", arm.Name, seed))
	if arm.Name == f.failOn {
		return errors.New("boom")
	}
	rank := 0
	for i, a := range Catalogue {
		if a.Name == arm.Name {
			rank = i
		}
	}
	for step := 10; step <= 30; step += 10 {
		v := verdicts(20, min(20, rank+step/10))
		kl := 0.01 * float64(step)
		w := eval.Summarize(v, 1)
		if err := AppendCurve(dir, EvalPoint{Step: step, KL: &kl, WinRate: w.WinRate, CILow: w.CILow, CIHigh: w.CIHigh, N: 20, Verdicts: v}); err != nil {
			return err
		}
	}
	if arm.Trains() {
		os.MkdirAll(filepath.Join(dir, "train"), 0o755)
		var lines []string
		for step := 1; step <= 30; step++ {
			lines = append(lines, fmt.Sprintf(`{"step":%d,"reward_mean":%g,"gold_reward_mean":%g,"kl":%g}`, step, 0.01*float64(step), 0.005*float64(step), 0.001*float64(step)))
		}
		if err := os.WriteFile(filepath.Join(dir, "train", "metrics.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	if arm.Probed() {
		p := &eval.ProbeResult{}
		for i := range 30 {
			p.Outcomes = append(p.Outcomes, eval.PairOutcome{Region: []string{eval.RegionHigh, eval.RegionLow}[i%2], Judge: eval.Win, Counted: true, Agree: i < 10+rank})
		}
		p.Regions = eval.Agreements(p.Outcomes)
		if err := WriteProbe(dir, p); err != nil {
			return err
		}
	}
	if arm.Kind == KindBT {
		a := &ArtifactResult{Pairs: 40, Prefers: 35, ByArtifact: map[string]int{"sure": 35}, Counts: map[string]int{"sure": 40}}
		a.Summarize()
		return WriteArtifacts(dir, a)
	}
	return nil
}

func manifest() *Manifest {
	return &Manifest{Config: "seed: 1\n", Arms: Names(), Seeds: []uint64{1, 2},
		Simulator: map[string]any{"world_seed": 1, "fingerprint": "abc"}, Claims: Claims}
}

func TestFreezeIsCheckedOnResume(t *testing.T) {
	dir := t.TempDir()
	m := manifest()
	h, err := Freeze(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	if h2, err := Freeze(dir, manifest()); err != nil || h2 != h {
		t.Fatalf("the same manifest resumes: %v (%s vs %s)", err, h2, h)
	}
	other := manifest()
	other.Simulator["fingerprint"] = "changed"
	if _, err := Freeze(dir, other); !errors.Is(err, ErrFrozenDiffers) {
		t.Fatalf("a changed simulator must be refused, got %v", err)
	}
	back, err := ReadFrozen(dir)
	if err != nil || len(back.Claims) != len(Claims) || back.Seeds[1] != 2 {
		t.Fatalf("read back: %v %+v", err, back)
	}
	// An edited frozen.json no longer matches its hash.
	path := filepath.Join(dir, FrozenFile)
	os.Chmod(path, 0o644)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(data), "refined-beats-initial", "refined-beats-nothing", 1)), 0o644)
	if _, err := ReadFrozen(dir); err == nil || !strings.Contains(err.Error(), "edited") {
		t.Fatalf("tampering must be detected, got %v", err)
	}
}

func TestRunResumesAndReport(t *testing.T) {
	dir := t.TempDir()
	m := manifest()
	if _, err := Freeze(dir, m); err != nil {
		t.Fatal(err)
	}
	// The first attempt fails on one arm: the arms before it are done.
	r := &fakeRunner{failOn: FourGreat}
	if err := Run(context.Background(), dir, m, r, nil); err == nil || !strings.Contains(err.Error(), "arm 4-great seed 1: boom") {
		t.Fatalf("want the failing arm named, got %v", err)
	}
	if IsDone(ArmDir(dir, FourGreat, 1)) || !IsDone(ArmDir(dir, OneGreat, 1)) {
		t.Fatal("done-files must mark exactly the finished arms")
	}
	first := len(r.calls)
	// The second attempt reruns only what was not done.
	r2 := &fakeRunner{}
	if err := Run(context.Background(), dir, m, r2, nil); err != nil {
		t.Fatal(err)
	}
	if want := 2*len(Catalogue) - (first - 1); len(r2.calls) != want || r2.calls[0] != FourGreat+"/1" {
		t.Fatalf("resume ran %d arms starting %v, want %d starting 4-great/1", len(r2.calls), r2.calls[:1], want)
	}
	r3 := &fakeRunner{}
	if err := Run(context.Background(), dir, m, r3, nil); err != nil || len(r3.calls) != 0 {
		t.Fatalf("a finished run reruns nothing: %v %v", err, r3.calls)
	}

	rep, err := WriteReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ReportMD, ReportHTML, ResultsFile, "plots/winrate_vs_step.png", "plots/winrate_vs_kl.png", "plots/reward_initial.png", "plots/reward_bt-off.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("report did not write %s", f)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, ReportMD))
	for _, want := range []string{"Table 1 analog", "Table 2 analog", "Declared claims", "Orderings beside the paper's", "39.7", "49.2", rep.Hash} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// The fake's win-rates rise with catalogue position, so a refined arm
	// beats the initial one: the verdict is computed, not assumed.
	for _, v := range rep.Verdicts {
		if v.Claim == "refined-beats-initial" && v.Outcome != Supported {
			t.Errorf("refined-beats-initial: %+v", v)
		}
		if v.Claim == "bt-off-rewards-artifacts" && v.Outcome != Supported {
			t.Errorf("bt-off-rewards-artifacts (35 of 40 per seed): %+v", v)
		}
	}
	// The report is a function of the directory: regenerated, it is the same.
	os.Remove(filepath.Join(dir, ReportMD))
	if _, err := WriteReport(dir); err != nil {
		t.Fatal(err)
	}
	md2, _ := os.ReadFile(filepath.Join(dir, ReportMD))
	if string(md2) != string(md) {
		t.Fatal("the report changed when regenerated from the same directory")
	}
}

func TestReportOfUnfinishedRun(t *testing.T) {
	dir := t.TempDir()
	m := manifest()
	m.Arms = []string{Initial, FourGreatDiv}
	if _, err := Freeze(dir, m); err != nil {
		t.Fatal(err)
	}
	r := &fakeRunner{failOn: FourGreatDiv}
	Run(context.Background(), dir, m, r, nil)
	rep, err := WriteReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != 3 || rep.Verdicts[0].Outcome != NotRun {
		t.Fatalf("missing %v, verdict %+v", rep.Missing, rep.Verdicts[0])
	}
}
