package replicate

import (
	"fmt"
	"math"

	"github.com/rft-dev/rft/eval"
)

// Test kinds: how a claim's verdict is computed from the results.
const (
	// TestFinalGreater: arm A's final win-rate exceeds arm B's. The paired
	// difference (same seeds, same eval prompts) with a 95% paired-bootstrap
	// interval: supported when it excludes zero from above, contradicted
	// when it excludes zero from below, inconclusive otherwise.
	TestFinalGreater = "final_greater"
	// TestFinalNotGreater (a control): arm A does not beat arm B.
	// Contradicted when the paired interval excludes zero from above,
	// supported otherwise (an absence of a detectable gain, as strong as
	// the minimum detectable effect is small).
	TestFinalNotGreater = "final_not_greater"
	// TestProbeRise: A's agreement with the judge on high-reward pairs
	// exceeds B's (paired over the same pairs, 95% paired bootstrap), and
	// the change on low-reward pairs is smaller in size than the rise.
	// Contradicted when A's high-reward agreement is detectably lower.
	TestProbeRise = "probe_rise"
	// TestPeaksEarlier: on the seed-mean win-rate curves, A reaches its
	// peak at an earlier step than B and falls further from it by the last
	// evaluation (peak − final). Supported when both hold, contradicted when
	// both are reversed, inconclusive otherwise. Descriptive: no interval
	// (the paper's Figure 4 is a picture too).
	TestPeaksEarlier = "peaks_earlier"
	// TestArtifactPreference: arm A's reward scores the artifact version of
	// a judge-tied pair higher more than half the time (Wilson 95% interval
	// above 0.5: supported; below: contradicted).
	TestArtifactPreference = "artifact_preference"
)

// Claim is one declared claim of the paper and the test that decides it.
type Claim struct {
	ID        string `json:"id"`
	Statement string `json:"statement"`
	Paper     string `json:"paper"` // what the paper reports for it
	Test      string `json:"test"`
	A         string `json:"a"`
	B         string `json:"b,omitempty"`
}

// Claims are the declared claims, frozen in the run directory before any
// arm runs (PAPER.md gives the numbers quoted here).
var Claims = []Claim{
	{ID: "refined-beats-initial", Statement: "A rubric refined on great & diverse pairs beats the initial rubric",
		Paper: "4 great & diverse 39.7 vs initial 31.3 (generalist), 34.4 vs 21.7 (health)", Test: TestFinalGreater, A: FourGreatDiv, B: Initial},
	{ID: "great-beats-good", Statement: "Refining on a great pair beats refining on a good pair",
		Paper: "1 great 36.8 vs 1 good 33.5 (generalist), 26.5 vs 22.4 (health)", Test: TestFinalGreater, A: OneGreat, B: OneGood},
	{ID: "high-agreement-rises", Statement: "Refinement raises agreement with the judge on high-reward pairs while low-reward agreement stays flat",
		Paper: "high-reward 40.3 (initial) to 47.9 (4 great & diverse; 49.2 for 4 great); low-reward 66.2 to 69.8", Test: TestProbeRise, A: FourGreatDiv, B: Initial},
	{ID: "initial-peaks-earlier", Statement: "The initial rubric's win-rate peaks and falls earlier than the refined rubric's",
		Paper: "Figure 4: initial and one-pair rubrics peak and collapse; refined rubrics hold their win-rate longer", Test: TestPeaksEarlier, A: Initial, B: FourGreatDiv},
	{ID: "bt-off-rewards-artifacts", Statement: "A Bradley-Terry reward model trained off-policy rewards stylistic artifacts",
		Paper: "off-policy BT 22.4 vs on+off 30.7 (health); attributed to artifacts of the strong responders", Test: TestArtifactPreference, A: BTOff},
	{ID: "top-error-hurts-more", Statement: "Error in the top 10% of rewards hurts more than the same error in the bottom 90%",
		Paper: "Mechanism 1 (Figure 2): misranking in the high-reward tail dominates the win-rate", Test: TestFinalGreater, A: Mech1Bottom, B: Mech1Top},
	{ID: "null-pool-no-gain", Statement: "Control: refining on a null pool (no tail differences) does not beat the initial rubric",
		Paper: "(a control of this replication; the paper has none)", Test: TestFinalNotGreater, A: Null, B: Initial},
}

