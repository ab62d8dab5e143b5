package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/storage/evidencetest"
)

// testRetention is short on purpose: COMPLIANCE retention cannot be lifted,
// and the MinIO data folder is temporary anyway.
const testRetention = 24 * time.Hour

var bucketSeq atomic.Int64

func newBucketName() string {
	return fmt.Sprintf("evidence-%d-%d", time.Now().UnixNano()%1e6, bucketSeq.Add(1))
}

func testConfig(m *testenv.MinIOServer, bucket string) Config {
	return Config{
		Endpoint:        m.Endpoint,
		Bucket:          bucket,
		AccessKey:       m.AccessKey,
		SecretKey:       m.SecretKey,
		RetentionPeriod: testRetention,
		MaxRetries:      2,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newTestStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New(%s) = %v", cfg, err)
	}
	return s
}

// rootClient is a minio-go client with MinIO's root credentials, to try
// what the store never does.
func rootClient(t testing.TB, m *testenv.MinIOServer) *minio.Client {
	t.Helper()
	s := newTestStore(t, testConfig(m, newBucketName()))
	return s.client
}

func TestConformance(t *testing.T) {
	m := testenv.MinIO(t)
	evidencetest.Run(t, func(t *testing.T) models.EvidenceStore {
		return newTestStore(t, testConfig(m, newBucketName()))
	})
}

func putBytes(t *testing.T, s *Store, key string, body []byte) models.ObjectInfo {
	t.Helper()
	info, err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), evidencetest.Sum(body), "application/octet-stream")
	if err != nil {
		t.Fatalf("Put(%s) = %v", key, err)
	}
	return info
}

func getVersion(t *testing.T, c *minio.Client, bucket, key, versionID string) []byte {
	t.Helper()
	obj, err := c.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		t.Fatalf("GetObject(%s, version %s) = %v", key, versionID, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("GetObject(%s, version %s): read = %v", key, versionID, err)
	}
	return b
}

func listVersions(t *testing.T, c *minio.Client, bucket, key string) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for oi := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if oi.Err != nil {
			t.Fatalf("ListObjects(%s) = %v", key, oi.Err)
		}
		out = append(out, oi)
	}
	return out
}

func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s = nil error, want AccessDenied", what)
		return
	}
	switch code := minio.ToErrorResponse(err).Code; code {
	case "AccessDenied", "InvalidRequest", "XMinioAdminInvalidArgument":
		t.Logf("%s refused: %v", what, err)
	default:
		t.Errorf("%s = %v (code %q), want AccessDenied", what, err, code)
	}
}

