package bt

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rft-dev/rft/policy"
)

// Finite differences as policy's checkGrad does them (policy/gradcheck_test.go):
// central differences with h = 1e-6, relative error |a−n| / max(|a|+|n|, 1e-2).
const (
	gradStep  = 1e-6
	gradFloor = 1e-2
	gradTol   = 1e-6
)

func checkGrad(t *testing.T, name string, x, analytic []float64, loss func() float64) {
	t.Helper()
	worst, maxNum := 0.0, 0.0
	for i := range x {
		orig := x[i]
		x[i] = orig + gradStep
		lp := loss()
		x[i] = orig - gradStep
		lm := loss()
		x[i] = orig
		num := (lp - lm) / (2 * gradStep)
		maxNum = max(maxNum, math.Abs(num))
		e := math.Abs(analytic[i]-num) / max(math.Abs(analytic[i])+math.Abs(num), gradFloor)
		if !(e <= gradTol) {
			t.Errorf("%s[%d]: analytic %.10g numeric %.10g (rel %.2g)", name, i, analytic[i], num, e)
			return
		}
		worst = max(worst, e)
	}
	if maxNum == 0 {
		t.Errorf("%s: numeric gradient identically zero: the check is vacuous", name)
	}
	t.Logf("%s: %d components, worst relative error %.2g", name, len(x), worst)
}

// TestPairLossHandComputed: −log σ(m) and its gradient at known margins,
// stable at huge margins, ties counted wrong.
func TestPairLossHandComputed(t *testing.T) {
	for _, c := range []struct {
		r        []float64
		loss     float64
		dchosen  float64
		correct  int
		normaliz float64
	}{
		{[]float64{1, 0}, math.Log1p(math.Exp(-1)), -1 / (1 + math.E), 1, 1},
		{[]float64{0, 0}, math.Ln2, -0.5 / 2, 0, 2}, // a tie is wrong
		{[]float64{-1000, 1000}, 2000, -1, 0, 1},
		{[]float64{1000, -1000}, 0, 0, 1, 1},
	} {
		dr := make([]float64, 2)
		loss, correct := pairLoss(dr, c.r, c.normaliz)
		if math.Abs(loss-c.loss) > 1e-12 || math.Abs(dr[0]-c.dchosen) > 1e-12 || dr[1] != -dr[0] || correct != c.correct {
			t.Errorf("r %v: loss %g dr %v correct %d; want %g, [%g %g], %d", c.r, loss, dr, correct, c.loss, c.dchosen, -c.dchosen, c.correct)
		}
	}
}

// TestHeadLossGradFiniteDifference checks, in float64 on a tiny model, the
// gradient of the mean Bradley-Terry loss over packed pairs with respect to
// the head and to every backbone tensor: head + loss backward, then
// policy.Model.BackwardHidden.
func TestHeadLossGradFiniteDifference(t *testing.T) {
	c := &policy.Config{Architecture: "Qwen3ForCausalLM", VocabSize: 13, Hidden: 12, Intermediate: 20, Layers: 2,
		Heads: 4, KVHeads: 2, HeadDim: 4, MaxPositions: 32, RMSNormEps: 1e-5, RopeTheta: 10000, BOS: -1, QKNorm: true}
	p := policy.InitParams[float64](c, 1)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tn := range p.Tensors { // away from the init's 1s and small values
		v := p.Data[tn.Offset : tn.Offset+tn.Size]
		for i := range v {
			if len(tn.Shape) == 1 {
				v[i] = 1 + 0.2*rng.NormFloat64()
			} else {
				v[i] = 0.3 * rng.NormFloat64()
			}
		}
	}
	m, err := policy.NewModel(p)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]float64, c.Hidden+1)
	for i := range head {
		head[i] = rng.NormFloat64()
	}
	lens := []int{5, 3, 4, 6, 2, 5} // three pairs
	var b policy.Batch
	for _, l := range lens {
		for range l {
			b.Tokens = append(b.Tokens, rng.IntN(c.VocabSize))
		}
		b.Lens = append(b.Lens, l)
	}
	last := lastPositions(lens)
	ws := policy.NewWorkspace[float64](false)
	r := make([]float64, len(lens))
	normalizer := float64(len(lens) / 2)
	loss := func() float64 {
		h, err := m.Hidden(ws, b)
		if err != nil {
			t.Fatal(err)
		}
		headForward(r, h, last, head, c.Hidden)
		l, _ := pairLoss[float64](nil, r, normalizer)
		return l / normalizer
	}
	loss()
	h, _ := m.Hidden(ws, b)
	dr := make([]float64, len(r))
	headForward(r, h, last, head, c.Hidden)
	pairLoss(dr, r, normalizer)
	dhead := make([]float64, len(head))
	dh := make([]float64, len(h))
	headBackward(dh, dhead, dr, h, last, head, c.Hidden)
	grads := policy.NewParams[float64](c)
	m.BackwardHidden(ws, dh, grads)

	checkGrad(t, "score.weight", head[:c.Hidden], dhead[:c.Hidden], loss)
	if math.Abs(dhead[c.Hidden]) > 1e-15 {
		t.Errorf("score.bias gradient %g, want 0 (the loss depends on differences only)", dhead[c.Hidden])
	}
	for _, tn := range p.Tensors {
		if tn.Name == "lm_head.weight" {
			continue
		}
		x := p.Data[tn.Offset : tn.Offset+tn.Size]
		g := grads.Data[tn.Offset : tn.Offset+tn.Size]
		idx := rng.Perm(len(x))[:min(len(x), 16)]
		xs, gs := make([]float64, len(idx)), make([]float64, len(idx))
		for i, j := range idx {
			xs[i], gs[i] = x[j], g[j]
		}
		checkGrad(t, tn.Name, xs, gs, func() float64 {
			for i, j := range idx {
				x[j] = xs[i]
			}
			return loss()
		})
		for i, j := range idx {
			x[j] = xs[i]
		}
	}
}
