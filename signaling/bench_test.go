package signaling_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"remoteidv/internal/testenv"
	"remoteidv/signaling"
	"remoteidv/verify/facematch"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pace writes n frames at fps and returns when done.
func pace(ctx context.Context, tr *webrtc.TrackLocalStaticSample, frames [][]byte, n, fps int) {
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_ = tr.WriteSample(media.Sample{Data: frames[i%len(frames)], Duration: time.Second / time.Duration(fps)})
	}
}

// BenchmarkCapture measures the clerk's capture from click to face result
// (PLI, key frame rebuilt from RTP, VP8 decode, JPEG, face match, check and
// evidence stored) against the face match alone on the same frame.
func BenchmarkCapture(b *testing.B) {
	f := newFixture(b, signaling.Config{})
	src := source{ivf: testenv.VP8FromPhoto(b, testenv.JohnsPhoto(b, "John_Salley", 3), 2, 320), ogg: testenv.OpusTone(b, 2)}
	_, cu, cl, _ := f.newCall(0)
	customer, clerk := dial(b, cu, nil, src), dial(b, cl, nil, source{})
	defer customer.close("")
	defer clerk.close("")
	waitCount(b, "clerk video packets", clerk.videoIn.Load, 30, 20*time.Second)
	var e2e []time.Duration
	b.Run("click-to-result", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			start := time.Now()
			clerk.send(signaling.Message{Type: signaling.TypeCapture})
			res, ok := clerk.waitFor(signaling.TypeResult, 30*time.Second)
			if !ok || res.Result != "MATCH" {
				b.Fatalf("capture %d: %+v", i, res)
			}
			e2e = append(e2e, time.Since(start))
		}
		reportPercentiles(b, e2e)
	})
	b.Run("face-match-only", func(b *testing.B) {
		refs, err := f.svc.References(context.Background(), "6222333344445550")
		if err != nil {
			b.Fatal(err)
		}
		jpeg := keyFrameJPEG(b, src.ivf)
		var d []time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			if _, err := faceEngine(b).Match(context.Background(), jpeg, refs); err != nil {
				b.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		reportPercentiles(b, d)
	})
}

func reportPercentiles(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	p := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.95), "p95-ms")
}

// keyFrameJPEG decodes the first frame of an .ivf file (a key frame).
func keyFrameJPEG(b *testing.B, ivf string) []byte {
	b.Helper()
	j, err := signaling.DecodeKeyFrame(readIVF(b, ivf)[0])
	if err != nil {
		b.Fatal(err)
	}
	return j
}

// BenchmarkSessions runs n two-party calls at once (the customer sends about
// 1.5 Mbps of VP8 key frames plus Opus; recording on) for 4 s and reports
// the video loss at the clerks; the 1-call run is the baseline.
func BenchmarkSessions(b *testing.B) {
	frames := readIVF(b, testenv.VP8FromPhoto(b, testenv.JohnsPhoto(b, "John_Salley", 3), 1, 640))
	var keys [][]byte
	size := 0
	for _, fr := range frames {
		if fr[0]&1 == 0 {
			keys, size = append(keys, fr), size+len(fr)
		}
	}
	fps := max(1, 1_500_000/8/(size/len(keys)))
	ogg := testenv.OpusTone(b, 2)
	for _, n := range []int{1, 4, 8, 12, 16, 20} {
		b.Run(fmt.Sprintf("calls=%d", n), func(b *testing.B) {
			f := newFixture(b, signaling.Config{})
			type pair struct{ customer, clerk *testPeer }
			var pairs []pair
			for i := 0; i < n; i++ {
				_, cu, cl, _ := f.newCall(0)
				p := pair{dial(b, cu, nil, source{manual: true, ogg: ogg}), dial(b, cl, nil, source{})}
				pairs = append(pairs, p)
				defer p.clerk.close("")
				defer p.customer.close("")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			for _, p := range pairs {
				tr := <-p.customer.manual
				wg.Go(func() { pace(ctx, tr, keys, fps*4, fps) })
			}
			time.Sleep(time.Second) // connect
			for _, p := range pairs {
				p.clerk.seq.reset()
			}
			b.ResetTimer()
			wg.Wait()
			time.Sleep(300 * time.Millisecond)
			var got, want int64
			for _, p := range pairs {
				g, w := p.clerk.seq.loss()
				got, want = got+g, want+w
			}
			if want == 0 {
				b.Fatal("no video reached the clerks")
			}
			b.ReportMetric(100*float64(want-got)/float64(want), "loss-%")
			b.ReportMetric(float64(got)/float64(n), "pkts/call")
			b.ReportMetric(float64(size/len(keys))*8*float64(fps)/1e6, "Mbps/call")
		})
	}
}

// BenchmarkLivenessSample measures the server's CPU per liveness sample:
// decoding a 480x480 VP8 key frame and encoding it as JPEG (what sampling
// adds, about three times a second of the challenge), against the face
// analysis every sample then needs anyway (detection, landmarks,
// descriptor) on the same frame: the baseline the sampling's cost reads
// against.
func BenchmarkLivenessSample(b *testing.B) {
	ivf := testenv.VP8FromPhoto(b, testenv.JohnsPhoto(b, "John_Salley", 3), 1, 480)
	key := readIVF(b, ivf)[0]
	jpeg := keyFrameJPEG(b, ivf)
	b.Run("face-analysis", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if a, err := faceEngine(b).Analyze(context.Background(), jpeg); err != nil || a.Status != facematch.StatusOK {
				b.Fatalf("Analyze = %v, %v", a.Status, err)
			}
		}
	})
	b.Run("decode-key-frame", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := signaling.DecodeKeyFrame(key); err != nil {
				b.Fatal(err)
			}
		}
	})
}