// TestLockIsReal proves, with MinIO's root credentials, that stored evidence
// cannot be removed, shortened or replaced.
func TestLockIsReal(t *testing.T) {
	m := testenv.MinIO(t)
	now := time.Now().UTC().Truncate(time.Second)
	cfg := testConfig(m, newBucketName())
	cfg.Now = func() time.Time { return now }
	s := newTestStore(t, cfg)
	root := s.client // root credentials
	ctx := context.Background()
	bucket := cfg.Bucket

	body := evidencetest.Bytes(1, 4096)
	key := evidencetest.Key(t, "case_lock", models.EvidenceRecording, evidencetest.Sum(body))
	info := putBytes(t, s, key, body)
	if info.Mode != models.RetentionCompliance || !info.RetainUntil.Equal(now.Add(testRetention)) || info.VersionID == "" {
		t.Fatalf("Put() = mode %q, retain until %v, version %q, want COMPLIANCE, %v, a version", info.Mode, info.RetainUntil, info.VersionID, now.Add(testRetention))
	}

	t.Run("delete version", func(t *testing.T) {
		err := root.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID})
		wantRefused(t, "RemoveObject(locked version)", err)
		err = root.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
		wantRefused(t, "RemoveObject(locked version, governance bypass)", err)
		err = root.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID, ForceDelete: true})
		wantRefused(t, "RemoveObject(locked version, force delete)", err)
	})

	t.Run("shorten retention", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			mode   minio.RetentionMode
			until  time.Time
			bypass bool
		}{
			{"earlier", minio.Compliance, now.Add(time.Hour), false},
			{"earlier with bypass", minio.Compliance, now.Add(time.Hour), true},
			{"governance", minio.Governance, now.Add(testRetention), false},
			{"governance with bypass", minio.Governance, now.Add(time.Hour), true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := root.PutObjectRetention(ctx, bucket, key, minio.PutObjectRetentionOptions{
					VersionID: info.VersionID, Mode: &tt.mode, RetainUntilDate: &tt.until, GovernanceBypass: tt.bypass,
				})
				wantRefused(t, fmt.Sprintf("PutObjectRetention(%s until %v, bypass %t)", tt.mode, tt.until, tt.bypass), err)
			})
		}
		got, err := s.Stat(ctx, key)
		if err != nil || !got.RetainUntil.Equal(info.RetainUntil) || got.Mode != models.RetentionCompliance {
			t.Errorf("Stat() after attempts = %+v, %v, want retention unchanged", got, err)
		}
	})

	t.Run("overwrite", func(t *testing.T) {
		other := []byte("forged recording")
		up, err := root.PutObject(ctx, bucket, key, bytes.NewReader(other), int64(len(other)), minio.PutObjectOptions{SendContentMd5: true})
		if err != nil {
			t.Fatalf("PutObject(overwrite) = %v", err)
		}
		if up.VersionID == info.VersionID {
			t.Fatalf("overwrite version = %q, the original's; want a new version", up.VersionID)
		}
		if got := getVersion(t, root, bucket, key, info.VersionID); !bytes.Equal(got, body) {
			t.Errorf("original version after overwrite = %d bytes (sha256 %s), want unchanged", len(got), evidencetest.Sum(got))
		}
		// The store notices the foreign version and refuses to treat it
		// as evidence.
		if _, err := s.Stat(ctx, key); models.ErrorCodeOf(err) != models.ECONFLICT {
			t.Errorf("Stat(overwritten key) = %v, want kind %q", err, models.ECONFLICT)
		}
		// The forged version is itself locked by the bucket default.
		err = root.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: up.VersionID})
		wantRefused(t, "RemoveObject(forged version)", err)
	})

	t.Run("unversioned delete", func(t *testing.T) {
		if err := root.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatalf("RemoveObject(no version) = %v, want a delete marker", err)
		}
		if _, err := s.Stat(ctx, key); models.ErrorCodeOf(err) != models.ENOTFOUND {
			t.Errorf("Stat(after delete marker) = %v, want kind %q", err, models.ENOTFOUND)
		}
		var markers, versions int
		for _, v := range listVersions(t, root, bucket, key) {
			if v.IsDeleteMarker {
				markers++
			} else {
				versions++
			}
		}
		if markers != 1 || versions != 2 {
			t.Errorf("versions of %s = %d delete markers, %d versions, want 1, 2", key, markers, versions)
		}
		if got := getVersion(t, root, bucket, key, info.VersionID); !bytes.Equal(got, body) {
			t.Errorf("original version after delete marker = %d bytes, want unchanged", len(got))
		}
	})
}

func TestLegalHoldOnServer(t *testing.T) {
	m := testenv.MinIO(t)
	s := newTestStore(t, testConfig(m, newBucketName()))
	ctx := context.Background()
	body := []byte("approval")
	key := evidencetest.Key(t, "case_hold", models.EvidenceApproval, evidencetest.Sum(body))
	info := putBytes(t, s, key, body)
	if err := s.SetLegalHold(ctx, key, true); err != nil {
		t.Fatalf("SetLegalHold(on) = %v", err)
	}
	st, err := s.client.GetObjectLegalHold(ctx, s.cfg.Bucket, key, minio.GetObjectLegalHoldOptions{VersionID: info.VersionID})
	if err != nil || st == nil || *st != minio.LegalHoldEnabled {
		t.Errorf("GetObjectLegalHold() = %v, %v, want ON", st, err)
	}
	err = s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
	wantRefused(t, "RemoveObject(held version)", err)
}

