package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"remoteidv/models"
	"remoteidv/statement"
)

// The customer's password for the emailed statement (issue 17, point 5).
//
// During the call the customer may choose a password; the release then
// mails, instead of the bare statement, an AES-256 envelope
// (statement.Envelope): a bilingual cover page with the approved, signed
// statement attached byte for byte, encrypted under that password. The
// statement itself is not encrypted because that would rewrite it: the
// bank's PAdES signature and the SHA-256 the supervisor approved would no
// longer match what the customer holds.
//
// The password is a secret kept only as long as building the envelope
// needs it: it rests in envelope_passwords from the call until the
// release transaction (which deletes it, after the envelope is built), or
// until the case ends otherwise (rejected, cancelled, aborted, expired,
// closed: dropEnvelopePassword). It is never logged, audited, returned by
// the API or kept as evidence; staff see only whether one was chosen.

// SetStatementPassword stores the password the customer of case id chose
// for the emailed statement, replacing an earlier one; confirm must repeat
// it. Only the case's customer session calls it (the customer cookie's
// case), and only before submission (the case takes checks). Audited as
// statement.password_set by actor (the customer session), without the
// password. EINVALID for a password statement.CheckEnvelopePassword
// refuses or a confirmation that differs; ECONFLICT after submission.
func (d *Desk) SetStatementPassword(ctx context.Context, id models.CaseID, actor, password, confirm string) error {
	if password != confirm {
		e := models.Errorf(models.EINVALID, "the two passwords differ; type the same password twice")
		e.Details = []string{"cust.pw_mismatch"} // the customer page's message, in its language
		return e
	}
	if err := statement.CheckEnvelopePassword(password); err != nil {
		return err
	}
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := tx.CaseByID(ctx, id)
		if err != nil {
			return err
		}
		if !c.State.TakesChecks() {
			e := models.Errorf(models.ECONFLICT, "case is %s: the statement's password is chosen during the call, before submission", c.State)
			e.Details = []string{"cust.pw_late"}
			return e
		}
		_, err = tx.EnvelopePasswordOf(ctx, id)
		replaced := err == nil
		if err != nil && models.ErrorCodeOf(err) != models.ENOTFOUND {
			return err
		}
		if err := tx.PutEnvelopePassword(ctx, &models.EnvelopePassword{CaseID: id, Password: password, SetAt: d.svc.now().UTC()}); err != nil {
			return err
		}
		return d.svc.event(ctx, tx, actor, id, "statement.password_set", map[string]string{"replaced": strconv.FormatBool(replaced)})
	})
	if err != nil {
		return fmt.Errorf("set statement password of %s: %w", id, err)
	}
	return nil
}

// StatementPasswordChosen reports whether the customer of a case the actor
// may see chose a password for the emailed statement that the release has
// not used yet (never the password itself).
func (s *Service) StatementPasswordChosen(ctx context.Context, a Actor, id models.CaseID) (bool, error) {
	var chosen bool
	err := s.store.Transact(ctx, func(tx models.Tx) error {
		c, err := s.visibleCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		_, err = tx.EnvelopePasswordOf(ctx, c.ID)
		chosen = err == nil
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			err = nil
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("statement password of %s: %w", id, err)
	}
	return chosen, nil
}

// dropEnvelopePassword deletes the case's password when the case reaches a
// state it never leaves: no envelope will be built. It adds
// statement_password=discarded to the detail of the event when there was
// one.
func dropEnvelopePassword(ctx context.Context, tx models.Tx, c *models.Case, detail map[string]string) error {
	if !c.State.Terminal() {
		return nil
	}
	gone, err := tx.DeleteEnvelopePassword(ctx, c.ID)
	if err != nil {
		return err
	}
	if gone && detail != nil {
		detail["statement_password"] = "discarded"
	}
	return nil
}

// customerCopy is what the release attaches: the approved statement file
// itself, or the envelope holding it when the customer chose a password.
type customerCopy struct {
	Data      []byte
	Encrypted bool
	password  *models.EnvelopePassword // the row the envelope was built from; nil when none
}

// customerCopy reads the case's password (if any) and builds the envelope
// around pdf, the approved statement as read and hash-checked by the
// release, named name, a document of kind doc (Chinese and English). It holds the password only while sealing.
func (d *Desk) customerCopy(ctx context.Context, id models.CaseID, stm models.StatementID, doc [2]string, name string, pdf []byte) (*customerCopy, error) {
	var pw *models.EnvelopePassword
	err := d.svc.store.Transact(ctx, func(tx models.Tx) (err error) {
		pw, err = tx.EnvelopePasswordOf(ctx, id)
		if models.ErrorCodeOf(err) == models.ENOTFOUND {
			pw, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("customer copy of %s: %w", stm, err)
	}
	if pw == nil {
		return &customerCopy{Data: pdf}, nil
	}
	cfg := d.svc.cfg
	env := &statement.Envelope{
		Bank:     statement.Bank{Name: cfg.BankName, NameZH: cfg.BankNameZH, Address: cfg.BankAddress},
		Document: doc, StatementID: string(stm), FileName: name,
		VerifyURL: strings.TrimRight(cfg.PublicURL, "/") + "/v/" + string(stm),
		IssuedAt:  d.svc.now().UTC(), UnicodeFont: d.statementFont, Rand: d.svc.rand,
	}
	sealed, err := env.Seal(pdf, pw.Password)
	if err != nil {
		return nil, fmt.Errorf("customer copy of %s: %w", stm, err)
	}
	return &customerCopy{Data: sealed, Encrypted: true, password: &models.EnvelopePassword{CaseID: pw.CaseID, SetAt: pw.SetAt}}, nil
}

// used deletes, in the release transaction, the password the envelope was
// built with; ECONFLICT when it changed or went meanwhile (the release is
// then tried again from the start).
func (cc *customerCopy) used(ctx context.Context, tx models.Tx) error {
	if cc.password == nil {
		return nil
	}
	cur, err := tx.EnvelopePasswordOf(ctx, cc.password.CaseID)
	if err == nil && !cur.SetAt.Equal(cc.password.SetAt) {
		err = models.Errorf(models.ECONFLICT, "the statement's password of case %s changed while the envelope was built", cc.password.CaseID)
	}
	if err != nil {
		return err
	}
	_, err = tx.DeleteEnvelopePassword(ctx, cc.password.CaseID)
	return err
}

// addDetail records in the release event what was attached: with an
// envelope, its SHA-256 and encrypted=true (the statement's own SHA-256 is
// already there); nothing for the bare statement.
func (cc *customerCopy) addDetail(detail map[string]string) {
	if !cc.Encrypted {
		return
	}
	sum := sha256.Sum256(cc.Data)
	detail["attachment_sha256"] = hex.EncodeToString(sum[:])
	detail["encrypted"] = "true"
}
