package verify

import (
	"context"
	"crypto/hmac"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
)

// StatementStatus is what anyone holding a statement may learn about it
// from the bank: whether the bank issued a statement with this ID, when,
// whether it was revoked since, and whether a given file (by its SHA-256)
// is exactly the issued one, and which kind of document it is (a statement,
// a balance certificate). Nothing personal: no name, account, case or
// revocation reason. A statement that was generated but never released
// reads as not issued.
type StatementStatus struct {
	ID        models.StatementID `json:"id"`
	Issued    bool               `json:"issued"`
	IssuedAt  *time.Time         `json:"issued_at,omitempty"`
	Revoked   bool               `json:"revoked"`
	RevokedAt *time.Time         `json:"revoked_at,omitempty"`
	// Document is the kind of document issued under the ID (the service:
	// transaction_statement, balance_certificate), when issued.
	Document models.Purpose `json:"document,omitempty"`
	// DocumentName names it in Chinese and English ("余额证明 Balance
	// certificate").
	DocumentName string `json:"document_name,omitempty"`
	// Checked says a file or hash was given; Match that it is exactly the
	// issued file.
	Checked bool   `json:"checked"`
	Match   bool   `json:"match"`
	SHA256  string `json:"sha256,omitempty"` // the hash that was checked
}

// CheckStatement answers a recipient's question about statement id and,
// when sum is not empty, the file of that SHA-256. No login; the HTTP layer
// limits the rate per address.
func (d *Desk) CheckStatement(ctx context.Context, id models.StatementID, sum string) (*StatementStatus, error) {
	sum = strings.ToLower(strings.TrimSpace(sum))
	if sum != "" && !models.ValidSHA256(sum) {
		return nil, models.Errorf(models.EINVALID, "a SHA-256 is 64 hexadecimal characters")
	}
	out := &StatementStatus{ID: id, Checked: sum != "", SHA256: sum}
	if !validStatementID(id) {
		return out, nil
	}
	var st *models.StatementRecord
	var c *models.Case
	err := d.svc.store.Transact(ctx, func(tx models.Tx) (err error) {
		if st, err = tx.StatementByID(ctx, id); err != nil {
			return err
		}
		c, err = tx.CaseByID(ctx, st.CaseID)
		return err
	})
	if models.ErrorCodeOf(err) == models.ENOTFOUND {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check statement %s: %w", id, err)
	}
	if st.ReleasedAt == nil {
		return out, nil
	}
	out.Issued, out.IssuedAt, out.Document = true, st.ReleasedAt, c.Purpose
	if t, ok := serviceTypes[c.Purpose]; ok {
		out.DocumentName = t.name[0] + " " + t.name[1]
	}
	out.Revoked, out.RevokedAt = st.RevokedAt != nil, st.RevokedAt
	out.Match = sum != "" && hmac.Equal([]byte(sum), []byte(st.SHA256))
	return out, nil
}

// validStatementID is the shape of the IDs the bank gives (models.NewID's
// "stm_" and 26 base32 letters), so other strings never reach the store.
func validStatementID(id models.StatementID) bool {
	s, ok := strings.CutPrefix(string(id), "stm_")
	if !ok || len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// RevokeStatement withdraws a released statement (issued on a wrong
// ledger, sent by mistake): a recipient who checks it from then on is told
// it was revoked, and when. Any supervisor may, with a reason; audited.
// The file itself stays in the evidence store.
func (d *Desk) RevokeStatement(ctx context.Context, a Actor, id models.CaseID, reason string) (*models.StatementRecord, error) {
	if !a.has(models.RoleSupervisor) {
		return nil, models.Errorf(models.EFORBIDDEN, "only supervisors revoke statements")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > maxReason {
		return nil, models.Errorf(models.EINVALID, "a reason of 1 to %d characters is required", maxReason)
	}
	var out *models.StatementRecord
	err := d.svc.store.Transact(ctx, func(tx models.Tx) error {
		c, err := d.svc.visibleCase(ctx, tx, a, id)
		if err != nil {
			return err
		}
		st, err := currentStatement(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		now := d.svc.now().UTC()
		if err := tx.RevokeStatement(ctx, st.ID, now, reason); err != nil {
			return err
		}
		st.RevokedAt, st.RevokeReason = &now, reason
		out = st
		return d.svc.event(ctx, tx, a.Name, c.ID, "statement.revoked", map[string]string{"statement": string(st.ID), "sha256": st.SHA256, "reason": reason})
	})
	if err != nil {
		return nil, fmt.Errorf("revoke the statement of case %s: %w", id, err)
	}
	return out, nil
}
