// Package archivertest holds test fixtures shared by the archiver, sealing
// and evidence-store tests: the two real databases, a seeded case, and
// staged evidence. It is for tests only.
package archivertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/statement"
	"remoteidv/storage/archiver"
	"remoteidv/storage/evidencetest"
	"remoteidv/storage/postgres"
	"remoteidv/storage/sqlite"
)

// Database opens a fresh, migrated database of one kind; it is closed at
// cleanup.
type Database struct {
	Name string
	Open func(t testing.TB) models.Store
}

// Databases are SQLite (a temporary file) and PostgreSQL (a new schema on
// the test server; a missing server fails the test).
func Databases() []Database {
	return []Database{
		{"sqlite", func(t testing.TB) models.Store {
			t.Helper()
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "idv.db"), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("sqlite.Open: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}},
		{"postgres", func(t testing.TB) models.Store {
			t.Helper()
			db, err := postgres.Open(context.Background(), testenv.PostgresURL(t), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("postgres.Open: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}},
	}
}

// Clerk is the staff ID of the seeded clerk.
const Clerk models.StaffID = "stf_clerk"

// SeedCase creates (once per database) the clerk and an account, then a
// case in state (written directly: approval belongs to a later issue, so
// tests drive cases to approved through the store).
func SeedCase(t testing.TB, db models.Store, state models.CaseState) *models.Case {
	t.Helper()
	ctx := context.Background()
	id, err := models.NewID(rand.Reader, "case")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := &models.Case{ID: models.CaseID(id), AccountNo: "6222020200112233", Purpose: models.PurposeStatement,
		PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", State: state, ClerkID: Clerk,
		SlotAt: now.Add(time.Hour), CustomerTZ: "America/New_York", CreatedAt: now, UpdatedAt: now}
	err = db.Transact(ctx, func(tx models.Tx) error {
		if _, err := tx.StaffByID(ctx, Clerk); models.ErrorCodeOf(err) == models.ENOTFOUND {
			if err := tx.CreateStaff(ctx, &models.Staff{ID: Clerk, Username: "clerk", DisplayName: "Clerk", Roles: []models.Role{models.RoleClerk},
				PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", CreatedAt: now}); err != nil {
				return err
			}
		}
		if err := tx.UpsertAccount(ctx, &models.Account{No: c.AccountNo, HolderName: "Li Wei", NationalID: "110101199003070000",
			Email: "li.wei@example.com", Phone: "+1 212 555 0100", TimeZone: "America/New_York", Language: "zh-CN", ImportedAt: now}); err != nil {
			return err
		}
		return tx.CreateCase(ctx, c)
	})
	if err != nil {
		t.Fatalf("seed case: %v", err)
	}
	return c
}

// Stage stages n generated artifacts of size bytes each (contents differ
// by seed) for case c and commits their rows in one transaction, as a
// producer would. It returns the rows.
func Stage(t testing.TB, db models.Store, st *archiver.Stager, c models.CaseID, kind models.EvidenceKind, n int, size int64, seed uint64) []*models.Evidence {
	t.Helper()
	ctx := context.Background()
	var out []*models.Evidence
	for i := range n {
		e, err := st.StageReader(ctx, archiver.Artifact{Case: c, Kind: kind, ContentType: "application/octet-stream", Actor: "staff:" + string(Clerk)},
			evidencetest.NewReader(seed+uint64(i), size))
		if err != nil {
			t.Fatalf("Stage #%d: %v", i, err)
		}
		out = append(out, e)
	}
	err := db.Transact(ctx, func(tx models.Tx) error {
		for _, e := range out {
			if err := tx.AddEvidence(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("AddEvidence: %v", err)
	}
	return out
}

// SeedStatement renders a small statement (one CNY section, no bookings)
// for case c, stages it and records it as the case's statement, as a
// submission would (the rendering from the ledger is tested in statement
// and verify). It returns the file's SHA-256, which an
// approval must name.
func SeedStatement(t testing.TB, db models.Store, st *archiver.Stager, c models.CaseID) string {
	t.Helper()
	ctx := context.Background()
	id, err := models.NewID(rand.Reader, "stm")
	if err != nil {
		t.Fatal(err)
	}
	body, err := statement.Render(&statement.Statement{Bank: statement.Bank{Name: "Demo Bank"}, HolderName: "Li Wei", AccountNo: "6222020200112233",
		PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", Sections: []statement.Section{{Currency: "CNY", Opening: 100000}}, StatementID: id,
		CaseRef: c, IssuedAt: time.Now().UTC()})
	if err != nil {
		t.Fatalf("render statement: %v", err)
	}
	e, err := st.StageReader(ctx, archiver.Artifact{Case: c, Kind: models.EvidenceStatement, ContentType: "application/pdf", Actor: "staff:" + string(Clerk)},
		bytes.NewReader(body))
	if err != nil {
		t.Fatalf("stage statement: %v", err)
	}
	err = db.Transact(ctx, func(tx models.Tx) error {
		if err := tx.AddEvidence(ctx, e); err != nil {
			return err
		}
		return tx.CreateStatement(ctx, &models.StatementRecord{ID: models.StatementID(id), CaseID: c, EvidenceID: e.ID, SHA256: e.SHA256, CreatedAt: e.CreatedAt})
	})
	if err != nil {
		t.Fatalf("seed statement of %s: %v", c, err)
	}
	return e.SHA256
}

// Items returns the case's evidence rows.
func Items(t testing.TB, db models.Store, c models.CaseID) []*models.Evidence {
	t.Helper()
	ctx := context.Background()
	var out []*models.Evidence
	if err := db.Transact(ctx, func(tx models.Tx) (err error) { out, err = tx.EvidenceByCase(ctx, c); return }); err != nil {
		t.Fatalf("EvidenceByCase: %v", err)
	}
	return out
}

// WaitArchived waits up to d for every item of the case to be archived.
func WaitArchived(t testing.TB, db models.Store, c models.CaseID, d time.Duration) []*models.Evidence {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		items := Items(t, db, c)
		pending := 0
		for _, e := range items {
			if e.ArchivedAt == nil {
				pending++
			}
		}
		if pending == 0 {
			return items
		}
		if time.Now().After(deadline) {
			for _, e := range items {
				if e.ArchivedAt == nil {
					t.Logf("pending %s attempts=%d last_error=%q", e.Key, e.Attempts, e.LastError)
				}
			}
			t.Fatalf("%d of %d items of %s still not archived after %s", pending, len(items), c, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Name formats an item for messages.
func Name(e *models.Evidence) string { return fmt.Sprintf("%s (%s)", e.Key, e.ID) }
