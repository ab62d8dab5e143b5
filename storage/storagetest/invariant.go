package storagetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"remoteidv/audit"
	"remoteidv/models"
)

// invWorld builds cases for the invariant test: each a whole, consistent
// case of its kind, then broken in one way by the test.
type invWorld struct {
	t       *testing.T
	s       models.Store
	ctx     context.Context
	chain   audit.Chain
	n       int
	archive []models.EvidenceID // to archive once everything is written
}

func (w *invWorld) do(fn func(tx models.Tx) error) {
	w.t.Helper()
	tx(w.t, w.s, fn)
}

// newCase creates a case in state.
func (w *invWorld) newCase(id string, state models.CaseState) models.CaseID {
	w.t.Helper()
	c := newCase(id, "6222000011112222", "stf_clerk", t0.Add(time.Hour))
	c.State = state
	w.do(func(tx models.Tx) error { return tx.CreateCase(w.ctx, c) })
	return c.ID
}

// evidence adds an item of kind to case c: archived (by the archiver, once
// the world is built) or left pending with a staged file (staged ""
// leaves it pending with nothing staged).
func (w *invWorld) evidence(c models.CaseID, kind models.EvidenceKind, archived bool, staged string) *models.Evidence {
	w.t.Helper()
	w.n++
	sum := fmt.Sprintf("%064x", w.n)
	e := &models.Evidence{ID: models.EvidenceID(fmt.Sprintf("evd_%d", w.n)), CaseID: c, Kind: kind, Key: fmt.Sprintf("cases/%s/%s/%s", c, kind, sum),
		SHA256: sum, Size: 10, ContentType: "application/octet-stream", Actor: "system", CreatedAt: t0, Staged: staged, NextAttemptAt: t0.Add(time.Hour)}
	if archived {
		e.NextAttemptAt = t0
		w.archive = append(w.archive, e.ID)
	}
	w.do(func(tx models.Tx) error { return tx.AddEvidence(w.ctx, e) })
	return e
}

// event appends an audit event of case c and returns its seq.
func (w *invWorld) event(c models.CaseID, action string, detail map[string]string) int64 {
	w.t.Helper()
	e := &models.AuditEvent{Actor: "system", Action: action, CaseID: c, Detail: detail}
	w.do(func(tx models.Tx) error { return w.chain.Append(w.ctx, tx, e) })
	return e.Seq
}

func (w *invWorld) seal(c models.CaseID, m *models.Evidence) int64 {
	return w.event(c, audit.SealAction, map[string]string{audit.DetailManifestKey: m.Key, audit.DetailManifestSHA256: m.SHA256})
}

func (w *invWorld) approval(c models.CaseID, used bool) string {
	w.t.Helper()
	id := "apr_" + string(c)
	w.do(func(tx models.Tx) error {
		err := tx.CreateApproval(w.ctx, &models.Approval{ID: id, CaseID: c, Supervisor: "stf_clerk", Actor: "staff:stf_s", Decision: models.DecisionApprove,
			Reason: "fine", Action: models.ApprovalAction{Purpose: models.PurposeStatement}, CreatedAt: t0})
		if err != nil || !used {
			return err
		}
		return tx.UseApproval(w.ctx, id, t0)
	})
	return id
}

// sealed builds a sealed case: a capture and the approval archived, the
// manifest recorded (confirmed by the archiver only once a release
// follows) and its seal event; the approval is unused (used: marked used,
// as a release would).
func (w *invWorld) sealed(id string, state models.CaseState, used bool) (models.CaseID, *models.Evidence, string) {
	c := w.newCase(id, state)
	w.evidence(c, models.EvidenceCapture, true, "/staging/x")
	w.evidence(c, models.EvidenceApproval, true, "/staging/y")
	apr := w.approval(c, used)
	m := w.evidence(c, models.EvidenceManifest, used, "")
	w.seal(c, m)
	return c, m, apr
}

// released builds a released case: sealed, the approval used, the
// statement staged, the release event naming the approval.
func (w *invWorld) released(id string) (models.CaseID, string) {
	c, _, apr := w.sealed(id, models.StateReleased, true)
	w.evidence(c, models.EvidenceStatement, false, "/staging/pdf")
	w.event(c, "case.release", map[string]string{"approval": apr})
	return c, apr
}

