package main

import (
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"remoteidv/audit"
)

// seedChain makes a database with a few audit events and a checkpoint.
func seedChain(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, u := range []struct{ name, role string }{{"clerk", "clerk"}, {"sup", "supervisor"}, {"aud", "auditor"}, {"adm", "admin"}} {
		if out, err := runCLI(t, dir, "users", "add", "--username", u.name, "--role", u.role); err != nil {
			t.Fatalf("users add: %v\n%s", err, out)
		}
	}
	if out, err := runCLI(t, dir, "tokens", "create", "--user", "clerk", "--name", "core banking", "--scope", "clerk"); err != nil {
		t.Fatalf("tokens create: %v\n%s", err, out)
	}
	if out, err := runCLI(t, dir, "audit", "checkpoint"); err != nil || !strings.Contains(out, "signed checkpoint of seq 5") {
		t.Fatalf("audit checkpoint = %v\n%s", err, out)
	}
	if out, err := runCLI(t, dir, "users", "disable", "--username", "sup"); err != nil {
		t.Fatalf("users disable: %v\n%s", err, out)
	}
	return dir
}

// rollBackTo2 rolls a seeded database back to its second event, with its
// log and checkpoints, as someone with write access to it could.
func rollBackTo2() []string {
	return []string{
		`DELETE FROM audit_events WHERE seq >= 3`,
		`UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_events WHERE seq = 2)`,
		`DELETE FROM audit_tree_hashes`,
		`DELETE FROM audit_checkpoints`,
	}
}

// copyDB copies a seeded database and key to a new folder and runs sql on it.
func copyDB(t *testing.T, from string, sqls ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"idv.db", "key.pem"} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "idv.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range sqls {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return dir
}

