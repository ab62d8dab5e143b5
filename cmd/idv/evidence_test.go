package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/verify"
)

// sealedBundle wires the app as `idv serve` does (local evidence folder),
// archives and seals a case with three artifacts, and writes its bundle
// as an auditor downloads it. It returns the bundle's entries.
func sealedBundle(t *testing.T) (dir string, files map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	cfg := defaultConfig()
	cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "idv.db")
	cfg.SigningKey = filepath.Join(dir, "key.pem")
	cfg.EvidenceDir = filepath.Join(dir, "evidence")
	cfg.DataDir = dir
	a, err := openApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	arc, err := a.startArchiver(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer arc.Close()
	st, err := archiver.NewStager(filepath.Join(dir, "staging"), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := archivertest.SeedCase(t, a.store, models.StateInSession)
	archivertest.Stage(t, a.store, st, c.ID, models.EvidenceCapture, 2, 20<<10, 1)
	archivertest.Stage(t, a.store, st, c.ID, models.EvidenceLetter, 1, 30<<10, 7)
	arc.Kick()
	archivertest.WaitArchived(t, a.store, c.ID, 20*time.Second)
	err = a.store.Transact(ctx, func(tx models.Tx) error {
		cur, err := tx.CaseByID(ctx, c.ID)
		if err != nil {
			return err
		}
		cur.State = models.StateApproved // approval belongs to a later issue
		return tx.UpdateCase(ctx, cur)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.verify.Seal(ctx, c.ID); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	pem, err := audit.MarshalPublicKey(a.key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bank.pem"), pem, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	auditor := verify.Actor{Name: "staff:stf_aud", StaffID: "stf_aud", Roles: []models.Role{models.RoleAuditor}}
	if err := a.verify.WriteBundle(ctx, auditor, c.ID, &buf); err != nil {
		t.Fatalf("WriteBundle: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{}
	for _, f := range zr.File {
		r, _ := f.Open()
		files[f.Name], _ = io.ReadAll(r)
		r.Close()
	}
	return dir, files
}

func writeZip(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func entry(files map[string][]byte, kind string) string {
	for name := range files {
		if strings.HasPrefix(name, audit.BundleItems) && strings.Contains(name, "/"+kind+"/") {
			return name
		}
	}
	return ""
}

func TestEvidenceVerify(t *testing.T) {
	dir, orig := sealedBundle(t)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherPEM, _ := audit.MarshalPublicKey(other.Public().(ed25519.PublicKey))
	bankKey := filepath.Join(dir, "bank.pem")
	for _, tc := range []struct {
		name   string
		mutate func(f map[string][]byte) string // returns what the report must name
		key    string
	}{
		{"intact", func(map[string][]byte) string { return "" }, bankKey},
		{"one altered byte", func(f map[string][]byte) string {
			k := entry(f, "letter")
			f[k] = append([]byte(nil), f[k]...)
			f[k][1234] ^= 0x01
			return "MISMATCH letter"
		}, bankKey},
		{"missing item", func(f map[string][]byte) string {
			k := entry(f, "capture")
			delete(f, k)
			return strings.TrimPrefix(k, audit.BundleItems) + ": missing from the bundle"
		}, ""},
		{"edited manifest", func(f map[string][]byte) string {
			f[audit.BundleManifest] = bytes.Replace(f[audit.BundleManifest], []byte(`"purpose": "transaction_statement"`), []byte(`"purpose": "transaction_statement" `), 1)
			return "manifest.json: manifest signature does not verify"
		}, bankKey},
		{"wrong key in bundle", func(f map[string][]byte) string {
			f[audit.BundlePublicKey] = otherPEM
			return "not the trusted key"
		}, bankKey},
		{"tampered inclusion proof", func(f map[string][]byte) string {
			f[audit.BundleProof] = bytes.Replace(f[audit.BundleProof], []byte("\nindex "), []byte("\nindex 1"), 1)
			return "seal.tlog-proof"
		}, bankKey},
		{"wrong key, no trusted key", func(f map[string][]byte) string {
			f[audit.BundlePublicKey] = otherPEM
			return "manifest signature does not verify"
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range orig {
				files[k] = v
			}
			want := tc.mutate(files)
			path := filepath.Join(t.TempDir(), "bundle.zip")
			writeZip(t, path, files)
			args := []string{"evidence", "verify"}
			if tc.key != "" {
				args = append(args, "-key", tc.key)
			}
			out, err := runCLI(t, dir, append(args, path)...)
			if want == "" {
				if err != nil || !strings.Contains(out, "verified: 3 items") || strings.Count(out, "\nOK ") != 3 || !strings.Contains(out, "proven against the signed checkpoint") {
					t.Fatalf("evidence verify(intact) = %v\n%s\nwant success with 3 OK items", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out, want) {
				t.Fatalf("evidence verify(%s) = %v\n%s\nwant failure naming %q", tc.name, err, out, want)
			}
		})
	}
}
