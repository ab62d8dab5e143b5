package face

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"

	"remoteidv/verify/facematch"
)

// Limits are the input gates applied to every image before any cgo call.
// The zero value of a field means its default.
type Limits struct {
	// MaxBytes caps the encoded size. Default 5 MiB.
	MaxBytes int
	// MaxPixels caps width x height, checked from the header before
	// decoding. Default 4096 x 4096.
	MaxPixels int
	// MinLuminance is the lowest accepted mean luma (0..255). Default 40.
	MinLuminance float64
	// MinSharpness is the lowest accepted variance of the 4-neighbour
	// Laplacian of the luma, measured on the image scaled to at most
	// SharpnessSide pixels on its longer side. Default 12: the blurriest johns photo
	// measures 23, the johns photos box-blurred over 9 pixels stay under 12.
	MinSharpness float64
	// MinFaceSide is the smallest accepted shorter side of the face box in
	// pixels. Default 80 (dlib's HOG detector finds nothing much smaller).
	MinFaceSide int
	// JPEGQuality is used to re-encode the image for dlib. Default 92.
	JPEGQuality int
}

// Default limit values.
const (
	DefaultMaxBytes     = 5 << 20
	DefaultMaxPixels    = 4096 * 4096
	DefaultMinLuminance = 40
	DefaultMinSharpness = 12
	DefaultMinFaceSide  = 80
	DefaultJPEGQuality  = 92
	// SharpnessSide is the longer side, in pixels, the luma is reduced to
	// before the sharpness is measured, so it does not depend on resolution.
	SharpnessSide = 320
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MinLuminance == 0 {
		l.MinLuminance = DefaultMinLuminance
	}
	if l.MinSharpness == 0 {
		l.MinSharpness = DefaultMinSharpness
	}
	if l.MinFaceSide <= 0 {
		l.MinFaceSide = DefaultMinFaceSide
	}
	if l.JPEGQuality <= 0 || l.JPEGQuality > 100 {
		l.JPEGQuality = DefaultJPEGQuality
	}
	return l
}

// Gated is an image that passed the gates before recognition.
type Gated struct {
	// JPEG is the re-encoded image handed to dlib: no metadata.
	JPEG    []byte
	Quality facematch.Quality
}

// Gate runs the input gates, in order: byte size, header with pixel cap,
// format (JPEG or PNG only), full decode, luminance and sharpness, and
// re-encoding as JPEG. It never calls cgo and is safe on hostile input.
// On rejection it returns the status and a detail naming the measured
// value; the Quality measured so far is returned either way.
func Gate(data []byte, lim Limits) (Gated, facematch.Status, string) {
	lim = lim.withDefaults()
	q := facematch.Quality{Bytes: len(data)}
	if len(data) > lim.MaxBytes {
		return Gated{Quality: q}, facematch.StatusTooLarge, fmt.Sprintf("%d bytes, limit %d", len(data), lim.MaxBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Gated{Quality: q}, facematch.StatusNotAnImage, err.Error()
	}
	q.Format, q.Width, q.Height = format, cfg.Width, cfg.Height
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Gated{Quality: q}, facematch.StatusNotAnImage, fmt.Sprintf("empty image %dx%d", cfg.Width, cfg.Height)
	}
	// Compare in int64 terms via division so huge dimensions cannot overflow.
	if cfg.Width > lim.MaxPixels/cfg.Height {
		return Gated{Quality: q}, facematch.StatusTooManyPixels, fmt.Sprintf("%dx%d, limit %d pixels", cfg.Width, cfg.Height, lim.MaxPixels)
	}
	var img image.Image
	switch format {
	case "jpeg":
		img, err = jpeg.Decode(bytes.NewReader(data))
	case "png":
		img, err = png.Decode(bytes.NewReader(data))
	default:
		return Gated{Quality: q}, facematch.StatusUnsupportedFormat, format
	}
	if err != nil {
		return Gated{Quality: q}, facematch.StatusNotAnImage, err.Error()
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return Gated{Quality: q}, facematch.StatusNotAnImage, "header and image sizes differ"
	}
	q.Luminance, q.Sharpness = measure(img)
	if q.Luminance < lim.MinLuminance {
		return Gated{Quality: q}, facematch.StatusTooDark, fmt.Sprintf("mean luminance %.1f, minimum %.1f", q.Luminance, lim.MinLuminance)
	}
	if q.Sharpness < lim.MinSharpness {
		return Gated{Quality: q}, facematch.StatusTooBlurry, fmt.Sprintf("sharpness %.1f, minimum %.1f", q.Sharpness, lim.MinSharpness)
	}
	out, err := encodeJPEG(img, lim.JPEGQuality)
	if err != nil {
		return Gated{Quality: q}, facematch.StatusNotAnImage, err.Error()
	}
	return Gated{JPEG: out, Quality: q}, facematch.StatusOK, ""
}

