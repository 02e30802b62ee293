package policy

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRMSNormForward checks the output against the formula written out in
// float64: x / sqrt(mean(x²) + eps) · w.
func TestRMSNormForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, d, eps := 4, 6, 1e-6
	x, w := randSlice(rng, n*d), randSlice(rng, d)
	out, rstd := make([]float64, n*d), make([]float64, n)
	rmsnormForward(out, rstd, x, w, n, d, eps)
	for r := range n {
		var ss float64
		for j := range d {
			ss += x[r*d+j] * x[r*d+j]
		}
		want := 1 / math.Sqrt(ss/float64(d)+eps)
		if math.Abs(rstd[r]-want) > 1e-14*want {
			t.Errorf("rstd[%d] = %v, want %v", r, rstd[r], want)
		}
		for j := range d {
			if e := x[r*d+j] * want * w[j]; math.Abs(out[r*d+j]-e) > 1e-14 {
				t.Errorf("out[%d,%d] = %v, want %v", r, j, out[r*d+j], e)
			}
		}
	}
}

// TestRMSNormGrad checks dx and dw against finite differences, for a model
// row (d = 7) and the QK-norm shape (many short rows).
func TestRMSNormGrad(t *testing.T) {
	for _, c := range []struct{ n, d int }{{5, 7}, {12, 4}} {
		rng := rand.New(rand.NewPCG(5, uint64(c.d)))
		n, d, eps := c.n, c.d, 1e-5
		x, w, r := randSlice(rng, n*d), randSlice(rng, d), randSlice(rng, n*d)
		out, rstd := make([]float64, n*d), make([]float64, n)
		loss := func() float64 {
			rmsnormForward(out, rstd, x, w, n, d, eps)
			return dotLoss(out, r)
		}
		loss()
		dx, dxAdded := accumulated(rng, n*d)
		dw, dwAdded := accumulated(rng, d)
		rmsnormBackward(dx, dw, r, x, w, rstd, n, d)
		checkGrad(t, "rmsnorm dx", x, dxAdded(), loss, gradTol)
		checkGrad(t, "rmsnorm dw", w, dwAdded(), loss, gradTol)
	}
}

// TestRMSNormBatchInvariant runs float32 RMSNorm on a batch of sequences
// sequence by sequence, accumulating into the same dw, and as one call: dw and
// dx must agree bitwise (token-order reduction), also between 1 and 4 workers.
// The sizes are large enough that the kernels split over goroutines.
func TestRMSNormBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	lens, d := []int{40, 100, 17, 99}, 256
	n := 0
	for _, l := range lens {
		n += l
	}
	x, w, dout := to32(randSlice(rng, n*d)), to32(randSlice(rng, d)), to32(randSlice(rng, n*d))
	run := func(workers int, split bool) (out, dx, dw []float32) {
		defer SetWorkers(SetWorkers(workers))
		out, dx, dw = make([]float32, n*d), make([]float32, n*d), make([]float32, d)
		rstd := make([]float32, n)
		if !split {
			rmsnormForward(out, rstd, x, w, n, d, 1e-6)
			rmsnormBackward(dx, dw, dout, x, w, rstd, n, d)
			return
		}
		t0 := 0
		for _, l := range lens {
			a, b := t0*d, (t0+l)*d
			rmsnormForward(out[a:b], rstd[t0:t0+l], x[a:b], w, l, d, 1e-6)
			rmsnormBackward(dx[a:b], dw, dout[a:b], x[a:b], w, rstd[t0:t0+l], l, d)
			t0 += l
		}
		return
	}
	out0, dx0, dw0 := run(4, false)
	for _, c := range []struct {
		name    string
		workers int
		split   bool
	}{{"per sequence", 4, true}, {"1 worker", 1, false}, {"per sequence, 1 worker", 1, true}} {
		out, dx, dw := run(c.workers, c.split)
		if i := bitwiseEqual(out, out0); i >= 0 {
			t.Errorf("%s: out[%d] = %v, batch %v", c.name, i, out[i], out0[i])
		}
		if i := bitwiseEqual(dx, dx0); i >= 0 {
			t.Errorf("%s: dx[%d] = %v, batch %v", c.name, i, dx[i], dx0[i])
		}
		if i := bitwiseEqual(dw, dw0); i >= 0 {
			t.Errorf("%s: dw[%d] = %v, batch %v", c.name, i, dw[i], dw0[i])
		}
	}
}
