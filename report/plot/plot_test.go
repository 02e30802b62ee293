package plot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"reflect"
	"testing"
)

func sampleFigure() Figure {
	var x, y, lo, hi, g []float64
	for i := 1; i <= 60; i++ {
		s := float64(i)
		m := 0.3 + 0.4*(1-math.Exp(-s/20))
		if i == 30 {
			m = math.NaN()
		}
		x, y = append(x, s), append(y, m)
		lo, hi = append(lo, m-0.05), append(hi, m+0.05)
		g = append(g, 0.3+0.2*math.Sin(s/20))
	}
	return Figure{Title: "Reward", XLabel: "step", YLabel: "reward", XInteger: true, Series: []Series{
		{Name: "reward_mean", X: x, Y: y, Lo: lo, Hi: hi, BandLabel: "+/- 1 std"},
		{Name: "gold", X: x, Y: g},
		{Name: "win rate", X: []float64{10, 30, 50}, Y: []float64{0.2, 0.4, 0.3}, Lo: []float64{0.1, 0.3, 0.2}, Hi: []float64{0.3, 0.5, 0.4}, Style: ErrorBars},
	}}
}

// TestPNGDeterministic: the same figure gives the same bytes, and they
// decode to an image of the requested size with the series' colours in it.
func TestPNGDeterministic(t *testing.T) {
	f := sampleFigure()
	a, err := f.PNG()
	if err != nil {
		t.Fatal(err)
	}
	g := sampleFigure()
	b, _ := g.PNG()
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same figure differ")
	}
	img, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, 800, 450) {
		t.Fatalf("size %v, want 800x450", img.Bounds())
	}
	if len(a) < 5_000 || len(a) > 200_000 {
		t.Fatalf("PNG is %d bytes: not a plausible chart", len(a))
	}
	for i := range f.Series {
		if countColor(img, Palette[i]) < 20 {
			t.Errorf("series %d colour barely appears", i)
		}
	}
	f.Width, f.Height = 400, 300
	small, _ := f.PNG()
	if img, _ := png.Decode(bytes.NewReader(small)); img.Bounds().Dx() != 400 || img.Bounds().Dy() != 300 {
		t.Fatalf("custom size not honoured: %v", img.Bounds())
	}
}

func countColor(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == c {
				n++
			}
		}
	}
	return n
}

// TestNaNGap: a NaN value breaks the line; the points on either side keep it.
func TestNaNGap(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	y := []float64{1, 1, 1, 1, 1, math.NaN(), 1, 1, 1, 1, 1}
	// A second series fixes the y range so the line sits mid-plot.
	f := Figure{Series: []Series{
		{X: x, Y: y, Markers: MarkersNever},
		{X: []float64{0, 10}, Y: []float64{0, 2}, Markers: MarkersNever},
	}}
	img := f.Image()
	// Find the row of the flat line at x=2, then look at x=5 on that row.
	blue := Palette[0]
	w, h := f.size()
	lay, _ := f.layout(w, h, 0)
	m := lay.m
	row := int(m.py(1))
	if img.RGBAAt(int(m.px(2)), row) != blue {
		t.Fatalf("line missing at x=2: %v", img.RGBAAt(int(m.px(2)), row))
	}
	if img.RGBAAt(int(m.px(5)), row) == blue {
		t.Fatal("line drawn through the NaN at x=5")
	}
}

func TestEmptyAndDegenerateFigures(t *testing.T) {
	for name, f := range map[string]Figure{
		"no series":  {Title: "empty"},
		"all NaN":    {Series: []Series{{X: []float64{1, 2}, Y: []float64{math.NaN(), math.Inf(1)}}}},
		"one point":  {Series: []Series{{Name: "a", X: []float64{3}, Y: []float64{0}}}, XInteger: true},
		"flat":       {Series: []Series{{X: []float64{1, 2, 3}, Y: []float64{5, 5, 5}}}},
		"short Y":    {Series: []Series{{X: []float64{1, 2, 3}, Y: []float64{5}, Lo: []float64{1}}}},
		"out of lim": {YLim: [2]float64{0, 1}, Series: []Series{{X: []float64{1, 2, 3}, Y: []float64{-5, 0.5, 7}}}},
	} {
		data, err := f.PNG()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := png.Decode(bytes.NewReader(data)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		target int
		want   []string
	}{
		{0, 1, 5, []string{"0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{-0.98, 101.98, 6, []string{"0", "20", "40", "60", "80", "100"}},
		{0, 3e-4, 6, []string{"0", "5.0e-5", "1.0e-4", "1.5e-4", "2.0e-4", "2.5e-4", "3.0e-4"}},
		{0, 3e6, 3, []string{"0", "1e6", "2e6", "3e6"}},
		{0.1, 0.35, 5, []string{"0.10", "0.15", "0.20", "0.25", "0.30", "0.35"}},
		{-2, 2, 4, []string{"-2", "-1", "0", "1", "2"}},
	}
	for _, c := range cases {
		step := niceStep(c.hi-c.lo, c.target)
		got := tickLabels(ticks(c.lo, c.hi, step), step)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ticks(%g, %g, ~%d): %q, want %q", c.lo, c.hi, c.target, got, c.want)
		}
	}
}

// TestPaletteColoursDiffer: series are told apart by colour alone, so no two
// palette entries may be the same (a replicate run plots eleven arms).
func TestPaletteColoursDiffer(t *testing.T) {
	if len(Palette) < 11 {
		t.Fatalf("palette has %d colours; a replicate run plots 11 series", len(Palette))
	}
	seen := map[color.RGBA]int{}
	for i, c := range Palette {
		if j, ok := seen[c]; ok {
			t.Errorf("palette colours %d and %d are both %v", j, i, c)
		}
		seen[c] = i
	}
}
