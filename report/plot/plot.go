// Package plot draws line charts as PNG images in pure Go: axes with nice
// ticks, a title, several named series with a legend, markers, shaded
// intervals or error bars, and gaps where a value is NaN. Scales are linear.
//
// It is small on purpose: the report needs a dozen kinds of line chart, and a
// hand-written rasteriser on image/png and the 7×13 bitmap font of
// golang.org/x/image gives byte-identical files for the same input with no
// font files, no cgo and one dependency.
package plot

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"sort"
)

// Figure is one chart.
type Figure struct {
	Title, XLabel, YLabel string
	Width, Height         int // pixels; zero means 800×450
	Series                []Series
	// YLim, when YLim[0] < YLim[1], fixes the y range (a win-rate in [0, 1]);
	// otherwise the range is fitted to the data.
	YLim [2]float64
	// XInteger puts x ticks on whole numbers only (training steps).
	XInteger bool
}

// Series is one line. X and Y have the same length; a point whose X or Y is
// NaN or infinite is not drawn and breaks the line in two.
type Series struct {
	Name string
	X, Y []float64
	// Lo and Hi, when not nil, give an interval around each point (a
	// standard deviation, a confidence interval), drawn as Style says.
	Lo, Hi    []float64
	Style     IntervalStyle
	BandLabel string // legend entry for the interval, e.g. "+/- 1 std"; empty: none
	Markers   MarkerMode
}

// IntervalStyle says how Lo and Hi are drawn.
type IntervalStyle int

const (
	// Band shades the area between Lo and Hi, interpolated along X (taken in
	// increasing X order).
	Band IntervalStyle = iota
	// ErrorBars draws a capped vertical bar at each point, for x values that
	// are not ordered (win-rate against KL).
	ErrorBars
)

// MarkerMode says when points get a marker.
type MarkerMode int

const (
	// MarkersAuto marks points when a series has at most 25 of them.
	MarkersAuto MarkerMode = iota
	MarkersAlways
	MarkersNever
)

const autoMarkerMax = 25

// Palette is the series colours in order: matplotlib's tab10, then two dark
// tones of tab20b, so that the twelve arms of a replicate run each get their own.
var Palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 255}, {0xff, 0x7f, 0x0e, 255}, {0x2c, 0xa0, 0x2c, 255}, {0xd6, 0x27, 0x28, 255},
	{0x94, 0x67, 0xbd, 255}, {0x8c, 0x56, 0x4b, 255}, {0xe3, 0x77, 0xc2, 255}, {0x7f, 0x7f, 0x7f, 255},
	{0xbc, 0xbd, 0x22, 255}, {0x17, 0xbe, 0xcf, 255}, {0x39, 0x3b, 0x79, 255}, {0x63, 0x79, 0x39, 255},
}

var (
	white    = color.RGBA{255, 255, 255, 255}
	ink      = color.RGBA{0x22, 0x22, 0x22, 255}
	frameCol = color.RGBA{0x55, 0x55, 0x55, 255}
	gridCol  = color.RGBA{0xe4, 0xe4, 0xe4, 255}
	muted    = color.RGBA{0x88, 0x88, 0x88, 255}
)

// PNG renders the figure and encodes it.
func (f *Figure) PNG() ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, f.Image()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// at returns s[i], or NaN when s is too short.
func at(s []float64, i int) float64 {
	if i < len(s) {
		return s[i]
	}
	return math.NaN()
}

// dataRange is the extent of the finite data: x over points with a finite
// x, y over their finite Y, Lo and Hi.
func (f *Figure) dataRange() (x0, x1, y0, y1 float64, ok bool) {
	x0, y0 = math.Inf(1), math.Inf(1)
	x1, y1 = math.Inf(-1), math.Inf(-1)
	for _, s := range f.Series {
		for i, x := range s.X {
			if !finite(x) {
				continue
			}
			any := false
			for _, y := range []float64{at(s.Y, i), at(s.Lo, i), at(s.Hi, i)} {
				if finite(y) {
					y0, y1, any = math.Min(y0, y), math.Max(y1, y), true
				}
			}
			if any {
				x0, x1 = math.Min(x0, x), math.Max(x1, x)
			}
		}
	}
	return x0, x1, y0, y1, x0 <= x1
}

// widen turns an empty range into one around its value and pads a range by
// frac of its span on each side.
func widen(lo, hi, frac float64) (float64, float64) {
	if lo == hi {
		d := math.Abs(lo) * 0.1
		if d == 0 {
			d = 1
		}
		return lo - d, hi + d
	}
	pad := (hi - lo) * frac
	return lo - pad, hi + pad
}

// layout is where everything goes: the data-to-pixel mapping and the ticks.
type layout struct {
	m                mapping
	xTicks, yTicks   []float64
	xLabels, yLabels []string
}

