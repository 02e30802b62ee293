package eval

import (
	"math"
	"testing"
)

func verdicts(w, t, l int) []Verdict {
	var v []Verdict
	for range w {
		v = append(v, Win)
	}
	for range t {
		v = append(v, Tie)
	}
	for range l {
		v = append(v, Loss)
	}
	return v
}

// Wilson intervals checked against values computed by hand from the formula
// (and matching statsmodels' proportion_confint(method="wilson")).
func TestWilsonKnownValues(t *testing.T) {
	for _, c := range []struct {
		p      float64
		n      int
		lo, hi float64
	}{
		{0.5, 100, 0.4038315, 0.5961685},
		{0.1, 200, 0.0656704, 0.1494058},
		{0, 20, 0, 0.1611251},
		{1, 10, 0.7224672, 1},
	} {
		lo, hi := Wilson(c.p, c.n)
		if math.Abs(lo-c.lo) > 1e-6 || math.Abs(hi-c.hi) > 1e-6 {
			t.Errorf("Wilson(%g, %d) = [%.7f, %.7f], want [%.7f, %.7f]", c.p, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func TestSummarizeCountsTiesHalf(t *testing.T) {
	w := Summarize(verdicts(30, 20, 50), 1)
	if w.N != 100 || w.Wins != 30 || w.Ties != 20 || w.Losses != 50 || w.WinRate != 0.4 {
		t.Fatalf("%+v", w)
	}
	if !(w.CILow < 0.4 && 0.4 < w.CIHigh) || !(w.BootLow < 0.4 && 0.4 < w.BootHigh) {
		t.Fatalf("intervals do not cover the estimate: %+v", w)
	}
	// The bootstrap standard error of a mean of 100 scores with this spread
	// is about 0.045, so the interval is about ±0.09 wide.
	if width := w.BootHigh - w.BootLow; width < 0.12 || width > 0.24 {
		t.Fatalf("bootstrap interval width %.3f", width)
	}
	if again := Summarize(verdicts(30, 20, 50), 1); again != w {
		t.Fatal("same seed must give the same intervals")
	}
}

func TestPairedBootstrap(t *testing.T) {
	// A beats the reference on 60 prompts where B loses, identical elsewhere.
	a := append(verdicts(60, 0, 0), verdicts(10, 10, 20)...)
	b := append(verdicts(0, 0, 60), verdicts(10, 10, 20)...)
	d := Paired(a, b, 3)
	if math.Abs(d.Diff-0.6) > 1e-12 || !(d.CILow > 0.45) || !(d.CIHigh < 0.72) {
		t.Fatalf("%+v", d)
	}
	same := Paired(a, a, 3)
	if same.Diff != 0 || same.CILow != 0 || same.CIHigh != 0 {
		t.Fatalf("a model against itself: %+v", same)
	}
}
