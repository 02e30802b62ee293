package replicate

import (
	"slices"

	"github.com/rft-dev/rft/eval"
)

// ArmResult is one arm's outcome over its seeds, as the report reads it
// from the run directory.
type ArmResult struct {
	Arm   Arm
	Seeds []SeedResult // in seed order
}

// SeedResult is one (arm, seed) run.
type SeedResult struct {
	Seed      uint64
	Curve     []EvalPoint       // held-out evaluations in step order
	Metrics   []MetricPoint     // GRPO steps: proxy and gold reward, KL
	Probe     *eval.ProbeResult // nil when the arm's reward is not probed
	Artifacts *ArtifactResult   // Bradley-Terry arms: preference for artifacts
}

// EvalPoint is one held-out evaluation (curve.jsonl): the win-rate against
// the reference and every prompt's verdict, in the eval set's order, so
// arms compare prompt by prompt.
type EvalPoint struct {
	Step     int            `json:"step"`
	KL       *float64       `json:"kl,omitempty"`
	WinRate  float64        `json:"win_rate"`
	CILow    float64        `json:"ci_low"`
	CIHigh   float64        `json:"ci_high"`
	N        int            `json:"n"`
	Verdicts []eval.Verdict `json:"verdicts"`
	// ArtifactRate is the share of the evaluated completions that carry a
	// stylistic artifact (what a reward that learned them drifts toward).
	ArtifactRate float64 `json:"artifact_rate"`
}

// MetricPoint is what the report reads of a GRPO step (metrics.jsonl).
type MetricPoint struct {
	Step  int      `json:"step"`
	Proxy float64  `json:"reward_mean"`
	Gold  *float64 `json:"gold_reward_mean"`
	KL    float64  `json:"kl"`
}

// ArtifactResult is a reward's preference for stylistic artifacts: on pairs
// of one response written with and without one artifact, which the oracle
// judge ties (the artifact changes nothing the judge values), how often the
// reward scores the artifact version higher. A reward blind to artifacts
// prefers either half the time at most (ties count against).
type ArtifactResult struct {
	Pairs      int            `json:"pairs"`
	Prefers    int            `json:"prefers"` // the reward scores the artifact version higher
	Ties       int            `json:"ties"`
	Rate       float64        `json:"rate"` // Prefers / Pairs
	CILow      float64        `json:"ci_low"`
	CIHigh     float64        `json:"ci_high"`
	ByArtifact map[string]int `json:"by_artifact_prefers"`
	Counts     map[string]int `json:"by_artifact_pairs"`
}

// Summarize fills Rate and its Wilson interval.
func (a *ArtifactResult) Summarize() {
	if a.Pairs > 0 {
		a.Rate = float64(a.Prefers) / float64(a.Pairs)
	}
	a.CILow, a.CIHigh = eval.Wilson(a.Rate, a.Pairs)
}

// Results are all arms' outcomes, by arm name.
type Results map[string]*ArmResult

// final is a seed's last evaluation (nil when it has none).
func (s SeedResult) final() *EvalPoint {
	if len(s.Curve) == 0 {
		return nil
	}
	return &s.Curve[len(s.Curve)-1]
}

// seeds returns the arm's runs by seed.
func (r *ArmResult) bySeed() map[uint64]SeedResult {
	m := map[uint64]SeedResult{}
	if r == nil {
		return m
	}
	for _, s := range r.Seeds {
		m[s.Seed] = s
	}
	return m
}

// pooledFinal concatenates the final verdicts of every seed (seed order).
func (r *ArmResult) pooledFinal() []eval.Verdict {
	var v []eval.Verdict
	if r == nil {
		return v
	}
	for _, s := range r.Seeds {
		if f := s.final(); f != nil {
			v = append(v, f.Verdicts...)
		}
	}
	return v
}

// pairedFinal lines up two arms' final verdicts over the seeds both ran,
// prompt by prompt (every arm evaluates the same prompts in the same order).
func pairedFinal(a, b *ArmResult) (va, vb []eval.Verdict) {
	bs := b.bySeed()
	for _, s := range a.seedsSorted() {
		t, ok := bs[s.Seed]
		fa, fb := s.final(), t.final()
		if !ok || fa == nil || fb == nil {
			continue
		}
		n := min(len(fa.Verdicts), len(fb.Verdicts))
		va, vb = append(va, fa.Verdicts[:n]...), append(vb, fb.Verdicts[:n]...)
	}
	return va, vb
}

