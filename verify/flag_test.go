package verify_test

import (
	"context"
	"testing"

	"remoteidv/models"
	"remoteidv/verify"
)

// flagFixture is the verify fixture with two supervisors and an auditor on
// file (a flag names its raiser and clearer by staff row).
func flagFixture(t *testing.T) (*fixture, verify.Actor, verify.Actor) {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	err := f.g.Store.Transact(ctx, func(tx models.Tx) error {
		for _, st := range []*models.Staff{
			{ID: "stf_s", Username: "s", DisplayName: "Sup Sun", Roles: []models.Role{models.RoleSupervisor}, PasswordHash: "$argon2id$x", CreatedAt: f.clock.t},
			{ID: "stf_s2", Username: "s2", DisplayName: "Sup Qian", Roles: []models.Role{models.RoleSupervisor}, PasswordHash: "$argon2id$x", CreatedAt: f.clock.t},
			{ID: "stf_a", Username: "a", DisplayName: "Auditor Li", Roles: []models.Role{models.RoleAuditor}, PasswordHash: "$argon2id$x", CreatedAt: f.clock.t},
		} {
			if err := tx.CreateStaff(ctx, st); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sup2 := verify.Actor{Name: "staff:stf_s2", StaffID: "stf_s2", Roles: []models.Role{models.RoleSupervisor}}
	aud := verify.Actor{Name: "staff:stf_a", StaffID: "stf_a", Roles: []models.Role{models.RoleAuditor}}
	return f, sup2, aud
}

// events returns the case's audit events by action.
func events(t *testing.T, f *fixture, id models.CaseID) map[string]*models.AuditEvent {
	t.Helper()
	_, evs, err := f.svc.Timeline(context.Background(), f.sup, id)
	if err != nil {
		t.Fatalf("Timeline(%s): %v", id, err)
	}
	out := map[string]*models.AuditEvent{}
	for _, e := range evs {
		out[e.Action] = e
	}
	return out
}

func TestAbortFlagged(t *testing.T) {
	ctx := context.Background()
	f, _, _ := flagFixture(t)
	const no = models.AccountNo("6222000011112222")
	c, err := f.svc.CreateCase(ctx, f.clerk, goodCase())
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		a        verify.Actor
		reason   string
		category models.FlagCategory
		want     models.ErrorCode
	}{
		{"unknown category", f.clerk, "looked wrong", "rude", models.EINVALID},
		{"category in capitals", f.clerk, "looked wrong", "COERCION", models.EINVALID},
		{"no reason", f.clerk, " ", models.FlagCoercion, models.EINVALID},
		{"another clerk", f.other, "looked wrong", models.FlagCoercion, models.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.AbortFlagged(ctx, tc.a, c.ID, tc.reason, tc.category)
			if got := models.ErrorCodeOf(err); got != tc.want {
				t.Fatalf("AbortFlagged(%q, %q) = %v, want %s", tc.reason, tc.category, err, tc.want)
			}
		})
	}
	if got, err := f.svc.OpenFlags(ctx, no); err != nil || len(got) != 0 {
		t.Fatalf("OpenFlags after refused aborts = %v, %v; want none", got, err)
	}

	got, flag, err := f.svc.AbortFlagged(ctx, f.clerk, c.ID, "someone off camera told her what to say", models.FlagCoercion)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != models.StateAborted || flag == nil || flag.AccountNo != no || flag.CaseID != c.ID || flag.Category != models.FlagCoercion ||
		flag.Actor != f.clerk.StaffID || !flag.Open() {
		t.Fatalf("AbortFlagged = %+v, %+v; want the case aborted and an open coercion flag by the clerk", got, flag)
	}
	evs := events(t, f, c.ID)
	fe := evs["account.flagged"]
	if fe == nil || fe.Detail["flag"] != string(flag.ID) || fe.Detail["category"] != "coercion" || fe.Actor != f.clerk.Name {
		t.Fatalf("account.flagged event = %+v, want the flag, its category and the clerk", fe)
	}
	if ae := evs["case.abort"]; ae == nil || ae.Detail["fraud_category"] != "coercion" {
		t.Errorf("case.abort event = %+v, want fraud_category coercion", ae)
	}

	open, err := f.svc.OpenFlags(ctx, no, "6222000000000404")
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || len(open[no]) != 1 || open[no][0].ID != flag.ID || open[no][0].RaisedByName != "Clerk Wang" {
		t.Fatalf("OpenFlags = %+v, want the one flag raised by Clerk Wang", open)
	}

	// Without a category an abort raises nothing.
	c2, err := f.svc.CreateCase(ctx, f.clerk, goodCase())
	if err != nil {
		t.Fatal(err)
	}
	if _, fl, err := f.svc.AbortFlagged(ctx, f.sup, c2.ID, "poor video", ""); err != nil || fl != nil {
		t.Fatalf("AbortFlagged(no category) = %v, %v; want no flag", fl, err)
	}
	if open, _ := f.svc.OpenFlags(ctx, no); len(open[no]) != 1 {
		t.Errorf("OpenFlags after a plain abort = %d flags, want 1", len(open[no]))
	}
}

func TestNewCaseShowsFlags(t *testing.T) {
	ctx := context.Background()
	f, _, aud := flagFixture(t)
	first, fs, err := f.svc.CreateCaseWithFlags(ctx, f.clerk, goodCase())
	if err != nil || len(fs) != 0 {
		t.Fatalf("CreateCaseWithFlags(unflagged) = %v, %v; want no flags", fs, err)
	}
	if d := events(t, f, first.ID)["case.created"].Detail; d["account_flags_shown"] != "" {
		t.Errorf("case.created of an unflagged account names flags: %q", d["account_flags_shown"])
	}
	_, flag, err := f.svc.AbortFlagged(ctx, f.sup, first.ID, "not the holder's face", models.FlagSuspectedImpostor)
	if err != nil {
		t.Fatal(err)
	}

	// The other clerk opens a new case for the account: it works, and they
	// are shown the flag.
	c, fs, err := f.svc.CreateCaseWithFlags(ctx, f.other, goodCase())
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].ID != flag.ID || fs[0].Category != models.FlagSuspectedImpostor || fs[0].CaseID != first.ID || fs[0].RaisedByName != "Sup Sun" {
		t.Fatalf("CreateCaseWithFlags flags = %+v, want the impostor flag raised by Sup Sun on %s", fs, first.ID)
	}
	if got, want := events(t, f, c.ID)["case.created"].Detail["account_flags_shown"], string(flag.ID)+":suspected_impostor"; got != want {
		t.Errorf("case.created account_flags_shown = %q, want %q", got, want)
	}

	// Whoever may see the new case sees the flag on it; others are told
	// it does not exist.
	for _, tc := range []struct {
		name string
		a    verify.Actor
		want int
		code models.ErrorCode
	}{
		{"its clerk", f.other, 1, ""},
		{"a supervisor", f.sup, 1, ""},
		{"an auditor", aud, 1, ""},
		{"another clerk", f.clerk, 0, models.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.svc.CaseFlags(ctx, tc.a, c.ID)
			if models.ErrorCodeOf(err) != tc.code || len(got) != tc.want {
				t.Fatalf("CaseFlags = %d flags, %v; want %d, %q", len(got), err, tc.want, tc.code)
			}
		})
	}
}

