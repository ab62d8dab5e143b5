package face

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"runtime"
	"sync"
	"testing"
	"time"

	"remoteidv/verify/facematch"

	goface "github.com/Kagami/go-face"
)

// frame640 is a 640x480 JPEG like a video capture: a johns photo scaled
// to 300x300 on a soft gradient background.
func frame640(tb testing.TB) []byte {
	tb.Helper()
	face := decodeJPEG(tb, readFile(tb, simmCenter))
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			img.Set(x, y, color.RGBA{uint8(90 + x/8), uint8(100 + y/8), 120, 255})
		}
	}
	fb := face.Bounds()
	for y := 0; y < 300; y++ {
		for x := 0; x < 300; x++ {
			img.Set(170+x, 90+y, face.At(fb.Min.X+x*fb.Dx()/300, fb.Min.Y+y*fb.Dy()/300))
		}
	}
	return encodeTestJPEG(tb, img)
}

func benchEngine(b *testing.B, recognizers, blasThreads int) *Engine {
	b.Helper()
	e, err := New(context.Background(), Config{ModelsDir: testModelsDir(b), Recognizers: recognizers, BLASThreads: blasThreads})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

// BenchmarkCheck: (a) a full check of a 640x480 JPEG (gates, decode,
// re-encode, detection, descriptor, distances) against raw go-face
// RecognizeSingle on the same bytes. Target: check <= 1.3 x raw.
func BenchmarkCheck(b *testing.B) {
	frame := frame640(b)
	e := benchEngine(b, 1, runtime.NumCPU())
	en, err := e.Enroll(context.Background(), readFile(b, simmRef))
	if err != nil {
		b.Fatal(err)
	}
	refs := []facematch.Reference{{ID: "ref", Descriptor: en.Descriptor, ModelHash: en.ModelHash}}
	b.Run("baseline=gofaceRecognizeSingle", func(b *testing.B) {
		rec, err := goface.NewRecognizer(e.models.Dir)
		if err != nil {
			b.Fatal(err)
		}
		defer rec.Close()
		b.ReportAllocs()
		for b.Loop() {
			f, err := rec.RecognizeSingle(frame)
			if err != nil || f == nil {
				b.Fatalf("RecognizeSingle = %v, %v", f, err)
			}
		}
	})
	b.Run("engineMatch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := e.Match(context.Background(), frame, refs)
			if err != nil || m.Decision != facematch.DecisionMatch {
				b.Fatalf("Match = %v %v, %v", m.Status, m.Decision, err)
			}
		}
	})
	// Alternating the two in one loop cancels drifts in machine load;
	// the ratio metric is engine time over raw time.
	b.Run("interleaved", func(b *testing.B) {
		rec, err := goface.NewRecognizer(e.models.Dir)
		if err != nil {
			b.Fatal(err)
		}
		defer rec.Close()
		b.ReportAllocs()
		var raw, full time.Duration
		for b.Loop() {
			t0 := time.Now()
			if f, err := rec.RecognizeSingle(frame); err != nil || f == nil {
				b.Fatalf("RecognizeSingle = %v, %v", f, err)
			}
			t1 := time.Now()
			if m, err := e.Match(context.Background(), frame, refs); err != nil || m.Decision != facematch.DecisionMatch {
				b.Fatalf("Match = %v %v, %v", m.Status, m.Decision, err)
			}
			raw, full = raw+t1.Sub(t0), full+time.Since(t1)
		}
		b.ReportMetric(full.Seconds()/raw.Seconds(), "ratio")
		b.ReportMetric(float64(raw.Milliseconds())/float64(b.N), "raw-ms/op")
		b.ReportMetric(float64(full.Milliseconds())/float64(b.N), "check-ms/op")
	})
	b.Run("gateOnly", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, st, _ := Gate(frame, Limits{}); st != facematch.StatusOK {
				b.Fatal(st)
			}
		}
	})
}

