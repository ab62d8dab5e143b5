// Package evidencetest is the conformance suite every models.EvidenceStore
// passes (storage/localfs and storage/s3), plus helpers that generate large
// deterministic bodies without holding them in memory.
package evidencetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

// LargeSize is the size of the suite's large streamed object: above the S3
// store's part size, so it exercises multipart uploads.
const LargeSize = 40 << 20

// Run runs the conformance suite. newStore returns an empty store for each
// subtest; it may register cleanups on t.
func Run(t *testing.T, newStore func(t *testing.T) models.EvidenceStore) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("BadBody", func(t *testing.T) { testBadBody(t, newStore(t)) })
	t.Run("Idempotent", func(t *testing.T) { testIdempotent(t, newStore(t)) })
	t.Run("Conflict", func(t *testing.T) { testConflict(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("BadKeys", func(t *testing.T) { testBadKeys(t, newStore(t)) })
	t.Run("LegalHold", func(t *testing.T) { testLegalHold(t, newStore(t)) })
	t.Run("ExpireRetained", func(t *testing.T) { testExpireRetained(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("Large", func(t *testing.T) { testLarge(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("Canceled", func(t *testing.T) { testCanceled(t, newStore(t)) })
}

// Key returns the evidence key of body for a test case.
func Key(tb testing.TB, caseID string, kind models.EvidenceKind, sum string) string {
	tb.Helper()
	k, err := models.EvidenceKey(models.CaseID(caseID), kind, sum)
	if err != nil {
		tb.Fatalf("EvidenceKey(%q, %q, %q) = %v", caseID, kind, sum, err)
	}
	return k
}

// Sum returns the hex SHA-256 of b.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Bytes returns n deterministic pseudo-random bytes for seed.
func Bytes(seed uint64, n int) []byte {
	b, _ := io.ReadAll(NewReader(seed, int64(n)))
	return b
}

// NewReader returns a reader of size deterministic pseudo-random bytes for
// seed (incompressible, so no layer can cheat), generated as they are read.
func NewReader(seed uint64, size int64) io.Reader {
	return &genReader{state: seed*0x9E3779B97F4A7C15 + 1, left: size}
}

// SumReader returns the hex SHA-256 of NewReader(seed, size)'s bytes.
func SumReader(seed uint64, size int64) string {
	h := sha256.New()
	if _, err := io.CopyBuffer(h, NewReader(seed, size), make([]byte, 1<<20)); err != nil {
		panic(err) // genReader never fails
	}
	return hex.EncodeToString(h.Sum(nil))
}

type genReader struct {
	state uint64
	left  int64
	buf   [8]byte
	nbuf  int
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	for i := range p {
		if g.nbuf == 0 {
			// xorshift64*
			g.state ^= g.state >> 12
			g.state ^= g.state << 25
			g.state ^= g.state >> 27
			v := g.state * 2685821657736338717
			for j := range g.buf {
				g.buf[j] = byte(v >> (8 * j))
			}
			g.nbuf = 8
		}
		p[i] = g.buf[8-g.nbuf]
		g.nbuf--
	}
	g.left -= int64(len(p))
	return len(p), nil
}

func wantCode(t *testing.T, call string, err error, want models.ErrorCode) {
	t.Helper()
	if got := models.ErrorCodeOf(err); got != want {
		t.Errorf("%s = error %v (kind %q), want kind %q", call, err, got, want)
	}
}

func put(t *testing.T, s models.EvidenceStore, key string, body []byte, ct string) models.ObjectInfo {
	t.Helper()
	info, err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), Sum(body), ct)
	if err != nil {
		t.Fatalf("Put(%s) = %v", key, err)
	}
	return info
}

// readBack gets key and returns the SHA-256 and length of its bytes.
func readBack(t *testing.T, s models.EvidenceStore, key string) (string, int64, models.ObjectInfo) {
	t.Helper()
	rc, info, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s) = %v", key, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, rc, make([]byte, 1<<20))
	if err != nil {
		t.Fatalf("Get(%s): read = %v", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, info
}

func wantAbsent(t *testing.T, s models.EvidenceStore, key string) {
	t.Helper()
	_, err := s.Stat(context.Background(), key)
	wantCode(t, fmt.Sprintf("Stat(%s)", key), err, models.ENOTFOUND)
}

func testRoundTrip(t *testing.T, s models.EvidenceStore) {
	start := time.Now()
	tests := []struct {
		name string
		size int
		ct   string
	}{
		{"empty", 0, "application/octet-stream"},
		{"one byte", 1, "text/plain"},
		{"jpeg", 300 << 10, "image/jpeg"},
		{"multipart", 17<<20 + 3, "video/webm"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := Bytes(uint64(i+1), tt.size)
			sum := Sum(body)
			key := Key(t, "case_rt", models.EvidenceCapture, sum)
			got := put(t, s, key, body, tt.ct)
			want := models.ObjectInfo{Key: key, Size: int64(tt.size), SHA256: sum, ContentType: tt.ct}
			ignore := func(o models.ObjectInfo) models.ObjectInfo {
				o.VersionID, o.RetainUntil, o.Mode, o.LegalHold = "", time.Time{}, "", false
				return o
			}
			if diff := cmp.Diff(want, ignore(got)); diff != "" {
				t.Errorf("Put(%s) info mismatch (-want +got):\n%s", key, diff)
			}
			if !got.RetainUntil.After(start) {
				t.Errorf("Put(%s).RetainUntil = %v, want after %v", key, got.RetainUntil, start)
			}
			if got.LegalHold {
				t.Errorf("Put(%s).LegalHold = true, want false", key)
			}
			stat, err := s.Stat(context.Background(), key)
			if err != nil {
				t.Fatalf("Stat(%s) = %v", key, err)
			}
			if diff := cmp.Diff(got, stat); diff != "" {
				t.Errorf("Stat(%s) differs from Put (-put +stat):\n%s", key, diff)
			}
			gotSum, n, info := readBack(t, s, key)
			if gotSum != sum || n != int64(tt.size) {
				t.Errorf("Get(%s) bytes = sha256 %s, %d bytes, want %s, %d", key, gotSum, n, sum, tt.size)
			}
			if diff := cmp.Diff(got, info); diff != "" {
				t.Errorf("Get(%s) info differs from Put (-put +get):\n%s", key, diff)
			}
		})
	}
}

func testBadBody(t *testing.T, s models.EvidenceStore) {
	body := Bytes(7, 64<<10)
	large := Bytes(8, 20<<20)
	flipped := bytes.Clone(large)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name string
		body []byte // what the reader yields
		size int64  // declared size
		sum  string // declared (and keyed) hash
	}{
		{"other hash", body, int64(len(body)), Sum([]byte("something else"))},
		{"one byte short", body[:len(body)-1], int64(len(body)), Sum(body)},
		{"one byte long", append(bytes.Clone(body), 0), int64(len(body)), Sum(body)},
		{"empty but declared", nil, 10, Sum(body[:10])},
		{"large last byte flipped", flipped, int64(len(large)), Sum(large)},
		{"large truncated", large[:len(large)-5], int64(len(large)), Sum(large)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := Key(t, "case_bad", models.EvidenceLetter, tt.sum)
			_, err := s.Put(context.Background(), key, bytes.NewReader(tt.body), tt.size, tt.sum, "application/pdf")
			wantCode(t, fmt.Sprintf("Put(%s, %d bytes declared %d)", tt.name, len(tt.body), tt.size), err, models.EINVALID)
			wantAbsent(t, s, key)
		})
	}
	t.Run("key names another hash", func(t *testing.T) {
		key := Key(t, "case_bad", models.EvidenceLetter, Sum([]byte("x")))
		_, err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), Sum(body), "application/pdf")
		wantCode(t, "Put(key of other hash)", err, models.EINVALID)
		wantAbsent(t, s, key)
	})
	// The store still works for the right body afterwards.
	key := Key(t, "case_bad", models.EvidenceLetter, Sum(large))
	put(t, s, key, large, "application/pdf")
	if got, n, _ := readBack(t, s, key); got != Sum(large) || n != int64(len(large)) {
		t.Errorf("Get(%s) after failed puts = %s, %d bytes, want %s", key, got, n, Sum(large))
	}
}

func testIdempotent(t *testing.T, s models.EvidenceStore) {
	body := Bytes(11, 1000)
	key := Key(t, "case_idem", models.EvidenceRegistry, Sum(body))
	first := put(t, s, key, body, "application/json")
	second := put(t, s, key, body, "application/json")
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second Put(%s) differs (-first +second):\n%s", key, diff)
	}
}

func testConflict(t *testing.T, s models.EvidenceStore) {
	key := "checkpoints/audit/000001.json"
	a, b := []byte(`{"seq":1}`), []byte(`{"seq":2}`)
	put(t, s, key, a, "application/json")
	_, err := s.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), Sum(b), "application/json")
	wantCode(t, "Put(other bytes under same key)", err, models.ECONFLICT)
	if got, _, _ := readBack(t, s, key); got != Sum(a) {
		t.Errorf("Get(%s) after conflict = sha256 %s, want the first body's %s", key, got, Sum(a))
	}
}

