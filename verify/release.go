package verify

import (
	"context"
	"fmt"

	"remoteidv/mail"
	"remoteidv/models"
	"remoteidv/statement"
)

// Released is a released statement.
type Released struct {
	Case      *models.Case
	Statement *models.Evidence
	Mail      *models.OutboundMail
}

// Release renders the approved statement from the ledger and sends it to
// the registered address, only for a case whose seal verifies
// (SealedAndVerified). In one transaction it uses the approval (once; it
// must name exactly this statement, account, period and address), stores
// the PDF as evidence, queues the mail (attachment, plain and HTML body in
// the customer's language) and moves the case sealed -> released; the
// outbox worker records the delivery receipt, drops the queued message
// (the PDF stays only in the evidence store) and closes the case. A second
// release is a conflict and changes nothing.
//
// The case's clerk or a supervisor releases (policy.go).
func (d *Desk) Release(ctx context.Context, a Actor, id models.CaseID) (*Released, error) {
	var c *models.Case
	var acct *models.Account
	var apr *models.Approval
	var st statement.Statement
	err := d.svc.store.Transact(ctx, func(tx models.Tx) (err error) {
		if c, err = d.svc.authorize(ctx, tx, a, id, releaseRule, "release the statement"); err != nil {
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
		st, err = d.statementFor(ctx, tx, c, acct)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	if err := d.svc.SealedAndVerified(ctx, id); err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	st.UnicodeFont = d.statementFont
	pdf, err := statement.Render(&st)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	out := &Released{}
	_, err = d.svc.recordEvidence(ctx, id, a.Name, []artifact{{Kind: models.EvidenceStatement, ContentType: "application/pdf", Data: pdf}}, func(tx models.Tx, evs []*models.Evidence) error {
		ev := evs[0]
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
		name := fmt.Sprintf("statement-%s-%s.pdf", cur.PeriodFrom, cur.PeriodTo)
		if err := d.enqueue(ctx, tx, cur.ID, mail.KindStatement, acct, mail.Data{PeriodFrom: cur.PeriodFrom, PeriodTo: cur.PeriodTo, CaseRef: string(cur.ID)},
			[]mail.Attachment{{Name: name, ContentType: "application/pdf", Data: pdf}}, nil); err != nil {
			return err
		}
		from := cur.State
		cur.State, cur.UpdatedAt = to, d.svc.now().UTC()
		if err := tx.UpdateCase(ctx, cur); err != nil {
			return err
		}
		msgs, err := tx.MailByCase(ctx, cur.ID)
		if err != nil {
			return err
		}
		out.Mail = msgs[len(msgs)-1]
		out.Case, out.Statement = cur, ev
		return d.svc.event(ctx, tx, a.Name, cur.ID, "case.release", map[string]string{"from": string(from), "to": string(to), "approval": apr.ID,
			"statement_sha256": ev.SHA256, "message_id": out.Mail.MessageID, "to_address": acct.Email, "transactions": fmt.Sprint(st.Transactions())})
	})
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", id, err)
	}
	return out, nil
}

// usableApproval returns the case's unused approval if it names exactly
// this statement, account, period and the account's registered address.
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
	want := models.ApprovalAction{Purpose: c.Purpose, AccountNo: c.AccountNo, PeriodFrom: c.PeriodFrom, PeriodTo: c.PeriodTo, Email: acct.Email}
	if apr.Action != want {
		return nil, models.Errorf(models.ECONFLICT, "the approval of case %s was for another action (account, period or address changed)", c.ID)
	}
	return apr, nil
}

// StatementPDF returns the released statement for printing, to the case's
// clerk or a supervisor; every download is audited.
func (d *Desk) StatementPDF(ctx context.Context, a Actor, id models.CaseID) ([]byte, *models.Evidence, error) {
	var e *models.Evidence
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.svc.authorize(ctx, tx, a, id, documentRule, "print the released statement")
		if err != nil {
			return err
		}
		items, err := tx.EvidenceByCase(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Kind == models.EvidenceStatement {
				e = it
			}
		}
		if e == nil {
			return models.Errorf(models.ENOTFOUND, "case %s has no released statement", id)
		}
		return d.svc.event(ctx, tx, a.Name, c.ID, "statement.printed", map[string]string{"evidence": string(e.ID), "sha256": e.SHA256})
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
