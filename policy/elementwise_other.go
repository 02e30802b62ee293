//go:build !amd64

package policy

// sigmoid32 writes dst[i] = float32(sigmoidFast(float64(src[i]))) for i <
// len(dst); len(src) >= len(dst).
func sigmoid32(dst, src []float32) { sigmoid32Generic(dst, src) }

// exp32s writes dst[i] = float32(expFast(float64(src[i]))) for i < len(dst).
func exp32s(dst, src []float32) { exp32Generic(dst, src) }

// exp64s writes dst[i] = expFast(src[i]) for i < len(dst).
func exp64s(dst, src []float64) { exp64Generic(dst, src) }