func TestStartup(t *testing.T) {
	m := testenv.MinIO(t)
	root := rootClient(t, m)
	ctx := context.Background()
	compliance, governance := minio.Compliance, minio.Governance
	one, three, days := uint(1), uint(3), minio.Days

	tests := []struct {
		name          string
		prepare       func(t *testing.T, bucket string) // nil: bucket missing
		allowUnlocked bool
		wantErr       models.ErrorCode
		wantLocked    bool
		wantWarning   string
	}{
		{name: "missing bucket is created locked", wantLocked: true},
		{name: "plain bucket refused", prepare: func(t *testing.T, b string) {
			if err := root.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
		}, wantErr: models.EPRECONDITION},
		{name: "governance bucket refused", prepare: func(t *testing.T, b string) {
			if err := root.MakeBucket(ctx, b, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
				t.Fatal(err)
			}
			if err := root.SetObjectLockConfig(ctx, b, &governance, &one, &days); err != nil {
				t.Fatal(err)
			}
		}, wantErr: models.EPRECONDITION},
		{name: "plain bucket allowed unlocked", prepare: func(t *testing.T, b string) {
			if err := root.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
		}, allowUnlocked: true, wantWarning: "NO object lock"},
		{name: "governance bucket allowed unlocked", prepare: func(t *testing.T, b string) {
			if err := root.MakeBucket(ctx, b, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
				t.Fatal(err)
			}
			if err := root.SetObjectLockConfig(ctx, b, &governance, &one, &days); err != nil {
				t.Fatal(err)
			}
		}, allowUnlocked: true, wantLocked: true, wantWarning: "GOVERNANCE"},
		{name: "locked bucket gets configured default", prepare: func(t *testing.T, b string) {
			if err := root.MakeBucket(ctx, b, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
				t.Fatal(err)
			}
			if err := root.SetObjectLockConfig(ctx, b, &compliance, &three, &days); err != nil {
				t.Fatal(err)
			}
		}, wantLocked: true},
		{name: "locked bucket without default", prepare: func(t *testing.T, b string) {
			if err := root.MakeBucket(ctx, b, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
				t.Fatal(err)
			}
		}, wantLocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := newBucketName()
			if tt.prepare != nil {
				tt.prepare(t, bucket)
			}
			cfg := testConfig(m, bucket)
			cfg.AllowUnlocked = tt.allowUnlocked
			var logs bytes.Buffer
			s, err := New(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if got := models.ErrorCodeOf(err); got != tt.wantErr {
				t.Fatalf("New(%s) = %v (kind %q), want kind %q", tt.name, err, got, tt.wantErr)
			}
			if err != nil {
				t.Logf("New() = %v", err)
				return
			}
			if s.Locked() != tt.wantLocked {
				t.Errorf("New().Locked() = %t, want %t", s.Locked(), tt.wantLocked)
			}
			if !strings.Contains(logs.String(), tt.wantWarning) || (tt.wantWarning != "" && !strings.Contains(logs.String(), "level=WARN")) {
				t.Errorf("New() logs = %q, want a warning containing %q", logs.String(), tt.wantWarning)
			}
			if tt.wantLocked {
				enabled, mode, validity, unit, err := root.GetObjectLockConfig(ctx, bucket)
				if err != nil || enabled != "Enabled" || mode == nil || *mode != minio.Compliance || validity == nil || *validity != 1 || unit == nil || *unit != minio.Days {
					t.Errorf("GetObjectLockConfig() = %q %v %v %v %v, want Enabled COMPLIANCE 1 DAYS", enabled, deref(mode), deref(validity), deref(unit), err)
				}
			}
			// The store works, with retention exactly when locked.
			body := []byte(tt.name)
			key := evidencetest.Key(t, "case_start", models.EvidenceCheck, evidencetest.Sum(body))
			info := putBytes(t, s, key, body)
			if locked := info.Mode == models.RetentionCompliance; locked != tt.wantLocked {
				t.Errorf("Put().Mode = %q, want locked %t", info.Mode, tt.wantLocked)
			}
			if err := s.Check(ctx); err != nil {
				t.Errorf("Check() = %v", err)
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Endpoint: "127.0.0.1:9000", Bucket: "b", AccessKey: "a", SecretKey: "s"}
	tests := []struct {
		name   string
		change func(*Config)
		want   models.ErrorCode
	}{
		{"defaults", func(*Config) {}, ""},
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, models.EINVALID},
		{"no bucket", func(c *Config) { c.Bucket = "" }, models.EINVALID},
		{"no secret", func(c *Config) { c.SecretKey = "" }, models.EINVALID},
		{"governance", func(c *Config) { c.RetentionMode = models.RetentionGovernance }, models.EINVALID},
		{"governance allowed", func(c *Config) { c.RetentionMode = models.RetentionGovernance; c.AllowUnlocked = true }, ""},
		{"bad mode", func(c *Config) { c.RetentionMode = "FOREVER" }, models.EINVALID},
		{"partial day", func(c *Config) { c.RetentionPeriod = 36 * time.Hour }, models.EINVALID},
		{"negative", func(c *Config) { c.RetentionPeriod = -24 * time.Hour }, models.EINVALID},
		{"bad sse", func(c *Config) { c.SSE = "sse-c" }, models.EINVALID},
		{"sse-s3", func(c *Config) { c.SSE = SSES3 }, ""},
		{"sse-kms", func(c *Config) { c.SSE = SSEKMS; c.KMSKey = "k" }, ""},
		{"sse-kms without key", func(c *Config) { c.SSE = SSEKMS }, models.EINVALID},
		{"key without sse-kms", func(c *Config) { c.KMSKey = "k" }, models.EINVALID},
		{"small parts", func(c *Config) { c.PartSize = 1 << 20 }, models.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			if got := models.ErrorCodeOf(c.Validate()); got != tt.want {
				t.Errorf("Validate(%s) = %v, want kind %q", tt.name, c.Validate(), tt.want)
			}
		})
	}
	d := ok.withDefaults()
	if d.RetentionMode != models.RetentionCompliance || d.RetentionPeriod != 5*365*24*time.Hour || d.SSE != SSES3 {
		t.Errorf("withDefaults() = %v %v %v, want COMPLIANCE, 5y, sse-s3", d.RetentionMode, d.RetentionPeriod, d.SSE)
	}
	if s := fmt.Sprint(slog.AnyValue(Config{SecretKey: "hunter2"}).Resolve()); strings.Contains(s, "hunter2") {
		t.Errorf("Config.LogValue() = %s, shows the secret", s)
	}
}

// wireLog records the object-writing requests the store sends and can
// corrupt one byte of one body, like a faulty proxy.
type wireLog struct {
	base      http.RoundTripper
	mu        sync.Mutex
	puts      []http.Header
	corruptAt int // corrupt the body of the n-th PUT carrying data (1-based); 0: never
}

func (w *wireLog) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && req.ContentLength > 0 && !req.URL.Query().Has("legal-hold") && !req.URL.Query().Has("retention") && !req.URL.Query().Has("object-lock") && !req.URL.Query().Has("encryption") {
		w.mu.Lock()
		w.puts = append(w.puts, req.Header.Clone())
		n := len(w.puts)
		w.mu.Unlock()
		if n == w.corruptAt {
			req = req.Clone(req.Context())
			req.Body = &flipReader{r: req.Body, at: req.ContentLength / 2}
		}
	}
	return w.base.RoundTrip(req)
}

