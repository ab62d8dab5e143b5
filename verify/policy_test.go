package verify_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"remoteidv/models"
	"remoteidv/storage/archiver/archivertest"
	"remoteidv/storage/sqldb"
	"remoteidv/verify"
)

// freshCase opens a case run by f.clerk with a live invite and a letter on
// file, in state (scheduled or in_session, with the customer's consent and
// an unconfirmed face check "chk_<case>" when in_session).
func (f *deskFixture) freshCase(clerk verify.Actor, state models.CaseState) (models.CaseID, models.LetterID, models.CheckID) {
	f.t.Helper()
	ctx := context.Background()
	cs, err := f.svc.CreateCase(ctx, clerk, verify.NewCase{AccountNo: acctNo, Purpose: models.PurposeStatement, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31",
		Slot: verify.Slot{Local: "2026-12-01T09:00", TimeZone: "America/New_York"}})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.IssueInvite(ctx, clerk, cs.ID); err != nil {
		f.t.Fatal(err)
	}
	l, err := f.desk.UploadLetter(ctx, clerk, cs.ID, signedLetter(f.t, 600, 400))
	if err != nil {
		f.t.Fatal(err)
	}
	chk := models.CheckID("chk_" + strings.TrimPrefix(string(cs.ID), "case_"))
	if state == models.StateScheduled {
		return cs.ID, l.ID, chk
	}
	now := f.clock.Now()
	f.tx(func(tx models.Tx) error {
		invs, err := tx.InvitesByCase(ctx, cs.ID)
		if err != nil {
			return err
		}
		s := &models.CustomerSession{ID: models.CustomerSessionID("cs_" + string(cs.ID)), CaseID: cs.ID, InviteID: invs[len(invs)-1].ID,
			SecretHash: fmt.Sprintf("%x", sha256.Sum256([]byte(cs.ID))), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := tx.CreateCustomerSession(ctx, s); err != nil {
			return err
		}
		if err := tx.RecordConsent(ctx, s.ID, "v1", strings.Repeat("b", 64), "en", now); err != nil {
			return err
		}
		if err := tx.CreateCheck(ctx, &models.Check{ID: chk, CaseID: cs.ID, Kind: models.CheckFaceMatch, Result: "MATCH", Detail: []byte("{}"),
			Actor: clerk.Name, CreatedAt: now}); err != nil {
			return err
		}
		c, err := tx.CaseByID(ctx, cs.ID)
		if err != nil {
			return err
		}
		c.State = state
		return tx.UpdateCase(ctx, c)
	})
	return cs.ID, l.ID, chk
}

// TestOnlyTheAssignedClerkRunsACase: every clerk action needs the case's
// assigned clerk; a supervisor or auditor role held beside the clerk role
// adds nothing. Stopping a case (cancel, abort, revoking its invites) is
// also open to supervisors, never to auditors.
func TestOnlyTheAssignedClerkRunsACase(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	d := f.desk
	calls := f.calls
	clerkAuditor := verify.Actor{Name: "staff:stf_ca", StaffID: "stf_ca", Roles: []models.Role{models.RoleClerk, models.RoleAuditor}}
	adminClerk := verify.Actor{Name: "staff:stf_ac", StaffID: "stf_ac", Roles: []models.Role{models.RoleAdmin, models.RoleClerk}}
	scope := models.LetterScope{AccountNo: acctNo, Service: models.PurposeStatement, PeriodFrom: "2025-01-01", PeriodTo: "2025-12-31", RegisteredEmail: true}
	type do func(a verify.Actor, id models.CaseID, l models.LetterID, chk models.CheckID) error
	const (
		allowed = "allowed"
		refused = "forbidden"
		hidden  = "not found"
	)
	tests := []struct {
		name  string
		state models.CaseState
		do    do
		// what each actor gets; the case's clerk (f.clerk) is always allowed.
		clerkSup, clerkAud, auditor, adminClerk string
	}{
		{"Reschedule", models.StateScheduled, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := f.svc.Reschedule(ctx, a, id, verify.Slot{Local: "2026-12-03T09:00", TimeZone: "America/New_York"})
			return err
		}, refused, refused, refused, hidden},
		{"IssueInvite", models.StateScheduled, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := f.svc.IssueInvite(ctx, a, id)
			return err
		}, refused, refused, refused, hidden},
		{"MailInvite", models.StateScheduled, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, _, err := d.MailInvite(ctx, a, id)
			return err
		}, refused, refused, refused, hidden},
		{"RunFaceCheck", models.StateInSession, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := f.svc.RunFaceCheck(ctx, a, id, pngBytes(t, 64, 64))
			return err
		}, refused, refused, refused, hidden},
		{"ConfirmFace", models.StateInSession, func(a verify.Actor, id models.CaseID, _ models.LetterID, chk models.CheckID) error {
			_, err := f.svc.ConfirmFace(ctx, a, id, chk, true, "")
			return err
		}, refused, refused, refused, hidden},
		{"FaceCapture", models.StateInSession, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := calls.FaceCapture(ctx, id, a.Name, models.LiveFrame{JPEG: jpegBytes(t)})
			return err
		}, refused, refused, refused, refused},
		{"UploadLetter", models.StateScheduled, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := d.UploadLetter(ctx, a, id, signedLetter(t, 640, 400))
			return err
		}, refused, refused, refused, hidden},
		{"RecordLetterScope", models.StateInSession, func(a verify.Actor, id models.CaseID, l models.LetterID, _ models.CheckID) error {
			_, err := d.RecordLetterScope(ctx, a, id, l, scope)
			return err
		}, refused, refused, refused, hidden},
		{"RecordSignature", models.StateInSession, func(a verify.Actor, id models.CaseID, l models.LetterID, _ models.CheckID) error {
			_, err := d.RecordSignature(ctx, a, id, verify.SignatureInput{Letter: l, Region: verify.Region{X: 280, Y: 300, W: 160, H: 60}, Verdict: "pass", Reason: "same slant"})
			return err
		}, refused, refused, refused, hidden},
		{"RunRegistryCheck", models.StateInSession, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := d.RunRegistryCheck(ctx, a, id)
			return err
		}, refused, refused, refused, hidden},
		{"Submit", models.StateInSession, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := d.Submit(ctx, a, id)
			return err
		}, refused, refused, refused, hidden},
		{"RevokeInvites", models.StateScheduled, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			return f.svc.RevokeInvites(ctx, a, id)
		}, allowed, refused, refused, hidden},
		{"Cancel", models.StateScheduled, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := f.svc.Cancel(ctx, a, id, "test")
			return err
		}, allowed, refused, refused, hidden},
		{"Abort", models.StateInSession, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := f.svc.Abort(ctx, a, id, "test")
			return err
		}, allowed, refused, refused, hidden},
		{"LetterContent", models.StateInSession, func(a verify.Actor, id models.CaseID, l models.LetterID, _ models.CheckID) error {
			_, _, err := d.LetterContent(ctx, a, id, l)
			return err
		}, allowed, refused, refused, hidden},
		{"Specimen", models.StateInSession, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := d.Specimen(ctx, a, id)
			return err
		}, allowed, refused, refused, hidden},
		{"Release", models.StateInSession, func(a verify.Actor, id models.CaseID, _ models.LetterID, _ models.CheckID) error {
			_, err := d.Release(ctx, a, id)
			return err
		}, allowed, refused, refused, hidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, l, chk := f.freshCase(f.clerk, tt.state)
			check := func(who string, a verify.Actor, want string) {
				t.Helper()
				err := tt.do(a, id, l, chk)
				got := allowed
				switch models.ErrorCodeOf(err) {
				case models.EFORBIDDEN:
					got = refused
				case models.ENOTFOUND:
					got = hidden
				}
				if got != want {
					t.Errorf("%s as %s: %v, want %s", tt.name, who, err, want)
				}
			}
			// Those refused go first: a refusal must leave the case as it was.
			for _, c := range []struct {
				who  string
				a    verify.Actor
				want string
			}{
				{"clerk+auditor", clerkAuditor, tt.clerkAud}, {"auditor", f.audit, tt.auditor}, {"admin+clerk", adminClerk, tt.adminClerk},
				{"clerk+supervisor", f.both, tt.clerkSup}, {"the case's clerk", f.clerk, allowed},
			} {
				check(c.who, c.a, c.want)
			}
		})
	}
}