func (r *ArmResult) seedsSorted() []SeedResult {
	if r == nil {
		return nil
	}
	s := append([]SeedResult(nil), r.Seeds...)
	slices.SortFunc(s, func(x, y SeedResult) int {
		switch {
		case x.Seed < y.Seed:
			return -1
		case x.Seed > y.Seed:
			return 1
		}
		return 0
	})
	return s
}

// meanCurve averages the seeds' win-rates at each step that every seed
// evaluated (and their KL where logged).
func (r *ArmResult) meanCurve() (steps []int, win, kl []float64) {
	if r == nil || len(r.Seeds) == 0 {
		return nil, nil, nil
	}
	var series [][]stepValue
	for _, s := range r.Seeds {
		var pts []stepValue
		for _, p := range s.Curve {
			pts = append(pts, stepValue{step: p.Step, v: p.WinRate, w: p.KL})
		}
		series = append(series, pts)
	}
	return meanOverSeeds(series)
}

// stepValue is one seed's value at a step, with an optional second value
// (nil where that seed did not log it).
type stepValue struct {
	step int
	v    float64
	w    *float64
}

// meanOverSeeds averages per-seed series at each step that every series
// has, in step order; the second value's mean is NaN at a step unless every
// series has it there.
func meanOverSeeds(series [][]stepValue) (steps []int, v, w []float64) {
	type acc struct {
		n, nw int
		v, w  float64
	}
	m := map[int]*acc{}
	for _, s := range series {
		for _, p := range s {
			a := m[p.step]
			if a == nil {
				a = &acc{}
				m[p.step] = a
			}
			a.n++
			a.v += p.v
			if p.w != nil {
				a.nw++
				a.w += *p.w
			}
		}
	}
	for step, a := range m {
		if a.n == len(series) {
			steps = append(steps, step)
		}
	}
	slices.Sort(steps)
	for _, step := range steps {
		a := m[step]
		v = append(v, a.v/float64(a.n))
		x := nan()
		if a.nw == a.n {
			x = a.w / float64(a.nw)
		}
		w = append(w, x)
	}
	return steps, v, w
}

// pooledProbe concatenates the probe outcomes of every seed.
func (r *ArmResult) pooledProbe() []eval.PairOutcome {
	var out []eval.PairOutcome
	if r == nil {
		return out
	}
	for _, s := range r.seedsSorted() {
		if s.Probe != nil {
			out = append(out, s.Probe.Outcomes...)
		}
	}
	return out
}

// pairedProbe lines up two arms' probe outcomes over the seeds both probed.
func pairedProbe(a, b *ArmResult, region string) (va, vb []eval.Verdict) {
	bs := b.bySeed()
	for _, s := range a.seedsSorted() {
		t, ok := bs[s.Seed]
		if !ok || s.Probe == nil || t.Probe == nil {
			continue
		}
		x, y := eval.PairedAgreement(s.Probe.Outcomes, t.Probe.Outcomes, region)
		va, vb = append(va, x...), append(vb, y...)
	}
	return va, vb
}

// pooledArtifacts sums the artifact preference over seeds.
func (r *ArmResult) pooledArtifacts() *ArtifactResult {
	if r == nil {
		return nil
	}
	var out *ArtifactResult
	for _, s := range r.Seeds {
		if s.Artifacts == nil {
			continue
		}
		if out == nil {
			out = &ArtifactResult{ByArtifact: map[string]int{}, Counts: map[string]int{}}
		}
		out.Pairs += s.Artifacts.Pairs
		out.Prefers += s.Artifacts.Prefers
		out.Ties += s.Artifacts.Ties
		for k, v := range s.Artifacts.ByArtifact {
			out.ByArtifact[k] += v
		}
		for k, v := range s.Artifacts.Counts {
			out.Counts[k] += v
		}
	}
	if out != nil {
		out.Summarize()
	}
	return out
}
