package verify

import (
	"context"
	"fmt"
	"time"

	idvmail "remoteidv/mail"
	"remoteidv/models"
	"remoteidv/statement"
)

// serviceType is one service a case may be opened for (models.Purpose):
// the document it issues and what that takes. Every service goes the same
// way: its requirement blocks submission until the document can be made,
// submission gathers and renders it, the bank signs it, it is stored as
// the case's statement (the statements table, a stm_ ID, checked at /v/),
// the supervisor approves its hash and the release sends exactly it.
//
// A new service is an entry in serviceTypes, its purpose in models (and in
// the schema's CHECK on cases.purpose), its renderer in package statement,
// its mail templates and its name in the web pages' languages.
type serviceType struct {
	// name is the service's name in Chinese and English (the public
	// check's answer names the issued document with it).
	name [2]string
	// period checks the period a case is opened with, against today, and
	// returns it as the case stores it.
	period func(from, to string, now time.Time) (string, string, error)
	// ends says, for the requirement's reason, what the ledger must cover
	// ("the period ends (2025-12-31)").
	ends func(c *models.Case) string
	// gather reads what the document prints from the ledger, in the
	// submission's transaction; EPRECONDITION when the ledger has no data
	// for it (the requirement already refuses such a case).
	gather func(ctx context.Context, d *Desk, tx models.Tx, c *models.Case, acct *models.Account) (document, error)
	// attachment is the released file's name in the mail.
	attachment func(c *models.Case) string
	// mail is the release's mail template (package mail).
	mail string
}

// document is a gathered document waiting for its ID: render draws it
// with the ID, the URL of its public check and the CJK font.
type document interface {
	issuedAt() time.Time
	render(id, verifyURL string, font []byte) ([]byte, error)
}

// serviceTypes are the services offered, by purpose.
var serviceTypes = map[models.Purpose]serviceType{
	models.PurposeStatement: {
		name: [2]string{"交易明细", "Transaction statement"},
		period: func(from, to string, now time.Time) (string, string, error) {
			return from, to, models.ValidatePeriod(from, to, now)
		},
		ends: func(c *models.Case) string { return "the period ends (" + c.PeriodTo + ")" },
		gather: func(ctx context.Context, d *Desk, tx models.Tx, c *models.Case, acct *models.Account) (document, error) {
			st, err := d.statementFor(ctx, tx, c, acct)
			if err != nil {
				return nil, err
			}
			return &statementDoc{st}, nil
		},
		attachment: func(c *models.Case) string { return fmt.Sprintf("statement-%s-%s.pdf", c.PeriodFrom, c.PeriodTo) },
		mail:       idvmail.KindStatement,
	},
	models.PurposeBalanceCertificate: {
		name:   [2]string{"余额证明", "Balance certificate"},
		period: certificateDate,
		ends:   func(c *models.Case) string { return "the certificate's date ends (" + c.PeriodTo + ")" },
		gather: func(ctx context.Context, d *Desk, tx models.Tx, c *models.Case, acct *models.Account) (document, error) {
			cert, err := d.certificateFor(ctx, tx, c, acct)
			if err != nil {
				return nil, err
			}
			return &certificateDoc{cert}, nil
		},
		attachment: func(c *models.Case) string { return fmt.Sprintf("balance-certificate-%s.pdf", c.PeriodTo) },
		mail:       idvmail.TemplateBalanceCertificate,
	},
}

// serviceOf is the service of purpose p; EINVALID naming the offered ones
// for any other.
func serviceOf(p models.Purpose) (serviceType, error) {
	if _, err := models.ParsePurpose(string(p)); err != nil {
		return serviceType{}, err
	}
	return serviceTypes[p], nil
}

// certificateDate checks a balance certificate's date: it is as at the end
// of one day, to; from is that same day or empty (taken as to). The case
// stores the day as both ends of its period.
func certificateDate(from, to string, now time.Time) (string, string, error) {
	if from == "" {
		from = to
	}
	if from != to {
		return "", "", models.Errorf(models.EINVALID, "a balance certificate is as at one date: give period_to alone (or period_from equal to it), not %s..%s", from, to)
	}
	return from, to, models.ValidatePeriod(from, to, now)
}

// statementDoc is a transaction statement as a document.
type statementDoc struct{ st statement.Statement }

func (s *statementDoc) issuedAt() time.Time { return s.st.IssuedAt }

func (s *statementDoc) render(id, verifyURL string, font []byte) ([]byte, error) {
	s.st.StatementID, s.st.VerifyURL, s.st.UnicodeFont = id, verifyURL, font
	return statement.Render(&s.st)
}

// certificateDoc is a balance certificate as a document.
type certificateDoc struct{ c statement.Certificate }

func (c *certificateDoc) issuedAt() time.Time { return c.c.IssuedAt }

func (c *certificateDoc) render(id, verifyURL string, font []byte) ([]byte, error) {
	c.c.StatementID, c.c.VerifyURL, c.c.UnicodeFont = id, verifyURL, font
	return statement.RenderCertificate(&c.c)
}
