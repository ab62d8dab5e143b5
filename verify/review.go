package verify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"remoteidv/models"
)

// Step-up and review limits.
const (
	defaultStepUp = 5 * time.Minute
	maxReason     = 1000
)

// requirements computes what submission asks (models.Requirements) from
// what the store holds about the case, never from what a client says.
func (d *Desk) requirements(ctx context.Context, tx models.Tx, c *models.Case) (models.Requirements, error) {
	var r models.Requirements
	consent, err := consentAt(ctx, tx, c.ID)
	if err != nil {
		return r, err
	}
	r.ConsentRecorded = consent != nil
	calls, err := tx.CallsByCase(ctx, c.ID)
	if err != nil {
		return r, err
	}
	r.RecordingComplete = models.RecordingDone(calls)
	checks, err := tx.ChecksByCase(ctx, c.ID)
	if err != nil {
		return r, err
	}
	// The latest signature and registry checks decide; any confirmed face
	// match of a live capture (never an uploaded photo) and any passed
	// liveness challenge count.
	for _, k := range checks {
		switch k.Kind {
		case models.CheckFaceMatch:
			r.FaceMatchPassed = r.FaceMatchPassed || (k.Result == models.ResultMatch && k.Confirmation == "confirmed" && liveCapture(k, calls, consent))
		case models.CheckLiveness:
			r.LivenessPassed = r.LivenessPassed || k.Result == models.ResultPass
		case models.CheckSignature:
			r.SignaturePassed = k.Result == models.ResultPass
		case models.CheckRegistry:
			r.RegistryPassed = k.Result == models.ResultPass
		}
	}
	letters, err := tx.LettersByCase(ctx, c.ID)
	if err != nil {
		return r, err
	}
	for _, l := range letters {
		r.LetterOnFile = r.LetterOnFile || (l.Scope != nil && scopeMismatch(c, *l.Scope) == "")
	}
	if r.OTPVerified, err = tx.EmailCodeVerified(ctx, c.ID); err != nil {
		return r, err
	}
	if r.StatementCode, r.StatementProblem, err = d.statementProblem(ctx, tx, c); err != nil {
		return r, err
	}
	r.StatementReady = r.StatementProblem == ""
	return r, nil
}

// Requirements reports which submission requirements a visible case meets.
func (d *Desk) Requirements(ctx context.Context, a Actor, id models.CaseID) (models.Requirements, error) {
	var r models.Requirements
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.svc.visibleCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		r, err = d.requirements(ctx, tx, c)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("requirements of %s: %w", id, err)
	}
	return r, nil
}

// Submit sends the case for review when every requirement holds; otherwise
// EPRECONDITION lists exactly what is missing. Only the case's clerk
// submits. Submission generates the statement (the document the case's
// service issues: serviceTypes) the supervisor will see and approve:
// rendered from the ledger as it stands now, stored as evidence
// (so the seal covers it) and recorded with its SHA-256, in the
// transaction that moves the case to submitted. The release later sends
// exactly this file; a ledger that changes afterwards changes nothing.
func (d *Desk) Submit(ctx context.Context, a Actor, id models.CaseID) (*models.Case, error) {
	// What submission asks is checked before anything is rendered; the
	// transaction that keeps the file checks it again.
	var doc document
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.svc.authorize(ctx, tx, a, id, clerkRule, "submit this case")
		if err != nil {
			return err
		}
		if _, err := models.Transition(c.State, models.EventSubmit); err != nil {
			return err
		}
		if err := d.checkSubmit(ctx, tx, c); err != nil {
			return err
		}
		acct, err := tx.AccountByNo(ctx, c.AccountNo)
		if err != nil {
			return err
		}
		svc, err := serviceOf(c.Purpose)
		if err != nil {
			return err
		}
		doc, err = svc.gather(ctx, d, tx, c, acct)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("submit case %s: %w", id, err)
	}
	sid, err := models.NewID(d.svc.rand, "stm")
	if err != nil {
		return nil, err
	}
	pdf, err := d.renderStatement(ctx, doc, models.StatementID(sid))
	if err != nil {
		return nil, fmt.Errorf("submit case %s: %w", id, err)
	}
	var out *models.Case
	_, err = d.svc.recordEvidence(ctx, id, a.Name, []artifact{{Kind: models.EvidenceStatement, ContentType: "application/pdf", Data: pdf}}, func(tx models.Tx, evs []*models.Evidence) error {
		ev := evs[0]
		detail := map[string]string{"statement": sid, "statement_sha256": ev.SHA256, "statement_evidence": string(ev.ID)}
		c, err := d.svc.changeIn(ctx, tx, a, id, models.EventSubmit, clerkRule, detail, func(tx models.Tx, c *models.Case) error {
			if err := d.checkSubmit(ctx, tx, c); err != nil {
				return err
			}
			return tx.CreateStatement(ctx, &models.StatementRecord{ID: models.StatementID(sid), CaseID: c.ID, EvidenceID: ev.ID, SHA256: ev.SHA256, CreatedAt: d.svc.now().UTC()})
		})
		out = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("submit case %s: %w", id, err)
	}
	return out, nil
}

