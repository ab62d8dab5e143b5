package s3

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/evidencetest"
)

const benchSize = 200 << 20

// heapPeak samples the heap's live-object bytes until stopped and returns
// the peak above the level at start.
type heapPeak struct {
	stop chan struct{}
	done chan struct{}
	base uint64
	peak uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{}), done: make(chan struct{}), base: heapNow()}
	h.peak = h.base
	go func() {
		defer close(h.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
				h.peak = max(h.peak, heapNow())
			}
		}
	}()
	return h
}

// extra stops sampling and returns the peak extra bytes.
func (h *heapPeak) extra() uint64 {
	close(h.stop)
	<-h.done
	h.peak = max(h.peak, heapNow())
	return h.peak - h.base
}

// benchSetup starts MinIO (its drive in memory when /dev/shm exists, so the
// numbers compare client paths rather than the disk's write-back), opens a
// store on a new locked bucket, and writes a benchSize file generated from
// seed; it returns the store, the file and its SHA-256.
func benchSetup(b *testing.B, seed uint64) (*Store, string, string) {
	b.Helper()
	var opts []testenv.MinIOOption
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		opts = append(opts, testenv.WithDataIn("/dev/shm"))
	}
	m := testenv.MinIO(b, opts...)
	s := newTestStore(b, testConfig(m, newBucketName()))
	path := filepath.Join(b.TempDir(), "recording.webm")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, evidencetest.NewReader(seed, benchSize)); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return s, path, evidencetest.SumReader(seed, benchSize)
}

// BenchmarkArchiveLarge stores a 200 MB file through Store.Put and, as the
// baseline in the same run, through a raw minio-go PutObject into the same
// locked bucket. Read the throughput ratio store/raw and the peak-extra-MiB
// metric (the most the heap grew above its level before the upload).
//
//	go test -run '^$' -bench ArchiveLarge -benchtime 3x ./storage/s3
func BenchmarkArchiveLarge(b *testing.B) {
	s, path, sum := benchSetup(b, 200)
	ctx := context.Background()

	var mu sync.Mutex
	run := func(b *testing.B, name string, put func(i int, f *os.File) error) {
		mu.Lock()
		defer mu.Unlock()
		b.SetBytes(benchSize)
		b.ReportAllocs()
		var peak uint64
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			h := startHeapPeak()
			b.StartTimer()
			err = put(i, f)
			b.StopTimer()
			peak = max(peak, h.extra())
			f.Close()
			if err != nil {
				b.Fatalf("%s #%d: %v", name, i, err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-extra-MiB")
	}

	b.Run("raw", func(b *testing.B) {
		run(b, "raw PutObject", func(i int, f *os.File) error {
			_, err := s.client.PutObject(ctx, s.cfg.Bucket, fmt.Sprintf("raw/%d/%d", time.Now().UnixNano(), i), f, benchSize, minio.PutObjectOptions{ContentType: "video/webm"})
			return err
		})
	})
	for _, v := range []struct {
		name     string
		partSize int64
		parallel int
	}{
		{"store", 0, 0}, // the defaults
	} {
		b.Run(v.name, func(b *testing.B) {
			cfg := s.cfg
			cfg.PartSize, cfg.Parallel = v.partSize, v.parallel
			if v.partSize == 0 {
				cfg.PartSize, cfg.Parallel = DefaultPartSize, DefaultParallel
			}
			// A fresh store: its part buffers (at most PartSize*Parallel
			// bytes, kept for reuse) count as extra memory.
			st := newTestStore(b, cfg)
			run(b, "Store.Put", func(i int, f *os.File) error {
				key := fmt.Sprintf("cases/bench_%d_%d/%s/%s", time.Now().UnixNano(), i, models.EvidenceRecording, sum)
				info, err := st.Put(ctx, key, f, benchSize, sum, "video/webm")
				if err == nil && info.Mode != models.RetentionCompliance {
					err = fmt.Errorf("stored with mode %q", info.Mode)
				}
				return err
			})
		})
	}
}