// layout places the plot area in a w×h image; ok is false without data.
// headroom is a fraction of the plot height kept free above the data, for
// a legend that would otherwise cover it.
func (f *Figure) layout(w, h int, headroom float64) (lay layout, ok bool) {
	x0, x1, y0, y1, ok := f.dataRange()
	if !ok {
		return lay, false
	}
	x0, x1 = widen(x0, x1, 0.02)
	if f.XInteger && x1-x0 < 2 {
		x0, x1 = math.Floor(x0)-0.5, math.Ceil(x1)+0.5
	}
	if f.YLim[0] < f.YLim[1] {
		y0, y1 = f.YLim[0], f.YLim[1]
	} else {
		y0, y1 = widen(y0, y1, 0.06)
		y1 += (y1 - y0) * headroom / (1 - headroom)
	}
	top := f.top()
	// The left margin depends on the widest y tick label, so lay out y first.
	bottom := 6 + lineH + 8
	if f.XLabel != "" {
		bottom += lineH + 8
	}
	yStep := niceStep(y1-y0, max(2, (h-top-bottom)/55))
	lay.yTicks = ticks(y0, y1, yStep)
	lay.yLabels = tickLabels(lay.yTicks, yStep)
	labelW := 0
	for _, l := range lay.yLabels {
		labelW = max(labelW, textWidth(l))
	}
	left := 10 + labelW + 8
	if f.YLabel != "" {
		left += lineH + 8
	}
	const right = 24
	plot := image.Rect(left, top, w-right, h-bottom)
	xStep := niceStep(x1-x0, max(2, plot.Dx()/100))
	if f.XInteger {
		xStep = math.Max(xStep, 1)
	}
	lay.xTicks = ticks(x0, x1, xStep)
	lay.xLabels = tickLabels(lay.xTicks, xStep)
	lay.m = mapping{plot: plot, x0: x0, x1: x1, y0: y0, y1: y1}
	return lay, true
}

// top is the height of the title strip.
func (f *Figure) top() int {
	if f.Title != "" {
		return 10 + lineH + 12
	}
	return 12
}

func (f *Figure) size() (int, int) {
	if f.Width <= 0 || f.Height <= 0 {
		return 800, 450
	}
	return f.Width, f.Height
}

// Image renders the figure.
func (f *Figure) Image() *image.RGBA {
	w, h := f.size()
	cv := newCanvas(w, h, white)
	if f.Title != "" {
		cv.text(f.Title, w/2, 10, topCenter, ink, true)
	}
	lay, ok := f.layout(w, h, 0)
	entries := legendEntries(f.Series)
	bw, bh := legendSize(entries)
	if ok && len(entries) > 0 && !(f.YLim[0] < f.YLim[1]) {
		// No free corner: raise the top of the y range to make one.
		if _, hits := placeLegend(lay.m, f.Series, bw, bh); hits > 0 {
			lay, _ = f.layout(w, h, min(0.5, float64(bh+2*legendInset)/float64(lay.m.plot.Dy())))
		}
	}
	if !ok {
		plotArea := image.Rect(60, f.top(), w-20, h-40)
		cv.strokeRect(plotArea, frameCol)
		cv.text("no data", (plotArea.Min.X+plotArea.Max.X)/2, (plotArea.Min.Y+plotArea.Max.Y)/2, middleCenter, muted, false)
		return cv.img
	}
	m, plot := lay.m, lay.m.plot

	// Grid, then frame, ticks and labels.
	for i, v := range lay.yTicks {
		py := int(math.Floor(m.py(v)))
		cv.fillRect(image.Rect(plot.Min.X, py, plot.Max.X, py+1), gridCol, 1)
		cv.fillRect(image.Rect(plot.Min.X-4, py, plot.Min.X, py+1), frameCol, 1)
		cv.text(lay.yLabels[i], plot.Min.X-7, py, middleRight, ink, false)
	}
	for i, v := range lay.xTicks {
		px := int(math.Floor(m.px(v)))
		cv.fillRect(image.Rect(px, plot.Min.Y, px+1, plot.Max.Y), gridCol, 1)
		cv.fillRect(image.Rect(px, plot.Max.Y, px+1, plot.Max.Y+4), frameCol, 1)
		cv.text(lay.xLabels[i], px, plot.Max.Y+7, topCenter, ink, false)
	}
	cv.strokeRect(plot.Inset(-1), frameCol)
	if f.XLabel != "" {
		cv.text(f.XLabel, (plot.Min.X+plot.Max.X)/2, h-8-lineH, topCenter, ink, false)
	}
	if f.YLabel != "" {
		cv.textVertical(f.YLabel, 10+lineH/2, (plot.Min.Y+plot.Max.Y)/2, ink)
	}

	// Bands under everything, then bars, lines, markers.
	for i, s := range f.Series {
		if s.Style == Band && s.Lo != nil && s.Hi != nil {
			drawBand(cv, m, s, Palette[i%len(Palette)])
		}
	}
	for i, s := range f.Series {
		c := Palette[i%len(Palette)]
		if s.Style == ErrorBars && s.Lo != nil && s.Hi != nil {
			drawErrorBars(cv, m, s, c)
		}
		drawLine(cv, m, s, c)
	}
	for i, s := range f.Series {
		if hasMarkers(s) {
			c := Palette[i%len(Palette)]
			for j := range s.X {
				if x, y := s.X[j], at(s.Y, j); finite(x) && finite(y) {
					cv.disc(m.px(x), m.py(y), 4.2, white, plot)
					cv.disc(m.px(x), m.py(y), 3.0, c, plot)
				}
			}
		}
	}
	if len(entries) > 0 {
		box, _ := placeLegend(m, f.Series, bw, bh)
		drawLegend(cv, box, entries)
	}
	return cv.img
}

