package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveLogSoftmax is log_softmax(logits/temp) of one row, directly in float64.
func naiveLogSoftmax(row []float64, temp float64) []float64 {
	z := make([]float64, len(row))
	m := math.Inf(-1)
	for j, x := range row {
		z[j] = x / temp
		m = math.Max(m, z[j])
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v - m)
	}
	for j := range z {
		z[j] -= m + math.Log(s)
	}
	return z
}

// TestLogprobsForward compares log-probabilities and entropies with a naive
// float64 log-softmax at temperatures 0.7 and 1, with masked targets, in
// float64 (to 1e-13) and float32 (to float32 rounding).
func TestLogprobsForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	V := 11
	targets := []int{4, -1, 0, 10, -100, 7}
	n := len(targets)
	logits := randSlice(rng, n*V)
	for i := range logits {
		logits[i] *= 8 // a spread wide enough that the max subtraction matters
	}
	for _, temp := range []float64{0.7, 1} {
		logp, ent := make([]float64, n), make([]float64, n)
		tokenLogprobsForward(logp, logits, targets, V, temp)
		tokenEntropy(ent, logits, V, temp)
		logp32, ent32 := make([]float32, n), make([]float32, n)
		tokenLogprobsForward(logp32, to32(logits), targets, V, temp)
		tokenEntropy(ent32, to32(logits), V, temp)
		for r, y := range targets {
			ls := naiveLogSoftmax(logits[r*V:(r+1)*V], temp)
			var h float64
			for _, l := range ls {
				h -= math.Exp(l) * l
			}
			want := 0.0
			if y >= 0 {
				want = ls[y]
			}
			name := fmt.Sprintf("T=%v row %d target %d", temp, r, y)
			if math.Abs(logp[r]-want) > 1e-13*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: logp %v, want %v", name, logp[r], want)
			}
			if math.Abs(float64(logp32[r])-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: float32 logp %v, want %v", name, logp32[r], want)
			}
			if math.Abs(ent[r]-h) > 1e-13 || math.Abs(float64(ent32[r])-h) > 1e-6 {
				t.Errorf("%s: entropy %v (float32 %v), want %v", name, ent[r], ent32[r], h)
			}
		}
	}
}

// TestLogprobsGrad checks tokenLogprobsBackward against finite differences of
// L = Σ logp·R at temperatures 0.7 and 1; masked rows must get no gradient.
func TestLogprobsGrad(t *testing.T) {
	for _, temp := range []float64{0.7, 1} {
		rng := rand.New(rand.NewPCG(27, uint64(temp*10)))
		V := 9
		targets := []int{2, -1, 8, 0, -1}
		n := len(targets)
		logits, r := randSlice(rng, n*V), randSlice(rng, n)
		for i := range logits {
			logits[i] *= 3
		}
		logp := make([]float64, n)
		loss := func() float64 {
			tokenLogprobsForward(logp, logits, targets, V, temp)
			return dotLoss(logp, r)
		}
		dlogits, added := accumulated(rng, n*V)
		tokenLogprobsBackward(dlogits, r, logits, targets, V, temp)
		g := added()
		for _, row := range []int{1, 4} {
			for j := range V {
				if g[row*V+j] != 0 {
					t.Fatalf("T=%v: masked row %d received gradient", temp, row)
				}
			}
		}
		checkGrad(t, fmt.Sprintf("logprobs dlogits T=%v", temp), logits, g, loss, gradTol)
	}
}

