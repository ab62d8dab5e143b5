package sqldb

import (
	"context"
	"fmt"

	"remoteidv/models"
)

// PutEnvelopePassword stores the case's envelope password, replacing an
// earlier one.
func (t *Tx) PutEnvelopePassword(ctx context.Context, p *models.EnvelopePassword) error {
	if _, err := t.exec(ctx, `INSERT INTO envelope_passwords (case_id, password, set_at) VALUES (?, ?, ?)
ON CONFLICT (case_id) DO UPDATE SET password = excluded.password, set_at = excluded.set_at`, p.CaseID, p.Password, us(p.SetAt)); err != nil {
		// The driver's error never quotes the bound values.
		return fmt.Errorf("put envelope password of %s: %w", p.CaseID, err)
	}
	return nil
}

// EnvelopePasswordOf returns the case's envelope password.
func (t *Tx) EnvelopePasswordOf(ctx context.Context, id models.CaseID) (*models.EnvelopePassword, error) {
	p := models.EnvelopePassword{CaseID: id}
	var at int64
	if err := t.queryRow(ctx, `SELECT password, set_at FROM envelope_passwords WHERE case_id = ?`, id).Scan(&p.Password, &at); err != nil {
		return nil, fmt.Errorf("envelope password of %s: %w", id, t.db.translate(err))
	}
	p.SetAt = fromUS(at)
	return &p, nil
}

// DeleteEnvelopePassword removes the case's envelope password.
func (t *Tx) DeleteEnvelopePassword(ctx context.Context, id models.CaseID) (bool, error) {
	r, err := t.exec(ctx, `DELETE FROM envelope_passwords WHERE case_id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("delete envelope password of %s: %w", id, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delete envelope password of %s: %w", id, err)
	}
	return n > 0, nil
}
