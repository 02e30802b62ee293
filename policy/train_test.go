package policy

import (
	"math"
	"testing"
)

func newTestTrainer(t *testing.T, c *Config, lr float64) *Trainer {
	t.Helper()
	m, err := NewModel(InitParams[float32](c, 11))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, NewAdamW(c, 0.9, 0.95, 1e-8, 0.01),
		Schedule{Kind: "cosine", LR: lr, WarmupSteps: 5, TotalSteps: 200, MinRatio: 0.1}, 1.0, false)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestTrainerLearns fits a repeating pattern: cross-entropy must fall from
// about ln(V) to near zero, which needs attention (the next token depends on
// position in the period) and every optimizer piece to work together.
func TestTrainerLearns(t *testing.T) {
	c := tinyConfigs()["qwen3"]
	tr := newTestTrainer(t, c, 3e-2)
	seq := make([]int, 24)
	for i := range seq {
		seq[i] = (i*5 + i/3) % c.VocabSize
	}
	b := Batch{Tokens: append(append([]int{}, seq...), seq[3:]...), Lens: []int{24, 21}}
	var first, last StepStats
	for step := 0; step < 150; step++ {
		st, err := tr.StepCE([]Batch{b})
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = st
		}
		last = st
	}
	if first.Loss < 2 || last.Loss > 0.1 {
		t.Fatalf("loss went from %.3f to %.3f; want from about ln(13)=2.56 to below 0.1", first.Loss, last.Loss)
	}
}

// TestGradAccumulationMatchesFullBatch: two micro-batches accumulate to the
// same gradient bits as the full batch (untied model), hence the same update.
func TestGradAccumulationMatchesFullBatch(t *testing.T) {
	c := tinyConfigs()["llama"]
	full := randomBatch(c, []int{8, 5, 11}, 3)
	split := []Batch{
		{Tokens: full.Tokens[:13], Lens: []int{8, 5}},
		{Tokens: full.Tokens[13:], Lens: []int{11}},
	}
	a, b := newTestTrainer(t, c, 1e-3), newTestTrainer(t, c, 1e-3)
	sa, err := a.StepCE([]Batch{{Tokens: full.Tokens, Lens: full.Lens}})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.StepCE(split)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(sa.Loss-sb.Loss) > 1e-12 || sa.Tokens != sb.Tokens {
		t.Fatalf("loss %v over %d tokens vs %v over %d", sa.Loss, sa.Tokens, sb.Loss, sb.Tokens)
	}
	if i := bitsEqual(a.Grads.Data, b.Grads.Data); i >= 0 {
		t.Fatalf("accumulated gradient differs at %d", i)
	}
	if i := bitsEqual(a.Model.Params.Data, b.Model.Params.Data); i >= 0 {
		t.Fatalf("updated weights differ at %d", i)
	}
}

func TestTrainerSkipsNonFiniteGradient(t *testing.T) {
	c := tinyConfigs()["llama"]
	tr := newTestTrainer(t, c, 1e-3)
	before := append([]float32(nil), tr.Model.Params.Data...)
	tr.Grads.Data[5] = float32(math.NaN())
	if _, _, skipped := tr.Apply(); !skipped {
		t.Fatal("a NaN gradient must skip the update")
	}
	if i := bitsEqual(before, tr.Model.Params.Data); i >= 0 || tr.Opt.Step != 0 {
		t.Fatalf("weights changed at %d or the optimizer advanced to step %d", i, tr.Opt.Step)
	}
}

func TestScheduleShapes(t *testing.T) {
	s := Schedule{Kind: "cosine", LR: 1, WarmupSteps: 4, TotalSteps: 14, MinRatio: 0.1}
	want := map[int]float64{0: 0.25, 3: 1, 4: 1, 9: 0.1 + 0.9*0.5, 14: 0.1, 20: 0.1}
	for step, w := range want {
		if got := s.At(step); math.Abs(got-w) > 1e-12 {
			t.Errorf("cosine step %d: %v, want %v", step, got, w)
		}
	}
	s.Kind = "linear"
	if got := s.At(9); math.Abs(got-0.55) > 1e-12 {
		t.Errorf("linear midpoint %v, want 0.55", got)
	}
	s.Kind = "constant"
	if got := s.At(13); got != 1 {
		t.Errorf("constant after warmup %v", got)
	}
	if (Schedule{Kind: "step", LR: 1, TotalSteps: 1}).Validate() == nil {
		t.Error("unknown schedule kind must be rejected")
	}
}

// TestAdamWMatchesReference checks one parameter's trajectory against the
// AdamW update written out in float64 (Loshchilov & Hutter, algorithm 2, with
// bias correction), including decay on matrices and none on norms.
func TestAdamWMatchesReference(t *testing.T) {
	c := tinyConfigs()["llama"]
	o := NewAdamW(c, 0.9, 0.99, 1e-8, 0.1)
	p := NewParams[float32](c)
	g := NewParams[float32](c)
	matrix := Layout(c)[0].Offset // embed_tokens: decayed
	norm := Layout(c)[1].Offset   // input_layernorm: not decayed
	p.Data[matrix], p.Data[norm] = 0.5, 0.5
	pm, pn, m, v := 0.5, 0.5, 0.0, 0.0
	for step := 1; step <= 3; step++ {
		grad := 0.1 * float64(step)
		g.Data[matrix], g.Data[norm] = float32(grad), float32(grad)
		if err := o.Update(p.Data, g.Data, 0.01); err != nil {
			t.Fatal(err)
		}
		m = 0.9*m + 0.1*grad
		v = 0.99*v + 0.01*grad*grad
		mh, vh := m/(1-math.Pow(0.9, float64(step))), v/(1-math.Pow(0.99, float64(step)))
		u := 0.01 * mh / (math.Sqrt(vh) + 1e-8)
		pm = pm*(1-0.01*0.1) - u
		pn = pn - u
	}
	if math.Abs(float64(p.Data[matrix])-pm) > 1e-6 || math.Abs(float64(p.Data[norm])-pn) > 1e-6 {
		t.Fatalf("adamw: got %v %v, want %v %v", p.Data[matrix], p.Data[norm], pm, pn)
	}
}

func TestClipGradNorm(t *testing.T) {
	g := []float32{3, 4}
	if n := ClipGradNorm(g, 1); n != 5 || math.Abs(float64(g[0])-0.6) > 1e-6 || math.Abs(float64(g[1])-0.8) > 1e-6 {
		t.Fatalf("norm %v, clipped %v", n, g)
	}
	g = []float32{0.3, 0.4}
	if ClipGradNorm(g, 1); g[0] != 0.3 {
		t.Fatal("a gradient under the bound must not change")
	}
}
