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

func testAPITokens(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	tok := &models.APIToken{ID: "tok_1", StaffID: "stf_clerk", Name: "core banking", Hash: fmt.Sprintf("%064x", 7),
		Scope: []models.Role{models.RoleClerk}, CreatedAt: t0, ExpiresAt: t0.Add(90 * 24 * time.Hour)}
	tx(t, s, func(tx models.Tx) error { return tx.CreateAPIToken(ctx, tok) })
	var got *models.APIToken
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.APITokenByID(ctx, "tok_1"); return })
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Fatalf("APITokenByID(tok_1) (-want +got):\n%s", diff)
	}
	tx(t, s, func(tx models.Tx) error { return tx.TouchAPIToken(ctx, "tok_1", t0.Add(time.Second)) })
	tx(t, s, func(tx models.Tx) error { return tx.RevokeAPIToken(ctx, "tok_1", t0.Add(time.Hour)) })
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.APITokenByHash(ctx, tok.Hash); return })
	want := *tok
	used, revoked := t0.Add(time.Second), t0.Add(time.Hour)
	want.LastUsed, want.RevokedAt = &used, &revoked
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Fatalf("APITokenByHash after use and revocation (-want +got):\n%s", diff)
	}
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.RevokeAPIToken(ctx, "tok_1", t0) })
	wantCode(t, "RevokeAPIToken(twice)", err, models.ENOTFOUND)
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.APITokenByID(ctx, "tok_none"); return err })
	wantCode(t, "APITokenByID(missing)", err, models.ENOTFOUND)

	// A staff member's tokens, revoked ones included (the four-eyes rule
	// counts what they did as that member); a scope of several roles
	// comes back in the order of models.Roles.
	tx(t, s, func(tx models.Tx) error {
		return tx.CreateStaff(ctx, staff("stf_boss", "boss", models.RoleClerk, models.RoleSupervisor, models.RoleAdmin))
	})
	tok2 := &models.APIToken{ID: "tok_2", StaffID: "stf_clerk", Name: "second", Hash: fmt.Sprintf("%064x", 8),
		Scope: []models.Role{models.RoleClerk}, CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)}
	tok3 := &models.APIToken{ID: "tok_3", StaffID: "stf_boss", Name: "boss", Hash: fmt.Sprintf("%064x", 9),
		Scope: []models.Role{models.RoleAdmin, models.RoleClerk}, CreatedAt: t0.Add(2 * time.Minute), ExpiresAt: t0.Add(time.Hour)}
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateAPIToken(ctx, tok2); err != nil {
			return err
		}
		return tx.CreateAPIToken(ctx, tok3)
	})
	ids := func(ts []*models.APIToken) string {
		var out []string
		for _, t := range ts {
			out = append(out, string(t.ID)+":"+string(t.StaffID))
		}
		return strings.Join(out, ",")
	}
	var list []*models.APIToken
	tx(t, s, func(tx models.Tx) (err error) { list, err = tx.APITokensByStaff(ctx, "stf_clerk"); return })
	if got, want := ids(list), "tok_1:stf_clerk,tok_2:stf_clerk"; got != want || list[0].RevokedAt == nil {
		t.Fatalf("APITokensByStaff(stf_clerk) = %s, want %s (tok_1 revoked)", got, want)
	}
	tx(t, s, func(tx models.Tx) (err error) { list, err = tx.APITokensByStaff(ctx, "stf_nobody"); return })
	if len(list) != 0 {
		t.Fatalf("APITokensByStaff(unknown) = %s, want none", ids(list))
	}
	tx(t, s, func(tx models.Tx) (err error) { list, err = tx.ListAPITokens(ctx); return })
	if got, want := ids(list), "tok_1:stf_clerk,tok_2:stf_clerk,tok_3:stf_boss"; got != want {
		t.Fatalf("ListAPITokens() = %s, want %s", got, want)
	}
	if diff := cmp.Diff([]models.Role{models.RoleClerk, models.RoleAdmin}, list[2].Scope); diff != "" {
		t.Errorf("ListAPITokens()[2].Scope (-want +got):\n%s", diff)
	}

	// A token without a scope, or with a role that does not exist, is
	// not stored, nor is any part of it.
	for _, scope := range [][]models.Role{nil, {models.RoleClerk, "root"}} {
		bad := &models.APIToken{ID: "tok_bad", StaffID: "stf_clerk", Name: "bad", Hash: fmt.Sprintf("%064x", 10), Scope: scope,
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateAPIToken(ctx, bad) }); err == nil {
			t.Errorf("CreateAPIToken(scope %v) = nil, want an error", scope)
		}
		err := s.Transact(ctx, func(tx models.Tx) error { _, err := tx.APITokenByID(ctx, "tok_bad"); return err })
		wantCode(t, fmt.Sprintf("APITokenByID(tok_bad) after CreateAPIToken(scope %v)", scope), err, models.ENOTFOUND)
	}
}

// RunLegacyTokens migrates a database from before token scopes (migration
// 015) holding tokens of a clerk and of a clerk-supervisor: each token's
// scope becomes its member's roles, and it expires 90 days after the
// migration ran (not at once, not never).
func RunLegacyTokens(t *testing.T, db Migrator, migrations fs.FS) {
	ctx := context.Background()
	migrateBefore(t, db, migrations, "015")
	seedLegacy(t, db)
	legacyStaff(t, db, staff("stf_cs", "cs", models.RoleClerk, models.RoleSupervisor))
	for i, sid := range []string{"stf_clerk", "stf_cs"} {
		q := rebindFor(db, `INSERT INTO api_tokens (id, staff_id, name, hash, created_at) VALUES (?, ?, 'old', ?, ?)`)
		if _, err := db.SQL().ExecContext(ctx, q, fmt.Sprintf("tok_%d", i), sid, fmt.Sprintf("%064x", i), t0.UnixMicro()); err != nil {
			t.Fatalf("insert a token of %s: %v", sid, err)
		}
	}
	before := time.Now()
	if _, err := db.Migrate(ctx, migrations); err != nil {
		t.Fatalf("Migrate(all): %v", err)
	}
	after := time.Now()
	for id, want := range map[models.TokenID][]models.Role{
		"tok_0": {models.RoleClerk},
		"tok_1": {models.RoleClerk, models.RoleSupervisor},
	} {
		var got *models.APIToken
		tx(t, db, func(tx models.Tx) (err error) { got, err = tx.APITokenByID(ctx, id); return })
		if diff := cmp.Diff(want, got.Scope); diff != "" {
			t.Errorf("%s after 015: scope (-want +got):\n%s", id, diff)
		}
		const ttl = 90 * 24 * time.Hour
		if got.ExpiresAt.Before(before.Add(ttl).Truncate(time.Second)) || got.ExpiresAt.After(after.Add(ttl)) {
			t.Errorf("%s after 015: expires %v, want 90 days after the migration (%v to %v)", id, got.ExpiresAt, before.Add(ttl), after.Add(ttl))
		}
	}
}
