package policy

import "golang.org/x/sys/cpu"

// The AVX2 kernels of elementwise_amd64.s evaluate expFast four lanes at a
// time with the same float64 operations as the scalar code, in the same
// order and without fused multiply-adds, so every result is bitwise that of
// the portable loop (elementwise_test.go checks it). n is a multiple of 4.
//
//	sigmoid32AVX2: dst[i] = float32(sigmoidFast(float64(src[i])))
//	exp32AVX2:     dst[i] = float32(expFast(float64(src[i])))
//	exp64AVX2:     dst[i] = expFast(src[i])

//go:noescape
func sigmoid32AVX2(dst, src *float32, n int, tab *uint64)

//go:noescape
func exp32AVX2(dst, src *float32, n int, tab *uint64)

//go:noescape
func exp64AVX2(dst, src *float64, n int, tab *uint64)

var haveElementwiseAVX2 = cpu.X86.HasAVX2

// sigmoid32 writes dst[i] = float32(sigmoidFast(float64(src[i]))) for i <
// len(dst); len(src) >= len(dst).
func sigmoid32(dst, src []float32) {
	n := len(dst)
	src = src[:n]
	done := 0
	if haveElementwiseAVX2 && n >= 4 {
		done = n &^ 3
		sigmoid32AVX2(&dst[0], &src[0], done, &expTab[0])
	}
	sigmoid32Generic(dst[done:], src[done:])
}

// exp32s writes dst[i] = float32(expFast(float64(src[i]))) for i < len(dst);
// len(src) >= len(dst). dst and src may be the same slice.
func exp32s(dst, src []float32) {
	n := len(dst)
	src = src[:n]
	done := 0
	if haveElementwiseAVX2 && n >= 4 {
		done = n &^ 3
		exp32AVX2(&dst[0], &src[0], done, &expTab[0])
	}
	exp32Generic(dst[done:], src[done:])
}

// exp64s writes dst[i] = expFast(src[i]) for i < len(dst); len(src) >=
// len(dst). dst and src may be the same slice.
func exp64s(dst, src []float64) {
	n := len(dst)
	src = src[:n]
	done := 0
	if haveElementwiseAVX2 && n >= 4 {
		done = n &^ 3
		exp64AVX2(&dst[0], &src[0], done, &expTab[0])
	}
	exp64Generic(dst[done:], src[done:])
}
