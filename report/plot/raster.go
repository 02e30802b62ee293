package plot

import (
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// canvas is an opaque RGBA image with anti-aliased primitives. Coverage is
// computed from distances in float64 and rounded once per pixel, with no
// goroutines, maps or clocks involved, so the same figure gives the same
// bytes every time (on one platform: an architecture that fuses multiply-adds
// may round a last bit differently and shade a pixel one level apart).
type canvas struct {
	img *image.RGBA
}

func newCanvas(w, h int, bg color.RGBA) *canvas {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = bg.R, bg.G, bg.B, 255
	}
	return &canvas{img: img}
}

// blend paints c over pixel (x, y) with coverage a in [0, 1].
func (cv *canvas) blend(x, y int, c color.RGBA, a float64) {
	if a <= 0 || !(image.Point{x, y}).In(cv.img.Rect) {
		return
	}
	if a > 1 {
		a = 1
	}
	i := cv.img.PixOffset(x, y)
	p := cv.img.Pix[i : i+3 : i+3]
	p[0] = mix(p[0], c.R, a)
	p[1] = mix(p[1], c.G, a)
	p[2] = mix(p[2], c.B, a)
}

func mix(dst, src uint8, a float64) uint8 {
	return uint8(math.Round(float64(dst)*(1-a) + float64(src)*a))
}

// fillRect fills [x0,x1)×[y0,y1) with c at opacity a.
func (cv *canvas) fillRect(r image.Rectangle, c color.RGBA, a float64) {
	r = r.Intersect(cv.img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cv.blend(x, y, c, a)
		}
	}
}

// strokeRect draws a one-pixel outline just inside r.
func (cv *canvas) strokeRect(r image.Rectangle, c color.RGBA) {
	cv.fillRect(image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+1), c, 1)
	cv.fillRect(image.Rect(r.Min.X, r.Max.Y-1, r.Max.X, r.Max.Y), c, 1)
	cv.fillRect(image.Rect(r.Min.X, r.Min.Y, r.Min.X+1, r.Max.Y), c, 1)
	cv.fillRect(image.Rect(r.Max.X-1, r.Min.Y, r.Max.X, r.Max.Y), c, 1)
}

// line draws a segment of the given width between pixel-centre coordinates,
// anti-aliased by the distance of each pixel centre to the segment. Only
// pixels inside bounds are touched.
func (cv *canvas) line(x0, y0, x1, y1, width float64, c color.RGBA, bounds image.Rectangle) {
	half := width / 2
	minX := int(math.Floor(math.Min(x0, x1) - half - 1))
	maxX := int(math.Ceil(math.Max(x0, x1) + half + 1))
	minY := int(math.Floor(math.Min(y0, y1) - half - 1))
	maxY := int(math.Ceil(math.Max(y0, y1) + half + 1))
	r := image.Rect(minX, minY, maxX+1, maxY+1).Intersect(bounds)
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			fx, fy := float64(px)+0.5, float64(py)+0.5
			t := 0.0
			if l2 > 0 {
				t = ((fx-x0)*dx + (fy-y0)*dy) / l2
				t = math.Max(0, math.Min(1, t))
			}
			ex, ey := fx-(x0+t*dx), fy-(y0+t*dy)
			d := math.Hypot(ex, ey)
			cv.blend(px, py, c, half+0.5-d)
		}
	}
}

// disc draws a filled anti-aliased circle.
func (cv *canvas) disc(cx, cy, radius float64, c color.RGBA, bounds image.Rectangle) {
	r := image.Rect(int(cx-radius-1), int(cy-radius-1), int(cx+radius+2), int(cy+radius+2)).Intersect(bounds)
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			ex, ey := float64(px)+0.5-cx, float64(py)+0.5-cy
			d := math.Hypot(ex, ey)
			cv.blend(px, py, c, radius+0.5-d)
		}
	}
}

// The one font: 7×13 pixels, printable ASCII (anything else draws as a
// replacement box), so no font files ship.
var face = basicfont.Face7x13

const (
	charW  = 7
	ascent = 11
	lineH  = 13
)

func textWidth(s string) int {
	return font.MeasureString(face, s).Round()
}

// textMask renders s as an alpha mask lineH pixels tall.
func textMask(s string) *image.Alpha {
	mask := image.NewAlpha(image.Rect(0, 0, max(textWidth(s), 1), lineH))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: fixed.P(0, ascent)}
	d.DrawString(s)
	return mask
}

// Text anchors: where (x, y) sits on the text's box.
type anchor struct{ h, v float64 } // 0 = left/top, 0.5 = centre, 1 = right/bottom

var (
	topLeft      = anchor{0, 0}
	topCenter    = anchor{0.5, 0}
	middleLeft   = anchor{0, 0.5}
	middleRight  = anchor{1, 0.5}
	middleCenter = anchor{0.5, 0.5}
)

// text draws s with its box anchored at (x, y). bold strikes it twice, one
// pixel apart, which reads better than scaling a bitmap font.
func (cv *canvas) text(s string, x, y int, at anchor, c color.RGBA, bold bool) {
	mask := textMask(s)
	w, h := mask.Rect.Dx(), mask.Rect.Dy()
	ox := x - int(math.Round(at.h*float64(w)))
	oy := y - int(math.Round(at.v*float64(h)))
	cv.paintMask(mask, ox, oy, c)
	if bold {
		cv.paintMask(mask, ox+1, oy, c)
	}
}

// textVertical draws s rotated a quarter turn anticlockwise (reading bottom
// to top), centred on (x, y).
func (cv *canvas) textVertical(s string, x, y int, c color.RGBA) {
	mask := textMask(s)
	w, h := mask.Rect.Dx(), mask.Rect.Dy()
	rot := image.NewAlpha(image.Rect(0, 0, h, w))
	for my := 0; my < h; my++ {
		for mx := 0; mx < w; mx++ {
			rot.SetAlpha(my, w-1-mx, mask.AlphaAt(mx, my))
		}
	}
	cv.paintMask(rot, x-h/2, y-w/2, c)
}

func (cv *canvas) paintMask(mask *image.Alpha, ox, oy int, c color.RGBA) {
	b := mask.Rect
	for my := b.Min.Y; my < b.Max.Y; my++ {
		for mx := b.Min.X; mx < b.Max.X; mx++ {
			if a := mask.AlphaAt(mx, my).A; a > 0 {
				cv.blend(ox+mx, oy+my, c, float64(a)/255)
			}
		}
	}
}