func TestClearFlag(t *testing.T) {
	ctx := context.Background()
	f, sup2, aud := flagFixture(t)
	const no = models.AccountNo("6222000011112222")
	c, err := f.svc.CreateCase(ctx, f.clerk, goodCase())
	if err != nil {
		t.Fatal(err)
	}
	_, flag, err := f.svc.AbortFlagged(ctx, f.sup, c.ID, "the letter's stamp is pasted", models.FlagDocumentForgery)
	if err != nil {
		t.Fatal(err)
	}
	clerkSup := verify.Actor{Name: "staff:stf_c1", StaffID: "stf_c1", Roles: []models.Role{models.RoleClerk, models.RoleSupervisor}}
	for _, tc := range []struct {
		name   string
		a      verify.Actor
		no     models.AccountNo
		id     models.FlagID
		reason string
		want   models.ErrorCode
	}{
		{"clerk", f.clerk, no, flag.ID, "fine", models.EFORBIDDEN},
		{"auditor", aud, no, flag.ID, "fine", models.EFORBIDDEN},
		{"supervisor who raised it", f.sup, no, flag.ID, "fine", models.EFORBIDDEN},
		{"no reason", sup2, no, flag.ID, "  ", models.EINVALID},
		{"another account's flag", sup2, "6222000000000404", flag.ID, "fine", models.ENOTFOUND},
		{"unknown flag", sup2, no, "flg_nope", "fine", models.ENOTFOUND},
		{"the case's clerk who is also a supervisor", clerkSup, no, flag.ID, "called the branch, the stamp is real", ""},
		{"again", sup2, no, flag.ID, "fine", models.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.ClearFlag(ctx, tc.a, tc.no, tc.id, tc.reason)
			if got := models.ErrorCodeOf(err); got != tc.want {
				t.Fatalf("ClearFlag = %v, want %q", err, tc.want)
			}
		})
	}
	if open, err := f.svc.OpenFlags(ctx, no); err != nil || len(open) != 0 {
		t.Fatalf("OpenFlags after clearing = %v, %v; want none", open, err)
	}
	ce := events(t, f, c.ID)["account.flag_cleared"]
	if ce == nil || ce.Actor != clerkSup.Name || ce.Detail["flag"] != string(flag.ID) || ce.Detail["reason"] == "" {
		t.Fatalf("account.flag_cleared event = %+v, want the flag, the reason and the clearer", ce)
	}
	if _, fs, err := f.svc.CreateCaseWithFlags(ctx, f.clerk, goodCase()); err != nil || len(fs) != 0 {
		t.Errorf("CreateCaseWithFlags after clearing = %v, %v; want no flags", fs, err)
	}
}
