package report

import (
	"math"
	"slices"
	"strings"

	"github.com/rft-dev/rft/report/plot"
)

// Plot is one rendered chart.
type Plot struct {
	Name    string // file name without extension: plots/NAME.png
	Title   string
	Caption string
	PNG     []byte
}

// column returns the (step, value) pairs of the records that have key; a
// key logged every k steps (eval_loss) gives a line through those steps.
func column(recs []Record, key string) (x, y []float64) {
	for _, r := range recs {
		if v, ok := r.Get(key); ok {
			x = append(x, r.Num["step"])
			y = append(y, v)
		}
	}
	return x, y
}

// columns is column for an interval: the records with key give x and y,
// and lo/hi are NaN where a record lacks them.
func columns(recs []Record, key, lo, hi string) (x, y, l, h []float64) {
	get := func(r Record, k string) float64 {
		if v, ok := r.Get(k); ok {
			return v
		}
		return math.NaN()
	}
	for _, r := range recs {
		if v, ok := r.Get(key); ok {
			x = append(x, r.Num["step"])
			y = append(y, v)
			l = append(l, get(r, lo))
			h = append(h, get(r, hi))
		}
	}
	return x, y, l, h
}

func hasFinite(ys ...[]float64) bool {
	for _, y := range ys {
		for _, v := range y {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				return true
			}
		}
	}
	return false
}

// lineSeries makes one series per key present, named by the key.
func lineSeries(recs []Record, keys ...string) []plot.Series {
	var out []plot.Series
	for _, k := range keys {
		if x, y := column(recs, k); hasFinite(y) {
			out = append(out, plot.Series{Name: k, X: x, Y: y})
		}
	}
	return out
}

// keysWhere lists the numeric metric keys that match, in sorted order.
func keysWhere(keys []string, match func(string) bool) []string {
	var out []string
	for _, k := range keys {
		if match(k) {
			out = append(out, k)
		}
	}
	return out
}

type figureSpec struct {
	name, caption string
	fig           plot.Figure
}

// figures builds every chart whose keys the run has, in report order.
func figures(run *Run) []figureSpec {
	var out []figureSpec
	add := func(name, title, ylabel, caption string, series []plot.Series) *plot.Figure {
		if len(series) == 0 {
			return nil
		}
		out = append(out, figureSpec{name, caption, plot.Figure{Title: title, XLabel: "step", YLabel: ylabel, XInteger: true, Series: series}})
		return &out[len(out)-1].fig
	}
	m := run.Metrics
	keys := numericKeys(m)

	add("loss", "Loss", "loss", "Training loss, and the held-out loss where it was measured.", lineSeries(m, "loss", "eval_loss"))

	if x, y, lo, hi := columns(m, "reward_mean", "reward_std", "reward_std"); hasFinite(y) {
		for i := range y {
			lo[i], hi[i] = y[i]-lo[i], y[i]+hi[i]
		}
		s := plot.Series{Name: "reward_mean", X: x, Y: y}
		if hasFinite(lo) {
			s.Lo, s.Hi, s.BandLabel = lo, hi, "+/- 1 std (within groups)"
		}
		add("reward", "Reward (training rollouts)", "reward", "Mean reward of the training rollouts, with one standard deviation shaded.", []plot.Series{s})
	}

	add("kl", "KL to the reference policy", "KL", "Estimated KL divergence of the policy from the reference, per step.", lineSeries(m, "kl"))

	if gold := lineSeries(m, "gold_reward_mean"); len(gold) > 0 {
		series := lineSeries(m, "reward_mean")
		for i := range series {
			series[i].Name = "proxy reward (reward_mean)"
		}
		gold[0].Name = "gold reward (gold_reward_mean)"
		add("gold_vs_proxy", "Gold vs proxy reward", "reward",
			"The reward the policy is trained on against the ground-truth reward of the same rollouts: a proxy that keeps rising while the gold reward falls is reward over-optimisation.",
			append(series, gold...))
	}

	winStep, winKL := winRateSeries(run)
	if winStep != nil {
		f := add("win_rate", "Win rate vs step (95% CI)", "win rate", "Win rate against the reference responses at each evaluated checkpoint; ties count half.", []plot.Series{*winStep})
		f.YLim = [2]float64{0, 1}
	}
	if winKL != nil {
		f := add("win_rate_kl", "Win rate vs KL (95% CI)", "win rate", "Win rate against the reference as the policy moves away from the reference policy (the analog of the paper's Figure 4).", []plot.Series{*winKL})
		f.XLabel, f.XInteger, f.YLim = "KL", false, [2]float64{0, 1}
	}

	add("lr", "Learning rate", "lr", "Learning rate schedule.", lineSeries(m, "lr"))
	add("grad_norm", "Gradient norm", "grad norm", "Global gradient norm before clipping.", lineSeries(m, "grad_norm"))
	add("completion_len", "Completion length", "tokens", "Completion length of the training rollouts.",
		lineSeries(m, keysWhere(keys, func(k string) bool { return strings.HasPrefix(k, "completion_len") })...))
	add("clip", "Clipped fractions", "fraction", "Fraction of tokens whose ratio was clipped.",
		lineSeries(m, keysWhere(keys, func(k string) bool { return strings.Contains(k, "clip") })...))
	add("entropy", "Entropy", "nats", "Mean per-token entropy of the policy on its rollouts.", lineSeries(m, "entropy"))
	add("throughput", "Throughput", "per second", "Throughput per step.",
		lineSeries(m, keysWhere(keys, func(k string) bool { return strings.HasSuffix(k, "_per_second") })...))
	// The phases in the order a step runs them, then any others, then the total.
	timeKeys := []string{"rollout_seconds", "reward_seconds", "update_seconds"}
	timeKeys = append(timeKeys, keysWhere(keys, func(k string) bool {
		return strings.HasSuffix(k, "_seconds") && !slices.Contains(timeKeys[:3], k)
	})...)
	timeKeys = append(timeKeys, "seconds")
	add("time", "Time per step", "seconds", "Wall time per step, split by phase.", lineSeries(m, timeKeys...))
	return out
}

