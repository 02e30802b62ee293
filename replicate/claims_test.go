package replicate

import (
	"math"
	"strings"
	"testing"

	"github.com/rft-dev/rft/eval"
)

// verdicts returns n verdicts of which wins are wins, the rest losses.
func verdicts(n, wins int) []eval.Verdict {
	v := make([]eval.Verdict, n)
	for i := range v {
		v[i] = eval.Loss
		if i < wins {
			v[i] = eval.Win
		}
	}
	return v
}

// armWith builds an arm result whose seeds end at the given final
// verdicts, with a curve of the given win-rates before it.
func armWith(name string, curve []float64, finals ...[]eval.Verdict) *ArmResult {
	a, _ := Lookup(name)
	r := &ArmResult{Arm: a}
	for i, f := range finals {
		s := SeedResult{Seed: uint64(i + 1)}
		for j, w := range curve {
			s.Curve = append(s.Curve, EvalPoint{Step: 10 * (j + 1), WinRate: w})
		}
		s.Curve = append(s.Curve, EvalPoint{Step: 10 * (len(curve) + 1), WinRate: eval.Summarize(f, 1).WinRate, Verdicts: f})
		r.Seeds = append(r.Seeds, s)
	}
	return r
}

func claim(id string) Claim {
	for _, c := range Claims {
		if c.ID == id {
			return c
		}
	}
	panic(id)
}

func TestDecideFinalGreater(t *testing.T) {
	c := claim("refined-beats-initial")
	cases := []struct {
		name       string
		refined    int // wins of 100 per seed
		initial    int
		want       string
		wantNearly float64
	}{
		{"clear gain", 60, 20, Supported, 0.4},
		{"clear loss", 20, 60, Contradicted, -0.4},
		{"same", 30, 30, Inconclusive, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Results{
				FourGreatDiv: armWith(FourGreatDiv, nil, verdicts(100, tc.refined), verdicts(100, tc.refined)),
				Initial:      armWith(Initial, nil, verdicts(100, tc.initial), verdicts(100, tc.initial)),
			}
			v := Decide([]Claim{c}, res)[0]
			if v.Outcome != tc.want || math.Abs(v.Estimate-tc.wantNearly) > 1e-9 || v.N != 200 {
				t.Fatalf("got %+v, want %s at %g over 200 pairs", v, tc.want, tc.wantNearly)
			}
			if !v.Interval || v.MDE < 0 || v.CILow > v.Estimate || v.CIHigh < v.Estimate {
				t.Fatalf("interval and MDE: %+v", v)
			}
		})
	}
	// A claim whose arm was not run says so.
	v := Decide([]Claim{c}, Results{Initial: armWith(Initial, nil, verdicts(10, 1))})[0]
	if v.Outcome != NotRun || v.Interval {
		t.Fatalf("missing arm: %+v", v)
	}
}

func TestDecideNullControl(t *testing.T) {
	c := claim("null-pool-no-gain")
	gain := Results{Null: armWith(Null, nil, verdicts(100, 70)), Initial: armWith(Initial, nil, verdicts(100, 20))}
	if v := Decide([]Claim{c}, gain)[0]; v.Outcome != Contradicted {
		t.Fatalf("a detectable gain on the null pool contradicts the control: %+v", v)
	}
	same := Results{Null: armWith(Null, nil, verdicts(100, 20)), Initial: armWith(Initial, nil, verdicts(100, 20))}
	if v := Decide([]Claim{c}, same)[0]; v.Outcome != Supported {
		t.Fatalf("no gain supports the control: %+v", v)
	}
}

// probed gives an arm one seed whose probe agrees on the first k of n
// pairs in each region.
func probed(name string, highAgree, lowAgree, n int) *ArmResult {
	a, _ := Lookup(name)
	p := &eval.ProbeResult{}
	for _, rk := range []struct {
		region string
		k      int
	}{{eval.RegionHigh, highAgree}, {eval.RegionLow, lowAgree}} {
		region, k := rk.region, rk.k
		for i := range n {
			p.Outcomes = append(p.Outcomes, eval.PairOutcome{Region: region, Judge: eval.Win, Counted: true, Agree: i < k})
		}
	}
	return &ArmResult{Arm: a, Seeds: []SeedResult{{Seed: 1, Probe: p}}}
}

func TestDecideProbeRise(t *testing.T) {
	c := claim("high-agreement-rises")
	cases := []struct {
		name                   string
		refHigh, refLow, iHigh int
		want                   string
	}{
		{"rises, low flat", 160, 130, 80, Supported},
		{"rises, low rises more", 120, 200, 80, Inconclusive}, // low +35 vs high +20: not flat
		{"falls", 40, 130, 120, Contradicted},
		{"unchanged", 80, 130, 80, Inconclusive},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Results{FourGreatDiv: probed(FourGreatDiv, tc.refHigh, tc.refLow, 200), Initial: probed(Initial, tc.iHigh, 130, 200)}
			if v := Decide([]Claim{c}, res)[0]; v.Outcome != tc.want || v.N != 200 {
				t.Fatalf("got %+v, want %s", v, tc.want)
			}
		})
	}
}

