package face

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"remoteidv/verify/facematch"

	goface "github.com/Kagami/go-face"
)

func TestVerifyModels(t *testing.T) {
	dir := testModelsDir(t)
	set, err := VerifyModels(dir)
	if err != nil {
		t.Fatalf("VerifyModels(%s) = %v", dir, err)
	}
	if set.Hash != facematch.PinnedModelHash() {
		t.Errorf("VerifyModels(%s).Hash = %s, want %s", dir, set.Hash, facematch.PinnedModelHash())
	}

	// A folder with one altered and two missing files names all three.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, facematch.ResNetFile), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = VerifyModels(bad)
	if err == nil {
		t.Fatalf("VerifyModels(bad) = nil error, want missing and altered files")
	}
	for _, want := range []string{facematch.ShapePredictorFile + " missing", facematch.ResNetFile + " in " + bad + " altered", facematch.CNNDetectorFile + " missing", "go run ./cmd/idv models fetch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("VerifyModels(bad) = %q, want it to contain %q", err, want)
		}
	}
	var me *ModelError
	if !errors.As(err, &me) {
		t.Errorf("VerifyModels(bad) error is not a *ModelError")
	}
	if _, err := New(context.Background(), Config{ModelsDir: bad}); err == nil {
		t.Errorf("New(bad models) = nil error")
	}
}

// side places two images next to each other on a grey canvas.
func side(a, b image.Image) *image.RGBA {
	w := a.Bounds().Dx() + b.Bounds().Dx() + 60
	h := max(a.Bounds().Dy(), b.Bounds().Dy()) + 40
	out := uniformImage(w, h, color.Gray{Y: 128})
	draw.Draw(out, a.Bounds().Add(image.Pt(20, 20)), a, a.Bounds().Min, draw.Src)
	draw.Draw(out, b.Bounds().Add(image.Pt(40+a.Bounds().Dx(), 20)), b, b.Bounds().Min, draw.Src)
	return out
}

func TestAnalyzeStatuses(t *testing.T) {
	e := testEngine(t)
	ctx := context.Background()
	simm := readFile(t, johnsDir+"/John_Simm/000300_00470148.jpg")
	salley := readFile(t, johnsDir+"/John_Salley/000179_02159509.jpg")
	tests := []struct {
		name  string
		data  []byte
		want  facematch.Status
		faces int
	}{
		{"one face", simm, facematch.StatusOK, 1},
		{"one face as png", encodePNG(t, decodeJPEG(t, simm)), facematch.StatusOK, 1},
		{"one face in grayscale", encodeTestJPEG(t, grayOf(decodeJPEG(t, simm))), facematch.StatusOK, 1},
		{"grayscale png without a face", encodePNG(t, grayOf(noise(320, 240, 7))), facematch.StatusNoFace, 0},
		{"noise has no face", encodeTestJPEG(t, noise(320, 240, 7)), facematch.StatusNoFace, 0},
		{"two people", encodeTestJPEG(t, side(decodeJPEG(t, simm), decodeJPEG(t, salley))), facematch.StatusMultipleFaces, 2},
		{"not an image", []byte("hello, not an image"), facematch.StatusNotAnImage, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := e.Analyze(ctx, tt.data)
			if err != nil {
				t.Fatalf("Analyze(%s) error = %v", tt.name, err)
			}
			if a.Status != tt.want || a.Face.Quality.Faces != tt.faces {
				t.Fatalf("Analyze(%s) = %v (%s) with %d faces, want %v with %d", tt.name, a.Status, a.Detail, a.Face.Quality.Faces, tt.want, tt.faces)
			}
			if tt.want == facematch.StatusOK && (len(a.Face.Landmarks) != 5 || a.Face.Quality.FaceSide < DefaultMinFaceSide) {
				t.Errorf("Analyze(%s) landmarks %d, face side %d", tt.name, len(a.Face.Landmarks), a.Face.Quality.FaceSide)
			}
		})
	}

	t.Run("face too small", func(t *testing.T) {
		small, err := New(ctx, Config{ModelsDir: testModelsDir(t), Recognizers: 1, Limits: Limits{MinFaceSide: 200}})
		if err != nil {
			t.Fatal(err)
		}
		defer small.Close()
		a, err := small.Analyze(ctx, simm)
		if err != nil || a.Status != facematch.StatusFaceTooSmall || !strings.Contains(a.Detail, "minimum 200") {
			t.Fatalf("Analyze(150 px photo, min face 200) = %v %q, %v, want FACE_TOO_SMALL", a.Status, a.Detail, err)
		}
	})
}

