package grpo

import (
	"errors"
	"math"
	"testing"
)

func TestGroupAdvantages(t *testing.T) {
	s2 := math.Sqrt(2)         // sample std of {1, 3}
	sb := math.Sqrt(2.0 / 3.0) // sample std of {1, 3, 2, 2}
	tests := []struct {
		name    string
		rewards []float64
		g       int
		scale   Scaling
		eps     float64
		want    []float64
	}{
		// {1,0,0,0}: mean 1/4, Σ(r−mean)² = 3/4, sample variance 3/4 / 3 = 1/4, std 1/2.
		{"group one winner", []float64{1, 0, 0, 0}, 4, ScaleGroup, 0, []float64{1.5, -0.5, -0.5, -0.5}},
		{"group", []float64{1, 3, 2, 2}, 2, ScaleGroup, 0, []float64{-1 / s2, 1 / s2, 0, 0}},
		{"group eps", []float64{1, 3, 2, 2}, 2, ScaleGroup, 1e-4, []float64{-1 / (s2 + 1e-4), 1 / (s2 + 1e-4), 0, 0}},
		{"batch", []float64{1, 3, 2, 2}, 2, ScaleBatch, 0, []float64{-1 / sb, 1 / sb, 0, 0}},
		{"batch eps", []float64{1, 3, 2, 2}, 2, ScaleBatch, 0.5, []float64{-1 / (sb + 0.5), 1 / (sb + 0.5), 0, 0}},
		{"none", []float64{1, 3, 2, 2}, 2, ScaleNone, 1e-4, []float64{-1, 1, 0, 0}},
		{"uniform group eps", []float64{5, 5, 5}, 3, ScaleGroup, 1e-4, []float64{0, 0, 0}},
		{"group of one", []float64{7, 8}, 1, ScaleGroup, 1e-4, []float64{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GroupAdvantages(tc.rewards, tc.g, tc.scale, tc.eps)
			if err != nil {
				t.Fatal(err)
			}
			assertSlice(t, "A", got, tc.want, 1e-14)
		})
	}
	if _, err := GroupAdvantages([]float64{1, 2, 3}, 2, ScaleGroup, 0); !errors.Is(err, errLayout) {
		t.Errorf("3 rewards in groups of 2: err = %v", err)
	}
	if _, err := GroupAdvantages([]float64{1, 2}, 2, "mean", 0); err == nil {
		t.Error("unknown scaling accepted")
	}
	if _, err := GroupAdvantages([]float64{1, 2}, 2, ScaleGroup, -1); err == nil {
		t.Error("negative epsilon accepted")
	}
}

func TestSampleStd(t *testing.T) {
	tests := []struct {
		x    []float64
		want float64
	}{
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, math.Sqrt(32.0 / 7)}, // population std would be 2
		{[]float64{3}, 0},
		{nil, 0},
	}
	for _, tc := range tests {
		if got := SampleStd(tc.x); !approx(got, tc.want, 1e-15, 0) {
			t.Errorf("SampleStd(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
}

func TestKLPenalizedRewards(t *testing.T) {
	// d = logp − ref = 0.5, 0, 0.5.
	logp, ref := []float64{-1, -2, -0.5}, []float64{-1.5, -2, -1}
	k3 := math.Exp(-0.5) - 0.5 // k3 at d = 0.5
	tests := []struct {
		name string
		est  KLEstimator
		beta float64
		mask []bool
		want []float64
	}{
		{"k1", KLK1, 0.1, nil, []float64{1 - 0.1*0.5, 2 - 0.1*0.5}},
		{"k2", KLK2, 0.1, nil, []float64{1 - 0.1*0.125, 2 - 0.1*0.125}},
		{"k3", KLK3, 0.1, nil, []float64{1 - 0.1*k3, 2 - 0.1*k3}},
		{"k1 masked", KLK1, 0.1, []bool{false, true, true}, []float64{1, 2 - 0.1*0.5}},
		{"beta 0", KLK3, 0, nil, []float64{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KLPenalizedRewards([]float64{1, 2}, tc.est, tc.beta, logp, ref, tc.mask, []int{2, 1})
			if err != nil {
				t.Fatal(err)
			}
			assertSlice(t, "r'", got, tc.want, 1e-15)
		})
	}
	if _, err := KLPenalizedRewards([]float64{1}, KLK1, 0.1, logp, ref, nil, []int{2, 1}); !errors.Is(err, errLayout) {
		t.Errorf("1 reward for 2 sequences: err = %v", err)
	}
	if _, err := KLPenalizedRewards([]float64{1, 2}, "k4", 0.1, logp, ref, nil, []int{2, 1}); err == nil {
		t.Error("unknown estimator accepted")
	}
}

func TestOverlongPenalty(t *testing.T) {
	// L_max = 10, L_cache = 4: free up to 6, then −1/4 per token, −1 beyond 10.
	tests := []struct {
		length, maxLen, cache int
		want                  float64
	}{
		{0, 10, 4, 0}, {6, 10, 4, 0}, {7, 10, 4, -0.25}, {9, 10, 4, -0.75}, {10, 10, 4, -1}, {11, 10, 4, -1},
		{10, 10, 0, 0}, {11, 10, 0, -1}, // no cache: a hard cut
	}
	for _, tc := range tests {
		if got := OverlongPenalty(tc.length, tc.maxLen, tc.cache); got != tc.want {
			t.Errorf("OverlongPenalty(%d, %d, %d) = %v, want %v", tc.length, tc.maxLen, tc.cache, got, tc.want)
		}
	}
}

func TestUniformGroups(t *testing.T) {
	got, err := UniformGroups([]float64{1, 1, 1, 0, 1, 0, 0.5, 0.5, 0.5}, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("group %d: uniform = %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := UniformGroups([]float64{1, 2, 3}, 2); !errors.Is(err, errLayout) {
		t.Errorf("3 rewards in groups of 2: err = %v", err)
	}
}
