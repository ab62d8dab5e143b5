package archiver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/storage/encfile"
	"remoteidv/storage/localfs"
)

func newKey(t *testing.T, b byte) *encfile.Key {
	t.Helper()
	k, err := encfile.NewKey(bytes.Repeat([]byte{b}, encfile.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestStagingEncrypted stages a known artifact with a key and one without
// (a file left from before encryption was turned on), then archives them:
// the encrypted file on disk does not hold the artifact's bytes; an
// archiver with another key fails with a clear error and changes nothing;
// with the right key both files reach the store intact.
func TestStagingEncrypted(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) models.Store) {
		ctx := context.Background()
		db := open(t)
		c := archivertest.SeedCase(t, db, models.StateInSession)
		now := func() time.Time { return time.Now().UTC() }
		store, err := localfs.New(localfs.Config{Root: t.TempDir(), Now: now}, nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "staging")
		plainStager, err := archiver.NewStager(dir, now, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		right := newKey(t, 1)
		stager, err := archiver.NewStager(dir, now, rand.Reader, archiver.WithKey(right))
		if err != nil {
			t.Fatal(err)
		}
		artifact := bytes.Repeat([]byte("PASSPORT E12345678 JANE CUSTOMER 1990-01-01 "), 5000) // 225 kB, 4 chunks
		legacy := []byte("letter staged before encryption: ACCOUNT 4711 JANE CUSTOMER")
		enc, err := stager.Stage(ctx, c.ID, models.EvidenceLetter, "image/png", artifact, "customer")
		if err != nil {
			t.Fatal(err)
		}
		old, err := plainStager.Stage(ctx, c.ID, models.EvidenceCheck, "text/plain", legacy, "system")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Transact(ctx, func(tx models.Tx) error {
			if err := tx.AddEvidence(ctx, enc); err != nil {
				return err
			}
			return tx.AddEvidence(ctx, old)
		}); err != nil {
			t.Fatal(err)
		}

		onDisk, err := os.ReadFile(enc.Staged)
		if err != nil {
			t.Fatal(err)
		}
		for _, probe := range []string{"PASSPORT", "E12345678", "JANE CUSTOMER"} {
			if bytes.Contains(onDisk, []byte(probe)) {
				t.Errorf("staged file %s contains %q in plaintext", enc.Staged, probe)
			}
		}
		if whole, err := archiver.StagedWhole(enc.Staged, enc.Size); err != nil || !whole {
			t.Errorf("StagedWhole(encrypted) = %v, %v, want true", whole, err)
		}
		if whole, err := archiver.StagedWhole(old.Staged, old.Size); err != nil || !whole {
			t.Errorf("StagedWhole(plaintext) = %v, %v, want true", whole, err)
		}
		if enc.Size != int64(len(artifact)) {
			t.Errorf("row size %d, want the plaintext's %d", enc.Size, len(artifact))
		}
		r, err := stager.Open(enc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, artifact) {
			t.Errorf("Stager.Open(encrypted) = %d bytes, %v, want the artifact", len(got), err)
		}

		wrongStager, err := archiver.NewStager(dir, now, rand.Reader, archiver.WithKey(newKey(t, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if foreign, err := wrongStager.ForeignFiles(); err != nil || len(foreign) != 1 || foreign[0] != enc.Staged {
			t.Errorf("ForeignFiles(other key) = %v, %v, want [%s]", foreign, err, enc.Staged)
		}
		if foreign, err := stager.ForeignFiles(); err != nil || len(foreign) != 0 {
			t.Errorf("ForeignFiles(right key) = %v, %v, want none", foreign, err)
		}

		arc := func(k *encfile.Key, owner string) *archiver.Archiver {
			a, err := archiver.New(db, store, archiver.Config{Owner: owner, Now: now, Rand: rand.Reader, Key: k,
				MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			return a
		}
		wrong := arc(newKey(t, 2), "wrong")
		if _, err := wrong.RunOnce(ctx, "wrong/0"); err != nil {
			t.Fatal(err)
		}
		if _, err := wrong.RunOnce(ctx, "wrong/0"); err != nil {
			t.Fatal(err)
		}
		for _, it := range archivertest.Items(t, db, c.ID) {
			if it.ID != enc.ID {
				continue
			}
			if it.ArchivedAt != nil || !strings.Contains(it.LastError, "another staging key") || !strings.Contains(it.LastError, "IDV_STAGING_KEY_FILE") {
				t.Errorf("encrypted item after the wrong-key archiver: archived %v, last error %q; want pending with a wrong-key error", it.ArchivedAt, it.LastError)
			}
		}
		if after, err := os.ReadFile(enc.Staged); err != nil || !bytes.Equal(after, onDisk) {
			t.Errorf("the wrong-key archiver changed or removed the staged file: %v", err)
		}

		time.Sleep(5 * time.Millisecond) // past the backoff
		a := arc(right, "right")
		if _, err := a.Drain(ctx, "right/0"); err != nil {
			t.Fatalf("Drain(right key) = %v", err)
		}
		for _, it := range archivertest.Items(t, db, c.ID) {
			if it.ArchivedAt == nil {
				t.Errorf("item %s not archived with the right key: %s", it.ID, it.LastError)
			}
		}
		for _, want := range []struct {
			e    *models.Evidence
			data []byte
		}{{enc, artifact}, {old, legacy}} {
			rc, _, err := store.Get(ctx, want.e.Key)
			if err != nil {
				t.Fatalf("Get(%s) = %v", want.e.Key, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, want.data) {
				t.Errorf("stored %s = %d bytes, %v, want the %d staged", want.e.Key, len(got), err, len(want.data))
			}
			if _, err := os.Stat(want.e.Staged); !os.IsNotExist(err) {
				t.Errorf("staged file %s still there after archiving: %v", want.e.Staged, err)
			}
		}
	})
}

// TestStagedWholeVersions: StagedWhole judges files of both encfile
// versions (version 1 as the Stager writes them, version 2 with chunks
// flushed early as recordings are) and plaintext: whole at their size,
// not whole at another size or cut short.
func TestStagedWholeVersions(t *testing.T) {
	k := newKey(t, 5)
	data := bytes.Repeat([]byte("OggS audio page "), 20000) // 320 kB: several chunks
	write := func(t *testing.T, opts ...encfile.WriterOption) []byte {
		t.Helper()
		var b bytes.Buffer
		w, err := k.NewWriter(&b, rand.Reader, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for rest := data; len(rest) > 0; rest = rest[min(len(rest), 1000):] {
			if _, err := w.Write(rest[:min(len(rest), 1000)]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	clock := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(100 * time.Millisecond); return clock }
	files := []struct {
		name string
		raw  []byte
	}{
		{"version 1", write(t)},
		{"version 2, flushed", write(t, encfile.WithFlushEvery(time.Second, tick))},
		{"plaintext", data},
	}
	for _, f := range files {
		tests := []struct {
			name string
			cut  int // bytes cut off the end
			size int64
			want bool
		}{
			{"whole", 0, int64(len(data)), true},
			{"other size", 0, int64(len(data)) - 1, false},
			{"cut by a byte", 1, int64(len(data)), false},
			{"cut by 5000 bytes", 5000, int64(len(data)), false},
		}
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "evd")
				if err := os.WriteFile(path, f.raw[:len(f.raw)-tt.cut], 0o600); err != nil {
					t.Fatal(err)
				}
				if got, err := archiver.StagedWhole(path, tt.size); err != nil || got != tt.want {
					t.Errorf("StagedWhole(%d of %d bytes, %d) = %v, %v, want %v", len(f.raw)-tt.cut, len(f.raw), tt.size, got, err, tt.want)
				}
			})
		}
	}
}
