package policy

import (
	"math/rand/v2"
	"testing"
)

// TestEmbeddingGrad checks the forward gather and the gradient with respect to
// the table by finite differences; ids repeat, so rows hit several times must
// sum, and an unused row must get nothing.
func TestEmbeddingGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	V, d := 6, 5
	ids := []int{3, 0, 3, 5, 1, 3, 0}
	table, r := randSlice(rng, V*d), randSlice(rng, len(ids)*d)
	out := make([]float64, len(ids)*d)
	embeddingForward(out, table, ids, d)
	for t2, id := range ids {
		for j := range d {
			if out[t2*d+j] != table[id*d+j] {
				t.Fatalf("out[%d,%d] = %v, want table[%d,%d] = %v", t2, j, out[t2*d+j], id, j, table[id*d+j])
			}
		}
	}
	loss := func() float64 {
		embeddingForward(out, table, ids, d)
		return dotLoss(out, r)
	}
	dtable, added := accumulated(rng, V*d)
	embeddingBackward(dtable, r, ids, d)
	g := added()
	for j := range d {
		if g[2*d+j] != 0 || g[4*d+j] != 0 {
			t.Fatalf("unused rows 2 and 4 received gradient")
		}
	}
	checkGrad(t, "embedding dtable", table, g, loss, gradTol)
}

// TestEmbeddingBatchInvariant accumulates float32 gradients sequence by
// sequence and as one batch, on 1 and 4 workers: bitwise equal.
func TestEmbeddingBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	V, d, n := 50, 256, 300
	ids := make([]int, n)
	for i := range ids {
		ids[i] = rng.IntN(V)
	}
	dout := to32(randSlice(rng, n*d))
	run := func(workers int, lens []int) []float32 {
		defer SetWorkers(SetWorkers(workers))
		dtable := make([]float32, V*d)
		t0 := 0
		for _, l := range lens {
			embeddingBackward(dtable, dout[t0*d:(t0+l)*d], ids[t0:t0+l], d)
			t0 += l
		}
		return dtable
	}
	want := run(4, []int{n})
	if i := bitwiseEqual(run(4, []int{100, 1, 150, 49}), want); i >= 0 {
		t.Errorf("per sequence: dtable differs at %d", i)
	}
	if i := bitwiseEqual(run(1, []int{n}), want); i >= 0 {
		t.Errorf("1 worker: dtable differs at %d", i)
	}
}
