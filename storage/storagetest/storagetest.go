// Package storagetest is the conformance suite every models.Store passes:
// storage/sqlite and storage/postgres run it against a real database.
package storagetest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/audit"
	"remoteidv/models"
)

// Run runs the whole suite; newStore returns an empty, migrated store that
// the suite may close.
func Run(t *testing.T, newStore func(t *testing.T) models.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s models.Store)
	}{
		{"Staff", testStaff},
		{"DirectoryStaff", testDirectoryStaff},
		{"OIDCStaff", testOIDCStaff},
		{"OIDCLogins", testOIDCLogins},
		{"Sessions", testSessions},
		{"APITokens", testAPITokens},
		{"Accounts", testAccounts},
		{"AccountStatuses", testAccountStatuses},
		{"ImportRuns", testImportRuns},
		{"Cases", testCases},
		{"Invites", testInvites},
		{"Audit", testAudit},
		{"AuditConcurrentAppends", testAuditConcurrent},
		{"TreeHashes", testTreeHashes},
		{"MerkleLog", testMerkleLog},
		{"MerkleLogBackfill", testMerkleBackfill},
		{"PublishedCheckpoints", testPublished},
		{"Evidence", testEvidence},
		{"Checks", testChecks},
		{"Calls", testCalls},
		{"CallInterruptions", testCallInterruptions},
		{"CallLegs", testCallLegs},
		{"Letters", testLetters},
		{"EmailCodes", testEmailCodes},
		{"Approvals", testApprovals},
		{"Idempotency", testIdempotency},
		{"Ledger", testLedger},
		{"MailOutbox", testMailOutbox},
		{"Rollback", testRollback},
		{"Constraints", testConstraints},
		{"Invariants", testInvariants},
		{"FaceCalibrations", testFaceCalibrations},
		{"AuthLimits", testAuthLimits},
		{"Statements", testStatements},
		{"EnvelopePasswords", testEnvelopePasswords},
		{"AccountFlags", testAccountFlags},
		{"Stats", testStats},
		{"Webhooks", testWebhooks},
		{"Clerks", testClerks},
		{"WorkingHours", testWorkingHours},
		{"CustomerComms", testCustomerComms},
		{"StaffNotifications", testStaffNotifications},
		{"Nodes", testNodes},
		{"JobLeases", testJobLeases},
		{"WebAuthn", testWebAuthn},
		{"WebAuthnEnrolment", testWebAuthnEnrolment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

var t0 = time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC)

func tx(t testing.TB, s models.Store, fn func(tx models.Tx) error) {
	t.Helper()
	if err := s.Transact(context.Background(), fn); err != nil {
		t.Fatalf("Transact: %v", err)
	}
}

func wantCode(t testing.TB, what string, err error, code models.ErrorCode) {
	t.Helper()
	if got := models.ErrorCodeOf(err); got != code {
		t.Fatalf("%s: error code = %q (%v), want %q", what, got, err, code)
	}
}

func staff(id, user string, roles ...models.Role) *models.Staff {
	return &models.Staff{ID: models.StaffID(id), Username: user, DisplayName: "Name " + user, Roles: roles,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=2$c2FsdA$aGFzaA", CreatedAt: t0, Source: models.SourceLocal}
}

func account(no string) *models.Account {
	return &models.Account{No: models.AccountNo(no), HolderName: "Li Wei " + no, NationalID: "110101199003070000",
		Email: "li.wei@example.com", Phone: "+1 212 555 0100", TimeZone: "America/New_York", Language: "zh-CN", ImportedAt: t0}
}

func newCase(id, acct, clerk string, slot time.Time) *models.Case {
	return &models.Case{ID: models.CaseID(id), AccountNo: models.AccountNo(acct), Purpose: models.PurposeStatement,
		PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", State: models.StateScheduled, ClerkID: models.StaffID(clerk),
		SlotAt: slot, CustomerTZ: "America/New_York", CreatedAt: t0, UpdatedAt: t0}
}

// seed creates a clerk, an account and a case.
// seedLegacy is seed on a database migrated only part of the way: the
// account goes in with the columns of migration 001 (UpsertAccount writes
// later ones).
func seedLegacy(t testing.TB, db Migrator) {
	t.Helper()
	ctx := context.Background()
	a := account("6222000011112222")
	legacyStaff(t, db, staff("stf_clerk", "clerk", models.RoleClerk))
	q := rebindFor(db, `INSERT INTO accounts (no, holder_name, national_id, email, phone, time_zone, language, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if _, err := db.SQL().ExecContext(ctx, q, a.No, a.HolderName, a.NationalID, a.Email, a.Phone, a.TimeZone, a.Language, a.ImportedAt.UnixMicro()); err != nil {
		t.Fatalf("insert a legacy account: %v", err)
	}
	// The case too goes in with the columns of migration 001 (CreateCase
	// writes later ones).
	c := newCase("case_a", string(a.No), "stf_clerk", t0.Add(time.Hour))
	q = rebindFor(db, `INSERT INTO cases (id, account_no, purpose, period_from, period_to, state, clerk_id, slot_at, customer_tz, reason, created_at, updated_at, version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`)
	if _, err := db.SQL().ExecContext(ctx, q, c.ID, c.AccountNo, string(c.Purpose), c.PeriodFrom, c.PeriodTo, string(c.State), c.ClerkID,
		c.SlotAt.UnixMicro(), c.CustomerTZ, c.Reason, c.CreatedAt.UnixMicro(), c.UpdatedAt.UnixMicro()); err != nil {
		t.Fatalf("insert a legacy case: %v", err)
	}
}

// legacyStaff inserts a member of staff with the columns of migration 001
// (CreateStaff writes later ones).
func legacyStaff(t testing.TB, db Migrator, st *models.Staff) {
	t.Helper()
	ctx := context.Background()
	q := rebindFor(db, `INSERT INTO staff (id, username, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`)
	if _, err := db.SQL().ExecContext(ctx, q, st.ID, st.Username, st.DisplayName, st.PasswordHash, st.CreatedAt.UnixMicro()); err != nil {
		t.Fatalf("insert legacy staff %s: %v", st.Username, err)
	}
	for _, r := range st.Roles {
		if _, err := db.SQL().ExecContext(ctx, rebindFor(db, `INSERT INTO staff_roles (staff_id, role) VALUES (?, ?)`), st.ID, string(r)); err != nil {
			t.Fatalf("insert legacy role of %s: %v", st.Username, err)
		}
	}
}

func seed(t testing.TB, s models.Store) {
	t.Helper()
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateStaff(context.Background(), staff("stf_clerk", "clerk", models.RoleClerk)); err != nil {
			return err
		}
		if err := tx.UpsertAccount(context.Background(), account("6222000011112222")); err != nil {
			return err
		}
		return tx.CreateCase(context.Background(), newCase("case_a", "6222000011112222", "stf_clerk", t0.Add(time.Hour)))
	})
}

func testStaff(t *testing.T, s models.Store) {
	ctx := context.Background()
	a := staff("stf_a", "alice", models.RoleClerk, models.RoleSupervisor)
	tx(t, s, func(tx models.Tx) error { return tx.CreateStaff(ctx, a) })
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateStaff(ctx, staff("stf_b", "alice")) })
	wantCode(t, "CreateStaff(duplicate username)", err, models.ECONFLICT)

	var got *models.Staff
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.StaffByUsername(ctx, "alice"); return })
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("StaffByUsername(alice) (-want +got):\n%s", diff)
	}
	disabled := t0.Add(time.Minute)
	a.Roles, a.DisabledAt, a.DisplayName = []models.Role{models.RoleAuditor}, &disabled, "Alice A."
	tx(t, s, func(tx models.Tx) error { return tx.UpdateStaff(ctx, a) })
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.StaffByID(ctx, "stf_a"); return })
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("StaffByID after update (-want +got):\n%s", diff)
	}
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.StaffByID(ctx, "stf_none"); return err })
	wantCode(t, "StaffByID(missing)", err, models.ENOTFOUND)
	var all []*models.Staff
	tx(t, s, func(tx models.Tx) (err error) { all, err = tx.ListStaff(ctx); return })
	if len(all) != 1 {
		t.Fatalf("ListStaff() = %d staff, want 1", len(all))
	}
}

// testDirectoryStaff: a directory member keeps its source, entry and the
// unusable password; who disabled it is kept and cleared; the schema
// refuses an unknown source.
func testDirectoryStaff(t *testing.T, s models.Store) {
	ctx := context.Background()
	d := staff("stf_d", "dora", models.RoleSupervisor)
	d.Source, d.DirectoryDN, d.PasswordHash = models.SourceLDAP, "uid=dora,ou=people,dc=bank,dc=example", models.NoPassword
	tx(t, s, func(tx models.Tx) error { return tx.CreateStaff(ctx, d) })
	var got *models.Staff
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.StaffByUsername(ctx, "dora"); return })
	if diff := cmp.Diff(d, got); diff != "" {
		t.Fatalf("StaffByUsername(dora) (-want +got):\n%s", diff)
	}
	off := t0.Add(time.Hour)
	d.DisabledAt, d.DisabledBy, d.DirectoryDN = &off, models.DisabledByDirectory, "uid=dora,ou=staff,dc=bank,dc=example"
	tx(t, s, func(tx models.Tx) error { return tx.UpdateStaff(ctx, d) })
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.StaffByID(ctx, "stf_d"); return })
	if diff := cmp.Diff(d, got); diff != "" {
		t.Fatalf("StaffByID(stf_d) after disabling (-want +got):\n%s", diff)
	}
	bad := staff("stf_x", "xavier")
	bad.Source = "kerberos"
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateStaff(ctx, bad) })
	if err == nil {
		t.Errorf("CreateStaff(source kerberos) = nil, want the schema's refusal")
	}
}

func testSessions(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	hash := fmt.Sprintf("%064x", 1)
	sess := &models.StaffSession{IDHash: hash, StaffID: "stf_clerk", CSRFToken: "csrf", CreatedAt: t0, LastSeen: t0}
	tx(t, s, func(tx models.Tx) error { return tx.CreateSession(ctx, sess) })
	tx(t, s, func(tx models.Tx) error {
		if err := tx.TouchSession(ctx, hash, t0.Add(time.Minute)); err != nil {
			return err
		}
		return tx.SetSessionStepUp(ctx, hash, t0.Add(2*time.Minute))
	})
	var got *models.StaffSession
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.SessionByHash(ctx, hash); return })
	want := *sess
	want.LastSeen, want.StepUpAt = t0.Add(time.Minute), t0.Add(2*time.Minute)
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Fatalf("SessionByHash (-want +got):\n%s", diff)
	}
	tx(t, s, func(tx models.Tx) error { return tx.DeleteStaffSessions(ctx, "stf_clerk") })
	err := s.Transact(ctx, func(tx models.Tx) error { _, err := tx.SessionByHash(ctx, hash); return err })
	wantCode(t, "SessionByHash(after DeleteStaffSessions)", err, models.ENOTFOUND)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.TouchSession(ctx, hash, t0) })
	wantCode(t, "TouchSession(deleted)", err, models.ENOTFOUND)
}

func testAccounts(t *testing.T, s models.Store) {
	ctx := context.Background()
	a := account("6222000011112222")
	tx(t, s, func(tx models.Tx) error { return tx.UpsertAccount(ctx, a) })
	a.Email, a.HolderNameAlt = "new@example.com", "李伟"
	tx(t, s, func(tx models.Tx) error { return tx.UpsertAccount(ctx, a) })
	var got *models.Account
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.AccountByNo(ctx, a.No); return })
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("AccountByNo (-want +got):\n%s", diff)
	}
	tx(t, s, func(tx models.Tx) error { return tx.UpsertAccount(ctx, account("6222999900001111")) })
	for _, tc := range []struct {
		q    string
		want int
	}{{"6222", 2}, {"62229999", 1}, {"li wei", 2}, {"李伟", 1}, {"%", 0}, {"nobody", 0}} {
		var found []*models.Account
		tx(t, s, func(tx models.Tx) (err error) { found, err = tx.SearchAccounts(ctx, tc.q, 10); return })
		if len(found) != tc.want {
			t.Errorf("SearchAccounts(%q) = %d accounts, want %d", tc.q, len(found), tc.want)
		}
	}
	img := &models.AccountImage{AccountNo: a.No, Kind: models.ImagePhoto, ContentType: "image/jpeg", SHA256: fmt.Sprintf("%064x", 3), Data: []byte{1, 2, 3}, CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.AddAccountImage(ctx, img) })
	first := img.ID
	again := *img
	again.Problem = "no face"
	tx(t, s, func(tx models.Tx) error { return tx.AddAccountImage(ctx, &again) })
	if again.ID != first {
		t.Fatalf("AddAccountImage(same hash) id = %d, want %d", again.ID, first)
	}
	var imgs []*models.AccountImage
	tx(t, s, func(tx models.Tx) (err error) { imgs, err = tx.AccountImages(ctx, a.No, models.ImagePhoto); return })
	if len(imgs) != 1 || imgs[0].Problem != "no face" || string(imgs[0].Data) != "\x01\x02\x03" {
		t.Fatalf("AccountImages = %+v, want one photo flagged 'no face'", imgs)
	}
}

func testCases(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	tx(t, s, func(tx models.Tx) error {
		for i := range 5 {
			c := newCase(fmt.Sprintf("case_%d", i), "6222000011112222", "stf_clerk", t0.Add(time.Duration(i)*24*time.Hour))
			if i%2 == 1 {
				c.State = models.StateCancelled
			}
			if err := tx.CreateCase(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	cert := newCase("case_cert", "6222000011112222", "stf_clerk", t0)
	cert.Purpose, cert.PeriodFrom, cert.PeriodTo = models.PurposeBalanceCertificate, "2025-12-31", "2025-12-31"
	tx(t, s, func(tx models.Tx) error { return tx.CreateCase(ctx, cert) })
	var c *models.Case
	tx(t, s, func(tx models.Tx) (err error) { c, err = tx.CaseByID(ctx, cert.ID); return })
	if c.Purpose != models.PurposeBalanceCertificate || c.PeriodFrom != "2025-12-31" || c.PeriodTo != "2025-12-31" {
		t.Fatalf("CaseByID(certificate) = %s %s..%s, want balance_certificate 2025-12-31", c.Purpose, c.PeriodFrom, c.PeriodTo)
	}
	tx(t, s, func(tx models.Tx) (err error) { c, err = tx.CaseByID(ctx, "case_a"); return })
	stale := *c
	c.State, c.UpdatedAt = models.StateInSession, t0.Add(time.Minute)
	tx(t, s, func(tx models.Tx) error { return tx.UpdateCase(ctx, c) })
	if c.Version != 2 {
		t.Fatalf("UpdateCase version = %d, want 2", c.Version)
	}
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.UpdateCase(ctx, &stale) })
	wantCode(t, "UpdateCase(stale version)", err, models.ECONFLICT)

	for _, tc := range []struct {
		name      string
		f         models.CaseFilter
		wantN     int
		wantTotal int
	}{
		{"all", models.CaseFilter{Limit: 100}, 7, 7},
		{"page", models.CaseFilter{Limit: 2, Offset: 2}, 2, 7},
		{"state", models.CaseFilter{State: models.StateCancelled, Limit: 100}, 2, 2},
		{"clerk", models.CaseFilter{ClerkID: "stf_clerk", Limit: 100}, 7, 7},
		{"window", models.CaseFilter{SlotFrom: t0.Add(24 * time.Hour), SlotTo: t0.Add(72 * time.Hour), Limit: 100}, 2, 2},
		{"account", models.CaseFilter{AccountNo: "0000", Limit: 100}, 0, 0},
	} {
		var got []*models.Case
		var total int
		tx(t, s, func(tx models.Tx) (err error) { got, total, err = tx.ListCases(ctx, tc.f); return })
		if len(got) != tc.wantN || total != tc.wantTotal {
			t.Errorf("ListCases(%s) = %d cases of %d, want %d of %d", tc.name, len(got), total, tc.wantN, tc.wantTotal)
		}
	}
}

func testInvites(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	nb, na := models.InviteWindow(t0.Add(time.Hour))
	inv := &models.Invite{ID: "inv_1", CaseID: "case_a", TokenHash: fmt.Sprintf("%064x", 9), NotBefore: nb, NotAfter: na, CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.CreateInvite(ctx, inv) })
	var got *models.Invite
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.InviteByHash(ctx, inv.TokenHash); return })
	if diff := cmp.Diff(inv, got); diff != "" {
		t.Fatalf("InviteByHash (-want +got):\n%s", diff)
	}
	// Two concurrent first uses: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.Transact(ctx, func(tx models.Tx) error { return tx.MarkInviteUsed(ctx, "inv_1", t0.Add(time.Hour)) })
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch models.ErrorCodeOf(err) {
		case "":
			wins++
		case models.ECONFLICT:
		default:
			t.Fatalf("MarkInviteUsed race: unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("MarkInviteUsed race: %d winners, want 1", wins)
	}
	tx(t, s, func(tx models.Tx) error { return tx.RevokeInvites(ctx, "case_a", t0.Add(2*time.Hour)) })
	var all []*models.Invite
	tx(t, s, func(tx models.Tx) (err error) { all, err = tx.InvitesByCase(ctx, "case_a"); return })
	if len(all) != 1 || all[0].RevokedAt == nil || all[0].UsedAt == nil {
		t.Fatalf("InvitesByCase = %+v, want one used and revoked invite", all)
	}
}

func testAudit(t *testing.T, s models.Store) {
	ctx := context.Background()
	now := t0
	chain := audit.Chain{Now: func() time.Time { now = now.Add(time.Second); return now }}
	for i, c := range []models.CaseID{"", "case_x", "case_y", "case_x"} {
		tx(t, s, func(tx models.Tx) error {
			return chain.Append(ctx, tx, &models.AuditEvent{Actor: "system", Action: "test.event", CaseID: c, Detail: map[string]string{"i": fmt.Sprint(i)}})
		})
	}
	var events []*models.AuditEvent
	var head models.AuditHead
	tx(t, s, func(tx models.Tx) (err error) {
		if head, err = tx.AuditHeadForUpdate(ctx); err != nil {
			return err
		}
		events, err = tx.AuditEvents(ctx, models.AuditFilter{})
		return err
	})
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep := audit.Verify(events, nil, pub, head); !rep.OK() || rep.Events != 4 || head.Seq != 4 {
		t.Fatalf("Verify(stored chain) = %+v (head %+v), want 4 good events", rep, head)
	}
	var forCase []*models.AuditEvent
	tx(t, s, func(tx models.Tx) (err error) {
		forCase, err = tx.AuditEvents(ctx, models.AuditFilter{CaseID: "case_x"})
		return
	})
	if len(forCase) != 2 || forCase[0].Seq != 2 || forCase[1].Seq != 4 {
		t.Fatalf("AuditEvents(case_x) = %d events, want seq 2 and 4", len(forCase))
	}
	// An event that does not follow the head is refused.
	err = s.Transact(ctx, func(tx models.Tx) error {
		e := &models.AuditEvent{Seq: 9, At: t0, Actor: "x", Action: "y", PrevHash: head.Hash, Hash: fmt.Sprintf("%064x", 1)}
		return tx.InsertAuditEvent(ctx, e)
	})
	wantCode(t, "InsertAuditEvent(gap)", err, models.ECONFLICT)

	var hashes []string
	for _, e := range events {
		hashes = append(hashes, e.Hash)
	}
	cp, err := audit.SignCheckpoint(priv, head, audit.RootOf(hashes), t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("SignCheckpoint: %v", err)
	}
	tx(t, s, func(tx models.Tx) error { return tx.InsertCheckpoint(ctx, cp) })
	var cps []*models.Checkpoint
	tx(t, s, func(tx models.Tx) (err error) { cps, err = tx.Checkpoints(ctx); return })
	if diff := cmp.Diff([]*models.Checkpoint{cp}, cps); diff != "" {
		t.Fatalf("Checkpoints (-want +got):\n%s", diff)
	}
	if rep := audit.Verify(events, cps, pub, head); !rep.OK() {
		t.Fatalf("Verify(with checkpoint) problems: %v", rep.Problems)
	}
}

func testAuditConcurrent(t *testing.T, s models.Store) {
	ctx := context.Background()
	chain := audit.Chain{Now: time.Now}
	const workers, each = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				err := s.Transact(ctx, func(tx models.Tx) error {
					return chain.Append(ctx, tx, &models.AuditEvent{Actor: fmt.Sprintf("worker:%d", w), Action: "test.concurrent", Detail: map[string]string{"i": fmt.Sprint(i)}})
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Append: %v", err)
	}
	var events []*models.AuditEvent
	var head models.AuditHead
	tx(t, s, func(tx models.Tx) (err error) {
		if head, err = tx.AuditHeadForUpdate(ctx); err != nil {
			return err
		}
		events, err = tx.AuditEvents(ctx, models.AuditFilter{})
		return err
	})
	pub, _, _ := ed25519.GenerateKey(nil)
	if rep := audit.Verify(events, nil, pub, head); !rep.OK() || rep.Events != workers*each {
		t.Fatalf("Verify(after concurrent appends) = %d events, problems %v; want %d and none", rep.Events, rep.Problems, workers*each)
	}
}

func evidence(id, key string) *models.Evidence {
	return &models.Evidence{ID: models.EvidenceID(id), CaseID: "case_a", Kind: models.EvidenceCapture, Key: key,
		SHA256: fmt.Sprintf("%064x", len(id)), Size: 10, ContentType: "image/jpeg", Actor: "staff:stf_clerk",
		CreatedAt: t0, Staged: "/tmp/" + id, NextAttemptAt: t0}
}

func testEvidence(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	tx(t, s, func(tx models.Tx) error {
		for i := range 3 {
			if err := tx.AddEvidence(ctx, evidence(fmt.Sprintf("ev_%d", i), fmt.Sprintf("cases/case_a/capture/%d", i))); err != nil {
				return err
			}
		}
		return nil
	})
	dup := evidence("ev_dup", "cases/case_a/capture/0")
	tx(t, s, func(tx models.Tx) error { return tx.AddEvidence(ctx, dup) })
	if dup.ID != "ev_0" {
		t.Fatalf("AddEvidence(existing key) id = %s, want ev_0", dup.ID)
	}
	lease := t0.Add(time.Minute)
	var a, b []*models.Evidence
	tx(t, s, func(tx models.Tx) (err error) { a, err = tx.ClaimEvidence(ctx, "w1", t0, lease, 2); return })
	tx(t, s, func(tx models.Tx) (err error) { b, err = tx.ClaimEvidence(ctx, "w2", t0, lease, 10); return })
	if len(a) != 2 || len(b) != 1 || a[0].LeaseOwner != "w1" || b[0].ID == a[0].ID || b[0].ID == a[1].ID {
		t.Fatalf("ClaimEvidence: w1 got %d, w2 got %d; want 2 and 1 disjoint", len(a), len(b))
	}
	err := s.Transact(ctx, func(tx models.Tx) error {
		return tx.MarkArchived(ctx, a[0].ID, "w2", models.ObjectInfo{}, t0)
	})
	wantCode(t, "MarkArchived(not lease owner)", err, models.ECONFLICT)
	info := models.ObjectInfo{VersionID: "v1", RetainUntil: t0.AddDate(5, 0, 0)}
	tx(t, s, func(tx models.Tx) error { return tx.MarkArchived(ctx, a[0].ID, "w1", info, t0.Add(time.Second)) })
	tx(t, s, func(tx models.Tx) error { return tx.MarkFailed(ctx, a[1].ID, "w1", "minio down", t0.Add(time.Hour)) })
	// w2 renews its lease past the point where it would run out; w1 cannot
	// renew what w2 holds.
	tx(t, s, func(tx models.Tx) error { return tx.RenewEvidenceLease(ctx, b[0].ID, "w2", t0.Add(10*time.Minute)) })
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.RenewEvidenceLease(ctx, b[0].ID, "w1", t0.Add(10*time.Minute)) })
	wantCode(t, "RenewEvidenceLease(not lease owner)", err, models.ECONFLICT)
	var renewed []*models.Evidence
	tx(t, s, func(tx models.Tx) (err error) {
		renewed, err = tx.ClaimEvidence(ctx, "w4", t0.Add(2*time.Minute), t0.Add(3*time.Minute), 10)
		return
	})
	if len(renewed) != 0 {
		t.Fatalf("ClaimEvidence(a renewed lease not run out) = %d items, want none", len(renewed))
	}
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.RenewEvidenceLease(ctx, a[0].ID, "w1", t0.Add(10*time.Minute)) })
	wantCode(t, "RenewEvidenceLease(archived)", err, models.ECONFLICT)
	tx(t, s, func(tx models.Tx) error { return tx.RenewEvidenceLease(ctx, b[0].ID, "w2", lease) }) // back to where it was
	// After the lease runs out, w2's item is claimable by w3; the failed
	// one is not due yet; the archived one never again.
	var c []*models.Evidence
	tx(t, s, func(tx models.Tx) (err error) {
		c, err = tx.ClaimEvidence(ctx, "w3", t0.Add(2*time.Minute), t0.Add(3*time.Minute), 10)
		return
	})
	if len(c) != 1 || c[0].ID != b[0].ID {
		t.Fatalf("ClaimEvidence(after lease expiry) = %d items, want only %s", len(c), b[0].ID)
	}
	tx(t, s, func(tx models.Tx) error { return tx.ReleaseLeases(ctx, "w3") })
	var n int
	var oldest time.Time
	tx(t, s, func(tx models.Tx) (err error) { n, oldest, err = tx.EvidenceBacklog(ctx); return })
	if n != 2 || !oldest.Equal(t0) {
		t.Fatalf("EvidenceBacklog() = %d, %v; want 2, %v", n, oldest, t0)
	}
	var got *models.Evidence
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.EvidenceByID(ctx, a[0].ID); return })
	if got.ArchivedAt == nil || got.VersionID != "v1" || got.RetainUntil == nil || !got.RetainUntil.Equal(info.RetainUntil) {
		t.Fatalf("EvidenceByID(archived) = %+v", got)
	}
	var failed *models.Evidence
	tx(t, s, func(tx models.Tx) (err error) { failed, err = tx.EvidenceByID(ctx, a[1].ID); return })
	if failed.Attempts != 1 || failed.LastError != "minio down" || failed.LeaseOwner != "" {
		t.Fatalf("EvidenceByID(failed) = %+v", failed)
	}
	var all []*models.Evidence
	tx(t, s, func(tx models.Tx) (err error) { all, err = tx.EvidenceByCase(ctx, "case_a"); return })
	if len(all) != 3 {
		t.Fatalf("EvidenceByCase = %d, want 3", len(all))
	}

	// Expiry: only the archived item, only once its retention has ended, once.
	due := func(at time.Time) (d []*models.Evidence) {
		tx(t, s, func(tx models.Tx) (err error) { d, err = tx.DueForExpiry(ctx, at, nil, 10); return })
		return d
	}
	if d := due(info.RetainUntil.Add(-time.Second)); len(d) != 0 {
		t.Fatalf("DueForExpiry(before retain-until) = %d items, want none", len(d))
	}
	if d := due(info.RetainUntil); len(d) != 1 || d[0].ID != a[0].ID {
		t.Fatalf("DueForExpiry(at retain-until) = %+v, want only %s", d, a[0].ID)
	}
	var next []*models.Evidence
	tx(t, s, func(tx models.Tx) (err error) { next, err = tx.DueForExpiry(ctx, info.RetainUntil, got, 10); return })
	if len(next) != 0 {
		t.Fatalf("DueForExpiry(after the only due item) = %d items, want none", len(next))
	}
	gone := info.RetainUntil.Add(time.Hour)
	tx(t, s, func(tx models.Tx) error { return tx.MarkExpired(ctx, a[0].ID, gone) })
	for _, id := range []models.EvidenceID{a[0].ID, a[1].ID} {
		err := s.Transact(ctx, func(tx models.Tx) error { return tx.MarkExpired(ctx, id, gone) })
		wantCode(t, "MarkExpired(expired or unarchived "+string(id)+")", err, models.ECONFLICT)
	}
	if d := due(gone.AddDate(1, 0, 0)); len(d) != 0 {
		t.Fatalf("DueForExpiry after MarkExpired = %d items, want none", len(d))
	}
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.EvidenceByID(ctx, a[0].ID); return })
	if got.ExpiredAt == nil || !got.ExpiredAt.Equal(gone) {
		t.Fatalf("EvidenceByID(expired).ExpiredAt = %v, want %v", got.ExpiredAt, gone)
	}
}

func testRollback(t *testing.T, s models.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Transact(ctx, func(tx models.Tx) error {
		if err := tx.CreateStaff(ctx, staff("stf_r", "rolled")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Transact = %v, want boom", err)
	}
	err = s.Transact(ctx, func(tx models.Tx) error { _, err := tx.StaffByUsername(ctx, "rolled"); return err })
	wantCode(t, "StaffByUsername(rolled back)", err, models.ENOTFOUND)
}

func testConstraints(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	for _, tc := range []struct {
		name string
		fn   func(tx models.Tx) error
	}{
		{"bad state", func(tx models.Tx) error {
			c := newCase("case_bad", "6222000011112222", "stf_clerk", t0)
			c.State = "bogus"
			return tx.CreateCase(ctx, c)
		}},
		{"unknown account", func(tx models.Tx) error {
			return tx.CreateCase(ctx, newCase("case_bad", "0000999", "stf_clerk", t0))
		}},
		{"unknown clerk", func(tx models.Tx) error {
			return tx.CreateCase(ctx, newCase("case_bad", "6222000011112222", "stf_none", t0))
		}},
		{"period reversed", func(tx models.Tx) error {
			c := newCase("case_bad", "6222000011112222", "stf_clerk", t0)
			c.PeriodFrom, c.PeriodTo = "2025-12-31", "2025-01-01"
			return tx.CreateCase(ctx, c)
		}},
		{"unknown purpose", func(tx models.Tx) error {
			c := newCase("case_bad", "6222000011112222", "stf_clerk", t0)
			c.Purpose = "postcard"
			return tx.CreateCase(ctx, c)
		}},
		{"balance certificate over a period", func(tx models.Tx) error {
			c := newCase("case_bad", "6222000011112222", "stf_clerk", t0)
			c.Purpose = models.PurposeBalanceCertificate
			return tx.CreateCase(ctx, c)
		}},
		{"bad role", func(tx models.Tx) error { return tx.CreateStaff(ctx, staff("stf_x", "x", "janitor")) }},
		{"plain password", func(tx models.Tx) error {
			st := staff("stf_y", "y")
			st.PasswordHash = "secret"
			return tx.CreateStaff(ctx, st)
		}},
		{"bad email", func(tx models.Tx) error {
			a := account("12345678")
			a.Email = "nobody"
			return tx.UpsertAccount(ctx, a)
		}},
		{"invite window reversed", func(tx models.Tx) error {
			return tx.CreateInvite(ctx, &models.Invite{ID: "inv_x", CaseID: "case_a", TokenHash: fmt.Sprintf("%064x", 5), NotBefore: t0, NotAfter: t0, CreatedAt: t0})
		}},
	} {
		if err := s.Transact(ctx, tc.fn); err == nil {
			t.Errorf("%s: accepted, want a constraint violation", tc.name)
		}
	}
}

func testChecks(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	c := &models.Check{ID: "chk_1", CaseID: "case_a", Kind: models.CheckFaceMatch, Result: "MATCH", Detail: []byte(`{"distance":0.2}`), Actor: "staff:stf_clerk", CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.CreateCheck(ctx, c) })
	tx(t, s, func(tx models.Tx) error {
		return tx.ConfirmCheck(ctx, "chk_1", "staff:stf_clerk", "confirmed", "same person", t0.Add(time.Minute))
	})
	err := s.Transact(ctx, func(tx models.Tx) error { return tx.ConfirmCheck(ctx, "chk_1", "staff:stf_clerk", "rejected", "", t0) })
	wantCode(t, "ConfirmCheck(twice)", err, models.ECONFLICT)
	err = s.Transact(ctx, func(tx models.Tx) error { return tx.ConfirmCheck(ctx, "chk_none", "x", "confirmed", "", t0) })
	wantCode(t, "ConfirmCheck(missing)", err, models.ENOTFOUND)
	var got []*models.Check
	tx(t, s, func(tx models.Tx) (err error) { got, err = tx.ChecksByCase(ctx, "case_a"); return })
	at := t0.Add(time.Minute)
	want := *c
	want.ConfirmedBy, want.ConfirmedAt, want.Confirmation, want.Note = "staff:stf_clerk", &at, "confirmed", "same person"
	if diff := cmp.Diff([]*models.Check{&want}, got); diff != "" {
		t.Fatalf("ChecksByCase (-want +got):\n%s", diff)
	}
	err = s.Transact(ctx, func(tx models.Tx) error {
		bad := *c
		bad.ID, bad.Kind = "chk_2", "horoscope"
		return tx.CreateCheck(ctx, &bad)
	})
	if err == nil {
		t.Fatal("CreateCheck(unknown kind) accepted")
	}

	// A live capture keeps where it sits in the recording; an upload says so.
	tx(t, s, func(tx models.Tx) error {
		return tx.CreateCall(ctx, &models.Call{ID: "call_1", CaseID: "case_a", StartedAt: t0, Recording: models.RecordingActive})
	})
	live := &models.Check{ID: "chk_live", CaseID: "case_a", Kind: models.CheckFaceMatch, Result: "MATCH", Detail: []byte(`{}`), Actor: "staff:stf_clerk",
		CreatedAt: t0.Add(2 * time.Minute), Source: models.SourceLiveCall, Call: "call_1", Segment: 2, MediaMS: 61_234}
	up := &models.Check{ID: "chk_up", CaseID: "case_a", Kind: models.CheckFaceMatch, Result: "MATCH", Detail: []byte(`{}`), Actor: "staff:stf_clerk",
		CreatedAt: t0.Add(3 * time.Minute), Source: models.SourceUpload}
	tx(t, s, func(tx models.Tx) error {
		if err := tx.CreateCheck(ctx, live); err != nil {
			return err
		}
		return tx.CreateCheck(ctx, up)
	})
	for _, w := range []*models.Check{live, up} {
		var g *models.Check
		tx(t, s, func(tx models.Tx) (err error) { g, err = tx.CheckByID(ctx, w.ID); return })
		if diff := cmp.Diff(w, g); diff != "" {
			t.Errorf("CheckByID(%s) (-want +got):\n%s", w.ID, diff)
		}
	}
	for _, tc := range []struct {
		name string
		mod  func(c *models.Check)
	}{
		{"unknown source", func(c *models.Check) { c.Source = "selfie" }},
		{"live capture without a call", func(c *models.Check) { c.Call, c.Segment = "", 1 }},
		{"live capture without a segment", func(c *models.Check) { c.Segment = 0 }},
		{"live capture of an unknown call", func(c *models.Check) { c.Call = "call_none" }},
		{"negative media time", func(c *models.Check) { c.MediaMS = -1 }},
	} {
		bad := *live
		bad.ID = "chk_bad"
		tc.mod(&bad)
		if err := s.Transact(ctx, func(tx models.Tx) error { return tx.CreateCheck(ctx, &bad) }); err == nil {
			t.Errorf("CreateCheck(%s) accepted", tc.name)
		}
	}

	img := &models.AccountImage{AccountNo: "6222000011112222", Kind: models.ImagePhoto, ContentType: "image/jpeg", SHA256: fmt.Sprintf("%064x", 3), Data: []byte{1}, CreatedAt: t0}
	tx(t, s, func(tx models.Tx) error { return tx.AddAccountImage(ctx, img) })
	desc := make([]byte, 512)
	desc[0] = 7
	for _, h := range []string{fmt.Sprintf("%064x", 1), fmt.Sprintf("%064x", 2)} {
		tx(t, s, func(tx models.Tx) error {
			return tx.PutFaceReference(ctx, &models.FaceReference{ImageID: img.ID, ModelHash: h, Descriptor: desc, CreatedAt: t0})
		})
	}
	desc[0] = 9
	tx(t, s, func(tx models.Tx) error {
		return tx.PutFaceReference(ctx, &models.FaceReference{ImageID: img.ID, ModelHash: fmt.Sprintf("%064x", 1), Descriptor: desc, CreatedAt: t0})
	})
	var refs []*models.FaceReference
	tx(t, s, func(tx models.Tx) (err error) {
		refs, err = tx.FaceReferences(ctx, "6222000011112222", fmt.Sprintf("%064x", 1))
		return
	})
	if len(refs) != 1 || refs[0].Descriptor[0] != 9 {
		t.Fatalf("FaceReferences = %d refs, want 1 replaced descriptor", len(refs))
	}
	err = s.Transact(ctx, func(tx models.Tx) error {
		return tx.PutFaceReference(ctx, &models.FaceReference{ImageID: img.ID, ModelHash: fmt.Sprintf("%064x", 3), Descriptor: []byte{1, 2}, CreatedAt: t0})
	})
	if err == nil {
		t.Fatal("PutFaceReference(short descriptor) accepted")
	}
}
