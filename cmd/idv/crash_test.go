package main

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/archiver/archivertest"
)

// TestCrashRecovery kills `idv serve` (a child process, SIGKILL) at each
// crash point of a case's way from review to release, one process per
// point, and restarts it. Right after each kill and again once the
// restarted server has caught up, `idv check` must find every invariant
// holding and SQLite's integrity check ok:
//
//   - archive: the archiver stored an object, not yet marked archived;
//   - stage: the approval record is staged and its row being inserted
//     when the decision's transaction dies: the case stays pending_review
//     and the supervisor decides again;
//   - decide-committed: the approval is committed, its checkpoint and
//     seal attempt are not; the sealer finishes the job after the restart,
//     and the request retried with its Idempotency-Key approves nothing
//     twice;
//   - seal: the manifest is stored and the seal's transaction is being
//     written, not committed: the case stays approved; the restarted
//     sealer seals again (the first manifest stays an orphan object), and
//     the statement is released once.
func TestCrashRecovery(t *testing.T) {
	start := time.Now()
	idv := newE2EIDV(t, map[string]string{
		"IDV_REQUIRE_MODELS": "false", "IDV_MODELS_DIR": t.TempDir(), // no face work here: no models loaded
		"IDV_SEAL_INTERVAL": "1s", "IDV_ARCHIVE_LEASE": "5s", "IDV_NEW_PASSWORD": e2ePassword, "IDV_LOG_LEVEL": "info",
		"IDV_NODE_HEARTBEAT": "1s", // a restart after a crash waits for the dead process to go quiet (3 heartbeats)
	})
	if out, err := idv.cli("users", "add", "--username", "sup", "--name", "Supervisor", "--role", "supervisor"); err != nil {
		t.Fatalf("users add: %v\n%s", err, out)
	}
	// A case submitted for review, with captures and a letter staged and
	// waiting for the archiver (archivertest.SeedCase's clerk is not sup).
	var c *models.Case
	var statementSHA string
	func() {
		db := idv.openStore()
		defer db.Close()
		st, err := archiver.NewStager(filepath.Join(idv.dir, "staging"), time.Now, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		c = archivertest.SeedCase(t, db, models.StatePendingReview)
		// The ledger its statement is made of (submission, skipped here,
		// would have required it).
		ctx := context.Background()
		if err := db.Transact(ctx, func(tx models.Tx) error {
			_, err := tx.AddLedgerEntries(ctx, []*models.LedgerEntry{{AccountNo: c.AccountNo, BookedAt: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC),
				Description: "Salary transfer", Amount: 500000, Currency: "CNY"}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		archivertest.Stage(t, db, st, c.ID, models.EvidenceCapture, 3, 64<<10, 1)
		archivertest.Stage(t, db, st, c.ID, models.EvidenceLetter, 1, 32<<10, 9)
		statementSHA = archivertest.SeedStatement(t, db, st, c.ID)
	}()
	decision := map[string]string{"decision": "approve", "reason": "every check passed", "statement_sha256": statementSHA}
	path := "/api/cases/" + string(c.ID)

	// crashed runs serve with the crash point, lets act drive it there,
	// and waits for the kill.
	crashed := func(point crashPoint, act func()) {
		t.Helper()
		p := idv.spawn("idv serve (crash at "+string(point)+")", map[string]string{"IDV_TEST_CRASH_AT": string(point)}, "serve")
		if act != nil { // else the server's own jobs get there, maybe before it answers
			p.serving(idv.origin, 60*time.Second)
			act()
		}
		st := p.exit(60 * time.Second)
		if !killedBy(st, syscall.SIGKILL) || !strings.Contains(p.log.String(), "crash point reached") || !strings.Contains(p.log.String(), "point="+string(point)) {
			t.Fatalf("serve with IDV_TEST_CRASH_AT=%s ended %v, want killed at that point:\n%s", point, st, p.log.String())
		}
		idv.check("right after a kill at " + string(point))
	}

	// 1. Archiving.
	crashed(crashArchive, nil)

	// 2. Staging: the decision's transaction dies with it.
	crashed(crashStage, func() {
		sup := loginAPI(t, idv.origin, "sup")
		sup.stepUp()
		if code, b, err := sup.call("POST", path+"/decision", decision, idempotencyKey(1)); err == nil {
			t.Errorf("decision at the stage crash point answered %d %s, want the connection lost", code, b)
		}
	})
	if st := idv.caseState(c.ID); st != models.StatePendingReview {
		t.Fatalf("after a crash inside the decision's transaction the case is %s, want pending_review", st)
	}

	// 3. Between the decision's commit and its side effects.
	retry := idempotencyKey(2)
	crashed(crashDecideCommitted, func() {
		sup := loginAPI(t, idv.origin, "sup")
		sup.stepUp()
		if code, b, err := sup.call("POST", path+"/decision", decision, retry); err == nil {
			t.Errorf("decision at the decide-committed crash point answered %d %s, want the connection lost", code, b)
		}
	})
	if st := idv.caseState(c.ID); st != models.StateApproved {
		t.Fatalf("after a crash right after the decision's commit the case is %s, want approved", st)
	}

	// 4. Sealing: the sealer of the restarted process reaches it alone.
	crashed(crashSeal, nil)
	if st := idv.caseState(c.ID); st != models.StateApproved {
		t.Fatalf("after a crash inside sealing the case is %s, want still approved", st)
	}

	// 5. A clean run finishes the job: sealed, released once.
	p := idv.spawn("idv serve", nil, "serve")
	p.serving(idv.origin, 60*time.Second)
	idv.waitState(c.ID, models.StateSealed, 60*time.Second)
	sup := loginAPI(t, idv.origin, "sup")
	sup.stepUp()
	// The decision retried with its key decides nothing again.
	if code, b, err := sup.call("POST", path+"/decision", decision, retry); err != nil || code == 200 {
		t.Errorf("decision retried after the crash = %d %s (%v), want a refusal (already decided or still in flight)", code, b, err)
	}
	sup.must(200, "POST", path+"/release", nil, idempotencyKey(3))
	if code, b, _ := sup.call("POST", path+"/release", nil, idempotencyKey(4)); code != 409 {
		t.Errorf("a second release = %d %s, want 409", code, b)
	}
	idv.check("after recovery and release (server running)")
	p.cmd.Process.Signal(syscall.SIGTERM)
	if st := p.exit(60 * time.Second); st.ExitCode() != 0 {
		t.Fatalf("serve after SIGTERM exited %v, want 0:\n%s", st, p.log.String())
	}
	idv.check("after release and shutdown")
	var manifests, approvals int
	idv.withStore(func(ctx context.Context, tx models.Tx) error {
		items, err := tx.EvidenceByCase(ctx, c.ID)
		for _, e := range items {
			switch e.Kind {
			case models.EvidenceManifest:
				manifests++
			case models.EvidenceApproval:
				approvals++
			}
		}
		return err
	})
	if manifests != 1 || approvals != 1 {
		t.Errorf("case has %d manifest and %d approval rows, want 1 each", manifests, approvals)
	}
	t.Logf("four crashes and recoveries in %v", time.Since(start).Round(time.Second))
}

// An unknown crash point stops serve before it opens anything.
func TestCrashPointUnknown(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"IDV_DATABASE_URL": "sqlite:" + filepath.Join(dir, "idv.db"), "IDV_DATA_DIR": dir, "IDV_TEST_CRASH_AT": "archiving"}
	err := run(context.Background(), &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return env[k] }}, []string{"serve"})
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "IDV_TEST_CRASH_AT=archiving: not a crash point") {
		t.Errorf("serve with IDV_TEST_CRASH_AT=archiving = %v, want a usage error naming it", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "idv.db")); err == nil {
		t.Error("serve opened the database before refusing the crash point")
	}
}
