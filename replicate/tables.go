package replicate

import (
	"fmt"
	"math"

	"github.com/rft-dev/rft/eval"
)

// Table is a report table: the markdown and HTML renderers share it.
type Table struct {
	Title   string     `json:"title"`
	Note    string     `json:"note,omitempty"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

func pctText(x float64) string { return fmt.Sprintf("%.1f", 100*x) }

func ciText(lo, hi float64) string { return fmt.Sprintf("[%.1f, %.1f]", 100*lo, 100*hi) }

func diffText(d eval.PairedDiff) string {
	return fmt.Sprintf("%+.1f [%+.1f, %+.1f]", 100*d.Diff, 100*d.CILow, 100*d.CIHigh)
}

func paperText(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f", *v)
}

func paperOf(a Arm) PaperRow {
	if a.Paper == nil {
		return PaperRow{}
	}
	return *a.Paper
}

// Table1 is the analog of the paper's Table 1: per arm, the final and the
// peak win-rate against the reference (pooled over seeds, Wilson 95%), the
// paired difference from the initial rubric, beside the paper's numbers.
func Table1(order []string, res Results) Table {
	t := Table{Title: "Table 1 analog: win-rate against the reference (%)",
		Note: "final: the last evaluation of every seed, pooled (n = eval prompts × seeds), Wilson 95% interval; " +
			"peak: the best step of the seed-mean curve (chosen after the fact, so biased upward); " +
			"Δ initial: paired difference from the initial rubric over the same seeds and prompts, paired-bootstrap 95% interval. " +
			"Paper: win-rate against Qwen3-8B judged by GPT-4.1 (generalist filtered; health).",
		Columns: []string{"arm", "seeds", "final", "95% CI", "per seed", "peak (step)", "Δ initial", "paper generalist", "paper health"}}
	init := res[Initial]
	for _, name := range order {
		r := res[name]
		if r == nil {
			continue
		}
		p := paperOf(r.Arm)
		row := []string{name, fmt.Sprint(len(r.Seeds)), "–", "–", "–", "–", "–", paperText(p.Generalist), paperText(p.Health)}
		if v := r.pooledFinal(); len(v) > 0 {
			w := eval.Summarize(v, bootstrapSeed)
			row[2], row[3] = pctText(w.WinRate), ciText(w.CILow, w.CIHigh)
			per := ""
			for i, s := range r.seedsSorted() {
				if f := s.final(); f != nil {
					if i > 0 {
						per += " / "
					}
					per += pctText(f.WinRate)
				}
			}
			row[4] = per
		}
		if steps, win, _ := r.meanCurve(); len(steps) > 0 {
			best := 0
			for i := range win {
				if win[i] > win[best] {
					best = i
				}
			}
			row[5] = fmt.Sprintf("%s (%d)", pctText(win[best]), steps[best])
		}
		if name != Initial && init != nil {
			if va, vb := pairedFinal(r, init); len(va) > 0 {
				row[6] = diffText(eval.Paired(va, vb, bootstrapSeed))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Table2 is the analog of the paper's Table 2: each probed reward's
// agreement with the judge on high- and low-reward pairs (pooled over
// seeds, Wilson 95%), beside the paper's.
func Table2(order []string, res Results) Table {
	t := Table{Title: "Table 2 analog: agreement of the reward's preference with the judge (%)",
		Note: "high-reward pairs: two responses of the great & diverse responders; low-reward pairs: two samples of the base persona. " +
			"A pair the judge ties is left out; a pair the reward ties counts as a disagreement (as in the paper). Wilson 95% intervals; " +
			"n = counted pairs pooled over seeds. The paper reports low-reward agreement only as flat, 66.2 → 69.8.",
		Columns: []string{"arm", "high", "95% CI", "n", "low", "95% CI", "n", "paper high", "paper low"}}
	for _, name := range order {
		r := res[name]
		if r == nil || !r.Arm.Probed() {
			continue
		}
		out := r.pooledProbe()
		if len(out) == 0 {
			continue
		}
		ag := eval.Agreements(out)
		h, l := ag[eval.RegionHigh], ag[eval.RegionLow]
		p := paperOf(r.Arm)
		t.Rows = append(t.Rows, []string{name, pctText(h.Rate), ciText(h.CILow, h.CIHigh), fmt.Sprint(h.N),
			pctText(l.Rate), ciText(l.CILow, l.CIHigh), fmt.Sprint(l.N), paperText(p.High), paperText(p.Low)})
	}
	return t
}

// ArtifactTable is each Bradley-Terry reward's preference for artifacts.
func ArtifactTable(order []string, res Results) Table {
	t := Table{Title: "Bradley-Terry rewards and stylistic artifacts",
		Note: "pairs: one great response written with and without one artifact, kept when the oracle judge ties them; " +
			"prefers: the reward scores the artifact version higher (ties count against). 50% is blind to artifacts.",
		Columns: []string{"arm", "prefers artifact", "95% CI", "pairs", "reward ties"}}
	for _, name := range order {
		r := res[name]
		if r == nil || r.Arm.Kind != KindBT {
			continue
		}
		if a := r.pooledArtifacts(); a != nil {
			t.Rows = append(t.Rows, []string{name, pctText(a.Rate), ciText(a.CILow, a.CIHigh), fmt.Sprint(a.Pairs), fmt.Sprint(a.Ties)})
		}
	}
	return t
}

// ClaimTable lists the verdicts.
func ClaimTable(claims []Claim, vs []Verdict) Table {
	t := Table{Title: "Declared claims and their verdicts",
		Note:    "Each verdict is computed by code from the test declared (and frozen) before any arm ran; MDE: the smallest true effect the test detects with 80% power at this n.",
		Columns: []string{"claim", "verdict", "estimate", "95% CI", "n", "MDE", "evidence", "paper"}}
	for i, c := range claims {
		v := vs[i]
		est, ci, mde := "–", "–", "–"
		if v.Outcome != NotRun {
			est = fmt.Sprintf("%+.1f", 100*v.Estimate)
			if c.Test == TestArtifactPreference {
				est = pctText(v.Estimate)
			}
		}
		if v.Interval {
			ci, mde = ciText(v.CILow, v.CIHigh), pctText(v.MDE)
		}
		t.Rows = append(t.Rows, []string{c.Statement, v.Outcome, est, ci, fmt.Sprint(v.N), mde, v.Detail, c.Paper})
	}
	return t
}

// Ordering compares two arms' order with the paper's.
type Ordering struct {
	A, B      string
	Column    string  // the paper's column compared (generalist, health)
	PaperDiff float64 // paper A − B, points
	Diff      eval.PairedDiff
	Agrees    bool // our point estimate has the paper's sign
	Separable bool // our interval excludes zero
}

// Orderings compares every pair of run arms that the paper ranks in the
// same column (generalist where both have it, else health).
func Orderings(order []string, res Results) []Ordering {
	var out []Ordering
	for i, an := range order {
		for _, bn := range order[i+1:] {
			a, b := res[an], res[bn]
			if a == nil || b == nil {
				continue
			}
			pa, pb := paperOf(a.Arm), paperOf(b.Arm)
			col, x, y := "generalist", pa.Generalist, pb.Generalist
			if x == nil || y == nil {
				col, x, y = "health", pa.Health, pb.Health
			}
			if x == nil || y == nil {
				continue
			}
			va, vb := pairedFinal(a, b)
			if len(va) == 0 {
				continue
			}
			d := eval.Paired(va, vb, bootstrapSeed)
			pd := *x - *y
			o := Ordering{A: an, B: bn, Column: col, PaperDiff: pd, Diff: d}
			o.Agrees = pd != 0 && math.Signbit(pd) == math.Signbit(d.Diff) && d.Diff != 0
			o.Separable = d.CILow > 0 || d.CIHigh < 0
			out = append(out, o)
		}
	}
	return out
}

// OrderingTable renders the orderings.
func OrderingTable(os []Ordering) Table {
	t := Table{Title: "Orderings beside the paper's",
		Note:    "For each pair of arms the paper ranks (generalist column where both appear, else health): the paper's difference and ours (final win-rate, paired). agree: same sign; separable: our 95% interval excludes zero.",
		Columns: []string{"A", "B", "paper A − B", "ours A − B [95% CI]", "agree", "separable"}}
	for _, o := range os {
		t.Rows = append(t.Rows, []string{o.A, o.B, fmt.Sprintf("%+.1f (%s)", o.PaperDiff, o.Column), diffText(o.Diff), yesNo(o.Agrees), yesNo(o.Separable)})
	}
	return t
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