type flipReader struct {
	r   io.ReadCloser
	at  int64
	off int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0x01
	}
	f.off += int64(n)
	return n, err
}

func (f *flipReader) Close() error { return f.r.Close() }

func newWireStore(t *testing.T, m *testenv.MinIOServer, corruptAt int) (*Store, *wireLog) {
	t.Helper()
	base, err := minio.DefaultTransport(false)
	if err != nil {
		t.Fatal(err)
	}
	w := &wireLog{base: base, corruptAt: corruptAt}
	cfg := testConfig(m, newBucketName())
	cfg.Transport = w
	cfg.PartSize = minPartSize
	cfg.MaxRetries = 1
	return newTestStore(t, cfg), w
}

// TestChecksumOnEveryPut checks the wire: every PUT carrying data has a
// SHA-256 checksum header and a signed payload hash, and retention headers
// on object creation.
func TestChecksumOnEveryPut(t *testing.T) {
	m := testenv.MinIO(t)
	s, w := newWireStore(t, m, 0)
	small := evidencetest.Bytes(3, 1000)
	large := evidencetest.Bytes(4, 2*minPartSize+7)
	for _, body := range [][]byte{small, large} {
		putBytes(t, s, evidencetest.Key(t, "case_wire", models.EvidenceCapture, evidencetest.Sum(body)), body)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.puts) != 4 { // one single PUT, three parts
		t.Errorf("data PUTs = %d, want 4", len(w.puts))
	}
	for i, h := range w.puts {
		if len(h.Get("X-Amz-Checksum-Sha256")) != 44 || !strings.Contains(h.Get("Authorization"), "x-amz-checksum-sha256") {
			t.Errorf("PUT #%d headers: checksum %q, authorization %q, want a signed SHA-256 checksum", i, h.Get("X-Amz-Checksum-Sha256"), h.Get("Authorization"))
		}
	}
	// The single PUT also signs the expected SHA-256 as its payload hash.
	if got := w.puts[0].Get("X-Amz-Content-Sha256"); got != evidencetest.Sum(small) {
		t.Errorf("single PUT X-Amz-Content-Sha256 = %q, want %s", got, evidencetest.Sum(small))
	}
	if h := w.puts[0]; h.Get("X-Amz-Object-Lock-Mode") != "COMPLIANCE" || h.Get("X-Amz-Object-Lock-Retain-Until-Date") == "" || h.Get("X-Amz-Meta-Sha256") != evidencetest.Sum(small) || h.Get("If-None-Match") != "*" {
		t.Errorf("single PUT headers = %v, want lock mode, retain-until, sha256 metadata, If-None-Match", h)
	}
}

