package eval

import (
	"math"
	"math/rand/v2"
	"slices"
)

// WinRate summarises pairwise verdicts of a model against a reference; ties
// count half (the paper's convention). JSON keys are those of summary.json in
// the CLI contract.
type WinRate struct {
	WinRate float64 `json:"win_rate"`
	Wins    int     `json:"wins"`
	Ties    int     `json:"ties"`
	Losses  int     `json:"losses"`
	N       int     `json:"n"`
	CILow   float64 `json:"ci_low"`  // 95% Wilson interval of the win-rate
	CIHigh  float64 `json:"ci_high"` //
	// BootLow/BootHigh: 95% percentile-bootstrap interval over prompts.
	BootLow  float64 `json:"boot_low"`
	BootHigh float64 `json:"boot_high"`
}

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// Score turns a verdict into points: win 1, tie ½, loss 0.
func Score(v Verdict) float64 { return (float64(v) + 1) / 2 }

// Summarize computes the win-rate of verdicts with a Wilson interval (ties
// counted as half a success, the usual extension) and a bootstrap interval
// from seed (resampling prompts, B = 2000).
func Summarize(verdicts []Verdict, seed uint64) WinRate {
	var w WinRate
	scores := make([]float64, len(verdicts))
	for i, v := range verdicts {
		switch v {
		case Win:
			w.Wins++
		case Tie:
			w.Ties++
		default:
			w.Losses++
		}
		scores[i] = Score(v)
	}
	w.N = len(verdicts)
	if w.N == 0 {
		return w
	}
	w.WinRate = (float64(w.Wins) + 0.5*float64(w.Ties)) / float64(w.N)
	w.CILow, w.CIHigh = Wilson(w.WinRate, w.N)
	w.BootLow, w.BootHigh = bootstrapMean(scores, 2000, seed)
	return w
}

// Wilson is the 95% Wilson score interval of a proportion p observed over n
// trials (Wilson, 1927): unlike the normal interval it stays inside [0, 1]
// and behaves at p near 0 or 1, which win-rates of 5% are.
func Wilson(p float64, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	nf, z2 := float64(n), z95*z95
	centre := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z95 / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return math.Max(0, centre-half), math.Min(1, centre+half)
}

// bootstrapMean is the 95% percentile interval of the mean of xs.
func bootstrapMean(xs []float64, b int, seed uint64) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(seed, 0xb007))
	means := make([]float64, b)
	for i := range means {
		s := 0.0
		for range xs {
			s += xs[rng.IntN(len(xs))]
		}
		means[i] = s / float64(len(xs))
	}
	return percentileInterval(means)
}

func percentileInterval(xs []float64) (lo, hi float64) {
	slices.Sort(xs)
	at := func(q float64) float64 { return xs[min(len(xs)-1, int(math.Floor(q*float64(len(xs)))))] }
	return at(0.025), at(0.975)
}

// PairedDiff is the difference in win-rate of model A over model B on the
// same prompts, with a 95% paired-bootstrap interval (prompts resampled
// together, so the prompt-to-prompt variance both share cancels).
type PairedDiff struct {
	Diff   float64 `json:"diff"`
	CILow  float64 `json:"ci_low"`
	CIHigh float64 `json:"ci_high"`
	N      int     `json:"n"`
}

// Paired compares two models' verdicts against the same reference on the
// same prompts, in the same order.
func Paired(a, b []Verdict, seed uint64) PairedDiff {
	n := min(len(a), len(b))
	d := make([]float64, n)
	mean := 0.0
	for i := range n {
		d[i] = Score(a[i]) - Score(b[i])
		mean += d[i]
	}
	if n == 0 {
		return PairedDiff{}
	}
	lo, hi := bootstrapMean(d, 2000, seed)
	return PairedDiff{Diff: mean / float64(n), CILow: lo, CIHigh: hi, N: n}
}
