package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
)

// A webhook secret at rest: sealed with the staging key (SealDescriptors)
// bound to its endpoint's id, or, in a DB without a key (tests), marked
// plain.
const plainSecret = 0x00

func webhookSecretAD(id string) []byte { return []byte("idv webhook secret " + id) }

func (db *DB) sealWebhookSecret(id string, secret []byte) ([]byte, error) {
	if db.descKey == nil {
		return append([]byte{plainSecret}, secret...), nil
	}
	return db.descKey.SealBlob(db.descRand, secret, webhookSecretAD(id))
}

func (db *DB) openWebhookSecret(id string, stored []byte) ([]byte, error) {
	if len(stored) == 0 {
		return nil, nil
	}
	if stored[0] == plainSecret {
		return stored[1:], nil
	}
	if db.descKey == nil {
		return nil, models.Errorf(models.EPRECONDITION, "webhook secret of %s is encrypted and no key is configured (IDV_STAGING_KEY_FILE)", id)
	}
	s, err := db.descKey.OpenBlob(stored, webhookSecretAD(id))
	if err != nil {
		return nil, fmt.Errorf("webhook secret of %s: %w", id, err)
	}
	return s, nil
}

// CreateWebhookEndpoint stores e with its secret sealed.
func (t *Tx) CreateWebhookEndpoint(ctx context.Context, e *models.WebhookEndpoint) error {
	if len(e.Secret) == 0 {
		return models.Errorf(models.EINVALID, "webhook endpoint %s: a secret is required", e.ID)
	}
	sealed, err := t.db.sealWebhookSecret(e.ID, e.Secret)
	if err != nil {
		return fmt.Errorf("create webhook endpoint %s: %w", e.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO webhook_endpoints (id, url, description, events, secret, from_seq, created_by, created_at, disabled_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.URL, e.Description, strings.Join(e.Events, " "), sealed, e.FromSeq, e.CreatedBy, us(e.CreatedAt), nullUS(e.DisabledAt))
	if err != nil {
		return fmt.Errorf("create webhook endpoint %s: %w", e.ID, err)
	}
	return nil
}

const endpointCols = `id, url, description, events, secret, from_seq, created_by, created_at, disabled_at, deleted_at`

func (t *Tx) endpoints(ctx context.Context, withSecret bool, what, q string, args ...any) ([]*models.WebhookEndpoint, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []*models.WebhookEndpoint
	for rows.Next() {
		var e models.WebhookEndpoint
		var events string
		var secret []byte
		var created int64
		var disabled, deleted sql.NullInt64
		if err := rows.Scan(&e.ID, &e.URL, &e.Description, &events, &secret, &e.FromSeq, &e.CreatedBy, &created, &disabled, &deleted); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		e.Events = strings.Fields(events)
		e.CreatedAt, e.DisabledAt, e.DeletedAt = fromUS(created), fromNullUS(disabled), fromNullUS(deleted)
		if withSecret {
			if e.Secret, err = t.db.openWebhookSecret(e.ID, secret); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// WebhookEndpointByID returns an endpoint, deleted ones too.
func (t *Tx) WebhookEndpointByID(ctx context.Context, id string) (*models.WebhookEndpoint, error) {
	out, err := t.endpoints(ctx, true, "webhook endpoint "+id, `SELECT `+endpointCols+` FROM webhook_endpoints WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, models.Errorf(models.ENOTFOUND, "webhook endpoint %s not found", id)
	}
	return out[0], nil
}

// WebhookEndpoints lists the endpoints not deleted, oldest first, without
// their secrets.
func (t *Tx) WebhookEndpoints(ctx context.Context) ([]*models.WebhookEndpoint, error) {
	return t.endpoints(ctx, false, "webhook endpoints", `SELECT `+endpointCols+` FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY created_at, id`)
}

// SetWebhookEndpointDisabled disables or enables an endpoint.
func (t *Tx) SetWebhookEndpointDisabled(ctx context.Context, id string, at *time.Time) error {
	r, err := t.exec(ctx, `UPDATE webhook_endpoints SET disabled_at = ? WHERE id = ? AND deleted_at IS NULL`, nullUS(at), id)
	if err != nil {
		return fmt.Errorf("disable webhook endpoint %s: %w", id, err)
	}
	return mustAffect(r, "webhook endpoint "+id)
}

// DeleteWebhookEndpoint erases the secret and fails the pending deliveries.
func (t *Tx) DeleteWebhookEndpoint(ctx context.Context, id string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE webhook_endpoints SET secret = NULL, deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, us(at), id)
	if err != nil {
		return fmt.Errorf("delete webhook endpoint %s: %w", id, err)
	}
	if err := mustAffect(r, "webhook endpoint "+id); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `UPDATE webhook_deliveries SET state = 'failed', done_at = ?, last_error = 'endpoint deleted', lease_owner = '', lease_until = NULL
WHERE endpoint_id = ? AND state = 'pending'`, us(at), id); err != nil {
		return fmt.Errorf("delete webhook endpoint %s: fail its deliveries: %w", id, err)
	}
	return nil
}

// WebhookCursor reads the dispatcher's cursor, locked for the transaction.
func (t *Tx) WebhookCursor(ctx context.Context) (int64, error) {
	var seq int64
	if err := t.queryRow(ctx, `SELECT seq FROM webhook_cursor WHERE id = 1`+t.db.dialect.ForUpdate).Scan(&seq); err != nil {
		return 0, fmt.Errorf("webhook cursor: %w", t.db.translate(err))
	}
	return seq, nil
}

// SetWebhookCursor moves the cursor forward.
func (t *Tx) SetWebhookCursor(ctx context.Context, seq int64) error {
	r, err := t.exec(ctx, `UPDATE webhook_cursor SET seq = ? WHERE id = 1 AND seq <= ?`, seq, seq)
	if err != nil {
		return fmt.Errorf("set webhook cursor %d: %w", seq, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return models.Errorf(models.ECONFLICT, "webhook cursor is past %d", seq)
	}
	return nil
}

// EnqueueWebhookDelivery stores a pending delivery.
func (t *Tx) EnqueueWebhookDelivery(ctx context.Context, d *models.WebhookDelivery) error {
	_, err := t.exec(ctx, `INSERT INTO webhook_deliveries (id, endpoint_id, event_type, audit_seq, case_id, payload, created_at, state, attempts, next_attempt_at, give_up_at)
VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`, d.ID, d.EndpointID, d.Type, d.AuditSeq, string(d.CaseID), string(d.Payload), us(d.CreatedAt), us(d.NextAttemptAt), us(d.GiveUpAt))
	if err != nil {
		return fmt.Errorf("enqueue webhook delivery %s: %w", d.ID, err)
	}
	d.State = models.WebhookPending
	return nil
}

const deliveryCols = `id, endpoint_id, event_type, audit_seq, case_id, payload, created_at, state, attempts, next_attempt_at, give_up_at,
lease_owner, lease_until, last_status, last_error, done_at`

func (t *Tx) deliveries(ctx context.Context, what, q string, args ...any) ([]*models.WebhookDelivery, error) {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []*models.WebhookDelivery
	for rows.Next() {
		var d models.WebhookDelivery
		var payload string
		var created, next, giveUp int64
		var lease, done sql.NullInt64
		if err := rows.Scan(&d.ID, &d.EndpointID, &d.Type, &d.AuditSeq, &d.CaseID, &payload, &created, &d.State, &d.Attempts, &next, &giveUp,
			&d.LeaseOwner, &lease, &d.LastStatus, &d.LastError, &done); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		d.Payload = []byte(payload)
		d.CreatedAt, d.NextAttemptAt, d.GiveUpAt, d.LeaseUntil, d.DoneAt = fromUS(created), fromUS(next), fromUS(giveUp), fromNullUS(lease), fromNullUS(done)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

const dueWebhooks = `SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND e.disabled_at IS NULL AND e.deleted_at IS NULL
AND (d.lease_until IS NULL OR d.lease_until < ? OR d.lease_owner = ?)
ORDER BY d.next_attempt_at, d.created_at, d.id LIMIT ?`

// ClaimWebhookDeliveries leases due deliveries to owner.
func (t *Tx) ClaimWebhookDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*models.WebhookDelivery, error) {
	lock := ""
	if t.db.dialect.SkipLocked != "" {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	ids, marks, err := t.leaseIDs(ctx, "claim webhook deliveries", dueWebhooks+lock, []any{us(now), us(now), owner, limit},
		`UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?`, owner, us(leaseUntil))
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return t.deliveries(ctx, "claim webhook deliveries", `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id IN (`+marks+`) ORDER BY next_attempt_at, created_at, id`, ids...)
}

// RecordWebhookAttempt logs an attempt and moves the delivery on.
func (t *Tx) RecordWebhookAttempt(ctx context.Context, owner string, a *models.WebhookAttempt, state models.WebhookState, next time.Time) error {
	var done sql.NullInt64
	if state != models.WebhookPending {
		done = nullUS(&a.At)
	}
	errMsg := truncate(a.Error, 1000)
	r, err := t.exec(ctx, `UPDATE webhook_deliveries SET attempts = ?, state = ?, next_attempt_at = ?, last_status = ?, last_error = ?, done_at = ?,
lease_owner = '', lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'pending' AND attempts = ?`,
		a.N, string(state), us(next), a.Status, errMsg, done, a.DeliveryID, owner, a.N-1)
	if err != nil {
		return fmt.Errorf("record webhook attempt %s/%d: %w", a.DeliveryID, a.N, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return models.Errorf(models.ECONFLICT, "webhook delivery %s is not leased by %s at attempt %d", a.DeliveryID, owner, a.N)
	}
	if _, err := t.exec(ctx, `INSERT INTO webhook_attempts (delivery_id, n, at, status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)`,
		a.DeliveryID, a.N, us(a.At), a.Status, errMsg, a.Duration.Milliseconds()); err != nil {
		return fmt.Errorf("record webhook attempt %s/%d: %w", a.DeliveryID, a.N, err)
	}
	return nil
}

// WebhookDeliveryByID returns a delivery.
func (t *Tx) WebhookDeliveryByID(ctx context.Context, id string) (*models.WebhookDelivery, error) {
	out, err := t.deliveries(ctx, "webhook delivery "+id, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, models.Errorf(models.ENOTFOUND, "webhook delivery %s not found", id)
	}
	return out[0], nil
}

// WebhookDeliveries lists deliveries, newest first.
func (t *Tx) WebhookDeliveries(ctx context.Context, f models.WebhookDeliveryFilter) ([]*models.WebhookDelivery, error) {
	q := `SELECT ` + deliveryCols + ` FROM webhook_deliveries WHERE 1 = 1`
	var args []any
	if f.EndpointID != "" {
		q += ` AND endpoint_id = ?`
		args = append(args, f.EndpointID)
	}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, string(f.State))
	}
	q += ` ORDER BY created_at DESC, audit_seq DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return t.deliveries(ctx, "webhook deliveries", q, args...)
}

// WebhookAttempts lists a delivery's attempts in order.
func (t *Tx) WebhookAttempts(ctx context.Context, deliveryID string) ([]*models.WebhookAttempt, error) {
	rows, err := t.query(ctx, `SELECT delivery_id, n, at, status, error, duration_ms FROM webhook_attempts WHERE delivery_id = ? ORDER BY n`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("webhook attempts of %s: %w", deliveryID, err)
	}
	defer rows.Close()
	var out []*models.WebhookAttempt
	for rows.Next() {
		var a models.WebhookAttempt
		var at, ms int64
		if err := rows.Scan(&a.DeliveryID, &a.N, &at, &a.Status, &a.Error, &ms); err != nil {
			return nil, fmt.Errorf("webhook attempts of %s: %w", deliveryID, err)
		}
		a.At, a.Duration = fromUS(at), time.Duration(ms)*time.Millisecond
		out = append(out, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("webhook attempts of %s: %w", deliveryID, err)
	}
	return out, nil
}

// RedeliverWebhook makes a finished delivery pending again.
func (t *Tx) RedeliverWebhook(ctx context.Context, id string, now, giveUp time.Time) error {
	d, err := t.WebhookDeliveryByID(ctx, id)
	if err != nil {
		return err
	}
	if d.State == models.WebhookPending {
		return models.Errorf(models.ECONFLICT, "webhook delivery %s is still pending", id)
	}
	r, err := t.exec(ctx, `UPDATE webhook_deliveries SET state = 'pending', done_at = NULL, next_attempt_at = ?, give_up_at = ?, lease_owner = '', lease_until = NULL
WHERE id = ? AND state <> 'pending' AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = endpoint_id AND e.deleted_at IS NULL)`, us(now), us(giveUp), id)
	if err != nil {
		return fmt.Errorf("redeliver webhook %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n != 1 {
		return models.Errorf(models.ECONFLICT, "webhook delivery %s: its endpoint is deleted", id)
	}
	return nil
}

// PendingWebhookDeliveries counts the pending deliveries.
func (t *Tx) PendingWebhookDeliveries(ctx context.Context) (int, error) {
	var n int
	if err := t.queryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("pending webhook deliveries: %w", t.db.translate(err))
	}
	return n, nil
}