// TestCorruptedOnTheWire: a byte flipped between the store and the server
// (a faulty proxy) is rejected by the server's checksum check, and nothing
// is kept.
func TestCorruptedOnTheWire(t *testing.T) {
	m := testenv.MinIO(t)
	for _, tt := range []struct {
		name      string
		size      int
		corruptAt int
	}{
		{"single put", 100 << 10, 1},
		{"second part", 3*minPartSize - 5, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newWireStore(t, m, tt.corruptAt)
			body := evidencetest.Bytes(5, tt.size)
			key := evidencetest.Key(t, "case_wire", models.EvidenceRecording, evidencetest.Sum(body))
			_, err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), evidencetest.Sum(body), "video/webm")
			if code := models.ErrorCodeOf(err); code != models.EINVALID {
				t.Errorf("Put(corrupted on the wire) = %v (kind %q), want kind %q", err, code, models.EINVALID)
			}
			if _, err := s.Stat(context.Background(), key); models.ErrorCodeOf(err) != models.ENOTFOUND {
				t.Errorf("Stat() after rejected put = %v, want kind %q", err, models.ENOTFOUND)
			}
			if v := listVersions(t, s.client, s.cfg.Bucket, key); len(v) != 0 {
				t.Errorf("versions after rejected put = %d, want 0", len(v))
			}
			ups, err := s.core.ListMultipartUploads(context.Background(), s.cfg.Bucket, key, "", "", "", 10)
			if err != nil || len(ups.Uploads) != 0 {
				t.Errorf("ListMultipartUploads() = %d uploads, %v, want none left", len(ups.Uploads), err)
			}
			// A clean retry succeeds.
			putBytes(t, s, key, body)
		})
	}
}

// TestAbortOnBadBody: a multipart Put whose body fails the hash leaves no
// object and no pending upload.
func TestAbortOnBadBody(t *testing.T) {
	m := testenv.MinIO(t)
	cfg := testConfig(m, newBucketName())
	cfg.PartSize = minPartSize
	s := newTestStore(t, cfg)
	body := evidencetest.Bytes(6, 3*minPartSize)
	sum := evidencetest.Sum(body)
	body[len(body)-1] ^= 1
	key := evidencetest.Key(t, "case_abort", models.EvidenceRecording, sum)
	_, err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), sum, "video/webm")
	if models.ErrorCodeOf(err) != models.EINVALID {
		t.Fatalf("Put(bad body) = %v, want kind %q", err, models.EINVALID)
	}
	ups, err := s.core.ListMultipartUploads(context.Background(), cfg.Bucket, key, "", "", "", 10)
	if err != nil || len(ups.Uploads) != 0 {
		t.Errorf("ListMultipartUploads() = %d uploads, %v, want none left", len(ups.Uploads), err)
	}
}