func testNotFound(t *testing.T, s models.EvidenceStore) {
	ctx := context.Background()
	key := Key(t, "case_none", models.EvidenceCapture, Sum([]byte("absent")))
	_, err := s.Stat(ctx, key)
	wantCode(t, "Stat(absent)", err, models.ENOTFOUND)
	rc, _, err := s.Get(ctx, key)
	if rc != nil {
		rc.Close()
	}
	wantCode(t, "Get(absent)", err, models.ENOTFOUND)
	wantCode(t, "SetLegalHold(absent)", s.SetLegalHold(ctx, key, true), models.ENOTFOUND)
	_, err = s.Stat(ctx, "checkpoints/none")
	wantCode(t, "Stat(checkpoints/none)", err, models.ENOTFOUND)
}

func testBadKeys(t *testing.T, s models.EvidenceStore) {
	ctx := context.Background()
	body := []byte("evidence")
	sum := Sum(body)
	good := Key(t, "case_keys", models.EvidenceCapture, sum)
	put(t, s, good, body, "text/plain")
	keys := []string{
		"",
		"/" + good,
		good + "/",
		good + "/extra",
		"cases/case_keys/capture",
		"cases/../cases/case_keys/capture/" + sum,
		"cases/case_keys/../capture/" + sum,
		"cases/Case_Keys/capture/" + sum,
		"cases/case_keys/capture/" + strings.ToUpper(sum),
		"cases/case_keys/capture/" + sum[:63],
		"cases//capture/" + sum,
		"cases/case keys/capture/" + sum,
		"cases\\case_keys\\capture\\" + sum,
		"checkpoints",
		"checkpoints/",
		"checkpoints/../cases",
		"checkpoints/./x",
		"checkpoints/a//b",
		"checkpoints/.hidden",
		"checkpoints/a\x00b",
		"other/" + sum,
		"../" + sum,
		"checkpoints/" + strings.Repeat("a", 129),
	}
	for _, key := range keys {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			_, err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body)), sum, "text/plain")
			wantCode(t, fmt.Sprintf("Put(%q)", key), err, models.EINVALID)
			_, err = s.Stat(ctx, key)
			wantCode(t, fmt.Sprintf("Stat(%q)", key), err, models.EINVALID)
			rc, _, err := s.Get(ctx, key)
			if rc != nil {
				rc.Close()
			}
			wantCode(t, fmt.Sprintf("Get(%q)", key), err, models.EINVALID)
			wantCode(t, fmt.Sprintf("SetLegalHold(%q)", key), s.SetLegalHold(ctx, key, true), models.EINVALID)
		})
	}
	for _, bad := range []string{"", "abc", strings.ToUpper(sum), sum + "0"} {
		t.Run("sum "+bad, func(t *testing.T) {
			_, err := s.Put(ctx, good, bytes.NewReader(body), int64(len(body)), bad, "text/plain")
			wantCode(t, fmt.Sprintf("Put(sum %q)", bad), err, models.EINVALID)
		})
	}
	_, err := s.Put(ctx, good, bytes.NewReader(body), -1, sum, "text/plain")
	wantCode(t, "Put(size -1)", err, models.EINVALID)
}