// checkSubmit is EPRECONDITION naming what the case still lacks.
func (d *Desk) checkSubmit(ctx context.Context, tx models.Tx, c *models.Case) error {
	r, err := d.requirements(ctx, tx, c)
	if err != nil {
		return err
	}
	return models.CheckSubmit(r)
}

// currentStatement is the statement the case's submission generated (the
// latest, should there ever be more than one).
func currentStatement(ctx context.Context, tx models.Tx, id models.CaseID) (*models.StatementRecord, error) {
	list, err := tx.StatementsByCase(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, models.Errorf(models.EPRECONDITION, "case %s has no statement: it was submitted before statements were generated at submission", id)
	}
	return list[len(list)-1], nil
}

// DecisionInput is a supervisor's decision.
type DecisionInput struct {
	Decision models.Decision
	Reason   string
	// StepUpAt is when the supervisor last re-entered their password
	// (zero when never in this session).
	StepUpAt time.Time
	// StatementSHA256 is the hash of the statement the supervisor saw; an
	// approval must name the case's statement exactly.
	StatementSHA256 string
}

// Decide records a supervisor's approval or rejection of a submitted case.
// The supervisor must not be the case's clerk (even holding both roles),
// must have taken no action in the case other than observing it
// (mayDecide: the case's audit trail is checked, not only its clerk) and
// must have re-entered their password within the step-up window. An
// approval is bound to one action (the statement file the submission
// generated, by its SHA-256, which the supervisor must name; the account,
// period and registered address) and is used once, by the release. The approval
// record is evidence. A case has one decision: of two supervisors deciding
// at once, exactly one wins and the other gets ECONFLICT.
func (d *Desk) Decide(ctx context.Context, a Actor, id models.CaseID, in DecisionInput) (*models.Approval, *models.Case, error) {
	if !a.has(models.RoleSupervisor) {
		return nil, nil, models.Errorf(models.EFORBIDDEN, "only supervisors decide cases")
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" || len(in.Reason) > maxReason {
		return nil, nil, models.Errorf(models.EINVALID, "a reason of 1 to %d characters is required", maxReason)
	}
	ev := models.EventApprove
	switch in.Decision {
	case models.DecisionApprove:
	case models.DecisionReject:
		ev = models.EventReject
	default:
		return nil, nil, models.Errorf(models.EINVALID, "decision must be approve or reject")
	}
	window := d.stepUp
	if window <= 0 {
		window = defaultStepUp
	}
	if in.StepUpAt.IsZero() || d.svc.now().Sub(in.StepUpAt) > window || in.StepUpAt.After(d.svc.now()) {
		return nil, nil, models.Errorf(models.EFORBIDDEN, "re-enter your password (POST /api/auth/step-up) within %d minutes before deciding", int(window.Minutes()))
	}
	aid, err := models.NewID(d.svc.rand, "apr")
	if err != nil {
		return nil, nil, err
	}
	var apr *models.Approval
	// The approval record is staged in the deciding transaction (it names
	// what that transaction read), once.
	batch := d.svc.newEvidenceBatch(id, a.Name)
	c, err := d.svc.change(ctx, a, id, ev, decideRule, map[string]string{"decision": string(in.Decision), "reason": in.Reason, "approval": aid}, func(tx models.Tx, c *models.Case) error {
		if err := d.svc.mayDecide(ctx, tx, a, c); err != nil {
			return err
		}
		acct, err := tx.AccountByNo(ctx, c.AccountNo)
		if err != nil {
			return err
		}
		action := models.ApprovalAction{Purpose: c.Purpose, AccountNo: c.AccountNo, PeriodFrom: c.PeriodFrom, PeriodTo: c.PeriodTo, Email: acct.Email}
		if in.Decision == models.DecisionApprove {
			stm, err := currentStatement(ctx, tx, c.ID)
			if err != nil {
				return err
			}
			if !hmac.Equal([]byte(in.StatementSHA256), []byte(stm.SHA256)) {
				return models.Errorf(models.ECONFLICT, "the statement of case %s is %s; approve the statement you have seen (statement_sha256)", c.ID, stm.SHA256)
			}
			action.StatementID, action.StatementSHA256 = stm.ID, stm.SHA256
		}
		apr = &models.Approval{ID: aid, CaseID: c.ID, Supervisor: a.StaffID, Actor: a.Name, Decision: in.Decision, Reason: in.Reason,
			Action: action, CreatedAt: d.svc.now().UTC()}
		if in.Decision == models.DecisionReject {
			c.Reason = in.Reason
		}
		if err := tx.CreateApproval(ctx, apr); err != nil {
			if models.ErrorCodeOf(err) == models.ECONFLICT {
				return models.Errorf(models.ECONFLICT, "case %s was already decided", c.ID)
			}
			return err
		}
		body, err := json.Marshal(map[string]any{"approval": apr.ID, "case": c.ID, "decision": apr.Decision, "reason": apr.Reason,
			"action": apr.Action, "supervisor": apr.Actor, "clerk": c.ClerkID, "at": apr.CreatedAt})
		if err != nil {
			return err
		}
		if len(batch.staged) == 0 {
			if _, err := batch.stage(ctx, artifact{Kind: models.EvidenceApproval, ContentType: "application/json", Data: body}); err != nil {
				return err
			}
		}
		_, err = batch.insert(ctx, tx, batch.staged[0])
		return err
	})
	batch.done(ctx, err)
	if err != nil {
		return nil, nil, fmt.Errorf("decide case %s: %w", id, err)
	}
	d.svc.CheckpointNow(ctx, "decision", id)
	if in.Decision == models.DecisionApprove {
		// Sealing waits for the archiver; serve's SealPending retries.
		if _, err := d.svc.Seal(ctx, id); err != nil && models.ErrorCodeOf(err) != models.EPRECONDITION {
			d.svc.log.WarnContext(ctx, "seal after approval", "case_id", id, "err", err)
		}
	}
	return apr, c, nil
}