// Outcomes of a verdict.
const (
	Supported    = "supported"
	Contradicted = "contradicted"
	Inconclusive = "inconclusive"
	NotRun       = "not run"
)

// Verdict is a claim's outcome, with the estimate it rests on.
type Verdict struct {
	Claim    string  `json:"claim"`
	Outcome  string  `json:"outcome"`
	Estimate float64 `json:"estimate"` // the tested quantity (a difference, a rate)
	CILow    float64 `json:"ci_low"`
	CIHigh   float64 `json:"ci_high"`
	N        int     `json:"n"`
	// MDE is the smallest true effect the test would detect with 80% power
	// at this n (two-sided 5%), from the observed spread.
	MDE float64 `json:"mde"`
	// Interval says whether CILow, CIHigh and MDE mean anything (the
	// descriptive peak test has none).
	Interval bool   `json:"interval"`
	Detail   string `json:"detail"`
}

// bootstrapSeed keys every bootstrap of the verdicts: a report is a
// function of the run directory.
const bootstrapSeed = 1

// Decide computes every claim's verdict from the results.
func Decide(claims []Claim, res Results) []Verdict {
	out := make([]Verdict, len(claims))
	for i, c := range claims {
		v := decide(c, res)
		v.Claim = c.ID
		v.Interval = v.Outcome != NotRun && c.Test != TestPeaksEarlier
		out[i] = v
	}
	return out
}

func decide(c Claim, res Results) Verdict {
	a, b := res[c.A], res[c.B]
	missing := func(names ...string) *Verdict {
		for _, n := range names {
			if r := res[n]; r == nil || len(r.Seeds) == 0 {
				return &Verdict{Outcome: NotRun, Detail: fmt.Sprintf("arm %s has no results", n)}
			}
		}
		return nil
	}
	switch c.Test {
	case TestFinalGreater, TestFinalNotGreater:
		if m := missing(c.A, c.B); m != nil {
			return *m
		}
		va, vb := pairedFinal(a, b)
		if len(va) == 0 {
			return Verdict{Outcome: NotRun, Detail: "no seed evaluated both arms"}
		}
		d := eval.Paired(va, vb, bootstrapSeed)
		v := Verdict{Estimate: d.Diff, CILow: d.CILow, CIHigh: d.CIHigh, N: d.N, MDE: MDE(pairedSD(va, vb), d.N)}
		v.Detail = fmt.Sprintf("%s − %s final win-rate %+.1f points, paired-bootstrap 95%% CI [%+.1f, %+.1f], n = %d",
			c.A, c.B, 100*d.Diff, 100*d.CILow, 100*d.CIHigh, d.N)
		switch {
		case c.Test == TestFinalNotGreater && d.CILow > 0:
			v.Outcome = Contradicted
		case c.Test == TestFinalNotGreater:
			v.Outcome = Supported
			v.Detail += "; no detectable gain"
		case d.CILow > 0:
			v.Outcome = Supported
		case d.CIHigh < 0:
			v.Outcome = Contradicted
		default:
			v.Outcome = Inconclusive
		}
		return v
	case TestProbeRise:
		if m := missing(c.A, c.B); m != nil {
			return *m
		}
		ha, hb := pairedProbe(a, b, eval.RegionHigh)
		la, lb := pairedProbe(a, b, eval.RegionLow)
		if len(ha) == 0 {
			return Verdict{Outcome: NotRun, Detail: "no seed probed both arms on high-reward pairs"}
		}
		dh := eval.Paired(ha, hb, bootstrapSeed)
		dl := eval.Paired(la, lb, bootstrapSeed)
		v := Verdict{Estimate: dh.Diff, CILow: dh.CILow, CIHigh: dh.CIHigh, N: dh.N, MDE: MDE(pairedSD(ha, hb), dh.N)}
		v.Detail = fmt.Sprintf("high-reward agreement %s − %s %+.1f points [%+.1f, %+.1f] (n = %d); low-reward %+.1f points [%+.1f, %+.1f] (n = %d)",
			c.A, c.B, 100*dh.Diff, 100*dh.CILow, 100*dh.CIHigh, dh.N, 100*dl.Diff, 100*dl.CILow, 100*dl.CIHigh, dl.N)
		switch {
		case dh.CILow > 0 && math.Abs(dl.Diff) < dh.Diff:
			v.Outcome = Supported
		case dh.CIHigh < 0:
			v.Outcome = Contradicted
		default:
			v.Outcome = Inconclusive
		}
		return v
	case TestPeaksEarlier:
		if m := missing(c.A, c.B); m != nil {
			return *m
		}
		pa, da, okA := peak(a)
		pb, db, okB := peak(b)
		if !okA || !okB {
			return Verdict{Outcome: NotRun, Detail: "a curve needs at least 3 evaluations every seed shares"}
		}
		v := Verdict{Estimate: da - db, N: len(a.Seeds) + len(b.Seeds)}
		v.Detail = fmt.Sprintf("%s peaks at step %d and falls %.1f points by the end; %s peaks at step %d and falls %.1f points",
			c.A, pa, 100*da, c.B, pb, 100*db)
		switch {
		case pa < pb && da > db:
			v.Outcome = Supported
		case pa > pb && da < db:
			v.Outcome = Contradicted
		default:
			v.Outcome = Inconclusive
		}
		return v
	case TestArtifactPreference:
		if m := missing(c.A); m != nil {
			return *m
		}
		ar := a.pooledArtifacts()
		if ar == nil || ar.Pairs == 0 {
			return Verdict{Outcome: NotRun, Detail: "no artifact pairs were scored"}
		}
		v := Verdict{Estimate: ar.Rate, CILow: ar.CILow, CIHigh: ar.CIHigh, N: ar.Pairs, MDE: MDE(0.5, ar.Pairs)}
		v.Detail = fmt.Sprintf("%s scores the artifact version higher on %d of %d judge-tied pairs (%.1f%%, Wilson 95%% [%.1f, %.1f]; %d ties)",
			c.A, ar.Prefers, ar.Pairs, 100*ar.Rate, 100*ar.CILow, 100*ar.CIHigh, ar.Ties)
		switch {
		case ar.CILow > 0.5:
			v.Outcome = Supported
		case ar.CIHigh < 0.5:
			v.Outcome = Contradicted
		default:
			v.Outcome = Inconclusive
		}
		return v
	}
	return Verdict{Outcome: NotRun, Detail: fmt.Sprintf("unknown test %q", c.Test)}
}

