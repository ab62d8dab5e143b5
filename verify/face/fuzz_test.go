package face

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"remoteidv/verify/facematch"
)

// FuzzGate feeds arbitrary bytes to the input gate, which runs before any
// cgo call and must never panic, allocate past its pixel cap, or accept
// what it cannot re-encode. The seed corpus is in testdata/fuzz/FuzzGate
// (small generated images and headers); more seeds are built here.
func FuzzGate(f *testing.F) {
	f.Add(encodeTestJPEG(f, noise(16, 16, 1)))
	f.Add(encodePNG(f, noise(8, 8, 2)))
	f.Add(pngBomb(f, 1<<20, 1<<20))
	f.Add([]byte("\xff\xd8\xff\xe0"))
	lim := Limits{MaxBytes: 1 << 20, MaxPixels: 256 * 256}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, st, detail := Gate(data, lim)
		if st < facematch.StatusOK || st > facematch.StatusFaceTooSmall {
			t.Fatalf("Gate = status %d", int(st))
		}
		if g.Quality.Bytes != len(data) {
			t.Fatalf("Gate facematch.Quality.Bytes = %d, want %d", g.Quality.Bytes, len(data))
		}
		if st != facematch.StatusOK {
			if g.JPEG != nil || detail == "" && st != facematch.StatusOK {
				t.Fatalf("Gate = %v %q with %d JPEG bytes", st, detail, len(g.JPEG))
			}
			return
		}
		if g.Quality.Width*g.Quality.Height > lim.MaxPixels {
			t.Fatalf("Gate accepted %dx%d over the cap", g.Quality.Width, g.Quality.Height)
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(g.JPEG))
		if err != nil || format != "jpeg" || cfg.Width != g.Quality.Width || cfg.Height != g.Quality.Height {
			t.Fatalf("Gate output: %v %s %dx%d, want jpeg %dx%d", err, format, cfg.Width, cfg.Height, g.Quality.Width, g.Quality.Height)
		}
		if _, err := jpeg.Decode(bytes.NewReader(g.JPEG)); err != nil {
			t.Fatalf("Gate output does not decode: %v", err)
		}
	})
}