func testLegalHold(t *testing.T, s models.EvidenceStore) {
	ctx := context.Background()
	body := []byte("statement pdf")
	key := Key(t, "case_hold", models.EvidenceStatement, Sum(body))
	put(t, s, key, body, "application/pdf")
	for i, on := range []bool{true, true, false, false, true} {
		if err := s.SetLegalHold(ctx, key, on); err != nil {
			t.Fatalf("step %d: SetLegalHold(%s, %t) = %v", i, key, on, err)
		}
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatalf("step %d: Stat(%s) = %v", i, key, err)
		}
		if info.LegalHold != on {
			t.Errorf("step %d: Stat(%s).LegalHold = %t, want %t", i, key, info.LegalHold, on)
		}
	}
	// A held object is still the same object for an idempotent Put.
	if info := put(t, s, key, body, "application/pdf"); !info.LegalHold {
		t.Errorf("Put(%s) of held object: LegalHold = false, want true", key)
	}
}

// testExpireRetained: an object within its retention is not deleted, held
// or not; absent keys and bad keys get their own answers.
func testExpireRetained(t *testing.T, s models.EvidenceStore) {
	ctx := context.Background()
	body := []byte("a capture within its retention")
	key := Key(t, "case_expire", models.EvidenceCapture, Sum(body))
	put(t, s, key, body, "image/jpeg")
	for _, hold := range []bool{false, true} {
		if err := s.SetLegalHold(ctx, key, hold); err != nil {
			t.Fatal(err)
		}
		if err := s.Expire(ctx, key); models.ErrorCodeOf(err) != models.ECONFLICT {
			t.Errorf("Expire(%s) within retention, hold %t = %v, want conflict", key, hold, err)
		}
		if got, _, _ := readBack(t, s, key); got != Sum(body) {
			t.Fatalf("after a refused Expire the object reads %s", got)
		}
	}
	absent := Key(t, "case_expire", models.EvidenceCapture, Sum([]byte("never stored")))
	if err := s.Expire(ctx, absent); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Errorf("Expire(absent) = %v, want not found", err)
	}
	if err := s.Expire(ctx, "cases/../etc/passwd"); models.ErrorCodeOf(err) != models.EINVALID {
		t.Errorf("Expire(bad key) = %v, want invalid", err)
	}
}

