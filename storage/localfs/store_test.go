package localfs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/evidencetest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(Config{Root: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	evidencetest.Run(t, func(t *testing.T) models.EvidenceStore { return newStore(t) })
}

func TestFilesAreReadOnly(t *testing.T) {
	s := newStore(t)
	body := []byte("letter")
	key := evidencetest.Key(t, "case_ro", models.EvidenceLetter, evidencetest.Sum(body))
	if _, err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), evidencetest.Sum(body), "application/pdf"); err != nil {
		t.Fatalf("Put() = %v", err)
	}
	for _, p := range []string{s.dataPath(key), s.metaPath(key)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("Stat(%s) = %v", p, err)
		}
		if got := fi.Mode().Perm(); got != 0o444 {
			t.Errorf("mode of %s = %v, want 0444", p, got)
		}
	}
	left, err := os.ReadDir(filepath.Join(s.Root(), "tmp"))
	if err != nil || len(left) != 0 {
		t.Errorf("ReadDir(tmp) = %d entries, %v, want none", len(left), err)
	}
}

func TestRetainUntil(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	s, err := New(Config{Root: t.TempDir(), Retention: 48 * time.Hour, Now: func() time.Time { return now }}, nil)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	body := []byte("x")
	key := evidencetest.Key(t, "case_ret", models.EvidenceCheck, evidencetest.Sum(body))
	info, err := s.Put(context.Background(), key, bytes.NewReader(body), 1, evidencetest.Sum(body), "text/plain")
	if err != nil {
		t.Fatalf("Put() = %v", err)
	}
	if want := now.Add(48 * time.Hour); !info.RetainUntil.Equal(want) || info.Mode != models.RetentionNone {
		t.Errorf("Put().RetainUntil, Mode = %v, %q, want %v, %q", info.RetainUntil, info.Mode, want, models.RetentionNone)
	}
}

// TestCrashBeforeMeta: bytes linked but no metadata (a crash between the
// two) is "absent" for Stat, and a new Put of the same bytes completes it
// while other bytes conflict.
func TestCrashBeforeMeta(t *testing.T) {
	s := newStore(t)
	body := []byte("checkpoint 7")
	key := "checkpoints/7"
	p := s.dataPath(key)
	if err := mkdirAllSync(filepath.Dir(p)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, body, 0o444); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Stat(ctx, key); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Fatalf("Stat(bytes without meta) = %v, want kind %q", err, models.ENOTFOUND)
	}
	other := []byte("checkpoint 8")
	if _, err := s.Put(ctx, key, bytes.NewReader(other), int64(len(other)), evidencetest.Sum(other), "application/json"); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Errorf("Put(other bytes) = %v, want kind %q", err, models.ECONFLICT)
	}
	info, err := s.Put(ctx, key, bytes.NewReader(body), int64(len(body)), evidencetest.Sum(body), "application/json")
	if err != nil || info.SHA256 != evidencetest.Sum(body) {
		t.Fatalf("Put(same bytes) = %+v, %v, want success", info, err)
	}
	if _, err := os.Stat(s.metaPath(key)); err != nil {
		t.Errorf("meta after recovery: %v", err)
	}
}

func TestTamperDetectedByStat(t *testing.T) {
	s := newStore(t)
	body := []byte("recording")
	key := evidencetest.Key(t, "case_t", models.EvidenceRecording, evidencetest.Sum(body))
	if _, err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), evidencetest.Sum(body), "video/webm"); err != nil {
		t.Fatal(err)
	}
	p := s.dataPath(key)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("short"), 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(context.Background(), key); err == nil {
		t.Errorf("Stat(truncated object) = nil error, want one")
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(context.Background(), key); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(deleted bytes) = %v, want a not-exist error", err)
	}
}

// TestExpire: after its retention an object is deleted (bytes and
// metadata), unless a legal hold is set; a crash between removing the
// bytes and the metadata is finished by the next Expire.
func TestExpire(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	s, err := New(Config{Root: t.TempDir(), Retention: 48 * time.Hour, Now: func() time.Time { return now }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	put := func(body string) string {
		key := evidencetest.Key(t, "case_exp", models.EvidenceCapture, evidencetest.Sum([]byte(body)))
		if _, err := s.Put(ctx, key, bytes.NewReader([]byte(body)), int64(len(body)), evidencetest.Sum([]byte(body)), "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		return key
	}
	held, free, torn := put("held"), put("free"), put("torn")
	if err := s.SetLegalHold(ctx, held, true); err != nil {
		t.Fatal(err)
	}
	now = now.Add(48*time.Hour - time.Second)
	if err := s.Expire(ctx, free); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Fatalf("Expire a second before the end of retention = %v, want conflict", err)
	}
	now = now.Add(time.Second)
	if err := s.Expire(ctx, held); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Errorf("Expire(held) = %v, want conflict", err)
	}
	if err := s.Expire(ctx, free); err != nil {
		t.Fatalf("Expire(free) after retention = %v", err)
	}
	if _, err := s.Stat(ctx, free); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Errorf("Stat(expired) = %v, want not found", err)
	}
	for _, p := range []string{s.dataPath(free), s.metaPath(free)} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there after Expire: %v", p, err)
		}
	}
	if err := s.Expire(ctx, free); models.ErrorCodeOf(err) != models.ENOTFOUND {
		t.Errorf("Expire twice = %v, want not found", err)
	}
	// A crash after the bytes went: Stat reports damage, Expire finishes.
	if err := os.Remove(s.dataPath(torn)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, torn); err == nil {
		t.Error("Stat of an object without bytes succeeded")
	}
	if err := s.Expire(ctx, torn); err != nil {
		t.Fatalf("Expire(torn) = %v", err)
	}
	if _, err := s.Stat(ctx, held); err != nil {
		t.Errorf("the held object is gone: %v", err)
	}
}
