package policy

// Portable forms of the vector element-wise kernels (elementwise_amd64.go
// has the AVX2 ones, bitwise equal).

func sigmoid32Generic(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = float32(sigmoidFast(float64(x)))
	}
}

func exp32Generic(dst, src []float32) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = float32(expFast(float64(x)))
	}
}

func exp64Generic(dst, src []float64) {
	src = src[:len(dst)]
	for i, x := range src {
		dst[i] = expFast(x)
	}
}
