package face

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// johnsDir holds dlib's example photos: 5 people x 11 photos.
const johnsDir = "/usr/share/doc/libdlib19.1/examples/johns"

// testModelsDir returns IDV_MODELS_DIR or <repo root>/var/models, failing
// the test (never skipping) when the models are missing or altered.
func testModelsDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("IDV_MODELS_DIR")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			tb.Fatalf("find repo root: %v", err)
		}
		dir = filepath.Join(root, "var", "models")
	}
	if _, err := VerifyModels(dir); err != nil {
		tb.Fatalf("face models not usable: %v\nrun `go run ./cmd/idv models fetch` (or set IDV_MODELS_DIR)", err)
	}
	return dir
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// testJohns returns the johns dataset, failing when it is not installed.
func testJohns(tb testing.TB) []Photo {
	tb.Helper()
	photos, err := LoadDataset(johnsDir)
	if err != nil {
		tb.Fatalf("johns photos missing (%v): install the Debian package libdlib19.1 (pulled in by libdlib-dev)", err)
	}
	if len(photos) != 55 {
		tb.Fatalf("LoadDataset(%s) = %d photos, want 55", johnsDir, len(photos))
	}
	return photos
}

var (
	sharedOnce   sync.Once
	sharedEngine *Engine
	sharedErr    error
)

// testEngine returns an engine shared by the tests of this package (two
// recognizers, default limits). It is never closed: the process ends.
func testEngine(tb testing.TB) *Engine {
	tb.Helper()
	dir := testModelsDir(tb)
	sharedOnce.Do(func() {
		sharedEngine, sharedErr = New(context.Background(), Config{ModelsDir: dir, Recognizers: 2})
	})
	if sharedErr != nil {
		tb.Fatalf("New = %v", sharedErr)
	}
	return sharedEngine
}

var (
	johnsOnce    sync.Once
	johnsSamples []Sample
	johnsErr     error
)

// testJohnsSamples analyses the johns photos once per test binary.
func testJohnsSamples(tb testing.TB) []Sample {
	tb.Helper()
	e := testEngine(tb)
	photos := testJohns(tb)
	johnsOnce.Do(func() {
		johnsSamples, johnsErr = e.DescribeAll(context.Background(), photos, nil)
	})
	if johnsErr != nil {
		tb.Fatalf("DescribeAll(johns) = %v", johnsErr)
	}
	return johnsSamples
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func decodeJPEG(tb testing.TB, b []byte) image.Image {
	tb.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("decode jpeg: %v", err)
	}
	return img
}

func encodeTestJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// mirror flips an image horizontally; it flips the sign of the yaw.
func mirror(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(b.Dx()-1-x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}