// TestDeciderTookNoPartInTheCase: a supervisor who did anything in a case
// other than observing it (by session or through an API token, and
// whoever its clerk is now) may not decide it; one who only looked may.
func TestDeciderTookNoPartInTheCase(t *testing.T) {
	f := newDeskFixture(t)
	ctx := context.Background()
	d := f.desk
	calls := f.calls
	f.tx(func(tx models.Tx) error {
		return tx.CreateAPIToken(ctx, &models.APIToken{ID: "tok_s2", StaffID: "stf_s2", Name: "desk script", Hash: strings.Repeat("d", 64), Scope: f.sup2.Roles,
			CreatedAt: f.clock.Now(), ExpiresAt: f.clock.Now().Add(90 * 24 * time.Hour)})
	})
	tokenS2 := verify.Actor{Name: "token:tok_s2", StaffID: "stf_s2", Roles: f.sup2.Roles}
	pending := func(id models.CaseID) {
		f.tx(func(tx models.Tx) error {
			c, err := tx.CaseByID(ctx, id)
			if err != nil {
				return err
			}
			c.State = models.StatePendingReview
			return tx.UpdateCase(ctx, c)
		})
	}
	// No workflow hands a case to another clerk yet (a backup clerk will);
	// the store is changed directly.
	handTo := func(id models.CaseID, clerk models.StaffID) {
		if _, err := f.db.(*sqldb.DB).SQL().ExecContext(ctx, `UPDATE cases SET clerk_id = ? WHERE id = ?`, clerk, id); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		clerk   verify.Actor // opens and runs the case
		before  func(t *testing.T, id models.CaseID, l models.LetterID)
		handTo  models.StaffID // the clerk the case is then handed to ("": none)
		decider verify.Actor
		want    models.ErrorCode // "" for a decision
		because string           // the action the refusal names
	}{
		{"only looked at the letter, specimen, evidence and statement", f.clerk, func(t *testing.T, id models.CaseID, l models.LetterID) {
			if _, _, err := d.LetterContent(ctx, f.sup2, id, l); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Specimen(ctx, f.sup2, id); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.EvidenceList(ctx, f.sup2, id); err != nil {
				t.Fatal(err)
			}
			if _, _, err := d.StatementPDF(ctx, f.sup2, id); err != nil {
				t.Fatal(err)
			}
		}, "", f.sup2, "", ""},
		{"observed the call, joining it first", f.clerk, func(t *testing.T, id models.CaseID, _ models.LetterID) {
			if _, err := calls.StartCall(ctx, id, f.sup2.Name); err != nil {
				t.Fatal(err)
			}
		}, "", f.sup2, "", ""},
		{"observed the clerk's call from start to end", f.clerk, func(t *testing.T, id models.CaseID, _ models.LetterID) {
			call, err := calls.StartCall(ctx, id, f.clerk.Name)
			if err != nil {
				t.Fatal(err)
			}
			if err := calls.ObserveStarted(ctx, id, call.Call, f.sup2.Name); err != nil {
				t.Fatal(err)
			}
			if err := calls.ObserveStopped(ctx, id, call.Call, f.sup2.Name, "left"); err != nil {
				t.Fatal(err)
			}
		}, "", f.sup2, "", ""},
		{"revoked the case's invites", f.clerk, func(t *testing.T, id models.CaseID, _ models.LetterID) {
			if err := f.svc.RevokeInvites(ctx, f.sup2, id); err != nil {
				t.Fatal(err)
			}
		}, "", f.sup2, models.EFORBIDDEN, "invite.revoked"},
		{"revoked the invites through an API token", f.clerk, func(t *testing.T, id models.CaseID, _ models.LetterID) {
			if err := f.svc.RevokeInvites(ctx, tokenS2, id); err != nil {
				t.Fatal(err)
			}
		}, "", f.sup2, models.EFORBIDDEN, "invite.revoked"},
		{"ran the case before it was handed to another clerk", f.both, func(t *testing.T, id models.CaseID, _ models.LetterID) {
			if _, err := f.svc.IssueInvite(ctx, f.both, id); err != nil {
				t.Fatal(err)
			}
		}, f.clerk.StaffID, f.both, models.EFORBIDDEN, "case.created"},
		{"is the case's clerk", f.both, nil, "", f.both, models.EFORBIDDEN, "clerk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, l, _ := f.freshCase(tt.clerk, models.StateScheduled)
			sum := archivertest.SeedStatement(t, f.db, f.g.Stager, id)
			if tt.before != nil {
				tt.before(t, id, l)
			}
			if tt.handTo != "" {
				handTo(id, tt.handTo)
			}
			pending(id)
			_, c, err := d.Decide(ctx, tt.decider, id, verify.DecisionInput{Decision: models.DecisionApprove, Reason: "fine", StepUpAt: f.clock.Now(), StatementSHA256: sum})
			if tt.want == "" {
				if err != nil || c.State != models.StateApproved {
					t.Fatalf("Decide = %v, want an approval", err)
				}
				return
			}
			wantErr(t, "Decide", err, tt.want)
			if !strings.Contains(err.Error(), tt.because) {
				t.Errorf("Decide refusal %q does not name %q", err, tt.because)
			}
			if got := stateOf(t, f, id); got != models.StatePendingReview {
				t.Errorf("state after the refusal = %s, want pending_review", got)
			}
		})
	}
}

func stateOf(t *testing.T, f *deskFixture, id models.CaseID) models.CaseState {
	t.Helper()
	var c *models.Case
	f.tx(func(tx models.Tx) (err error) { c, err = tx.CaseByID(context.Background(), id); return })
	return c.State
}
