package policy

import (
	"math"
	"testing"
)

// ulp32 is the spacing of float32 values at e (e ≥ 0), subnormals included.
func ulp32(e float64) float64 {
	if e < 0x1p-126 {
		return 0x1p-149
	}
	_, exp := math.Frexp(e) // e = frac·2^exp, frac in [0.5, 1)
	return math.Ldexp(1, exp-24)
}

// TestExp32Accuracy compares exp32 with math.Exp (float64, exact to float32
// eyes) on every 97th float32 in [−110, 100], which covers results that
// round to zero, subnormal results and overflow to +Inf, and checks expFast's
// float64 relative error on the same points where e^x is a normal float32.
func TestExp32Accuracy(t *testing.T) {
	var maxULP, maxRel, sumULP float64
	var worst float32
	count, notNearest := 0, 0
	check := func(x float32) {
		want := math.Exp(float64(x))
		got := exp32(x)
		if want > math.MaxFloat32 {
			// Overflow: +Inf unless want rounds down to MaxFloat32.
			if !math.IsInf(float64(got), 1) && float64(got) != math.MaxFloat32 {
				t.Fatalf("exp32(%v) = %v, want +Inf", x, got)
			}
			return
		}
		e := math.Abs(float64(got)-want) / ulp32(want)
		sumULP += e
		count++
		if e > maxULP {
			maxULP, worst = e, x
		}
		if float32(want) != got {
			notNearest++
		}
		if want >= 0x1p-126 {
			maxRel = max(maxRel, math.Abs(expFast(float64(x))-want)/want)
		}
	}
	for _, lim := range []float32{100, -110} {
		top := math.Float32bits(lim)
		sign := top & (1 << 31)
		for b := uint32(0); b <= top&^sign; b += 97 {
			check(math.Float32frombits(b | sign))
		}
	}
	t.Logf("exp32 over %d points: max error %.4f ulp (at %v), mean %.4f ulp, %d not correctly rounded; expFast max relative error %.3g (2^%.1f)",
		count, maxULP, worst, sumULP/float64(count), notNearest, maxRel, math.Log2(maxRel))
	if maxULP > 2 {
		t.Errorf("exp32 max error %v ulp at %v, want ≤ 2", maxULP, worst)
	}
	if maxRel > 0x1p-30 {
		t.Errorf("expFast max relative error %v, want ≤ 2^-30", maxRel)
	}
}

// TestExp32Special checks the edges: zero, the limits of the float32
// range, infinities and NaN.
func TestExp32Special(t *testing.T) {
	cases := []struct{ x, want float32 }{
		{0, 1},
		{float32(math.Copysign(0, -1)), 1},
		{89, float32(math.Inf(1))},
		{1000, float32(math.Inf(1))},
		{float32(math.Inf(1)), float32(math.Inf(1))},
		{-104, 0},
		{-1e30, 0},
		{float32(math.Inf(-1)), 0},
		{-103.2789, 0x1p-149}, // ln 2^-149 ≈ −103.27893
		{88.72283, 3.4028e38},
	}
	for _, c := range cases {
		got := exp32(c.x)
		if got != c.want && math.Abs(float64(got-c.want)) > 1e-6*math.Abs(float64(c.want)) {
			t.Errorf("exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if got := exp32(float32(math.NaN())); !math.IsNaN(float64(got)) {
		t.Errorf("exp32(NaN) = %v", got)
	}
	if got := expFast(-800); got > 4e-308 {
		t.Errorf("expFast(-800) = %v, want e^-708 at most", got)
	}
}

var expSink float32

func BenchmarkExp32(b *testing.B) {
	xs := make([]float32, 1024)
	for i := range xs {
		xs[i] = -20 + 30*float32(i)/1024
	}
	b.Run("exp32", func(b *testing.B) {
		var s float32
		for b.Loop() {
			for _, x := range xs {
				s += exp32(x)
			}
		}
		expSink = s
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/exp")
	})
	b.Run("math.Exp", func(b *testing.B) {
		var s float32
		for b.Loop() {
			for _, x := range xs {
				s += float32(math.Exp(float64(x)))
			}
		}
		expSink = s
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/exp")
	})
}