// peak finds the seed-mean curve's first maximum (its step) and how far
// the last evaluation is below it. It needs three evaluations: with two, a
// peak cannot be told from a trend.
func peak(r *ArmResult) (step int, drop float64, ok bool) {
	steps, win, _ := r.meanCurve()
	if len(steps) < 3 {
		return 0, 0, false
	}
	best := 0
	for i, w := range win {
		if w > win[best] {
			best = i
		}
	}
	return steps[best], win[best] - win[len(win)-1], true
}

// z for a two-sided 5% test and for 80% power.
const (
	z975 = 1.959963984540054
	z80  = 0.8416212335729143
)

// MDE is the minimum detectable effect of a mean difference with standard
// deviation sd per unit over n units: the true effect that a two-sided 5%
// test detects with 80% power, (z₀.₉₇₅ + z₀.₈)·sd/√n.
func MDE(sd float64, n int) float64 {
	if n == 0 {
		return math.Inf(1)
	}
	return (z975 + z80) * sd / math.Sqrt(float64(n))
}

// PriorMDE is the MDE of a paired win-rate difference before any data: the
// per-prompt score difference of two arms at win-rate ½ and independent,
// sd = √(¼ + ¼). Correlated arms, or win-rates far from ½, detect less.
func PriorMDE(n int) float64 { return MDE(math.Sqrt(0.5), n) }

// pairedSD is the standard deviation of the per-unit score differences.
func pairedSD(a, b []eval.Verdict) float64 {
	n := min(len(a), len(b))
	if n < 2 {
		return math.Sqrt(0.5)
	}
	var s, s2 float64
	for i := range n {
		d := eval.Score(a[i]) - eval.Score(b[i])
		s += d
		s2 += d * d
	}
	mean := s / float64(n)
	return math.Sqrt(math.Max(0, (s2-float64(n)*mean*mean)/float64(n-1)))
}

func nan() float64 { return math.NaN() }
