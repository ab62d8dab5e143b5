package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/archiver"
)

// TestStagingKey: the first start creates the staging key (mode 0600)
// and staged files are encrypted with it; a later start with the key file
// gone refuses to make a new key while encrypted files wait, and keeps
// them; the restored key reads them again.
func TestStagingKey(t *testing.T) {
	cfg := defaultConfig()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.DiscardHandler)
	k, err := loadStagingKey(cfg, log)
	if err != nil {
		t.Fatalf("loadStagingKey(first start) = %v", err)
	}
	path := stagingKeyPath(cfg)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, %v; want mode 0600", path, st, err)
	}
	st, err := archiver.NewStager(stagingDir(cfg), time.Now, rand.Reader, archiver.WithKey(k))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("ID CARD 110101199003077777 ZHANG SAN")
	e, err := st.Stage(context.Background(), "case_k", models.EvidenceLetter, "text/plain", secret, "customer")
	if err != nil {
		t.Fatal(err)
	}
	onDisk, _ := os.ReadFile(e.Staged)
	if bytes.Contains(onDisk, []byte("110101199003077777")) {
		t.Errorf("staged file %s holds the plaintext", e.Staged)
	}

	saved, _ := os.ReadFile(path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = loadStagingKey(cfg, log)
	if models.ErrorCodeOf(err) != models.EPRECONDITION || !strings.Contains(err.Error(), "restore the key file") {
		t.Errorf("loadStagingKey(key lost, encrypted files waiting) = %v, want a %q error asking for the key", err, models.EPRECONDITION)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a refused start created %s: %v", path, err)
	}
	if after, _ := os.ReadFile(e.Staged); !bytes.Equal(after, onDisk) {
		t.Error("a refused start changed the staged file")
	}

	// Another key configured: the workflow's check names the files.
	other := cfg
	other.StagingKey = filepath.Join(t.TempDir(), "other.key")
	if err := os.WriteFile(other.StagingKey, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	k2, err := loadStagingKey(other, log)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := archiver.NewStager(stagingDir(cfg), time.Now, rand.Reader, archiver.WithKey(k2))
	if foreign, err := st2.ForeignFiles(); err != nil || len(foreign) != 1 {
		t.Errorf("ForeignFiles(other key) = %v, %v, want the staged file", foreign, err)
	}

	if err := os.WriteFile(path, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	k3, err := loadStagingKey(cfg, log)
	if err != nil || k3.ID() != k.ID() {
		t.Fatalf("loadStagingKey(restored) = %v, %v", k3, err)
	}
	r, err := st.Open(e)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(r); err != nil || !bytes.Equal(got.Bytes(), secret) {
		t.Errorf("read with the restored key = %q, %v", got.Bytes(), err)
	}
}