func TestEnrollAndMatch(t *testing.T) {
	e := testEngine(t)
	ctx := context.Background()
	enroll := func(path string) facematch.Reference {
		t.Helper()
		en, err := e.Enroll(ctx, readFile(t, path))
		if err != nil {
			t.Fatalf("Enroll(%s) = %v", path, err)
		}
		if en.ModelHash != facematch.PinnedModelHash() {
			t.Fatalf("Enroll(%s).ModelHash = %s, want %s", path, en.ModelHash, facematch.PinnedModelHash())
		}
		return facematch.Reference{ID: filepath.Base(path), Descriptor: en.Descriptor, ModelHash: en.ModelHash}
	}
	refs := []facematch.Reference{
		enroll(johnsDir + "/John_Simm/000300_00470148.jpg"),
		enroll(johnsDir + "/John_Simm/000305_00470717.jpg"),
	}

	_, err := e.Enroll(ctx, encodeTestJPEG(t, noise(200, 200, 3)))
	var rej *facematch.RejectedError
	if !errors.As(err, &rej) || rej.Status != facematch.StatusNoFace {
		t.Errorf("Enroll(noise) = %v, want *facematch.RejectedError NO_FACE", err)
	}

	tests := []struct {
		name     string
		path     string
		decision facematch.Decision
	}{
		{"same person", johnsDir + "/John_Simm/000297_00470170.jpg", facematch.DecisionMatch},
		{"other person", johnsDir + "/John_Shimkus/000373_03228153.jpg", facematch.DecisionNoMatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := e.Match(ctx, readFile(t, tt.path), refs)
			if err != nil {
				t.Fatalf("Match(%s) = %v", tt.name, err)
			}
			if m.Decision != tt.decision || m.Status != facematch.StatusOK {
				t.Fatalf("Match(%s) = %v %v distance %.3f, want %v", tt.name, m.Status, m.Decision, m.Distance, tt.decision)
			}
			if len(m.References) != 2 || m.Distance != math.Min(m.References[0].Distance, m.References[1].Distance) {
				t.Errorf("Match(%s) distances %+v, best %.3f", tt.name, m.References, m.Distance)
			}
			if m.ModelHash != facematch.PinnedModelHash() || m.Threshold != facematch.DefaultThreshold || m.ExpectedFMR != nil {
				t.Errorf("Match(%s) = hash %s threshold %v fmr %v", tt.name, m.ModelHash, m.Threshold, m.ExpectedFMR)
			}
			if m.Timings.Recognize <= 0 || m.Timings.Total < m.Timings.Recognize {
				t.Errorf("Match(%s) timings %+v", tt.name, m.Timings)
			}
		})
	}

	t.Run("unusable capture", func(t *testing.T) {
		m, err := e.Match(ctx, encodeTestJPEG(t, noise(200, 200, 4)), refs)
		if err != nil || m.Decision != facematch.DecisionUnusable || m.Status != facematch.StatusNoFace || !math.IsInf(m.Distance, 1) {
			t.Fatalf("Match(noise) = %v %v %v, %v, want NO_FACE UNUSABLE", m.Status, m.Decision, m.Distance, err)
		}
	})
	t.Run("stale reference", func(t *testing.T) {
		stale := refs[0]
		stale.ModelHash = "old"
		_, err := e.Match(ctx, readFile(t, johnsDir+"/John_Simm/000297_00470170.jpg"), []facematch.Reference{stale})
		if !errors.Is(err, ErrStaleReference) {
			t.Fatalf("Match(stale ref) = %v, want ErrStaleReference", err)
		}
	})
}

// TestConcurrentMatches runs 32 concurrent checks (run with -race) and
// requires each to equal the serial result.
func TestConcurrentMatches(t *testing.T) {
	e := testEngine(t)
	ctx := context.Background()
	samples := testJohnsSamples(t)
	ref := facematch.Reference{ID: "ref", Descriptor: samples[0].Descriptor, ModelHash: e.ModelHash()}
	const n = 32
	var wg sync.WaitGroup
	results := make([]facematch.MatchResult, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.Match(ctx, readFile(t, samples[i].Path), []facematch.Reference{ref})
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("Match(%s) = %v", samples[i].Path, errs[i])
		}
		want := facematch.SquaredDistance(samples[i].Descriptor, ref.Descriptor)
		if got := results[i].Distance; math.Abs(got-want) > 1e-9 {
			t.Errorf("concurrent Match(%s).Distance = %v, want %v (serial)", samples[i].Path, got, want)
		}
	}
}

func TestCloseWaitsAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx, Config{ModelsDir: testModelsDir(t), Recognizers: 1})
	if err != nil {
		t.Fatal(err)
	}
	photo := readFile(t, johnsDir+"/John_Simm/000300_00470148.jpg")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.Analyze(ctx, photo)
		}()
	}
	closed := make(chan struct{})
	go func() {
		e.Close()
		close(closed)
	}()
	e.Close()
	<-closed
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Analyze %d during Close = %v, want nil or ErrClosed", i, err)
		}
	}
	if _, err := e.Analyze(ctx, photo); !errors.Is(err, ErrClosed) {
		t.Errorf("Analyze after Close = %v, want ErrClosed", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	e := testEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Hold every recognizer so Analyze must wait, then sees the context.
	var held []*goface.Recognizer
	for i := 0; i < cap(e.pool); i++ {
		held = append(held, <-e.pool)
	}
	_, err := e.Analyze(ctx, readFile(t, johnsDir+"/John_Simm/000300_00470148.jpg"))
	for _, r := range held {
		e.pool <- r
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Analyze(cancelled ctx, pool busy) = %v, want context.Canceled", err)
	}
}

func TestLogValueRedactsDescriptors(t *testing.T) {
	var buf strings.Builder
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := facematch.Descriptor{0.123456}
	log.Info("x", "desc", d, "ref", facematch.Reference{ID: "r", Descriptor: d}, "match", facematch.MatchResult{Descriptor: d},
		"enrol", facematch.Enrollment{Descriptor: d}, "face", Face{Descriptor: d})
	if strings.Contains(buf.String(), "0.123") {
		t.Errorf("log output shows a descriptor: %s", buf.String())
	}
}

// grayOf converts img to 8-bit gray: go-face cannot load gray JPEGs, so the
// gate must re-encode them in colour.
func grayOf(img image.Image) *image.Gray {
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return g
}