func TestDecidePeaksEarlier(t *testing.T) {
	c := claim("initial-peaks-earlier")
	final := verdicts(10, 3)
	early := armWith(Initial, []float64{0.2, 0.5, 0.4}, final)      // peak at step 20, then 0.3
	late := armWith(FourGreatDiv, []float64{0.2, 0.3, 0.4}, final)  // rises to 0.4 at 30, ends 0.3
	flat := armWith(FourGreatDiv, []float64{0.1, 0.2, 0.25}, final) // still rising at the end
	if v := Decide([]Claim{c}, Results{Initial: early, FourGreatDiv: late})[0]; v.Outcome != Supported || v.Interval {
		t.Fatalf("initial peaks at 20 and drops 0.2, refined peaks at 30 and drops 0.1: %+v", v)
	}
	if v := Decide([]Claim{c}, Results{Initial: flat, FourGreatDiv: early})[0]; v.Outcome != Contradicted {
		t.Fatalf("reversed: %+v", v)
	}
	short := armWith(Initial, []float64{0.2}, final)
	if v := Decide([]Claim{c}, Results{Initial: short, FourGreatDiv: late})[0]; v.Outcome != NotRun {
		t.Fatalf("two evaluations cannot show a peak: %+v", v)
	}
}

func TestDecideArtifactPreference(t *testing.T) {
	c := claim("bt-off-rewards-artifacts")
	mk := func(prefers, pairs int) Results {
		a, _ := Lookup(BTOff)
		ar := &ArtifactResult{Pairs: pairs, Prefers: prefers}
		return Results{BTOff: &ArmResult{Arm: a, Seeds: []SeedResult{{Seed: 1, Artifacts: ar}}}}
	}
	for _, tc := range []struct {
		prefers, pairs int
		want           string
	}{{90, 100, Supported}, {10, 100, Contradicted}, {52, 100, Inconclusive}} {
		v := Decide([]Claim{c}, mk(tc.prefers, tc.pairs))[0]
		if v.Outcome != tc.want || v.Estimate != float64(tc.prefers)/100 {
			t.Fatalf("%d/%d: got %+v, want %s", tc.prefers, tc.pairs, v, tc.want)
		}
	}
}

func TestMDE(t *testing.T) {
	// 2.80 × 0.707 / √100 ≈ 0.198: the usual "20 points at n = 100".
	if got := PriorMDE(100); math.Abs(got-0.1981) > 1e-3 {
		t.Fatalf("PriorMDE(100) = %g", got)
	}
	if got := MDE(0.5, 400); math.Abs(got-0.0700) > 1e-3 {
		t.Fatalf("MDE(0.5, 400) = %g", got)
	}
	if !math.IsInf(MDE(1, 0), 1) {
		t.Fatal("nothing is detectable at n = 0")
	}
	if sd := pairedSD(verdicts(4, 4), verdicts(4, 0)); sd != 0 {
		t.Fatalf("constant differences have sd 0, got %g", sd)
	}
}

func TestCheckArms(t *testing.T) {
	if err := CheckArms([]string{Initial, FourGreat}, map[string][]string{FourGreat: {"rm.prompts=10"}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		arms      []string
		overrides map[string][]string
		want      string
	}{
		{[]string{Initial, "5-great"}, nil, `replicate.arms[1]: unknown arm "5-great"`},
		{[]string{Initial, Initial}, nil, "replicate.arms[1]: arm \"initial\" is listed twice"},
		{nil, nil, "replicate.arms: give at least one arm"},
		{[]string{Initial, BTOff}, map[string][]string{BTOff: {"grpo.beta=0.05"}}, "replicate.overrides.bt-off: grpo.beta: arms must share the GRPO settings"},
		{[]string{Initial}, map[string][]string{BTOff: {"rm.prompts=1"}}, "replicate.overrides.bt-off: \"bt-off\" is not an arm"},
		{[]string{Initial}, map[string][]string{Initial: {"train.lr=1"}}, "replicate.overrides.initial: train.lr"},
		{[]string{Initial}, map[string][]string{Initial: {"seed=3"}}, "replicate.overrides.initial: seed"},
	}
	for _, tc := range cases {
		err := CheckArms(tc.arms, tc.overrides)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want %q", tc.arms, tc.overrides, err, tc.want)
		}
	}
}