// TestOneVersionAcrossProcesses: two stores (as two processes) racing on
// one key leave exactly one version.
func TestOneVersionAcrossProcesses(t *testing.T) {
	m := testenv.MinIO(t)
	cfg := testConfig(m, newBucketName())
	a, b := newTestStore(t, cfg), newTestStore(t, cfg)
	for _, size := range []int{64 << 10, 2*DefaultPartSize + 1} {
		body := evidencetest.Bytes(uint64(size), size)
		key := evidencetest.Key(t, "case_race", models.EvidenceRecording, evidencetest.Sum(body))
		var wg sync.WaitGroup
		infos := make([]models.ObjectInfo, 6)
		errs := make([]error, 6)
		for i := range 6 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Go(func() {
				infos[i], errs[i] = s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), evidencetest.Sum(body), "video/webm")
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("size %d: Put #%d = %v", size, i, err)
			} else if infos[i].VersionID != infos[0].VersionID {
				t.Errorf("size %d: Put #%d version = %q, want %q", size, i, infos[i].VersionID, infos[0].VersionID)
			}
		}
		if v := listVersions(t, a.client, cfg.Bucket, key); len(v) != 1 {
			t.Errorf("size %d: versions of %s = %d, want exactly 1", size, key, len(v))
		}
	}
}

// TestOutage: with MinIO stopped, Put and Stat fail fast as EUNAVAILABLE;
// after it restarts on the same port and data, Put succeeds and earlier
// evidence is intact.
func TestOutage(t *testing.T) {
	m := testenv.MinIO(t)
	s := newTestStore(t, testConfig(m, newBucketName()))
	ctx := context.Background()
	before := []byte("before the outage")
	keyBefore := evidencetest.Key(t, "case_out", models.EvidenceCapture, evidencetest.Sum(before))
	putBytes(t, s, keyBefore, before)

	m.Stop()
	during := evidencetest.Bytes(9, 20<<20)
	key := evidencetest.Key(t, "case_out", models.EvidenceRecording, evidencetest.Sum(during))
	for _, tt := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Put", func(ctx context.Context) error {
			_, err := s.Put(ctx, key, bytes.NewReader(during), int64(len(during)), evidencetest.Sum(during), "video/webm")
			return err
		}},
		{"Stat", func(ctx context.Context) error { _, err := s.Stat(ctx, keyBefore); return err }},
		{"Get", func(ctx context.Context) error { _, _, err := s.Get(ctx, keyBefore); return err }},
		{"SetLegalHold", func(ctx context.Context) error { return s.SetLegalHold(ctx, keyBefore, true) }},
		{"Check", func(ctx context.Context) error { return s.Check(ctx) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			start := time.Now()
			err := tt.call(cctx)
			if code := models.ErrorCodeOf(err); code != models.EUNAVAILABLE {
				t.Errorf("%s(MinIO down) = %v (kind %q), want kind %q", tt.name, err, code, models.EUNAVAILABLE)
			}
			if d := time.Since(start); d > 6*time.Second {
				t.Errorf("%s(MinIO down) took %s, want bounded by the 5s context", tt.name, d)
			}
		})
	}

	m.Start()
	info, err := s.Put(ctx, key, bytes.NewReader(during), int64(len(during)), evidencetest.Sum(during), "video/webm")
	if err != nil || info.SHA256 != evidencetest.Sum(during) {
		t.Fatalf("Put(after restart) = %+v, %v, want success", info, err)
	}
	if got, err := s.Stat(ctx, keyBefore); err != nil || got.SHA256 != evidencetest.Sum(before) {
		t.Errorf("Stat(earlier evidence after restart) = %+v, %v", got, err)
	}
}

// driveHolds reports whether any file under MinIO's drive folder contains
// needle: what someone with the disk (or a backup of it) could read.
func driveHolds(t *testing.T, dir string, needle []byte) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = bytes.Contains(b, needle)
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return found
}