// BenchmarkPool: (b) throughput of a batch of 16 concurrent checks with
// one recognizer per core against one recognizer (same BLAS threads:
// one). Reported as checks/s. Target: >= 1.7 x on 2 cores.
func BenchmarkPool(b *testing.B) {
	frame := frame640(b)
	const batch = 16
	cases := []struct {
		name              string
		recognizers, blas int
	}{
		{"baseline=1recognizer_blas1", 1, 1},
		{"1recognizer_blasAllCores", 1, runtime.NumCPU()},
		{fmt.Sprintf("%drecognizers_blas1", runtime.NumCPU()), runtime.NumCPU(), 1},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := benchEngine(b, c.recognizers, c.blas)
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				for i := 0; i < batch; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						a, err := e.Analyze(context.Background(), frame)
						if err != nil || a.Status != facematch.StatusOK {
							b.Errorf("Analyze = %v, %v", a.Status, err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "checks/s")
		})
	}
}

// BenchmarkPoolInterleaved alternates one batch on a one-recognizer
// engine with one batch on a one-per-core engine (OpenBLAS at 1 thread
// for both), so drifts in machine load hit both; speedup is the ratio of
// their times.
func BenchmarkPoolInterleaved(b *testing.B) {
	frame := frame640(b)
	const batch = 16
	one := benchEngine(b, 1, 1)
	all := benchEngine(b, runtime.NumCPU(), 1)
	run := func(e *Engine) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for i := 0; i < batch; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if a, err := e.Analyze(context.Background(), frame); err != nil || a.Status != facematch.StatusOK {
					b.Errorf("Analyze = %v, %v", a.Status, err)
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	b.ReportAllocs()
	var tOne, tAll time.Duration
	for b.Loop() {
		tOne += run(one)
		tAll += run(all)
	}
	b.ReportMetric(tOne.Seconds()/tAll.Seconds(), "speedup")
	b.ReportMetric(float64(b.N*batch)/tOne.Seconds(), "checks/s-1rec")
	b.ReportMetric(float64(b.N*batch)/tAll.Seconds(), "checks/s-pool")
}

// descriptorGFLOP is the cost of one pass of dlib's ResNet (29 conv
// layers on a 150x150 chip).
const descriptorGFLOP = 0.51

// BenchmarkDescriptor: (c) the descriptor step alone as GFLOP/s. go-face
// has no descriptor-only call, so on a two-face image the baseline
// RecognizeSingle (which stops after detection when it sees two faces)
// is subtracted from Recognize (detection, then landmarks and a
// descriptor per face).
func BenchmarkDescriptor(b *testing.B) {
	two := encodeTestJPEG(b, side(decodeJPEG(b, readFile(b, simmCenter)), decodeJPEG(b, readFile(b, simmRef))))
	for _, threads := range []int{1, runtime.NumCPU()} {
		b.Run(fmt.Sprintf("blas%d", threads), func(b *testing.B) {
			e := benchEngine(b, 1, threads)
			rec := <-e.pool
			defer func() { e.pool <- rec }()
			var detect time.Duration
			b.Run("baseline=detectOnly", func(b *testing.B) {
				b.ReportAllocs()
				start := time.Now()
				for b.Loop() {
					if f, err := rec.RecognizeSingle(two); err != nil || f != nil {
						b.Fatalf("RecognizeSingle(two faces) = %v, %v", f, err)
					}
				}
				detect = time.Since(start) / time.Duration(b.N)
			})
			b.Run("detect+2descriptors", func(b *testing.B) {
				b.ReportAllocs()
				start := time.Now()
				for b.Loop() {
					if f, err := rec.Recognize(two); err != nil || len(f) != 2 {
						b.Fatalf("Recognize(two faces) = %d, %v", len(f), err)
					}
				}
				per := (time.Since(start)/time.Duration(b.N) - detect) / 2
				b.ReportMetric(float64(per.Microseconds())/1000, "ms/descriptor")
				b.ReportMetric(descriptorGFLOP/per.Seconds(), "GFLOP/s")
			})
		})
	}
}
