package policy

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSwigluForward checks silu(g)·u against the formula, including gates far
// enough below zero that e^−g overflows (the result must be −0 or 0, not NaN).
func TestSwigluForward(t *testing.T) {
	gate := []float64{-1000, -30, -1, 0, 0.5, 3, 40}
	up := []float64{2, 2, 2, 2, 2, 2, 2}
	out := make([]float64, len(gate))
	swigluForward(out, gate, up)
	for i, g := range gate {
		want := g / (1 + math.Exp(-g)) * up[i]
		if math.IsNaN(out[i]) || math.Abs(out[i]-want) > 1e-15*math.Max(1, math.Abs(want)) {
			t.Errorf("gate %v: out %v, want %v", g, out[i], want)
		}
	}
	out32 := make([]float32, 1)
	swigluForward(out32, []float32{-1000}, []float32{1})
	if out32[0] != 0 {
		t.Errorf("float32 gate −1000: out %v, want 0", out32[0])
	}
}

// TestSwigluGrad checks dgate and dup against finite differences, with gates
// spread over [−4, 4] to cover both tails of the sigmoid.
func TestSwigluGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	n := 40
	gate, up, r := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
	for i := range gate {
		gate[i] *= 4
	}
	out := make([]float64, n)
	loss := func() float64 {
		swigluForward(out, gate, up)
		return dotLoss(out, r)
	}
	dgate, dgateAdded := accumulated(rng, n)
	dup, dupAdded := accumulated(rng, n)
	swigluBackward(dgate, dup, r, gate, up)
	checkGrad(t, "swiglu dgate", gate, dgateAdded(), loss, gradTol)
	checkGrad(t, "swiglu dup", up, dupAdded(), loss, gradTol)
}

// BenchmarkSwiglu times forward plus backward over one demo-size MLP
// activation (512 tokens × 704), float32.
func BenchmarkSwiglu(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 512 * 704
	gate, up, dout := to32(randSlice(rng, n)), to32(randSlice(rng, n)), to32(randSlice(rng, n))
	out, dgate, dup := make([]float32, n), make([]float32, n), make([]float32, n)
	for b.Loop() {
		swigluForward(out, gate, up)
		swigluBackward(dgate, dup, dout, gate, up)
	}
}