// encodeJPEG re-encodes img. go-face's JPEG loader takes only 3-component
// (colour) JPEGs: a grayscale JPEG fails with "unsupported pixel size", so
// everything but YCbCr and RGBA, gray included, is first drawn onto RGBA
// (which also flattens alpha deterministically).
func encodeJPEG(img image.Image, quality int) ([]byte, error) {
	switch img.(type) {
	case *image.YCbCr, *image.RGBA:
	default:
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), image.White, image.Point{}, draw.Src)
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Over)
		img = rgba
	}
	var buf bytes.Buffer
	buf.Grow(img.Bounds().Dx() * img.Bounds().Dy() / 4)
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

// measure returns the mean luma of img and the variance of the Laplacian
// of its luma reduced (box filter) to at most SharpnessSide pixels on the
// longer side.
func measure(img image.Image) (lum, sharp float64) {
	g := luma(img)
	var sum float64
	for _, v := range g.Pix {
		sum += float64(v)
	}
	lum = sum / float64(len(g.Pix))
	s := shrink(g, SharpnessSide)
	return lum, laplacianVariance(s)
}

// luma converts img to 8-bit luma, reading the Y plane directly when the
// image came from a JPEG.
func luma(img image.Image) *image.Gray {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			off := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], m.Y[off:off+b.Dx()])
		}
		return g
	case *image.Gray:
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(g, g.Bounds(), m, b.Min, draw.Src)
		return g
	}
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Bounds(), img, b.Min, draw.Src)
	return g
}

// shrink reduces g by an integer box factor so its longer side is at most
// side pixels.
func shrink(g *image.Gray, side int) *image.Gray {
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	f := (max(w, h) + side - 1) / side
	if f <= 1 {
		return g
	}
	ow, oh := w/f, h/f
	if ow == 0 || oh == 0 {
		return g
	}
	out := image.NewGray(image.Rect(0, 0, ow, oh))
	n := f * f
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			s := 0
			for dy := 0; dy < f; dy++ {
				row := g.Pix[(y*f+dy)*g.Stride+x*f:]
				for dx := 0; dx < f; dx++ {
					s += int(row[dx])
				}
			}
			out.Pix[y*out.Stride+x] = uint8(s / n)
		}
	}
	return out
}

// laplacianVariance is the variance of the 4-neighbour Laplacian over the
// interior pixels; 0 for images smaller than 3x3.
func laplacianVariance(g *image.Gray) float64 {
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	if w < 3 || h < 3 {
		return 0
	}
	var sum, sum2 float64
	for y := 1; y < h-1; y++ {
		row := g.Pix[y*g.Stride:]
		up := g.Pix[(y-1)*g.Stride:]
		down := g.Pix[(y+1)*g.Stride:]
		for x := 1; x < w-1; x++ {
			l := float64(int(up[x]) + int(down[x]) + int(row[x-1]) + int(row[x+1]) - 4*int(row[x]))
			sum += l
			sum2 += l * l
		}
	}
	n := float64((w - 2) * (h - 2))
	mean := sum / n
	return math.Max(0, sum2/n-mean*mean)
}
