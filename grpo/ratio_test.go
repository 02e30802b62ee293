package grpo

import "testing"

func TestSequenceLogRatios(t *testing.T) {
	logp := []float64{-1, -2, -3, -1}
	old := []float64{-1.5, -2, -2, -1} // logp − old = 0.5, 0, −1 | 0
	tests := []struct {
		name string
		mask []bool
		lens []int
		want []float64
	}{
		{"all tokens", nil, []int{3, 1}, []float64{-1.0 / 6, 0}},
		{"masked middle", []bool{true, false, true, true}, []int{3, 1}, []float64{-0.25, 0}},
		{"fully masked", []bool{false, false, false, true}, []int{3, 1}, []float64{0, 0}},
		{"empty sequence", nil, []int{0, 4}, []float64{0, -0.125}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertSlice(t, "log s", SequenceLogRatios(logp, old, tc.mask, tc.lens), tc.want, 1e-15)
		})
	}
}

func TestClippedSurrogate(t *testing.T) {
	const el, eh = 0.2, 0.28
	tests := []struct {
		name         string
		r, adv, dual float64
		loss, d      float64
		region       ClipRegion
	}{
		{"A>0 inside", 1.1, 2, 0, -2.2, -2, Unclipped},
		{"A>0 above 1+eh", 1.5, 2, 0, -2.56, 0, ClippedHigh},
		{"A>0 below 1-el", 0.5, 2, 0, -1, -2, Unclipped},
		{"A<0 below 1-el", 0.5, -1, 0, 0.8, 0, ClippedLow},
		{"A<0 inside", 0.9, -1, 0, 0.9, 1, Unclipped},
		{"A<0 above 1+eh", 1.5, -1, 0, 1.5, 1, Unclipped},
		{"A<0 above c dual", 4, -1, 3, 3, 0, ClippedDual},
		{"A<0 below c dual", 2, -1, 3, 2, 1, Unclipped},
		{"A>0 above c dual", 4, 2, 3, -2.56, 0, ClippedHigh},
		{"A<0 below 1-el dual", 0.5, -1, 3, 0.8, 0, ClippedLow},
		{"A=0", 5, 0, 3, 0, 0, Unclipped},
		{"eps_high 0.2 vs 0.28", 1.25, 1, 0, -1.25, -1, Unclipped}, // clipped with symmetric ε = 0.2, not here
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loss, d, region := ClippedSurrogate(tc.r, tc.adv, el, eh, tc.dual)
			if !approx(loss, tc.loss, 1e-15, 0) || d != tc.d || region != tc.region {
				t.Errorf("got %v, %v, %v; want %v, %v, %v", loss, d, region, tc.loss, tc.d, tc.region)
			}
		})
	}
	if _, _, region := ClippedSurrogate(1.25, 1, 0.2, 0.2, 0); region != ClippedHigh {
		t.Errorf("r = 1.25 with ε_high = 0.2: region %v, want ClippedHigh", region)
	}
}