func TestAuditVerifyCatchesTampering(t *testing.T) {
	clean := seedChain(t)
	if out, err := runCLI(t, clean, "audit", "verify"); err != nil || !strings.Contains(out, "OK: 6 events, 1 signed checkpoints") {
		t.Fatalf("audit verify (untouched) = %v\n%s", err, out)
	}
	tests := []struct {
		name string
		sql  []string
		want string // a phrase of the problem report
	}{
		{"edit a row", []string{`UPDATE audit_events SET detail = '{"username":"mallory"}' WHERE seq = 2`}, "row edited"},
		{"edit a time", []string{`UPDATE audit_events SET at = at + 1 WHERE seq = 3`}, "row edited"},
		{"delete a row", []string{`DELETE FROM audit_events WHERE seq = 3`}, "out of sequence"},
		{"delete the tail and move the head", []string{
			`DELETE FROM audit_events WHERE seq >= 5`,
			`UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_events WHERE seq = 4)`,
		}, "not in the chain"},
		{"insert a row", []string{
			`UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3`,
			`UPDATE audit_events SET seq = seq - 99 WHERE seq >= 103`,
			`INSERT INTO audit_events (seq, at, actor, action, case_id, detail, prev_hash, hash) SELECT 3, at, 'staff:mallory', 'staff.created', '', '{}', hash, CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END || substr(hash, 2) FROM audit_events WHERE seq = 2`,
		}, "prev_hash does not match"},
		{"reorder two rows", []string{
			`UPDATE audit_events SET seq = 1000 WHERE seq = 2`,
			`UPDATE audit_events SET seq = 2 WHERE seq = 3`,
			`UPDATE audit_events SET seq = 3 WHERE seq = 1000`,
		}, "prev_hash does not match"},
		{"rewrite a checkpoint", []string{`UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_events WHERE seq = 4), seq = 4`}, "signature invalid"},
		{"edit a merkle log hash", []string{`UPDATE audit_tree_hashes SET hash = zeroblob(32) WHERE idx = 0`}, "tree hashes edited"},
		{"edit a checkpoint note", []string{`UPDATE audit_checkpoints SET note = replace(note, char(10) || '5' || char(10), char(10) || '4' || char(10))`}, "not signed by key"},
		{"roll back events, head and log", []string{
			`DELETE FROM audit_events WHERE seq >= 5`,
			`UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_events WHERE seq = 4)`,
			`DELETE FROM audit_tree_hashes`, // rebuilt from the 4 events at start-up
		}, "rolled back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDB(t, clean, tt.sql...)
			out, err := runCLI(t, dir, "audit", "verify")
			if err == nil {
				t.Fatalf("audit verify accepted a tampered chain:\n%s", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Fatalf("audit verify report lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

// An auditor kept the checkpoint of size 5; later the operator serves a
// log that was rolled back, or rolled back and rewritten (a fork). Each
// is consistent on its own, so only the kept checkpoint reveals it.
func TestAuditVerifyKeptCheckpoint(t *testing.T) {
	clean := seedChain(t)
	var note string
	db, err := sql.Open("sqlite", filepath.Join(clean, "idv.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.QueryRow(`SELECT note FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`).Scan(&note)
	db.Close()
	if err != nil || !strings.HasPrefix(note, "remoteidv/audit\n5\n") {
		t.Fatalf("kept note = %q, %v; want the checkpoint of size 5", note, err)
	}
	kept := filepath.Join(t.TempDir(), "kept.note")
	if err := os.WriteFile(kept, []byte(note), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, clean, "audit", "checkpoint"); err != nil || !strings.Contains(out, "merkle log size 6") {
		t.Fatalf("audit checkpoint: %v\n%s", err, out)
	}
	if out, err := runCLI(t, clean, "audit", "verify", "-kept", kept); err != nil || !strings.Contains(out, "extends the kept checkpoint") || !strings.Contains(out, "merkle log: size 6") {
		t.Fatalf("audit verify -kept (honest) = %v\n%s", err, out)
	}
	rollBack := rollBackTo2()
	for _, tt := range []struct {
		name  string
		users int // added after the roll-back
		want  string
	}{
		{"rolled back", 0, "rolled back"},
		{"forked", 4, "forked"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDB(t, clean, rollBack...)
			for i := range tt.users {
				if out, err := runCLI(t, dir, "users", "add", "--username", fmt.Sprintf("other%d", i), "--role", "clerk"); err != nil {
					t.Fatalf("users add: %v\n%s", err, out)
				}
			}
			if out, err := runCLI(t, dir, "audit", "checkpoint"); err != nil {
				t.Fatalf("audit checkpoint: %v\n%s", err, out)
			}
			if out, err := runCLI(t, dir, "audit", "verify"); err != nil {
				t.Fatalf("audit verify (no kept checkpoint) = %v, want the rewritten log to pass on its own:\n%s", err, out)
			}
			out, err := runCLI(t, dir, "audit", "verify", "-kept", kept)
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("audit verify -kept (%s) = %v\n%s\nwant a failure naming %q", tt.name, err, out, tt.want)
			}
		})
	}
}

// TestAuditVerifyPublished: a log rolled back and rewritten (a fork) that
// passes on its own, and even re-signs its checkpoints, fails against the
// checkpoint notes published earlier to the write-once evidence store.
func TestAuditVerifyPublished(t *testing.T) {
	clean := seedChain(t)
	if out, err := runCLI(t, clean, "audit", "verify"); err != nil || !strings.Contains(out, "published checkpoints: 1 in the evidence store (newest of size 5)") {
		t.Fatalf("audit verify (honest) = %v\n%s", err, out)
	}
	dir := copyDB(t, clean, rollBackTo2()...)
	if err := os.CopyFS(filepath.Join(dir, "evidence"), os.DirFS(filepath.Join(clean, "evidence"))); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if out, err := runCLI(t, dir, "users", "add", "--username", fmt.Sprintf("other%d", i), "--role", "clerk"); err != nil {
			t.Fatalf("users add: %v\n%s", err, out)
		}
	}
	if out, err := runCLI(t, dir, "audit", "checkpoint"); err != nil {
		t.Fatalf("audit checkpoint of the rewritten log: %v\n%s", err, out)
	}
	if out, err := runCLI(t, dir, "audit", "verify", "-published=false"); err != nil {
		t.Fatalf("audit verify -published=false = %v, want the rewritten log to pass on its own:\n%s", err, out)
	}
	out, err := runCLI(t, dir, "audit", "verify")
	if err == nil || !strings.Contains(out, "PROBLEM") || !strings.Contains(out, "00000000000000000005.note") {
		t.Fatalf("audit verify of a rewritten log against its published checkpoints = %v, want the size-5 note named:\n%s", err, out)
	}
}

// Checkpoint rows deleted from the database (which alone then looks
// fine) contradict the notes published before.
func TestAuditVerifyPublishedRowsDeleted(t *testing.T) {
	clean := seedChain(t)
	dir := copyDB(t, clean, `DELETE FROM audit_checkpoints`)
	if err := os.CopyFS(filepath.Join(dir, "evidence"), os.DirFS(filepath.Join(clean, "evidence"))); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, dir, "audit", "verify", "-published=false"); err != nil {
		t.Fatalf("audit verify -published=false = %v, want the database to pass on its own:\n%s", err, out)
	}
	out, err := runCLI(t, dir, "audit", "verify")
	if err == nil || !strings.Contains(out, "00000000000000000005.note: the database has no checkpoint of size 5 though it was published (checkpoint rows deleted)") {
		t.Fatalf("audit verify with checkpoint rows deleted = %v\n%s\nwant the size-5 note named", err, out)
	}
}

// idv audit key prints what the bank publishes: the fingerprint auditors
// pass to idv evidence verify, and the public key; idv audit verify and
// checkpoint print the fingerprint too.
func TestAuditKey(t *testing.T) {
	dir := seedChain(t)
	key, err := audit.LoadOrCreateKey(filepath.Join(dir, "key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	line := "signing key: fingerprint " + audit.Fingerprint(pub) + " (key id " + audit.KeyID(pub) + ")"
	out, err := runCLI(t, dir, "audit", "key")
	if err != nil || !strings.HasPrefix(out, line+"\n") {
		t.Fatalf("audit key = %v\n%s\nwant it to start with %q", err, out, line)
	}
	if got, err := audit.ParsePublicKey([]byte(strings.TrimPrefix(out, line+"\n"))); err != nil || !got.Equal(pub) {
		t.Fatalf("audit key printed a public key %v, %v; want the signing key's", got, err)
	}
	for _, args := range [][]string{{"audit", "verify"}, {"audit", "checkpoint"}} {
		if out, err := runCLI(t, dir, args...); err != nil || !strings.Contains(out, line) {
			t.Errorf("%v = %v\n%s\nwant %q", args, err, out, line)
		}
	}
}

func TestAuditVerifyWrongKey(t *testing.T) {
	dir := seedChain(t)
	if err := os.Remove(filepath.Join(dir, "key.pem")); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, dir, "audit", "verify")
	if err == nil || !strings.Contains(out, "signed by key") {
		t.Fatalf("audit verify with another key = %v\n%s", err, out)
	}
}