// TestLogprobsWorkersInvariant checks that a vocabulary-sized float32 batch
// gives bitwise the same log-probabilities, entropies and gradients on 1 and
// 4 workers, and that a row's values do not depend on the other rows.
func TestLogprobsWorkersInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	V, n := 4096, 24
	logits, dlogp := to32(randSlice(rng, n*V)), to32(randSlice(rng, n))
	targets := make([]int, n)
	for i := range targets {
		targets[i] = rng.IntN(V)
	}
	targets[5] = -1
	run := func(workers, lo, hi int) (logp, ent, dlogits []float32) {
		defer SetWorkers(SetWorkers(workers))
		m := hi - lo
		logp, ent, dlogits = make([]float32, m), make([]float32, m), make([]float32, m*V)
		x := logits[lo*V : hi*V]
		tokenLogprobsForward(logp, x, targets[lo:hi], V, 0.7)
		tokenEntropy(ent, x, V, 0.7)
		tokenLogprobsBackward(dlogits, dlogp[lo:hi], x, targets[lo:hi], V, 0.7)
		return
	}
	lp4, ent4, d4 := run(4, 0, n)
	lp1, ent1, d1 := run(1, 0, n)
	lpRows, entRows, dRows := run(4, 10, 13)
	for _, c := range []struct {
		name      string
		got, want []float32
	}{
		{"logp 1 vs 4 workers", lp1, lp4}, {"entropy 1 vs 4 workers", ent1, ent4}, {"dlogits 1 vs 4 workers", d1, d4},
		{"logp rows alone", lpRows, lp4[10:13]}, {"entropy rows alone", entRows, ent4[10:13]},
		{"dlogits rows alone", dRows, d4[10*V : 13*V]},
	} {
		if i := bitwiseEqual(c.got, c.want); i >= 0 {
			t.Errorf("%s: differ at %d", c.name, i)
		}
	}
}

// TestLogprobsMaskedLogits gives a row −Inf logits (a banned token) in
// float32 and float64: log-probabilities, entropy and gradient must stay
// finite, the banned tokens must get no probability and no gradient, and the
// values must equal those of the row without the banned tokens.
func TestLogprobsMaskedLogits(t *testing.T) {
	full := []float64{1.5, math.Inf(-1), -0.5, 2, math.Inf(-1), 0.25}
	kept := []float64{1.5, -0.5, 2, 0.25}
	check := func(name string, got, want float64, tol float64) {
		t.Helper()
		if math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	ls := naiveLogSoftmax(kept, 0.7)
	var h float64
	for _, l := range ls {
		h -= math.Exp(l) * l
	}
	for _, f32 := range []bool{false, true} {
		tol := 1e-13
		if f32 {
			tol = 1e-6
		}
		run := func(row []float64, target int) (logp, ent float64, dlogits []float64) {
			if f32 {
				lp, en, d := make([]float32, 1), make([]float32, 1), make([]float32, len(row))
				tokenLogprobsForward(lp, to32(row), []int{target}, len(row), 0.7)
				tokenEntropy(en, to32(row), len(row), 0.7)
				tokenLogprobsBackward(d, []float32{1}, to32(row), []int{target}, len(row), 0.7)
				dd := make([]float64, len(d))
				for i, x := range d {
					dd[i] = float64(x)
				}
				return float64(lp[0]), float64(en[0]), dd
			}
			lp, en, d := make([]float64, 1), make([]float64, 1), make([]float64, len(row))
			tokenLogprobsForward(lp, row, []int{target}, len(row), 0.7)
			tokenEntropy(en, row, len(row), 0.7)
			tokenLogprobsBackward(d, []float64{1}, row, []int{target}, len(row), 0.7)
			return lp[0], en[0], d
		}
		logp, ent, d := run(full, 3)
		_, _, dKept := run(kept, 2)
		name := fmt.Sprintf("float32=%v", f32)
		check(name+" logp", logp, ls[2], tol)
		check(name+" entropy", ent, h, tol)
		for j, k := range []int{0, 2, 3, 5} {
			check(fmt.Sprintf("%s dlogits[%d]", name, k), d[k], dKept[j], tol)
		}
		if d[1] != 0 || d[4] != 0 {
			t.Errorf("%s: banned tokens got gradient %v, %v", name, d[1], d[4])
		}
	}
}