// TestSSE stores objects with each encryption setting and checks what
// the store reports (StatObject) and what is on MinIO's drive. Then MinIO
// comes back without its KMS key: encrypted objects cannot be read, the
// unencrypted one still can, and a store that asks for encryption fails
// at start-up with a clear error.
func TestSSE(t *testing.T) {
	ctx := context.Background()
	m := testenv.MinIO(t)
	type stored struct {
		s    *Store
		key  string
		body []byte
	}
	var objs []stored
	tests := []struct {
		name     string
		sse      SSE
		kmsKey   string
		wantHdr  string // X-Amz-Server-Side-Encryption
		sizes    []int
		readable bool // without the KMS
	}{
		{"sse-s3", SSES3, "", "AES256", []int{1000, minPartSize + 1}, false},
		{"default", "", "", "AES256", []int{1000}, false},
		{"sse-kms", SSEKMS, testenv.KMSKeyName, "aws:kms", []int{1000}, false},
		{"none", SSENone, "", "", []int{1000}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(m, newBucketName())
			cfg.SSE, cfg.KMSKey = tt.sse, tt.kmsKey
			cfg.PartSize = minPartSize
			s := newTestStore(t, cfg)
			for _, size := range tt.sizes {
				// A marker the drive can be searched for, then filler.
				marker := fmt.Sprintf("PLAINTEXT-MARKER-%s-%d-%d|", tt.name, size, i)
				body := append([]byte(marker), evidencetest.Bytes(uint64(10+i), size-len(marker))...)
				key := evidencetest.Key(t, "case_sse", models.EvidenceLetter, evidencetest.Sum(body))
				putBytes(t, s, key, body)
				oi, err := s.client.StatObject(ctx, cfg.Bucket, key, minio.StatObjectOptions{})
				if err != nil {
					t.Fatalf("StatObject(%s) = %v", key, err)
				}
				if got := oi.Metadata.Get("X-Amz-Server-Side-Encryption"); got != tt.wantHdr {
					t.Errorf("size %d: X-Amz-Server-Side-Encryption = %q, want %q", size, got, tt.wantHdr)
				}
				if got := driveHolds(t, m.DataDir, []byte(marker)); got != (tt.wantHdr == "") {
					t.Errorf("size %d: MinIO's drive holds the plaintext = %v, want %v", size, got, tt.wantHdr == "")
				}
				rc, _, err := s.Get(ctx, key)
				if err != nil {
					t.Fatalf("Get(%s) = %v", key, err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, body) {
					t.Errorf("Get(%s) = %d bytes, %v, want the stored body", key, len(got), err)
				}
				objs = append(objs, stored{s, key, body})
			}
		})
	}

	t.Run("unknown KMS key", func(t *testing.T) {
		cfg := testConfig(m, newBucketName())
		cfg.SSE, cfg.KMSKey = SSEKMS, "no-such-key"
		_, err := New(ctx, cfg, testLogger(t))
		if models.ErrorCodeOf(err) != models.EPRECONDITION || !strings.Contains(err.Error(), "refused server-side encryption") {
			t.Errorf("New(sse-kms, unknown key) = %v, want a %q error saying the store refused encryption", err, models.EPRECONDITION)
		}
	})

	m.Stop()
	m.KMS = ""
	m.Start()
	for _, o := range objs {
		rc, _, err := o.s.Get(ctx, o.key)
		var got []byte
		if err == nil {
			got, err = io.ReadAll(rc)
			rc.Close()
		}
		encrypted := o.s.cfg.SSE != SSENone
		switch {
		case encrypted && err == nil:
			t.Errorf("Get(%s, %s) without the KMS = %d bytes, want an error", o.key, o.s.cfg.SSE, len(got))
		case !encrypted && (err != nil || !bytes.Equal(got, o.body)):
			t.Errorf("Get(%s, unencrypted) without the KMS = %d bytes, %v, want the body", o.key, len(got), err)
		}
	}
	for _, tt := range []struct {
		name   string
		bucket string
		sse    SSE
	}{
		{"new bucket, sse-s3", newBucketName(), SSES3},
		{"new bucket, default", newBucketName(), ""},
		{"bucket already encrypted", objs[0].s.cfg.Bucket, SSES3},
	} {
		cfg := testConfig(m, tt.bucket)
		cfg.SSE = tt.sse
		_, err := New(ctx, cfg, testLogger(t))
		if models.ErrorCodeOf(err) != models.EPRECONDITION || !strings.Contains(err.Error(), "refused server-side encryption") || !strings.Contains(err.Error(), "KMS") {
			t.Errorf("New(%s, MinIO without KMS) = %v, want a %q error saying the store refused encryption", tt.name, err, models.EPRECONDITION)
		}
	}
	cfg := testConfig(m, newBucketName())
	cfg.SSE = SSENone
	newTestStore(t, cfg) // turned off knowingly: starts
}

