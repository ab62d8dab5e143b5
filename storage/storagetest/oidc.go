package storagetest

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/models"
)

// testOIDCStaff: a member from the identity provider keeps its source and
// identity (issuer and subject) and the unusable password.
func testOIDCStaff(t *testing.T, s models.Store) {
	ctx := context.Background()
	o := staff("stf_o", "olga", models.RoleClerk)
	o.Source, o.DirectoryDN, o.PasswordHash = models.SourceOIDC, models.OIDCIdentity("https://sso.bank.example/realms/staff", "f81d4fae-7dec"), models.NoPassword
	tx(t, s, func(tx models.Tx) error { return tx.CreateStaff(ctx, o) })
	var got *models.Staff
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.StaffByUsername(ctx, "olga"); return })
	if diff := cmp.Diff(o, got); diff != "" {
		t.Fatalf("StaffByUsername(olga) (-want +got):\n%s", diff)
	}
	if !got.FromOIDC() || got.FromDirectory() || !got.External() {
		t.Errorf("FromOIDC, FromDirectory, External = %v, %v, %v; want true, false, true", got.FromOIDC(), got.FromDirectory(), got.External())
	}
}

// testOIDCLogins: a sign-in under way is taken once; an expired one is
// not found, and creating a new sign-in deletes expired ones.
func testOIDCLogins(t *testing.T, s models.Store) {
	ctx := context.Background()
	login := func(n int, created time.Time) *models.OIDCLogin {
		return &models.OIDCLogin{StateHash: fmt.Sprintf("%064x", n), Nonce: strings.Repeat("n", 22), Verifier: strings.Repeat("v", 43),
			CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute)}
	}
	a := login(1, t0)
	a.SessionHash = fmt.Sprintf("%064x", 99)
	tx(t, s, func(tx models.Tx) error { return tx.CreateOIDCLogin(ctx, a) })
	var got *models.OIDCLogin
	tx(t, s, func(tx models.Tx) (err error) {
		got, err = tx.TakeOIDCLogin(ctx, a.StateHash, t0.Add(time.Minute))
		return
	})
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("TakeOIDCLogin (-want +got):\n%s", diff)
	}
	err := s.Transact(ctx, func(tx models.Tx) error {
		_, err := tx.TakeOIDCLogin(ctx, a.StateHash, t0.Add(time.Minute))
		return err
	})
	wantCode(t, "TakeOIDCLogin(taken)", err, models.ENOTFOUND)

	b := login(2, t0)
	tx(t, s, func(tx models.Tx) error { return tx.CreateOIDCLogin(ctx, b) })
	err = s.Transact(ctx, func(tx models.Tx) error {
		_, err := tx.TakeOIDCLogin(ctx, b.StateHash, t0.Add(10*time.Minute))
		return err
	})
	wantCode(t, "TakeOIDCLogin(expired)", err, models.ENOTFOUND)

	c, d := login(3, t0), login(4, t0.Add(time.Hour))
	tx(t, s, func(tx models.Tx) error { return tx.CreateOIDCLogin(ctx, c) })
	tx(t, s, func(tx models.Tx) error { return tx.CreateOIDCLogin(ctx, d) }) // c expired by then: deleted
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.TakeOIDCLogin(ctx, c.StateHash, t0); return err })
	wantCode(t, "TakeOIDCLogin(swept)", err, models.ENOTFOUND)
}

// RunLegacyStaff: a database from before OIDC sign-in (migration 032)
// keeps its staff and everything hanging on them (roles, sessions, API
// tokens and their scopes, cases) across the rebuild of the staff table,
// and the rebuilt table takes members of source oidc and still guards
// what points at it.
func RunLegacyStaff(t *testing.T, db Migrator, migrations fs.FS) {
	ctx := context.Background()
	migrateBefore(t, db, migrations, "032")
	seed(t, db)
	d := staff("stf_d", "dora", models.RoleSupervisor, models.RoleAuditor)
	d.Source, d.DirectoryDN, d.PasswordHash = models.SourceLDAP, "uid=dora,ou=people,dc=bank,dc=example", models.NoPassword
	sess := &models.StaffSession{IDHash: fmt.Sprintf("%064x", 5), StaffID: "stf_clerk", CSRFToken: "csrf", CreatedAt: t0, LastSeen: t0}
	tok := &models.APIToken{ID: "tok_1", StaffID: "stf_clerk", Name: "core banking", Hash: fmt.Sprintf("%064x", 7),
		Scope: []models.Role{models.RoleClerk}, CreatedAt: t0, ExpiresAt: t0.Add(90 * 24 * time.Hour)}
	tx(t, db, func(tx models.Tx) error {
		if err := tx.CreateStaff(ctx, d); err != nil {
			return err
		}
		return tx.CreateAPIToken(ctx, tok)
	})
	// The session as the schema before 032 holds it (today's code writes
	// columns later migrations added).
	q := rebindFor(db, `INSERT INTO staff_sessions (id_hash, staff_id, csrf_token, created_at, last_seen) VALUES (?, ?, ?, ?, ?)`)
	if _, err := db.SQL().ExecContext(ctx, q, sess.IDHash, string(sess.StaffID), sess.CSRFToken, t0.UnixMicro(), t0.UnixMicro()); err != nil {
		t.Fatalf("insert a session of stf_clerk: %v", err)
	}
	if _, err := db.Migrate(ctx, migrations); err != nil {
		t.Fatalf("Migrate(all): %v", err)
	}
	var gotD *models.Staff
	var gotSess *models.StaffSession
	var gotTok *models.APIToken
	var c *models.Case
	tx(t, db, func(tx models.Tx) (err error) {
		if gotD, err = tx.StaffByUsername(ctx, "dora"); err != nil {
			return err
		}
		if gotSess, err = tx.SessionByHash(ctx, sess.IDHash); err != nil {
			return err
		}
		if gotTok, err = tx.APITokenByID(ctx, "tok_1"); err != nil {
			return err
		}
		c, err = tx.CaseByID(ctx, "case_a")
		return err
	})
	if diff := cmp.Diff(d, gotD); diff != "" {
		t.Errorf("dora after 032 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sess, gotSess); diff != "" {
		t.Errorf("session after 032 (-want +got):\n%s", diff)
	}
	if gotTok.Name != tok.Name || len(gotTok.Scope) != 1 || gotTok.Scope[0] != models.RoleClerk {
		t.Errorf("token after 032 = %+v, want its name and clerk scope", gotTok)
	}
	if c.ClerkID != "stf_clerk" {
		t.Errorf("case after 032 clerk = %s, want stf_clerk", c.ClerkID)
	}
	o := staff("stf_o", "olga", models.RoleClerk)
	o.Source, o.DirectoryDN, o.PasswordHash = models.SourceOIDC, models.OIDCIdentity("https://sso.example", "sub-1"), models.NoPassword
	tx(t, db, func(tx models.Tx) error { return tx.CreateStaff(ctx, o) })
	bad := rebindFor(db, `INSERT INTO staff_roles (staff_id, role) VALUES ('stf_none', 'clerk')`)
	if _, err := db.SQL().ExecContext(ctx, bad); err == nil {
		t.Error("after 032 a role of a missing member was accepted")
	}
}