// testList: the keys directly in a folder, sorted; not those of other
// folders or of sub-folders; an empty or absent folder holds nothing; bad
// folders are refused.
func testList(t *testing.T, s models.EvidenceStore) {
	ctx := context.Background()
	if keys, err := s.List(ctx, "checkpoints/audit/"); err != nil || len(keys) != 0 {
		t.Fatalf("List(empty) = %q, %v; want nothing", keys, err)
	}
	var want []string
	for _, k := range []string{"checkpoints/audit/00000000000000000012.note", "checkpoints/audit/00000000000000000003.note",
		"checkpoints/audit/sub/00000000000000000001.note", "checkpoints/other/1"} {
		body := []byte("note " + k)
		put(t, s, k, body, "text/plain")
		if strings.Count(k, "/") == 2 && strings.HasPrefix(k, "checkpoints/audit/") {
			want = append(want, k)
		}
	}
	body := []byte("a capture")
	capture := Key(t, "case_list", models.EvidenceCapture, Sum(body))
	put(t, s, capture, body, "image/jpeg")
	want = []string{want[1], want[0]}
	if keys, err := s.List(ctx, "checkpoints/audit/"); err != nil || !cmp.Equal(keys, want) {
		t.Errorf("List(checkpoints/audit/) = %q, %v; want %q", keys, err, want)
	}
	if keys, err := s.List(ctx, "cases/case_list/capture/"); err != nil || !cmp.Equal(keys, []string{capture}) {
		t.Errorf("List(cases/case_list/capture/) = %q, %v; want %q", keys, err, capture)
	}
	for _, bad := range []string{"", "checkpoints/audit", "../", "checkpoints/../", "other/", "/checkpoints/"} {
		if _, err := s.List(ctx, bad); models.ErrorCodeOf(err) != models.EINVALID {
			t.Errorf("List(%q) = %v, want invalid", bad, err)
		}
	}
}

func testLarge(t *testing.T, s models.EvidenceStore) {
	const size = LargeSize
	sum := SumReader(42, size)
	key := Key(t, "case_large", models.EvidenceRecording, sum)
	info, err := s.Put(context.Background(), key, NewReader(42, size), size, sum, "video/webm")
	if err != nil {
		t.Fatalf("Put(%s, %d bytes) = %v", key, size, err)
	}
	if info.Size != size || info.SHA256 != sum {
		t.Errorf("Put(%s) = size %d sha256 %s, want %d %s", key, info.Size, info.SHA256, size, sum)
	}
	if got, n, _ := readBack(t, s, key); got != sum || n != size {
		t.Errorf("Get(%s) = sha256 %s, %d bytes, want %s, %d", key, got, n, sum, size)
	}
}

func testConcurrent(t *testing.T, s models.EvidenceStore) {
	const n = 8
	body := Bytes(99, 3<<20)
	key := Key(t, "case_race", models.EvidenceCapture, Sum(body))
	infos := make([]models.ObjectInfo, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			infos[i], errs[i] = s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), Sum(body), "image/jpeg")
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("concurrent Put #%d(%s) = %v", i, key, errs[i])
			continue
		}
		if diff := cmp.Diff(infos[0], infos[i]); diff != "" {
			t.Errorf("concurrent Put #%d info differs from #0 (-0 +%d):\n%s", i, i, diff)
		}
	}
	stat, err := s.Stat(context.Background(), key)
	if err != nil {
		t.Fatalf("Stat(%s) = %v", key, err)
	}
	if stat.VersionID != infos[0].VersionID {
		t.Errorf("Stat(%s).VersionID = %q, want the one all Puts returned, %q", key, stat.VersionID, infos[0].VersionID)
	}
}

func testCanceled(t *testing.T, s models.EvidenceStore) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := Bytes(5, 1024)
	key := Key(t, "case_cancel", models.EvidenceCapture, Sum(body))
	_, err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body)), Sum(body), "image/jpeg")
	if err == nil {
		t.Fatalf("Put(canceled ctx) = nil error, want one")
	}
	if !errors.Is(err, context.Canceled) && models.ErrorCodeOf(err) != models.EUNAVAILABLE {
		t.Errorf("Put(canceled ctx) = %v, want context.Canceled or kind %q", err, models.EUNAVAILABLE)
	}
	wantAbsent(t, s, key)
}