// winRateSeries builds win-rate against step (a shaded interval) and
// against KL (error bars). eval.jsonl is preferred; without it, the
// win_rate keys of metrics.jsonl serve. A checkpoint without its own kl
// takes the kl logged at its step.
func winRateSeries(run *Run) (byStep, byKL *plot.Series) {
	recs, lo, hi := run.Eval, "ci_low", "ci_high"
	if x, _ := column(recs, "win_rate"); len(x) == 0 {
		recs, lo, hi = run.Metrics, "win_rate_ci_low", "win_rate_ci_high"
	}
	x, y, l, h := columns(recs, "win_rate", lo, hi)
	if !hasFinite(y) {
		return nil, nil
	}
	s := plot.Series{Name: "win rate", X: x, Y: y, Markers: plot.MarkersAlways}
	if hasFinite(l, h) {
		s.Lo, s.Hi, s.BandLabel = l, h, "95% CI"
	}
	byStep = &s

	klAt := map[float64]float64{}
	for _, r := range run.Metrics {
		if v, ok := r.Get("kl"); ok {
			klAt[r.Num["step"]] = v
		}
	}
	kl := make([]float64, len(x))
	for i, r := range filter(recs, "win_rate") {
		kl[i] = math.NaN()
		if v, ok := r.Get("kl"); ok {
			kl[i] = v
		} else if v, ok := klAt[r.Num["step"]]; ok {
			kl[i] = v
		}
	}
	if !hasFinite(kl) {
		return byStep, nil
	}
	k := s
	k.X, k.Style = kl, plot.ErrorBars
	return byStep, &k
}

func filter(recs []Record, key string) []Record {
	var out []Record
	for _, r := range recs {
		if _, ok := r.Get(key); ok {
			out = append(out, r)
		}
	}
	return out
}

// Plots renders the charts of a run.
func Plots(run *Run) ([]Plot, error) {
	var out []Plot
	for _, e := range figures(run) {
		data, err := e.fig.PNG()
		if err != nil {
			return nil, err
		}
		out = append(out, Plot{Name: e.name, Title: e.fig.Title, Caption: e.caption, PNG: data})
	}
	return out, nil
}
