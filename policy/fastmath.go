package policy

import (
	"math"
	"unsafe"
)

// Fast e^x for the float32 training path. math.Exp is a full float64
// algorithm (about a sixth of a demo training step went to it, in the
// attention softmax, the SwiGLU sigmoid and the log-probabilities); float32
// results need far less. expFast is the table-driven method of ARM's
// optimized-routines expf (also musl's): with N = 32,
//
//	x·N/ln2 = k + r,  k integer, |r| ≤ 1/2
//	e^x = 2^(k/N) · 2^(r/N) ≈ 2^⌊k/N⌋ · tab[k mod N] · (1 + c2·r + c1·r² + c0·r³)
//
// all in float64: the reduction is exact enough that the only error is the
// cubic's, below 2^-33 relative (fastmath_test.go measures it), so the
// result rounded to float32 is within 0.51 ulp of e^x, the correctly rounded
// value in all but about one case in a few hundred. It is pure Go arithmetic
// with no data-dependent branch inside the range, so its bits depend only on
// x (and on the architecture: arm64 may fuse a multiply and an add, amd64
// never does unless asked).
//
// Float64 instantiations of the kernels keep math.Exp: the finite-difference
// gradient tests need full float64 precision (see expOf).

const (
	expTabBits  = 5
	expN        = 1 << expTabBits
	expShift    = 0x1.8p+52                   // adding it rounds a |z| < 2^51 to an integer
	expInvLn2N  = 0x1.71547652b82fep+0 * expN // N/ln2
	expC0       = 0x1.c6af84b912394p-5 / expN / expN / expN
	expC1       = 0x1.ebfce50fac4f3p-3 / expN / expN
	expC2       = 0x1.62e42ff0c52d6p-1 / expN
	expMaxInput = 708 // inputs are clamped to ±expMaxInput
)

// expTab[i] holds the bits of 2^(i/32) (correctly rounded, computed with
// math/big) minus i<<47, so that adding k<<47 yields 2^(k/32)'s bits: the
// low 5 bits of k pick the entry and the rest land in the exponent field.
var expTab = [expN]uint64{
	0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
	0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
	0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
	0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
	0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
	0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
	0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
	0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
}

// expFast returns e^x in float64 to within 2^-33 relative error, enough for
// a float32 result or for a float64 sum of float32-accurate terms. x is
// clamped to [−708, 708] (NaN stays NaN): e^±708 is 0 or +Inf once rounded
// to float32, and e^−708 ≈ 3e−308 is nothing next to the largest term of
// a sum. Clamping, rather than branching to 0 and +Inf, keeps expFast small
// enough for the compiler to inline into the kernels' loops.
func expFast(x float64) float64 {
	z := expInvLn2N * min(max(x, -expMaxInput), expMaxInput)
	kd := z + expShift
	ki := math.Float64bits(kd) // k in the low bits, two's complement
	r := z - (kd - expShift)
	s := math.Float64frombits(expTab[ki%expN] + ki<<(52-expTabBits))
	return (1 + r*(expC2+r*(expC1+r*expC0))) * s
}

// exp32 is e^x rounded to float32 (see expFast for the accuracy).
func exp32(x float32) float32 { return float32(expFast(float64(x))) }

// expOf is e^x at the precision T needs: expFast for float32 kernels,
// math.Exp for float64 ones. The choice is made per instantiation at
// compile time (T's size is a constant of each generic shape).
func expOf[T Float](x float64) float64 {
	if unsafe.Sizeof(T(0)) == 4 {
		return expFast(x)
	}
	return math.Exp(x)
}