// testInvariants builds consistent cases in every state the invariants
// look at, and next to them cases broken in each way an invariant names;
// each invariant must report exactly the broken rows.
func testInvariants(t *testing.T, s models.Store) {
	ctx := context.Background()
	seed(t, s)
	now := t0
	w := &invWorld{t: t, s: s, ctx: ctx, chain: audit.Chain{Now: func() time.Time { now = now.Add(time.Second); return now }}}
	type key struct {
		Case    models.CaseID
		Subject string
	}
	want := map[models.Invariant][]key{}
	broken := func(inv models.Invariant, c models.CaseID, subject string) {
		want[inv] = append(want[inv], key{c, subject})
	}

	// Consistent cases: none may be reported.
	open := w.newCase("case_open", models.StateInSession)
	w.evidence(open, models.EvidenceCapture, false, "/staging/a") // waiting for the archiver
	w.evidence(open, models.EvidenceLetter, true, "/staging/b")
	w.sealed("case_sealed", models.StateSealed, false)
	w.released("case_released")
	closed, _ := w.released("case_closed")
	w.evidence(closed, models.EvidenceReceipt, true, "/staging/r")

	// released_without_sealed_evidence
	c := w.newCase("case_r_noseal", models.StateReleased)
	w.evidence(c, models.EvidenceManifest, false, "")
	w.approval(c, true)
	broken(models.InvReleasedUnsealed, c, string(c))
	broken(models.InvSealedNoManifest, c, string(c)) // no seal event either
	c = w.newCase("case_r_nomanifest", models.StateReleased)
	w.seal(c, &models.Evidence{Key: "cases/case_r_nomanifest/manifest/" + strings.Repeat("a", 64), SHA256: strings.Repeat("a", 64)})
	w.approval(c, true)
	broken(models.InvReleasedUnsealed, c, string(c))
	broken(models.InvSealedNoManifest, c, string(c)) // the seal names a manifest without a row
	c, _, _ = w.sealed("case_r_pending", models.StateReleased, true)
	w.evidence(c, models.EvidenceLetter, false, "/staging/late") // released before the archiver confirmed it
	broken(models.InvReleasedUnsealed, c, string(c))
	c, _, _ = w.sealed("case_r_unused", models.StateReleased, false)
	broken(models.InvReleasedUnsealed, c, string(c))

	// evidence_without_object
	c = w.newCase("case_e", models.StateInSession)
	lost := w.evidence(c, models.EvidenceCapture, false, "")
	broken(models.InvEvidenceObject, c, string(lost.ID))
	w.do(func(tx models.Tx) error {
		return tx.CreateLetter(ctx, &models.Letter{ID: "ltr_lost", CaseID: c, Evidence: "evd_none", ContentType: "image/png", Width: 1, Height: 1, Source: "clerk", Actor: "x", CreatedAt: t0})
	})
	broken(models.InvEvidenceObject, c, "ltr_lost")
	w.do(func(tx models.Tx) error {
		if err := tx.CreateCall(ctx, &models.Call{ID: "call_e", CaseID: c, StartedAt: t0, Recording: models.RecordingActive}); err != nil {
			return err
		}
		return tx.AddCallSegment(ctx, &models.CallSegment{CallID: "call_e", Seq: 1, Participant: "customer", Track: "video", Evidence: "evd_gone",
			SHA256: strings.Repeat("b", 64), Size: 1, StartedAt: t0, EndedAt: t0})
	})
	broken(models.InvEvidenceObject, c, "call_e/customer/video/1")
	w.do(func(tx models.Tx) error {
		return tx.CreateCheck(ctx, &models.Check{ID: "chk_lost", CaseID: c, Kind: models.CheckSignature, Result: "PASS", Detail: []byte("{}"), Evidence: "evd_void", Actor: "x", CreatedAt: t0})
	})
	broken(models.InvEvidenceObject, c, "chk_lost")

	// sealed_without_manifest
	c = w.newCase("case_s_noseal", models.StateSealed)
	w.evidence(c, models.EvidenceManifest, false, "")
	broken(models.InvSealedNoManifest, c, string(c))
	c, m2, _ := w.sealed("case_s_twice", models.StateSealed, false)
	w.seal(c, m2)
	broken(models.InvSealedNoManifest, c, string(c))
	c, m3, _ := w.sealed("case_s_other", models.StateSealed, false)
	w.seal(c, &models.Evidence{Key: m3.Key, SHA256: strings.Repeat("c", 64)}) // resealed naming other bytes
	broken(models.InvSealedNoManifest, c, string(c))
	c = w.newCase("case_s_early", models.StateApproved)
	w.evidence(c, models.EvidenceManifest, false, "")
	broken(models.InvSealedNoManifest, c, string(c))

	// approval_used_twice
	c, apr := w.released("case_a_twice")
	w.event(c, "case.release", map[string]string{"approval": apr})
	broken(models.InvApprovalReused, c, string(c))
	c, _ = w.released("case_a_two_pdfs")
	w.evidence(c, models.EvidenceStatement, false, "/staging/pdf2")
	broken(models.InvApprovalReused, c, string(c))
	c, _, apr = w.sealed("case_a_early", models.StateSealed, true)
	broken(models.InvApprovalReused, c, apr)
	c, _, _ = w.sealed("case_a_other", models.StateReleased, true)
	seq := w.event(c, "case.release", map[string]string{"approval": "apr_someone_else"})
	broken(models.InvApprovalReused, c, fmt.Sprintf("audit event %d", seq))
	c, _, _ = w.sealed("case_a_unnamed", models.StateReleased, true)
	seq = w.event(c, "case.release", map[string]string{})
	broken(models.InvApprovalReused, c, fmt.Sprintf("audit event %d", seq))
	c = w.newCase("case_a_none", models.StateSealed)
	w.seal(c, w.evidence(c, models.EvidenceManifest, false, ""))
	seq = w.event(c, "case.release", map[string]string{"approval": "apr_case_a_none"})
	broken(models.InvApprovalReused, c, fmt.Sprintf("audit event %d", seq))

	// statement_password_kept: held while the release may use it, never after.
	pwCases := map[models.CaseID]bool{ // broken?
		w.newCase("case_pw_call", models.StateInSession):       false,
		w.newCase("case_pw_review", models.StatePendingReview): false,
		w.newCase("case_pw_cancelled", models.StateCancelled):  true,
		w.newCase("case_pw_rejected", models.StateRejected):    true,
	}
	sealedPW, _, _ := w.sealed("case_pw_sealed", models.StateSealed, false)
	releasedPW, _ := w.released("case_pw_released")
	pwCases[sealedPW], pwCases[releasedPW] = false, true
	for c, bad := range pwCases {
		w.do(func(tx models.Tx) error {
			return tx.PutEnvelopePassword(ctx, &models.EnvelopePassword{CaseID: c, Password: "password-1", SetAt: t0})
		})
		if bad {
			broken(models.InvStatementPasswordKept, c, string(c))
		}
	}

	// The archiver confirms what it was meant to.
	var claimed []*models.Evidence
	w.do(func(tx models.Tx) (err error) {
		claimed, err = tx.ClaimEvidence(ctx, "inv", t0, t0.Add(time.Minute), 1000)
		return
	})
	var ids []models.EvidenceID
	for _, e := range claimed {
		ids = append(ids, e.ID)
		w.do(func(tx models.Tx) error {
			return tx.MarkArchived(ctx, e.ID, "inv", models.ObjectInfo{VersionID: "v1"}, t0)
		})
	}
	slices.Sort(ids)
	slices.Sort(w.archive)
	if diff := cmp.Diff(w.archive, ids); diff != "" {
		t.Fatalf("archived items (-want +got):\n%s", diff)
	}

	for _, inv := range models.Invariants() {
		var got []models.Violation
		w.do(func(tx models.Tx) (err error) { got, err = tx.Violations(ctx, inv); return })
		var keys []key
		for _, v := range got {
			if v.Invariant != inv || v.Problem == "" {
				t.Errorf("Violations(%s) row %+v: wrong invariant or no problem", inv, v)
			}
			keys = append(keys, key{v.CaseID, v.Subject})
		}
		less := func(a, b key) int { return strings.Compare(string(a.Case)+" "+a.Subject, string(b.Case)+" "+b.Subject) }
		slices.SortFunc(keys, less)
		slices.SortFunc(want[inv], less)
		if diff := cmp.Diff(want[inv], keys); diff != "" {
			t.Errorf("Violations(%s) (-want +got):\n%s\nrows: %+v", inv, diff, got)
		}
	}
	err := s.Transact(ctx, func(tx models.Tx) error { _, err := tx.Violations(ctx, "no_such_rule"); return err })
	wantCode(t, "Violations(unknown)", err, models.EINVALID)
	var problems []string
	w.do(func(tx models.Tx) (err error) { problems, err = tx.IntegrityCheck(ctx); return })
	if len(problems) > 0 {
		t.Errorf("IntegrityCheck of a sound database = %q, want none", problems)
	}
}
