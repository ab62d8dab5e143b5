package s3

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/verify/verifytest"
)

// haltAfter stops MinIO right after the k-th successful Put.
type haltAfter struct {
	models.EvidenceStore
	m    *testenv.MinIOServer
	k    int64
	ok   atomic.Int64
	once sync.Once
}

func (s *haltAfter) Put(ctx context.Context, key string, r io.Reader, size int64, sum, ct string) (models.ObjectInfo, error) {
	info, err := s.EvidenceStore.Put(ctx, key, r, size, sum, ct)
	if err == nil && s.ok.Add(1) == s.k {
		s.once.Do(s.m.Stop)
	}
	return info, err
}

func fastArchiver(t *testing.T, db models.Store, store models.EvidenceStore, owner string, workers int) *archiver.Archiver {
	t.Helper()
	a, err := archiver.New(db, store, archiver.Config{Owner: owner, Workers: workers, Rand: rand.Reader, Lease: time.Second,
		Poll: 20 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func wantOneVersion(t *testing.T, c *minio.Client, bucket string, items []*models.Evidence) {
	t.Helper()
	for _, it := range items {
		if vs := listVersions(t, c, bucket, it.Key); len(vs) != 1 {
			t.Errorf("versions of %s in MinIO = %d, want exactly 1", it.Key, len(vs))
		}
	}
}

func approve(t *testing.T, db models.Store, id models.CaseID) {
	t.Helper()
	ctx := context.Background()
	err := db.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		c.State = models.StateApproved // approval belongs to a later issue
		return tx.UpdateCase(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// MinIO stops after k of n uploads (the k-th one stored but not yet read
// back): the remaining jobs fail and retry, the case cannot seal and its
// statement stays locked; once MinIO is back every item lands exactly
// once (the k-th is only confirmed), verified, and the case seals. Stopping
// MinIO again locks the statement again.
func TestArchiverMinIOOutage(t *testing.T) {
	m := testenv.MinIO(t)
	const n, k = 6, 2
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			db := d.Open(t)
			cfg := testConfig(m, newBucketName())
			cfg.MaxRetries = 1
			store := newTestStore(t, cfg)
			st, err := archiver.NewStager(filepath.Join(t.TempDir(), "staging"), time.Now, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			_, key, _ := ed25519.GenerateKey(rand.Reader)
			svc := verifytest.New(t, verifytest.Options{Store: db, Stager: st, Evidence: store, Key: key}).Service
			c := archivertest.SeedCase(t, db, models.StateInSession)
			items := archivertest.Stage(t, db, st, c.ID, models.EvidenceCapture, n, 256<<10, 40)
			approve(t, db, c.ID)

			a := fastArchiver(t, db, &haltAfter{EvidenceStore: store, m: m, k: k}, "outage", 1)
			a.Start()
			deadline := time.Now().Add(30 * time.Second)
			for {
				failed, done := 0, 0
				for _, it := range archivertest.Items(t, db, c.ID) {
					if it.ArchivedAt != nil {
						done++
					} else if it.Attempts >= 2 {
						failed++
					}
				}
				if done == k-1 && failed > 0 {
					break
				}
				if done >= k || time.Now().After(deadline) {
					m.Start()
					t.Fatalf("with MinIO stopped after %d uploads: %d archived, %d retried; want %d archived and retries", k, done, failed, k-1)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if _, err := svc.Seal(ctx, c.ID); models.ErrorCodeOf(err) != models.EPRECONDITION {
				t.Errorf("Seal(during outage) = %v, want EPRECONDITION", err)
			}
			if err := svc.SealedAndVerified(ctx, c.ID); err == nil {
				t.Error("SealedAndVerified(during outage) = nil, want the statement locked")
			}
			m.Start()
			archivertest.WaitArchived(t, db, c.ID, 60*time.Second)
			wantOneVersion(t, store.client, cfg.Bucket, items)
			if _, err := svc.Seal(ctx, c.ID); err != nil {
				t.Fatalf("Seal(after recovery) = %v", err)
			}
			if err := svc.SealedAndVerified(ctx, c.ID); err != nil {
				t.Fatalf("SealedAndVerified(after recovery) = %v", err)
			}
			for _, it := range archivertest.Items(t, db, c.ID) {
				if it.Kind == models.EvidenceManifest {
					continue
				}
				info, err := store.Stat(ctx, it.Key)
				if err != nil || info.Mode != models.RetentionCompliance || info.VersionID != it.VersionID {
					t.Errorf("Stat(%s) = %+v, %v; want COMPLIANCE, version %s", it.Key, info, err, it.VersionID)
				}
			}
			m.Stop()
			err = svc.SealedAndVerified(ctx, c.ID)
			m.Start()
			if models.ErrorCodeOf(err) != models.EUNAVAILABLE {
				t.Errorf("SealedAndVerified(MinIO stopped) = %v, want EUNAVAILABLE (statement locked)", err)
			}
			if err := svc.SealedAndVerified(ctx, c.ID); err != nil {
				t.Errorf("SealedAndVerified(MinIO back) = %v", err)
			}
		})
	}
}

// A process dies after committing (and claiming) its rows; two fresh
// archivers, as two processes, share the queue: every item lands exactly
// once.
func TestArchiverCrashAndTwoProcesses(t *testing.T) {
	m := testenv.MinIO(t)
	for _, d := range archivertest.Databases() {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			db := d.Open(t)
			cfg := testConfig(m, newBucketName())
			store := newTestStore(t, cfg)
			st, err := archiver.NewStager(filepath.Join(t.TempDir(), "staging"), time.Now, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			c := archivertest.SeedCase(t, db, models.StateInSession)
			items := archivertest.Stage(t, db, st, c.ID, models.EvidenceCapture, 10, 128<<10, 70)
			err = db.Transact(ctx, func(tx models.Tx) error {
				_, err := tx.ClaimEvidence(ctx, "killed/0", time.Now(), time.Now().Add(time.Second), 4)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			a1 := fastArchiver(t, db, store, "proc1", 2)
			a2 := fastArchiver(t, db, store, "proc2", 2)
			a1.Start()
			a2.Start()
			archivertest.WaitArchived(t, db, c.ID, 60*time.Second)
			wantOneVersion(t, store.client, cfg.Bucket, items)
			for _, it := range items {
				if _, err := os.Stat(it.Staged); !os.IsNotExist(err) {
					t.Errorf("staged %s not removed (%v)", it.Staged, err)
				}
			}
		})
	}
}

// BenchmarkArchiverLarge archives a 200 MB staged recording through the
// archiver (claim, HEAD, streamed PUT, read-back, mark archived) and, as the
// baseline in the same run, a raw minio-go PutObject of the same file into
// the same locked bucket. Read the throughput ratio archiver/raw and the
// peak-extra-MiB metric.
//
//	go test -run '^$' -bench ArchiverLarge -benchtime 3x ./storage/s3
func BenchmarkArchiverLarge(b *testing.B) {
	s, path, sum := benchSetup(b, 201)
	ctx := context.Background()
	db := archivertest.Databases()[0].Open(b)

	b.Run("raw", func(b *testing.B) {
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
			_, err = s.client.PutObject(ctx, s.cfg.Bucket, fmt.Sprintf("raw/%d/%d", time.Now().UnixNano(), i), f, benchSize, minio.PutObjectOptions{ContentType: "video/webm"})
			b.StopTimer()
			peak = max(peak, h.extra())
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-extra-MiB")
	})
	b.Run("archiver", func(b *testing.B) {
		st := newTestStore(b, s.cfg) // fresh part buffers count as extra memory
		a, err := archiver.New(db, st, archiver.Config{Owner: "bench", Rand: rand.Reader}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close()
		b.SetBytes(benchSize)
		b.ReportAllocs()
		var peak uint64
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			c := archivertest.SeedCase(b, db, models.StateInSession)
			staged := filepath.Join(filepath.Dir(path), fmt.Sprintf("staged-%d", i))
			if err := os.Link(path, staged); err != nil { // the archiver removes it
				b.Fatal(err)
			}
			key, _ := models.EvidenceKey(c.ID, models.EvidenceRecording, sum)
			now := time.Now().UTC()
			e := &models.Evidence{ID: models.EvidenceID(fmt.Sprintf("evd_bench%d", i)), CaseID: c.ID, Kind: models.EvidenceRecording, Key: key, SHA256: sum,
				Size: benchSize, ContentType: "video/webm", Actor: "system", CreatedAt: now, Staged: staged, NextAttemptAt: now}
			if err := db.Transact(ctx, func(tx models.Tx) error { return tx.AddEvidence(ctx, e) }); err != nil {
				b.Fatal(err)
			}
			h := startHeapPeak()
			b.StartTimer()
			n, err := a.Drain(ctx, "bench/0")
			b.StopTimer()
			peak = max(peak, h.extra())
			if err != nil || n != 1 {
				b.Fatalf("Drain = %d, %v", n, err)
			}
			if got := archivertest.Items(b, db, c.ID); got[0].ArchivedAt == nil {
				b.Fatalf("not archived: %s", got[0].LastError)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-extra-MiB")
	})
}
