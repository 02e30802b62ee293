package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Finite-difference settings of checkGrad. With h = 1e-6 the central
// difference's truncation error (h²/6 times the third derivative) is about
// 1e-13, and rounding in a loss of size ~10 adds about 1e-16·10/h = 1e-9
// absolute. gradFloor turns that absolute noise into a relative error of at
// most 1e-7 for gradient components near zero, while components of ordinary
// size are held to a true relative error.
const (
	gradStep  = 1e-6
	gradFloor = 1e-2
	gradTol   = 1e-6
)

// gradRelErr is |a − b| / max(|a| + |b|, gradFloor).
func gradRelErr(a, b float64) float64 {
	return math.Abs(a-b) / max(math.Abs(a)+math.Abs(b), gradFloor)
}

// checkGrad compares the analytic gradient of loss with respect to x (already
// computed by the caller, same length as x) against central finite
// differences, perturbing x in place by ±gradStep and restoring it. It fails
// the test when any component's gradRelErr exceeds tol, and also when every
// numeric component is zero, since such a check proves nothing (the loss
// probably does not read x). Call it with a float64 loss of the form
// Σ out·R with R random, so that every output element matters.
func checkGrad(t *testing.T, name string, x []float64, analytic []float64, loss func() float64, tol float64) {
	t.Helper()
	worst, err := gradMismatch(x, analytic, loss, tol)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	t.Logf("%s: %d components, worst relative error %.2g", name, len(x), worst)
}

// gradMismatch is checkGrad's comparison, returning the failure instead of
// reporting it, so that a test can show the checker catches a wrong gradient.
// It returns the worst relative error.
func gradMismatch(x, analytic []float64, loss func() float64, tol float64) (float64, error) {
	if len(x) != len(analytic) {
		return 0, fmt.Errorf("%d values but %d gradient components", len(x), len(analytic))
	}
	var worst, worstA, worstN, maxNum float64
	worstI := -1
	var bad []string
	for i := range x {
		orig := x[i]
		x[i] = orig + gradStep
		lp := loss()
		x[i] = orig - gradStep
		lm := loss()
		x[i] = orig
		num := (lp - lm) / (2 * gradStep)
		maxNum = max(maxNum, math.Abs(num))
		e := gradRelErr(analytic[i], num)
		if !(e <= tol) { // also catches NaN
			if len(bad) < 5 {
				bad = append(bad, fmt.Sprintf("[%d] analytic %.10g numeric %.10g (rel %.2g)", i, analytic[i], num, e))
			}
		}
		if worstI < 0 || e > worst || math.IsNaN(e) {
			worst, worstI, worstA, worstN = e, i, analytic[i], num
		}
	}
	if len(bad) > 0 {
		return worst, fmt.Errorf("gradient mismatch, tolerance %g, worst [%d] analytic %.10g numeric %.10g (rel %.2g):\n  %s",
			tol, worstI, worstA, worstN, worst, strings.Join(bad, "\n  "))
	}
	if maxNum == 0 {
		return worst, fmt.Errorf("numeric gradient is identically zero: the check is vacuous")
	}
	return worst, nil
}

// randSlice returns n values uniform in [-1, 1).
func randSlice(rng *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 2*rng.Float64() - 1
	}
	return s
}

// dotLoss is Σ out·r, the scalar whose gradient with respect to out is r.
func dotLoss(out, r []float64) float64 {
	var s float64
	for i := range out {
		s += out[i] * r[i]
	}
	return s
}

// accumulated returns a random starting buffer for a gradient and a function
// that, after the backward pass has added into that buffer, returns the
// added part. Starting from non-zero values checks that backward functions
// accumulate (+=) rather than overwrite.
func accumulated(rng *rand.Rand, n int) (buf []float64, added func() []float64) {
	buf = randSlice(rng, n)
	start := append([]float64(nil), buf...)
	return buf, func() []float64 {
		d := make([]float64, n)
		for i := range d {
			d[i] = buf[i] - start[i]
		}
		return d
	}
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// bitwiseEqual reports the first index where a and b differ in bits, or -1.
func bitwiseEqual(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestGradCheckKernelDetectsErrors shows checkGrad can fail: on f(x) = Σ x³·r
// the exact gradient passes, and the same gradient with 1e-3 added to one
// component, or with a component set to zero, is rejected.
func TestGradCheckKernelDetectsErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, r := randSlice(rng, 20), randSlice(rng, 20)
	loss := func() float64 {
		var s float64
		for i, v := range x {
			s += v * v * v * r[i]
		}
		return s
	}
	grad := make([]float64, len(x))
	for i, v := range x {
		grad[i] = 3 * v * v * r[i]
	}
	if _, err := gradMismatch(x, grad, loss, gradTol); err != nil {
		t.Fatalf("exact gradient rejected: %v", err)
	}
	for _, c := range []struct {
		name  string
		wrong func(g []float64)
	}{
		{"off by 1e-3", func(g []float64) { g[7] += 1e-3 }},
		{"relative 1e-3", func(g []float64) { g[3] *= 1 + 1e-3 }},
		{"dropped", func(g []float64) { g[11] = 0 }},
		{"NaN", func(g []float64) { g[0] = math.NaN() }},
	} {
		g := append([]float64(nil), grad...)
		c.wrong(g)
		if _, err := gradMismatch(x, g, loss, gradTol); err == nil {
			t.Errorf("%s: wrong gradient accepted", c.name)
		}
	}
	zero := make([]float64, len(x))
	if _, err := gradMismatch(x, zero, func() float64 { return 1 }, gradTol); err == nil {
		t.Errorf("a loss that ignores x passed the check")
	}
}