// mapping takes data coordinates to pixel coordinates inside plot.
type mapping struct {
	plot           image.Rectangle
	x0, x1, y0, y1 float64
}

func (m mapping) px(x float64) float64 {
	return float64(m.plot.Min.X) + (x-m.x0)/(m.x1-m.x0)*float64(m.plot.Dx())
}

func (m mapping) py(y float64) float64 {
	return float64(m.plot.Max.Y) - (y-m.y0)/(m.y1-m.y0)*float64(m.plot.Dy())
}

const lineWidth = 2.0

func drawLine(cv *canvas, m mapping, s Series, c color.RGBA) {
	ok := func(j int) bool { return j >= 0 && j < len(s.X) && finite(s.X[j]) && finite(at(s.Y, j)) }
	for j := range s.X {
		if !ok(j) {
			continue
		}
		if ok(j + 1) {
			cv.line(m.px(s.X[j]), m.py(s.Y[j]), m.px(s.X[j+1]), m.py(s.Y[j+1]), lineWidth, c, m.plot)
		} else if !ok(j - 1) {
			// An isolated point would vanish between two gaps.
			cv.disc(m.px(s.X[j]), m.py(s.Y[j]), lineWidth, c, m.plot)
		}
	}
}

func drawErrorBars(cv *canvas, m mapping, s Series, c color.RGBA) {
	for j, x := range s.X {
		lo, hi := at(s.Lo, j), at(s.Hi, j)
		if !finite(x) || !finite(lo) || !finite(hi) {
			continue
		}
		px := m.px(x)
		cv.line(px, m.py(lo), px, m.py(hi), 1.5, c, m.plot)
		cv.line(px-4, m.py(lo), px+4, m.py(lo), 1.5, c, m.plot)
		cv.line(px-4, m.py(hi), px+4, m.py(hi), 1.5, c, m.plot)
	}
}

// drawBand shades between Lo and Hi column by column, interpolating
// linearly between consecutive points in x order; a NaN bound leaves a gap.
func drawBand(cv *canvas, m mapping, s Series, c color.RGBA) {
	idx := make([]int, 0, len(s.X))
	for j, x := range s.X {
		if finite(x) {
			idx = append(idx, j)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.X[idx[a]] < s.X[idx[b]] })
	k := 0
	for px := m.plot.Min.X; px < m.plot.Max.X; px++ {
		x := m.x0 + (float64(px)+0.5-float64(m.plot.Min.X))/float64(m.plot.Dx())*(m.x1-m.x0)
		for k+1 < len(idx) && s.X[idx[k+1]] < x {
			k++
		}
		if k+1 >= len(idx) || s.X[idx[k]] > x {
			continue
		}
		a, b := idx[k], idx[k+1]
		loA, hiA, loB, hiB := at(s.Lo, a), at(s.Hi, a), at(s.Lo, b), at(s.Hi, b)
		if !finite(loA) || !finite(hiA) || !finite(loB) || !finite(hiB) {
			continue
		}
		t := 0.0
		if dx := s.X[b] - s.X[a]; dx > 0 {
			t = (x - s.X[a]) / dx
		}
		pTop := m.py(hiA + t*(hiB-hiA))
		pBot := m.py(loA + t*(loB-loA))
		if pTop > pBot {
			pTop, pBot = pBot, pTop
		}
		y0 := max(m.plot.Min.Y, int(math.Round(pTop)))
		y1 := min(m.plot.Max.Y, int(math.Round(pBot)))
		cv.fillRect(image.Rect(px, y0, px+1, max(y1, y0+1)), c, 0.2)
	}
}
