package main

import (
	"context"
	"crypto/rand"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/storage/sqlite"
)

// TestCheckCommand: idv check passes on sealed cases, and names each
// thing broken behind its back: a stored object deleted, a staged file
// lost, a case released without a used approval; it then exits non-zero.
func TestCheckCommand(t *testing.T) {
	dir, _, _ := sealedBundle(t)
	out, err := runCLI(t, dir, "check")
	if err != nil {
		t.Fatalf("idv check on sealed cases = %v\n%s", err, out)
	}
	for _, want := range []string{"ok      released_without_sealed_evidence", "ok      sealed_without_manifest", "ok      approval_used_twice", "ok      statement_password_kept",
		"ok      evidence_without_object", "ok      evidence objects: the bytes of 6 items", "PRAGMA integrity_check: ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("idv check output lacks %q:\n%s", want, out)
		}
	}

	// Break it: one stored capture gone, one staged file lost, one case
	// released behind the workflow's back.
	var capture string
	err = filepath.WalkDir(filepath.Join(dir, "evidence", "objects"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(path, "/capture/") && capture == "" {
			capture = path
		}
		return err
	})
	if err != nil || capture == "" {
		t.Fatalf("no stored capture found (%v)", err)
	}
	if err := os.Chmod(filepath.Dir(capture), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(capture); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "idv.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st, err := archiver.NewStager(filepath.Join(dir, "staging"), time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	open := archivertest.SeedCase(t, db, models.StateInSession)
	lost := archivertest.Stage(t, db, st, open.ID, models.EvidenceLetter, 1, 100, 9)[0]
	if err := os.Remove(lost.Staged); err != nil {
		t.Fatal(err)
	}
	var released models.CaseID
	err = db.Transact(ctx, func(tx models.Tx) error {
		cs, _, err := tx.ListCases(ctx, models.CaseFilter{State: models.StateSealed, Limit: 1})
		if err != nil || len(cs) == 0 {
			t.Fatalf("no sealed case: %v", err)
		}
		cs[0].State = models.StateReleased
		released = cs[0].ID
		return tx.UpdateCase(ctx, cs[0])
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, dir, "check")
	if err == nil || !strings.Contains(err.Error(), "3 problems") {
		t.Errorf("idv check on broken data = %v, want 3 problems", err)
	}
	for _, want := range []string{
		"BROKEN  released_without_sealed_evidence\n        case " + string(released) + ", " + string(released) + ": case is released without a used approval",
		"BROKEN  evidence objects: the bytes of 7 items",
		"        case " + string(open.ID) + ", " + string(lost.ID) + ": waiting for the archiver, but its staged file " + lost.Staged + " is not whole and the store does not hold it",
		"evidence bytes missing",
		"PRAGMA integrity_check: ok",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("idv check output lacks %q:\n%s", want, out)
		}
	}
}
