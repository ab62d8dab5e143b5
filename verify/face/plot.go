package face

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Plot colours.
var (
	colAxis  = color.RGBA{40, 40, 40, 255}
	colGrid  = color.RGBA{225, 225, 225, 255}
	colFAR   = color.RGBA{200, 30, 30, 255}
	colFRR   = color.RGBA{30, 70, 200, 255}
	colROC   = color.RGBA{20, 140, 60, 255}
	colMark  = color.RGBA{240, 150, 0, 255}
	plotSize = image.Rect(0, 0, 1000, 460)
)

// WritePNG draws two panels: left, the ROC curve (true-match rate against
// false-match rate, FAR on a log scale from 1e-4 to 1); right, FAR (red)
// and FRR (blue) against the squared-distance threshold, with the
// configured threshold (orange) marked.
func (ev Evaluation) WritePNG(w io.Writer) error {
	img := image.NewRGBA(plotSize)
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)

	// Left panel: ROC.
	roc := image.Rect(60, 40, 460, 400)
	frame(img, roc)
	logX := func(far float64) int {
		l := math.Log10(math.Max(far, 1e-4))
		return roc.Min.X + int((l+4)/4*float64(roc.Dx()))
	}
	yOf := func(r image.Rectangle, v float64) int { return r.Max.Y - int(v*float64(r.Dy())) }
	for e := -4; e <= 0; e++ {
		x := logX(math.Pow(10, float64(e)))
		vline(img, x, roc.Min.Y, roc.Max.Y, colGrid)
		label(img, x-12, roc.Max.Y+16, fmt.Sprintf("1e%d", e), colAxis)
	}
	for i := 0; i <= 4; i++ {
		y := yOf(roc, float64(i)/4)
		hline(img, roc.Min.X, roc.Max.X, y, colGrid)
		label(img, roc.Min.X-40, y+4, fmt.Sprintf("%.2f", float64(i)/4), colAxis)
	}
	frame(img, roc)
	px, py := -1, -1
	for _, o := range ev.Curve {
		x, y := logX(o.FAR), yOf(roc, 1-o.FRR)
		if px >= 0 {
			line(img, px, py, x, y, colROC)
		}
		px, py = x, y
	}
	label(img, roc.Min.X, 25, "ROC: true-match rate vs false-match rate (log)", colAxis)

	// Right panel: FAR and FRR against the threshold.
	thr := image.Rect(560, 40, 960, 400)
	const tmax = 1.2
	xOf := func(t float64) int { return thr.Min.X + int(t/tmax*float64(thr.Dx())) }
	for i := 0; i <= 6; i++ {
		t := float64(i) * 0.2
		vline(img, xOf(t), thr.Min.Y, thr.Max.Y, colGrid)
		label(img, xOf(t)-10, thr.Max.Y+16, fmt.Sprintf("%.1f", t), colAxis)
	}
	for i := 0; i <= 4; i++ {
		y := yOf(thr, float64(i)/4)
		hline(img, thr.Min.X, thr.Max.X, y, colGrid)
		label(img, thr.Min.X-40, y+4, fmt.Sprintf("%.2f", float64(i)/4), colAxis)
	}
	frame(img, thr)
	vline(img, xOf(ev.At.Threshold), thr.Min.Y, thr.Max.Y, colMark)
	for i := 1; i < len(ev.Curve); i++ {
		a, b := ev.Curve[i-1], ev.Curve[i]
		line(img, xOf(a.Threshold), yOf(thr, a.FAR), xOf(b.Threshold), yOf(thr, b.FAR), colFAR)
		line(img, xOf(a.Threshold), yOf(thr, a.FRR), xOf(b.Threshold), yOf(thr, b.FRR), colFRR)
	}
	label(img, thr.Min.X, 25, "FAR (red) and FRR (blue) vs squared distance", colAxis)
	label(img, 60, 440, fmt.Sprintf("threshold %.3f: FAR %.4f FRR %.4f   EER %.4f at %.3f   pairs: %d genuine, %d impostor",
		ev.At.Threshold, ev.At.FAR, ev.At.FRR, ev.EER, ev.EERThreshold, len(ev.Genuine), len(ev.Impostor)), colAxis)
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("write roc png: %w", err)
	}
	return nil
}

func frame(img *image.RGBA, r image.Rectangle) {
	hline(img, r.Min.X, r.Max.X, r.Min.Y, colAxis)
	hline(img, r.Min.X, r.Max.X, r.Max.Y, colAxis)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y, colAxis)
	vline(img, r.Max.X, r.Min.Y, r.Max.Y, colAxis)
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	for x := x0; x <= x1; x++ {
		img.Set(x, y, c)
	}
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	for y := y0; y <= y1; y++ {
		img.Set(x, y, c)
	}
}

// line draws a 2-pixel-thick segment (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.Color) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		img.Set(x0, y0, c)
		img.Set(x0+1, y0, c)
		img.Set(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}

func label(img *image.RGBA, x, y int, s string, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
