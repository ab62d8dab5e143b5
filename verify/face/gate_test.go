package face

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	"remoteidv/verify/facematch"
)

// noise returns a bright, sharp image without any face.
func noise(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		if i%4 == 3 {
			img.Pix[i] = 255
			continue
		}
		img.Pix[i] = uint8(64 + r.IntN(160))
	}
	return img
}

func uniformImage(w, h int, c color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	return img
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// pngBomb is a valid-looking PNG header claiming w x h pixels.
func pngBomb(tb testing.TB, w, h uint32) []byte {
	tb.Helper()
	b := encodePNG(tb, image.NewGray(image.Rect(0, 0, 1, 1)))
	// IHDR data starts at 16: width, height; its CRC covers type+data.
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// boxBlur blurs img with a (2r+1)-pixel box, separably.
func boxBlur(img image.Image, r int) *image.RGBA {
	b := img.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			src.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	pass := func(in *image.RGBA, dx, dy int) *image.RGBA {
		out := image.NewRGBA(in.Bounds())
		w, h := in.Bounds().Dx(), in.Bounds().Dy()
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s [4]int
				n := 0
				for k := -r; k <= r; k++ {
					xx, yy := x+k*dx, y+k*dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					o := in.PixOffset(xx, yy)
					for c := 0; c < 4; c++ {
						s[c] += int(in.Pix[o+c])
					}
					n++
				}
				o := out.PixOffset(x, y)
				for c := 0; c < 4; c++ {
					out.Pix[o+c] = uint8(s[c] / n)
				}
			}
		}
		return out
	}
	return pass(pass(src, 1, 0), 0, 1)
}

// withEXIF inserts an APP1 Exif segment after the SOI marker.
func withEXIF(jpg []byte, payload string) []byte {
	seg := []byte{0xFF, 0xE1, 0, 0}
	seg = append(seg, "Exif\x00\x00"+payload...)
	binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)-2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestGate(t *testing.T) {
	photo := readFile(t, johnsDir+"/John_Simm/000300_00470148.jpg")
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, noise(64, 64, 1), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		data   []byte
		lim    Limits
		want   facematch.Status
		detail string // substring of the detail
	}{
		{"johns jpeg", photo, Limits{}, facematch.StatusOK, ""},
		{"png converted", encodePNG(t, decodeJPEG(t, photo)), Limits{}, facematch.StatusOK, ""},
		{"empty", nil, Limits{}, facematch.StatusNotAnImage, ""},
		{"text", []byte("hello, I am not an image"), Limits{}, facematch.StatusNotAnImage, "unknown format"},
		{"truncated jpeg", photo[:len(photo)/2], Limits{}, facematch.StatusNotAnImage, ""},
		{"over byte cap", photo, Limits{MaxBytes: 1000}, facematch.StatusTooLarge, "limit 1000"},
		{"png bomb 100k x 100k", pngBomb(t, 100000, 100000), Limits{}, facematch.StatusTooManyPixels, "100000x100000"},
		{"png 5000 x 4000", pngBomb(t, 5000, 4000), Limits{}, facematch.StatusTooManyPixels, "limit 16777216"},
		{"pixel cap", photo, Limits{MaxPixels: 100 * 100}, facematch.StatusTooManyPixels, "150x150"},
		{"gif", gifBuf.Bytes(), Limits{}, facematch.StatusUnsupportedFormat, "gif"},
		{"black", encodeTestJPEG(t, uniformImage(200, 200, color.Black)), Limits{}, facematch.StatusTooDark, "mean luminance 0.0"},
		{"flat grey", encodeTestJPEG(t, uniformImage(200, 200, color.Gray{128})), Limits{}, facematch.StatusTooBlurry, "sharpness 0.0"},
		{"blurred photo", encodeTestJPEG(t, boxBlur(decodeJPEG(t, photo), 4)), Limits{}, facematch.StatusTooBlurry, "minimum 12.0"},
		{"dark limit raised", photo, Limits{MinLuminance: 200}, facematch.StatusTooDark, "minimum 200.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, got, detail := Gate(tt.data, tt.lim)
			if got != tt.want || !strings.Contains(detail, tt.detail) {
				t.Fatalf("Gate(%s) = %v %q, want %v %q", tt.name, got, detail, tt.want, tt.detail)
			}
			if got != facematch.StatusOK {
				if g.JPEG != nil {
					t.Errorf("Gate(%s) returned JPEG bytes with status %v", tt.name, got)
				}
				return
			}
			img := decodeJPEG(t, g.JPEG)
			if b := img.Bounds(); b.Dx() != g.Quality.Width || b.Dy() != g.Quality.Height {
				t.Errorf("Gate(%s) re-encoded %v, want %dx%d", tt.name, b, g.Quality.Width, g.Quality.Height)
			}
		})
	}
}

func TestGateDropsMetadata(t *testing.T) {
	photo := withEXIF(readFile(t, johnsDir+"/John_Simm/000300_00470148.jpg"), "GPS secret location")
	if !bytes.Contains(photo, []byte("GPS secret")) {
		t.Fatal("test photo lacks the metadata")
	}
	g, st, detail := Gate(photo, Limits{})
	if st != facematch.StatusOK {
		t.Fatalf("Gate(photo with exif) = %v %s, want OK", st, detail)
	}
	if bytes.Contains(g.JPEG, []byte("GPS secret")) || bytes.Contains(g.JPEG, []byte("Exif")) {
		t.Errorf("Gate(photo with exif) kept the metadata")
	}
}

// TestBlurredJohns backs DefaultMinSharpness: every johns photo passes,
// every johns photo blurred over 9 pixels fails.
func TestBlurredJohns(t *testing.T) {
	for _, p := range testJohns(t) {
		img := decodeJPEG(t, readFile(t, p.Path))
		_, sharp := measure(img)
		_, blurred := measure(boxBlur(img, 4))
		if sharp < DefaultMinSharpness || blurred >= DefaultMinSharpness {
			t.Errorf("sharpness(%s) = %.1f, blurred %.1f, want >= %d and < %d", p.Path, sharp, blurred, DefaultMinSharpness, DefaultMinSharpness)
		}
	}
}
