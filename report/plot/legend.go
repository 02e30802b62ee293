package plot

import (
	"image"
	"image/color"
	"math"
)

type legendEntry struct {
	label  string
	c      color.RGBA
	line   bool          // a series (line, maybe a marker) rather than an interval
	marker bool          // for a series: it has markers
	kind   IntervalStyle // for an interval: how it is drawn
}

const (
	legendSwatch = 26
	legendPad    = 8
	legendRowH   = lineH + 6
	legendInset  = 10 // from the plot frame
)

// legendEntries lists a legend row per named series and per labelled
// interval; none when there is a single line, whose title says what it is.
func legendEntries(series []Series) []legendEntry {
	var entries []legendEntry
	for i, s := range series {
		c := Palette[i%len(Palette)]
		if s.Name != "" {
			entries = append(entries, legendEntry{label: s.Name, c: c, line: true, marker: hasMarkers(s)})
		}
		if s.BandLabel != "" && s.Lo != nil && s.Hi != nil {
			entries = append(entries, legendEntry{label: s.BandLabel, c: c, kind: s.Style})
		}
	}
	if len(entries) == 1 && entries[0].line {
		return nil
	}
	return entries
}

func hasMarkers(s Series) bool {
	return s.Markers == MarkersAlways || (s.Markers == MarkersAuto && len(s.X) <= autoMarkerMax)
}

func legendSize(entries []legendEntry) (w, h int) {
	labelW := 0
	for _, e := range entries {
		labelW = max(labelW, textWidth(e.label))
	}
	return legendPad + legendSwatch + 6 + labelW + legendPad, legendPad + len(entries)*legendRowH - 6 + legendPad
}

// placeLegend picks the inside corner whose box covers the least of the
// data (points, and the lines and interval edges between them, sampled
// every few pixels), preferring top right, top left, bottom right, bottom
// left in that order. hits is how much data the chosen box covers.
func placeLegend(m mapping, series []Series, bw, bh int) (box image.Rectangle, hits int) {
	p := m.plot
	corners := []image.Point{
		{p.Max.X - legendInset - bw, p.Min.Y + legendInset}, {p.Min.X + legendInset, p.Min.Y + legendInset},
		{p.Max.X - legendInset - bw, p.Max.Y - legendInset - bh}, {p.Min.X + legendInset, p.Max.Y - legendInset - bh},
	}
	hits = -1
	for _, c := range corners {
		r := image.Rect(c.X, c.Y, c.X+bw, c.Y+bh).Inset(-3)
		n := 0
		for _, s := range series {
			for _, ys := range [][]float64{s.Y, s.Lo, s.Hi} {
				n += coverage(m, r, s.X, ys)
			}
		}
		if hits < 0 || n < hits {
			box, hits = image.Rect(c.X, c.Y, c.X+bw, c.Y+bh), n
		}
	}
	return box, hits
}

// coverage counts the samples of a polyline that fall inside r.
func coverage(m mapping, r image.Rectangle, xs, ys []float64) int {
	n := 0
	in := func(x, y float64) bool { return (image.Point{int(math.Floor(x)), int(math.Floor(y))}).In(r) }
	for j := range xs {
		x, y := xs[j], at(ys, j)
		if !finite(x) || !finite(y) {
			continue
		}
		ax, ay := m.px(x), m.py(y)
		if in(ax, ay) {
			n++
		}
		if j+1 >= len(xs) || !finite(xs[j+1]) || !finite(at(ys, j+1)) {
			continue
		}
		bx, by := m.px(xs[j+1]), m.py(at(ys, j+1))
		steps := int(math.Hypot(bx-ax, by-ay) / 4)
		for k := 1; k < steps && k < 1000; k++ {
			t := float64(k) / float64(steps)
			if in(ax+t*(bx-ax), ay+t*(by-ay)) {
				n++
			}
		}
	}
	return n
}

func drawLegend(cv *canvas, box image.Rectangle, entries []legendEntry) {
	cv.fillRect(box, white, 0.88)
	cv.strokeRect(box, color.RGBA{0xc8, 0xc8, 0xc8, 255})
	all := cv.img.Rect
	for i, e := range entries {
		cy := box.Min.Y + legendPad + i*legendRowH + lineH/2
		sx, fy := float64(box.Min.X+legendPad), float64(cy)+0.5
		switch {
		case e.line:
			cv.line(sx, fy, sx+legendSwatch, fy, lineWidth, e.c, all)
			if e.marker {
				cv.disc(sx+legendSwatch/2, fy, 4.2, white, all)
				cv.disc(sx+legendSwatch/2, fy, 3.0, e.c, all)
			}
		case e.kind == Band:
			cv.fillRect(image.Rect(int(sx), cy-5, int(sx)+legendSwatch, cy+6), e.c, 0.2)
		default:
			mid := sx + legendSwatch/2
			cv.line(mid, fy-5, mid, fy+5, 1.5, e.c, all)
			cv.line(mid-4, fy-5, mid+4, fy-5, 1.5, e.c, all)
			cv.line(mid-4, fy+5, mid+4, fy+5, 1.5, e.c, all)
		}
		cv.text(e.label, box.Min.X+legendPad+legendSwatch+6, cy, middleLeft, ink, false)
	}
}