// readEvidence returns an item's bytes: from the staging folder while it
// waits for the archiver, else from the evidence store. The bytes are
// checked against the recorded SHA-256.
func (d *Desk) readEvidence(ctx context.Context, e *models.Evidence) ([]byte, error) {
	var b []byte
	var err error
	if e.Staged != "" && e.ArchivedAt == nil {
		var rc io.ReadCloser
		if rc, err = d.svc.stager.Open(e); err == nil {
			b, err = readAllCapped(rc, 64<<20)
			rc.Close()
			if err != nil {
				b = nil
			}
		}
	}
	if b == nil {
		r, _, gerr := d.svc.evidence.Get(ctx, e.Key)
		if gerr != nil {
			return nil, fmt.Errorf("read evidence %s: %w (staged: %v)", e.ID, gerr, err)
		}
		defer r.Close()
		if b, err = readAllCapped(r, 64<<20); err != nil {
			return nil, fmt.Errorf("read evidence %s: %w", e.ID, err)
		}
	}
	sum := sha256.Sum256(b)
	if !hmac.Equal([]byte(fmt.Sprintf("%x", sum)), []byte(e.SHA256)) {
		return nil, models.Errorf(models.ECONFLICT, "evidence %s does not match its recorded SHA-256", e.ID)
	}
	return b, nil
}
