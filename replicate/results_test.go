package replicate

import (
	"math"
	"slices"
	"testing"
)

// meanOverSeeds keeps the steps every seed has, averages there, and gives
// the optional second value only where every seed logged it.
func TestMeanOverSeeds(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	steps, v, w := meanOverSeeds([][]stepValue{
		{{step: 10, v: 0.2, w: f(1)}, {step: 0, v: 0.1, w: f(0)}, {step: 5, v: 0.5}},
		{{step: 0, v: 0.3, w: f(0.5)}, {step: 10, v: 0.4, w: f(3)}, {step: 20, v: 0.9, w: f(9)}},
	})
	if !slices.Equal(steps, []int{0, 10}) {
		t.Fatalf("steps %v, want [0 10] (5 and 20 are in one seed only)", steps)
	}
	if math.Abs(v[0]-0.2) > 1e-12 || math.Abs(v[1]-0.3) > 1e-12 {
		t.Fatalf("means %v, want [0.2 0.3]", v)
	}
	if w[0] != 0.25 || w[1] != 2 {
		t.Fatalf("second means %v, want [0.25 2]", w)
	}
	_, _, w = meanOverSeeds([][]stepValue{{{step: 1, v: 1, w: f(1)}}, {{step: 1, v: 0}}})
	if !math.IsNaN(w[0]) {
		t.Fatalf("a step where one seed lacks the second value gives %v, want NaN", w[0])
	}
	// The arm-level wrappers read the same way.
	r := &ArmResult{}
	if steps, win, kl := r.meanCurve(); steps != nil || win != nil || kl != nil {
		t.Fatal("an arm with no seeds has no curve")
	}
}
