package replicate

import (
	"fmt"
	"math"
	"slices"

	runreport "github.com/rft-dev/rft/report"
	"github.com/rft-dev/rft/report/plot"
)

// Figures draws the Figure 4 analog: win-rate against step and against KL
// per arm (seed means; the base policy's win-rate, when run, is every
// trained arm's step 0), and per trained arm its proxy reward beside the
// gold reward r* over steps.
func Figures(order []string, res Results) ([]runreport.Plot, error) {
	var figs []struct {
		name, caption string
		fig           plot.Figure
	}
	add := func(name, caption string, f plot.Figure) {
		figs = append(figs, struct {
			name, caption string
			fig           plot.Figure
		}{name, caption, f})
	}
	baseWin := math.NaN()
	if b := res[Base]; b != nil {
		if _, w, _ := b.meanCurve(); len(w) > 0 {
			baseWin = w[len(w)-1]
		}
	}
	byStep := plot.Figure{Title: "Win-rate vs step (seed mean)", XLabel: "step", YLabel: "win-rate vs reference", YLim: [2]float64{0, 1}, XInteger: true}
	byKL := plot.Figure{Title: "Win-rate vs KL to the base (seed mean)", XLabel: "KL", YLabel: "win-rate vs reference", YLim: [2]float64{0, 1}}
	for _, name := range order {
		r := res[name]
		if r == nil || r.Arm.Kind == KindBase {
			continue
		}
		steps, win, kl := r.meanCurve()
		if len(steps) == 0 {
			continue
		}
		x := make([]float64, 0, len(steps)+1)
		y := make([]float64, 0, len(steps)+1)
		k := make([]float64, 0, len(steps)+1)
		if !math.IsNaN(baseWin) {
			x, y, k = append(x, 0), append(y, baseWin), append(k, 0)
		}
		for i, s := range steps {
			x, y, k = append(x, float64(s)), append(y, win[i]), append(k, kl[i])
		}
		byStep.Series = append(byStep.Series, plot.Series{Name: name, X: x, Y: y, Markers: plot.MarkersAlways})
		if r.Arm.Trains() && slices.ContainsFunc(k[min(1, len(k)-1):], func(v float64) bool { return !math.IsNaN(v) }) {
			byKL.Series = append(byKL.Series, plot.Series{Name: name, X: k, Y: y, Markers: plot.MarkersAlways})
		}
	}
	add("winrate_vs_step", "Figure 4 analog: held-out win-rate against the reference over training, per arm (step 0: the base policy).", byStep)
	add("winrate_vs_kl", "Figure 4 analog: the same win-rates against the KL to the base policy (GRPO arms).", byKL)
	for _, name := range order {
		r := res[name]
		if r == nil || !r.Arm.Trains() {
			continue
		}
		steps, proxy, gold := meanMetrics(r)
		if len(steps) == 0 {
			continue
		}
		f := plot.Figure{Title: fmt.Sprintf("%s: proxy reward vs gold reward r* (seed mean)", name), XLabel: "step", YLabel: "reward", XInteger: true,
			Series: []plot.Series{{Name: "proxy (trained on)", X: steps, Y: proxy}, {Name: "gold r*", X: steps, Y: gold}}}
		add("reward_"+name, fmt.Sprintf("%s: the reward GRPO maximised beside the oracle's r* on the same rollouts (over-optimisation shows as a gap that opens).", name), f)
	}
	var out []runreport.Plot
	for _, f := range figs {
		png, err := f.fig.PNG()
		if err != nil {
			return nil, fmt.Errorf("figure %s: %w", f.name, err)
		}
		out = append(out, runreport.Plot{Name: f.name, Title: f.fig.Title, Caption: f.caption, PNG: png})
	}
	return out, nil
}

// meanMetrics averages proxy and gold rewards over the seeds at each step
// every seed logged.
func meanMetrics(r *ArmResult) (steps, proxy, gold []float64) {
	var series [][]stepValue
	for _, s := range r.Seeds {
		var pts []stepValue
		for _, p := range s.Metrics {
			pts = append(pts, stepValue{step: p.Step, v: p.Proxy, w: p.Gold})
		}
		series = append(series, pts)
	}
	at, proxy, gold := meanOverSeeds(series)
	for _, k := range at {
		steps = append(steps, float64(k))
	}
	return steps, proxy, gold
}
