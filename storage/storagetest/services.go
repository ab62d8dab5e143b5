package storagetest

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"remoteidv/models"
)

// RunLegacyCases migrates a database with a case, its invite and an
// account from before migration 023 (services): the case keeps its row and
// what refers to it, the account gets an empty second name, and a balance
// certificate case can be opened afterwards.
func RunLegacyCases(t *testing.T, db Migrator, migrations fs.FS) {
	ctx := context.Background()
	migrateBefore(t, db, migrations, "023")
	seedLegacy(t, db)
	q := rebindFor(db, `INSERT INTO invites (id, case_id, token_hash, not_before, not_after, created_at) VALUES ('inv_1', 'case_a', ?, ?, ?, ?)`)
	if _, err := db.SQL().ExecContext(ctx, q, hashA, t0.UnixMicro(), t0.Add(time.Hour).UnixMicro(), t0.UnixMicro()); err != nil {
		t.Fatalf("insert an invite: %v", err)
	}
	if _, err := db.Migrate(ctx, migrations); err != nil {
		t.Fatalf("Migrate(all): %v", err)
	}
	var c *models.Case
	var invs []*models.Invite
	var a *models.Account
	tx(t, db, func(tx models.Tx) (err error) {
		if c, err = tx.CaseByID(ctx, "case_a"); err != nil {
			return err
		}
		if invs, err = tx.InvitesByCase(ctx, "case_a"); err != nil {
			return err
		}
		a, err = tx.AccountByNo(ctx, c.AccountNo)
		return err
	})
	if c.Purpose != models.PurposeStatement || c.ClerkID != "stf_clerk" || len(invs) != 1 || a.HolderNameAlt != "" || a.HolderName == "" {
		t.Fatalf("after 023: case %+v, %d invites, account names %q/%q; want the statement case, its invite, the name and no second one", c, len(invs), a.HolderName, a.HolderNameAlt)
	}
	cert := newCase("case_cert", string(c.AccountNo), "stf_clerk", t0)
	cert.Purpose, cert.PeriodFrom, cert.PeriodTo = models.PurposeBalanceCertificate, "2025-12-31", "2025-12-31"
	tx(t, db, func(tx models.Tx) error { return tx.CreateCase(ctx, cert) })
	// The rebuilt table still guards what points at it.
	bad := rebindFor(db, `INSERT INTO invites (id, case_id, token_hash, not_before, not_after, created_at) VALUES ('inv_2', 'case_none', ?, ?, ?, ?)`)
	if _, err := db.SQL().ExecContext(ctx, bad, hashB, t0.UnixMicro(), t0.Add(time.Hour).UnixMicro(), t0.UnixMicro()); err == nil {
		t.Error("after 023 an invite of a missing case was accepted")
	}
}

// migrateBefore applies to db the migrations numbered below version, as
// a database the binary of that time left.
func migrateBefore(t *testing.T, db Migrator, migrations fs.FS, version string) {
	t.Helper()
	old := fstest.MapFS{}
	entries, err := fs.ReadDir(migrations, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() < version {
			b, err := fs.ReadFile(migrations, e.Name())
			if err != nil {
				t.Fatal(err)
			}
			old[e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	if _, err := db.Migrate(context.Background(), old); err != nil {
		t.Fatalf("Migrate(before %s): %v", version, err)
	}
}
