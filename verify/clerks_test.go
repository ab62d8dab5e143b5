package verify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/verify"
)

// TestBackupClerk: a backup clerk runs the case as its primary does (and
// the case shows in their list), never decides it, and an unrelated clerk
// does not see it; only a supervisor reassigns, with a reason, to an
// enabled clerk, before submission; the customer's consent stays.
func TestBackupClerk(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	other := verify.Actor{Name: "staff:stf_c2", StaffID: "stf_c2", Roles: []models.Role{models.RoleClerk}}
	f.tx(func(tx models.Tx) error {
		for _, st := range []*models.Staff{
			{ID: "stf_c2", Username: "c2", DisplayName: "Clerk Zhao", Roles: []models.Role{models.RoleClerk}},
			{ID: "stf_off", Username: "off", DisplayName: "Clerk Away", Roles: []models.Role{models.RoleClerk}, DisabledAt: new(f.clock.Now())},
		} {
			st.PasswordHash, st.CreatedAt = "$argon2id$x", f.clock.Now()
			if err := tx.CreateStaff(ctx, st); err != nil {
				return err
			}
		}
		return nil
	})
	id, l, _ := f.freshCase(f.clerk, models.StateInSession)
	consented := func() bool {
		ok, err := f.calls.ConsentRecorded(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !consented() {
		t.Fatal("fixture: no consent")
	}
	set := func(a verify.Actor, role models.ClerkRole, staff models.StaffID, reason string) error {
		_, _, err := f.svc.Reassign(ctx, a, id, verify.Reassignment{Role: role, Staff: staff, Reason: reason})
		return err
	}
	for _, tc := range []struct {
		name  string
		a     verify.Actor
		role  models.ClerkRole
		staff models.StaffID
		why   string
		want  models.ErrorCode
	}{
		{"by the clerk", f.clerk, models.ClerkBackup, "stf_c2", "r", models.EFORBIDDEN},
		{"by an auditor", f.audit, models.ClerkBackup, "stf_c2", "r", models.EFORBIDDEN},
		{"without a reason", f.sup, models.ClerkBackup, "stf_c2", " ", models.EINVALID},
		{"to a supervisor only", f.sup, models.ClerkBackup, "stf_s2", "r", models.EINVALID},
		{"to a disabled clerk", f.sup, models.ClerkBackup, "stf_off", "r", models.EINVALID},
		{"to an unknown member", f.sup, models.ClerkBackup, "stf_zz", "r", models.EINVALID},
		{"backup = primary", f.sup, models.ClerkBackup, f.clerk.StaffID, "r", models.EINVALID},
		{"clear a backup there is not", f.sup, models.ClerkBackup, "", "r", models.EINVALID},
		{"primary to nobody", f.sup, models.ClerkPrimary, "", "r", models.EINVALID},
		{"unknown role", f.sup, "deputy", "stf_c2", "r", models.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := set(tc.a, tc.role, tc.staff, tc.why); models.ErrorCodeOf(err) != tc.want {
				t.Errorf("Reassign(%s) = %v, want %s", tc.name, err, tc.want)
			}
		})
	}
	if err := set(f.sup, models.ClerkBackup, f.both.StaffID, "covers the 22:00 call"); err != nil {
		t.Fatalf("Reassign(backup): %v", err)
	}
	if !consented() {
		t.Error("the reassignment dropped the customer's consent")
	}

	// The backup (clerk and supervisor) runs the case; the unrelated clerk
	// does not see it.
	scope := models.LetterScope{AccountNo: acctNo, Service: models.PurposeStatement, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", RegisteredEmail: true}
	if _, err := f.desk.RecordLetterScope(ctx, f.both, id, l, scope); err != nil {
		t.Errorf("RecordLetterScope as the backup: %v", err)
	}
	for _, tc := range []struct {
		a    verify.Actor
		want models.ErrorCode
	}{{f.both, ""}, {f.clerk, ""}, {other, models.ENOTFOUND}} {
		_, err := f.desk.UploadLetter(ctx, tc.a, id, signedLetter(t, 600, 400))
		if models.ErrorCodeOf(err) != tc.want {
			t.Errorf("UploadLetter as %s = %v, want %q", tc.a.StaffID, err, tc.want)
		}
		_, runs, err := f.svc.JoinCall(ctx, tc.a, id)
		if models.ErrorCodeOf(err) != tc.want || (err == nil && !runs) {
			t.Errorf("JoinCall as %s = runs %v, %v; want to run it (or %q)", tc.a.StaffID, runs, err, tc.want)
		}
	}
	mine, _, err := f.svc.ListCases(ctx, verify.Actor{Name: "staff:stf_b", StaffID: "stf_b", Roles: []models.Role{models.RoleClerk}}, models.CaseFilter{Limit: 50})
	if err != nil || len(mine) != 1 || mine[0].ID != id || mine[0].ClerkRoleOf("stf_b") != models.ClerkBackup {
		t.Errorf("ListCases as the backup (clerk role only) = %d cases, %v; want the case, as backup", len(mine), err)
	}

	// Four eyes: submitted, the backup may not decide; after submission
	// nobody reassigns.
	f.tx(func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		c.State = models.StatePendingReview
		return tx.UpdateCase(ctx, c)
	})
	sum := archivertest.SeedStatement(t, f.db, f.g.Stager, id)
	in := verify.DecisionInput{Decision: models.DecisionApprove, Reason: "ok", StepUpAt: f.clock.Now().Add(-time.Minute), StatementSHA256: sum}
	_, _, err = f.desk.Decide(ctx, f.both, id, in)
	if models.ErrorCodeOf(err) != models.EFORBIDDEN || !strings.Contains(err.Error(), "this case's clerk") {
		t.Errorf("Decide by the backup = %v, want EFORBIDDEN (four eyes)", err)
	}
	_, _, err = f.desk.Decide(ctx, f.sup, id, in)
	if models.ErrorCodeOf(err) != models.EFORBIDDEN || !strings.Contains(err.Error(), "case.reassigned") {
		t.Errorf("Decide by the supervisor who reassigned = %v, want EFORBIDDEN naming case.reassigned", err)
	}
	if err := set(f.sup2, models.ClerkBackup, "stf_c2", "too late"); models.ErrorCodeOf(err) != models.ECONFLICT {
		t.Errorf("Reassign after submission = %v, want ECONFLICT", err)
	}
	if _, _, err := f.desk.Decide(ctx, f.sup2, id, in); err != nil {
		t.Errorf("Decide by an uninvolved supervisor: %v", err)
	}
}

// TestStaffingWarning: scheduling warns when the slot, in the branch's
// zone (Asia/Shanghai; the fixture's clock is 2026-11-27), falls outside
// every clerk's working hours. The fixture's slot, 2026-12-01 09:00 in New
// York, is Tuesday 22:00 in Shanghai.
func TestStaffingWarning(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	id, _, _ := f.freshCase(f.clerk, models.StateScheduled)
	f.tx(func(tx models.Tx) error {
		return tx.CreateStaff(ctx, &models.Staff{ID: "stf_c1b", Username: "c1b", DisplayName: "Clerk Late", Roles: []models.Role{models.RoleClerk},
			PasswordHash: "$argon2id$x", CreatedAt: f.clock.Now()})
	})
	for _, tc := range []struct {
		name            string
		primary, backup string // hours; backup "-" for no backup
		warn            string // "" for none
	}{
		{"no hours recorded", "", "-", ""},
		{"primary in hours", "tue 21:00-23:00", "-", ""},
		{"primary out of hours, no backup", "mon-fri 09:00-17:00", "-", "the case's clerk does not work at the slot's branch time (Tue 22:00 Asia/Shanghai)"},
		{"backup in hours", "mon-fri 09:00-17:00", "tue 20:00-02:00", ""},
		{"backup overnight from Monday ends before", "mon-fri 09:00-17:00", "mon 20:00-02:00", "neither of the case's clerks works"},
		{"backup overnight from Tuesday", "mon-fri 09:00-17:00", "tue 21:30-00:30", ""},
		{"backup without hours", "mon-fri 09:00-17:00", "", ""},
		{"both out of hours", "mon-fri 09:00-17:00", "sun 00:00-24:00, sat 00:00-24:00", "Clerk Wang (mon 09:00-17:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ph, err := models.ParseWorkingHours(tc.primary)
			if err != nil {
				t.Fatal(err)
			}
			f.tx(func(tx models.Tx) error {
				if err := tx.SetWorkingHours(ctx, f.clerk.StaffID, ph); err != nil {
					return err
				}
				c, err := tx.CaseByID(ctx, id)
				if err != nil {
					return err
				}
				c.BackupID = ""
				if tc.backup != "-" {
					c.BackupID = "stf_c1b"
				}
				return tx.UpdateCase(ctx, c)
			})
			if tc.backup != "-" {
				bh, err := models.ParseWorkingHours(tc.backup)
				if err != nil {
					t.Fatal(err)
				}
				f.tx(func(tx models.Tx) error { return tx.SetWorkingHours(ctx, "stf_c1b", bh) })
			}
			c, err := f.svc.Case(ctx, f.sup, id)
			if err != nil {
				t.Fatal(err)
			}
			st, err := f.svc.Staffing(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(st.Warnings, "|")
			if (tc.warn == "") != (got == "") || !strings.Contains(got, tc.warn) {
				t.Errorf("Staffing warnings = %q, want %q", got, tc.warn)
			}
		})
	}
}
