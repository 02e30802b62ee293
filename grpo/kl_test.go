package grpo

import (
	"math"
	"testing"
)

func TestKL(t *testing.T) {
	e := math.Exp(1)
	tests := []struct {
		est       KLEstimator
		logp, ref float64
		kl, d     float64
	}{
		{KLK1, -1, -1.5, 0.5, 1},
		{KLK1, -2, -1, -1, 1},
		{KLK2, -1, -1.5, 0.125, 0.5},
		{KLK2, -2, -1, 0.5, -1},
		{KLK3, -1, -1.5, math.Exp(-0.5) - 0.5, 1 - math.Exp(-0.5)}, // π_ref/π_θ = e^−0.5
		{KLK3, -2, -1, e - 2, 1 - e},                               // π_ref/π_θ = e
		{KLK3, -3, -3, 0, 0},
	}
	for _, tc := range tests {
		kl, d := KL(tc.est, tc.logp, tc.ref)
		if !approx(kl, tc.kl, 1e-15, 1e-16) || !approx(d, tc.d, 1e-15, 1e-16) {
			t.Errorf("KL(%s, %v, %v) = %v, %v; want %v, %v", tc.est, tc.logp, tc.ref, kl, d, tc.kl, tc.d)
		}
	}
}
