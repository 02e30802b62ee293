package grpo

import (
	"errors"
	"math"
	"testing"
)

func TestMaskTruncated(t *testing.T) {
	got, err := MaskTruncated([]bool{true, false, true, true, true}, []int{2, 2, 1}, []bool{false, true, false})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("token %d: %v, want %v", i, got[i], want[i])
		}
	}
	if got, _ := MaskTruncated(nil, []int{1, 1}, []bool{true, false}); got[0] || !got[1] {
		t.Errorf("nil mask: %v", got)
	}
	if _, err := MaskTruncated(nil, []int{1, 1}, []bool{true}); !errors.Is(err, errLayout) {
		t.Errorf("1 flag for 2 sequences: err = %v", err)
	}
}

func TestISCorrection(t *testing.T) {
	old := []float64{-1, -1, -1, -2}
	sampler := []float64{-1.5, -0.5, -1, -2.1} // δ = 0.5, −0.5, 0 | 0.1
	lens := []int{3, 1}
	e5, em5, e1 := math.Exp(0.5), math.Exp(-0.5), math.Exp(0.1)
	tests := []struct {
		name       string
		mode       ISMode
		mask       []bool
		sampler    []float64
		cMin, cMax float64
		want       []float64
	}{
		{"token truncate", ISTokenTruncate, nil, sampler, 0.8, 1.25, []float64{1.25, 0.8, 1, e1}},
		{"token truncate no min", ISTokenTruncate, nil, sampler, 0, 1.25, []float64{1.25, em5, 1, e1}},
		{"token truncate no bounds", ISTokenTruncate, nil, sampler, 0, math.Inf(1), []float64{e5, em5, 1, e1}},
		{"token mask", ISTokenMask, nil, sampler, 0.8, 1.25, []float64{0, 0, 1, e1}},
		{"sequence truncate", ISSequenceTruncate, nil, sampler, 0.8, 1.05, []float64{1, 1, 1, 1.05}}, // Σδ = 0 | 0.1
		{"sequence mask", ISSequenceMask, nil, sampler, 0.8, 1.05, []float64{1, 1, 1, 0}},
		{"masked token has weight 1", ISTokenTruncate, []bool{false, true, true, true}, sampler, 0.8, 1.25, []float64{1, 0.8, 1, e1}},
		{"masked token leaves the product", ISSequenceMask, []bool{false, true, true, true}, sampler, 0.5, 2, []float64{em5, em5, em5, e1}},
		{"NaN sampler log-prob", ISTokenTruncate, nil, []float64{math.NaN(), -0.5, -1, -2.1}, 0.8, 1.25, []float64{1, 0.8, 1, e1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ISCorrection(tc.mode, old, tc.sampler, tc.mask, lens, tc.cMin, tc.cMax)
			if err != nil {
				t.Fatal(err)
			}
			assertSlice(t, "ρ", got, tc.want, 1e-15)
		})
	}
	if _, err := ISCorrection("sequence_clip", old, sampler, nil, lens, 0, 2); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := ISCorrection(ISTokenMask, old, sampler, nil, lens, 2, 1); err == nil {
		t.Error("C_min > C_max accepted")
	}
	if _, err := ISCorrection(ISTokenMask, old, sampler[:3], nil, lens, 0, 2); !errors.Is(err, errLayout) {
		t.Errorf("short sampler log-probs: err = %v", err)
	}
}

func TestMeanEntropy(t *testing.T) {
	if got := MeanEntropy([]float64{1, 2, 100, 3}, []bool{true, true, false, true}); got != 2 {
		t.Errorf("MeanEntropy = %v, want 2", got)
	}
	if got := MeanEntropy([]float64{1}, []bool{false}); got != 0 {
		t.Errorf("MeanEntropy with no tokens = %v, want 0", got)
	}
}