// stopAfter stops MinIO once n bytes have been read through it.
type stopAfter struct {
	r    io.Reader
	n    int64
	stop func()
	once sync.Once
}

func (s *stopAfter) Read(p []byte) (int, error) {
	k, err := s.r.Read(p)
	if s.n -= int64(k); s.n <= 0 {
		s.once.Do(s.stop)
	}
	return k, err
}

// TestOutageMidUpload: MinIO stops in the middle of a multipart Put. The
// Put fails as EUNAVAILABLE and keeps nothing; once MinIO is back, the
// retried Put stores exactly one version.
func TestOutageMidUpload(t *testing.T) {
	m := testenv.MinIO(t)
	cfg := testConfig(m, newBucketName())
	cfg.PartSize = minPartSize
	s := newTestStore(t, cfg)
	const size = 8 * minPartSize
	sum := evidencetest.SumReader(77, size)
	key := evidencetest.Key(t, "case_mid", models.EvidenceRecording, sum)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := &stopAfter{r: evidencetest.NewReader(77, size), n: 3 * minPartSize, stop: m.Stop}
	_, err := s.Put(ctx, key, r, size, sum, "video/webm")
	if code := models.ErrorCodeOf(err); code != models.EUNAVAILABLE {
		t.Fatalf("Put(MinIO stopped mid-upload) = %v (kind %q), want kind %q", err, code, models.EUNAVAILABLE)
	}
	m.Start()
	if _, err := s.Stat(ctx, key); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Errorf("Stat(after interrupted put) = %v, want kind %q", err, models.ENOTFOUND)
	}
	info, err := s.Put(ctx, key, evidencetest.NewReader(77, size), size, sum, "video/webm")
	if err != nil || info.SHA256 != sum || info.Size != size {
		t.Fatalf("Put(retry after restart) = %+v, %v, want success", info, err)
	}
	if v := listVersions(t, s.client, cfg.Bucket, key); len(v) != 1 {
		t.Errorf("versions after retry = %d, want exactly 1", len(v))
	}
}

// TestExpire: an object whose retention has passed (by the server's clock)
// is deleted, its version removed rather than hidden behind a delete
// marker; before that the bucket's Object Lock refuses even when the
// store's own clock says the time has come.
func TestExpire(t *testing.T) {
	ctx := context.Background()
	m := testenv.MinIO(t)
	var offset atomic.Int64 // the store's clock minus the real one
	cfg := testConfig(m, newBucketName())
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s := newTestStore(t, cfg)
	// Stored "a day minus three seconds ago": retained for three more seconds.
	offset.Store(int64(-testRetention + 3*time.Second))
	body := []byte("a capture at the end of its retention")
	key := evidencetest.Key(t, "case_expire", models.EvidenceCapture, evidencetest.Sum(body))
	info := putBytes(t, s, key, body)
	if left := time.Until(info.RetainUntil); left <= 0 || left > 4*time.Second {
		t.Fatalf("retain-until %v is %v away, want about 3 s", info.RetainUntil, left)
	}
	// The store's clock runs ahead: the bucket still refuses.
	offset.Store(int64(time.Hour))
	if err := s.Expire(ctx, key); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Fatalf("Expire before the server's retain-until = %v, want conflict", err)
	}
	if _, err := s.Stat(ctx, key); err != nil {
		t.Fatalf("refused Expire lost the object: %v", err)
	}
	offset.Store(0)
	time.Sleep(time.Until(info.RetainUntil) + time.Second)
	if err := s.Expire(ctx, key); err != nil {
		t.Fatalf("Expire after retention = %v", err)
	}
	if _, err := s.Stat(ctx, key); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Errorf("Stat(expired) = %v, want not found", err)
	}
	if v := listVersions(t, s.client, cfg.Bucket, key); len(v) != 0 {
		t.Errorf("%d versions (or delete markers) left after Expire, want none: %+v", len(v), v)
	}
}
