package policy

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSigmoid32MatchesScalar checks the vector sigmoid bitwise against the
// scalar sigmoidFast, including the tails, infinities and NaN.
func TestSigmoid32MatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 88, -88, 104, -104, 800, -800,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-30, -1e-30,
		math.MaxFloat32, -math.MaxFloat32}
	for range 100000 {
		src = append(src, float32(rng.NormFloat64()*8))
	}
	for range 1000 {
		src = append(src, math.Float32frombits(rng.Uint32()))
	}
	for _, n := range []int{0, 1, 3, 4, 5, 7, 8, len(src)} {
		got, want := make([]float32, n), make([]float32, n)
		sigmoid32(got, src)
		for i, x := range src[:n] {
			want[i] = float32(sigmoidFast(float64(x)))
		}
		for i := range n {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) &&
				!(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("n=%d: sigmoid32(%g) = %g (%#x), scalar %g (%#x)", n, src[i], got[i],
					math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}

// TestExpVectorsMatchScalar checks exp32s and exp64s bitwise against expFast.
func TestExpVectorsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := []float64{0, math.Copysign(0, -1), 1, -1, 88, -88, 104, -104, 707, -707, 708, -708,
		709, -709, 800, -800, math.Inf(1), math.Inf(-1), math.NaN(), 1e-30, -1e-30, math.MaxFloat64}
	for range 100000 {
		src = append(src, rng.NormFloat64()*20)
	}
	for range 1000 {
		src = append(src, math.Float64frombits(rng.Uint64()))
	}
	same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b) }
	for _, n := range []int{0, 1, 3, 4, 5, 7, 8, len(src)} {
		got := make([]float64, n)
		exp64s(got, src)
		src32 := make([]float32, n)
		for i := range n {
			src32[i] = float32(src[i])
		}
		got32 := make([]float32, n)
		exp32s(got32, src32)
		for i := range n {
			if want := expFast(src[i]); !same(got[i], want) {
				t.Fatalf("n=%d: exp64s(%g) = %g, scalar %g", n, src[i], got[i], want)
			}
			if want := float32(expFast(float64(src32[i]))); !same(float64(got32[i]), float64(want)) {
				t.Fatalf("n=%d: exp32s(%g) = %g, scalar %g", n, src32[i], got32[i], want)
			}
		}
	}
}
