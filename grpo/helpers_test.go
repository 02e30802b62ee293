package grpo

import (
	"math"
	"testing"
)

// approx reports |got − want| ≤ tol·|want| + abs.
func approx(got, want, tol, abs float64) bool {
	return math.Abs(got-want) <= tol*math.Abs(want)+abs
}

func assertSlice(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
	}
	for i := range want {
		if !approx(got[i], want[i], tol, 1e-15) {
			t.Errorf("%s[%d] = %.17g, want %.17g", name, i, got[i], want[i])
		}
	}
}
