package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"remoteidv/mail"
	"remoteidv/models"
	"remoteidv/statement"
)

// Released is a released statement.
type Released struct {
	Case        *models.Case
	StatementID models.StatementID
	Statement   *models.Evidence
	Mail        *models.OutboundMail
	// Encrypted: the attachment is the AES-256 envelope holding the
	// statement (the customer chose a password during the call).
	// AttachmentSHA256 is the attached file's hash: the envelope's, or the
	// statement's own when it is attached bare.
	Encrypted        bool
	AttachmentSHA256 string
}

// Release sends the approved statement to the registered address, only for
// a case whose seal verifies (SealedAndVerified). It sends exactly the file
// the supervisor approved: the statement generated at submission, read from
// the evidence store and checked against the hash the approval names (and
// the evidence row's) before anything is queued. When the customer chose a
// password during the call, the attachment is instead the AES-256 envelope
// holding exactly those bytes (customerCopy, envelope.go), and the password
// is deleted in the release transaction. In one transaction it uses
// the approval (once; it must name exactly this statement file, account,
// period and address), marks the statement released, queues the mail
// (attachment, plain and HTML body in the customer's language) and moves
// the case sealed -> released; the outbox worker records the delivery
// receipt, drops the queued message (the PDF stays only in the evidence
// store) and closes the case. A second release is a conflict and changes
// nothing.
//
// The case's clerk or a supervisor releases (policy.go).
func (d *Desk) Release(ctx context.Context, a Actor, id models.CaseID) (*Released, error) {
	var acct *models.Account
	var apr *models.Approval
	var stm *models.StatementRecord
	var ev *models.Evidence
	var c *models.Case
	err := d.svc.store.Transact(ctx, func(tx models.Tx) (err error) {
		c, err = d.svc.authorize(ctx, tx, a, id, releaseRule, "release the statement")
		if err != nil {
			return err
		}
		if _, err := models.Transition(c.State, models.EventRelease); err != nil {
			return err
		}
		if acct, err = tx.AccountByNo(ctx, c.AccountNo); err != nil {
			return err
		}
		if apr, err = d.usableApproval(ctx, tx, c, acct); err != nil {
			return err
		}
		if stm, ev, err = approvedStatement(ctx, tx, c, apr); err != nil {
			return err
		}
		_, err = sealRecord(ctx, tx, c.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	if err := d.svc.SealedAndVerified(ctx, id); err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	pdf, err := d.readEvidence(ctx, ev) // checks the bytes against ev.SHA256
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	if sum := sha256.Sum256(pdf); hex.EncodeToString(sum[:]) != apr.Action.StatementSHA256 {
		return nil, models.Errorf(models.ECONFLICT, "release %s: the stored statement does not match the approved SHA-256 %s", id, apr.Action.StatementSHA256)
	}
	svc, err := serviceOf(c.Purpose)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	name := svc.attachment(c) // the case's purpose and period are the approval's (usableApproval)
	// The customer's copy: these checked bytes, or the envelope holding
	// them under the password chosen during the call (envelope.go).
	att, err := d.customerCopy(ctx, id, stm.ID, svc.name, name, pdf)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	out := &Released{StatementID: stm.ID, Statement: ev}
	err = d.svc.store.Transact(ctx, func(tx models.Tx) error {
		cur, err := d.svc.authorize(ctx, tx, a, id, releaseRule, "release the statement")
		if err != nil {
			return err
		}
		to, err := models.Transition(cur.State, models.EventRelease)
		if err != nil {
			return err
		}
		if _, err := d.usableApproval(ctx, tx, cur, acct); err != nil {
			return err
		}
		if err := tx.UseApproval(ctx, apr.ID, d.svc.now().UTC()); err != nil {
			return err
		}
		if err := tx.ReleaseStatement(ctx, stm.ID, d.svc.now().UTC()); err != nil {
			return err
		}
		queued, err := d.enqueue(ctx, tx, cur.ID, svc.mail, acct, mail.Data{PeriodFrom: cur.PeriodFrom, PeriodTo: cur.PeriodTo, CaseRef: string(cur.ID), Encrypted: att.Encrypted},
			[]mail.Attachment{{Name: name, ContentType: "application/pdf", Data: att.Data}}, nil)
		if err != nil {
			return err
		}
		if err := att.used(ctx, tx); err != nil {
			return err
		}
		from := cur.State
		cur.State, cur.UpdatedAt = to, d.svc.now().UTC()
		if err := tx.UpdateCase(ctx, cur); err != nil {
			return err
		}
		out.Mail = queued // this message, not the case's newest: a code mail may share its instant
		out.Case = cur
		detail := map[string]string{"from": string(from), "to": string(to), "approval": apr.ID,
			"statement": string(stm.ID), "statement_sha256": ev.SHA256, "message_id": out.Mail.MessageID, "to_address": acct.Email}
		att.addDetail(detail)
		out.Encrypted, out.AttachmentSHA256 = att.Encrypted, ev.SHA256
		if att.Encrypted {
			out.AttachmentSHA256 = detail["attachment_sha256"]
		}
		return d.svc.event(ctx, tx, a.Name, cur.ID, "case.release", detail)
	})
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	return out, nil
}

// approvedStatement is the statement file the approval names, with its
// evidence row; ECONFLICT when the approval names none (an approval from
// before statements were bound to approvals) or the records disagree.
func approvedStatement(ctx context.Context, tx models.Tx, c *models.Case, apr *models.Approval) (*models.StatementRecord, *models.Evidence, error) {
	if apr.Action.StatementID == "" || !models.ValidSHA256(apr.Action.StatementSHA256) {
		return nil, nil, models.Errorf(models.ECONFLICT, "the approval of case %s names no statement file; it cannot release one", c.ID)
	}
	stm, err := tx.StatementByID(ctx, apr.Action.StatementID)
	if err != nil {
		return nil, nil, err
	}
	if stm.CaseID != c.ID || stm.SHA256 != apr.Action.StatementSHA256 || stm.RevokedAt != nil {
		return nil, nil, models.Errorf(models.ECONFLICT, "statement %s is not the file the approval of case %s names", stm.ID, c.ID)
	}
	ev, err := tx.EvidenceByID(ctx, stm.EvidenceID)
	if err != nil {
		return nil, nil, err
	}
	if ev.CaseID != c.ID || ev.Kind != models.EvidenceStatement || ev.SHA256 != stm.SHA256 {
		return nil, nil, models.Errorf(models.ECONFLICT, "the evidence of statement %s does not match its record", stm.ID)
	}
	return stm, ev, nil
}

// usableApproval returns the case's unused approval if it names exactly
// this account, period and the account's registered address.
func (d *Desk) usableApproval(ctx context.Context, tx models.Tx, c *models.Case, acct *models.Account) (*models.Approval, error) {
	apr, err := tx.ApprovalByCase(ctx, c.ID)
	if models.ErrorCodeOf(err) == models.ENOTFOUND || (err == nil && apr.Decision != models.DecisionApprove) {
		return nil, models.Errorf(models.EPRECONDITION, "case %s has no approval", c.ID)
	}
	if err != nil {
		return nil, err
	}
	if apr.UsedAt != nil {
		return nil, models.Errorf(models.ECONFLICT, "the approval of case %s was already used", c.ID)
	}
	// The statement file it names is checked against the records by
	// approvedStatement.
	want := models.ApprovalAction{Purpose: c.Purpose, AccountNo: c.AccountNo, PeriodFrom: c.PeriodFrom, PeriodTo: c.PeriodTo, Email: acct.Email,
		StatementID: apr.Action.StatementID, StatementSHA256: apr.Action.StatementSHA256}
	if apr.Action != want {
		return nil, models.Errorf(models.ECONFLICT, "the approval of case %s was for another action (account, period or address changed)", c.ID)
	}
	return apr, nil
}

// renderStatement draws the case's document (a statement, a balance
// certificate) as file id, with the ID and the public check's URL
// (PublicURL/v/{id}) on every page, and signs it with the bank's
// certificate (signing time: the issue time printed on it).
func (d *Desk) renderStatement(ctx context.Context, doc document, id models.StatementID) ([]byte, error) {
	pdf, err := doc.render(string(id), strings.TrimRight(d.svc.cfg.PublicURL, "/")+"/v/"+string(id), d.statementFont)
	if err != nil {
		return nil, fmt.Errorf("render statement %s: %w", id, err)
	}
	if d.signer == nil {
		return pdf, nil
	}
	signed, err := d.signer.Sign(ctx, pdf, doc.issuedAt())
	if err != nil {
		return nil, fmt.Errorf("sign statement %s: %w", id, err)
	}
	return signed, nil
}

// StatementPreview draws the first page of the case's statement as a PNG
// (statement.FirstPagePNG), for the supervisor deciding the case; same
// readers and audit as StatementPDF.
func (d *Desk) StatementPreview(ctx context.Context, a Actor, id models.CaseID) ([]byte, *models.Evidence, error) {
	pdf, e, err := d.StatementPDF(ctx, a, id)
	if err != nil {
		return nil, nil, err
	}
	png, err := statement.FirstPagePNG(ctx, pdf)
	if err != nil {
		return nil, nil, fmt.Errorf("statement of %s: %w", id, err)
	}
	return png, e, nil
}

// StatementPDF returns the case's statement file, from submission on (the
// supervisor reviews it before deciding), to the case's clerk or a
// supervisor; every download is audited: statement.viewed before the
// release, statement.printed after.
func (d *Desk) StatementPDF(ctx context.Context, a Actor, id models.CaseID) ([]byte, *models.Evidence, error) {
	var e *models.Evidence
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.svc.authorize(ctx, tx, a, id, documentRule, "read the statement")
		if err != nil {
			return err
		}
		stm, err := currentStatement(ctx, tx, c.ID)
		if models.ErrorCodeOf(err) == models.EPRECONDITION {
			return models.Errorf(models.ENOTFOUND, "case %s has no statement yet: it is generated at submission", id)
		}
		if err != nil {
			return err
		}
		if e, err = tx.EvidenceByID(ctx, stm.EvidenceID); err != nil {
			return err
		}
		what := "statement.viewed"
		if stm.ReleasedAt != nil {
			what = "statement.printed"
		}
		return d.svc.event(ctx, tx, a.Name, c.ID, what, map[string]string{"statement": string(stm.ID), "evidence": string(e.ID), "sha256": e.SHA256})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("statement of %s: %w", id, err)
	}
	b, err := d.readEvidence(ctx, e)
	if err != nil {
		return nil, nil, err
	}
	return b, e, nil
}
