package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
)

const mailCols = `id, case_id, kind, to_addr, from_addr, message_id, raw, raw_sha256, created_at, expires_at, attempts, next_attempt_at, lease_owner, lease_until,
sent_at, expired_at, reply, last_error, envelope_id, dsn, rcpt_reply, delivery, delivery_status, delivery_diagnostic, delivery_remote_mta, delivery_at`

func scanMail(row interface{ Scan(...any) error }) (*models.OutboundMail, error) {
	var m models.OutboundMail
	var created, next int64
	var expires, lease, sent, expired, delivered sql.NullInt64
	if err := row.Scan(&m.ID, &m.CaseID, &m.Kind, &m.To, &m.From, &m.MessageID, &m.Raw, &m.RawSHA256, &created, &expires, &m.Attempts, &next,
		&m.LeaseOwner, &lease, &sent, &expired, &m.Reply, &m.LastError, &m.EnvelopeID, &m.DSN, &m.RcptReply, &m.Delivery.Action, &m.Delivery.Status,
		&m.Delivery.Diagnostic, &m.Delivery.RemoteMTA, &delivered); err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAttemptAt, m.LeaseUntil, m.SentAt = fromUS(created), fromUS(next), fromNullUS(lease), fromNullUS(sent)
	m.ExpiresAt, m.ExpiredAt, m.Delivery.ReportedAt = fromNullUS(expires), fromNullUS(expired), fromNullUS(delivered)
	return &m, nil
}

const insertMail = `INSERT INTO mail_outbox (id, case_id, kind, to_addr, from_addr, message_id, raw, raw_sha256, created_at, expires_at, next_attempt_at, envelope_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// EnqueueMail adds a message to the outbox.
func (t *Tx) EnqueueMail(ctx context.Context, m *models.OutboundMail) error {
	if _, err := t.exec(ctx, insertMail, m.ID, m.CaseID, m.Kind, m.To, m.From, m.MessageID, m.Raw, m.RawSHA256, us(m.CreatedAt), nullUS(m.ExpiresAt),
		us(m.NextAttemptAt), m.EnvelopeID); err != nil {
		return fmt.Errorf("enqueue %s mail: %w", m.Kind, err)
	}
	return nil
}

// MailByID returns one message.
func (t *Tx) MailByID(ctx context.Context, id string) (*models.OutboundMail, error) {
	m, err := scanMail(t.queryRow(ctx, `SELECT `+mailCols+` FROM mail_outbox WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("mail %s: %w", id, t.db.translate(err))
	}
	return m, nil
}

func (t *Tx) mailList(ctx context.Context, what, query string, args ...any) ([]*models.OutboundMail, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []*models.OutboundMail
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MailByEnvelopeID returns the message sent with the DSN envelope id envID.
func (t *Tx) MailByEnvelopeID(ctx context.Context, envID string) (*models.OutboundMail, error) {
	if envID == "" {
		return nil, models.Errorf(models.ENOTFOUND, "no mail has an empty envelope id")
	}
	m, err := scanMail(t.queryRow(ctx, `SELECT `+mailCols+` FROM mail_outbox WHERE envelope_id = ?`, envID))
	if err != nil {
		return nil, fmt.Errorf("mail with envelope id %q: %w", envID, t.db.translate(err))
	}
	return m, nil
}

// MailByMessageID returns the message with the Message-ID messageID
// (without angle brackets).
func (t *Tx) MailByMessageID(ctx context.Context, messageID string) (*models.OutboundMail, error) {
	m, err := scanMail(t.queryRow(ctx, `SELECT `+mailCols+` FROM mail_outbox WHERE message_id = ?`, messageID))
	if err != nil {
		return nil, fmt.Errorf("mail with message id %q: %w", messageID, t.db.translate(err))
	}
	return m, nil
}

// SetMailDelivery records the latest delivery report of a sent message.
func (t *Tx) SetMailDelivery(ctx context.Context, id string, d models.MailDelivery) error {
	r, err := t.exec(ctx, `UPDATE mail_outbox SET delivery = ?, delivery_status = ?, delivery_diagnostic = ?, delivery_remote_mta = ?, delivery_at = ?
WHERE id = ? AND sent_at IS NOT NULL`, string(d.Action), truncate(d.Status, 32), truncate(d.Diagnostic, 1000), truncate(d.RemoteMTA, 255), nullUS(d.ReportedAt), id)
	if err != nil {
		return fmt.Errorf("set delivery of mail %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ENOTFOUND, "no sent mail %s", id)
	}
	return nil
}

// MailByCase lists a case's messages, oldest first.
func (t *Tx) MailByCase(ctx context.Context, id models.CaseID) ([]*models.OutboundMail, error) {
	return t.mailList(ctx, "mail of "+string(id), `SELECT `+mailCols+` FROM mail_outbox WHERE case_id = ? ORDER BY created_at, id`, id)
}

// leaseIDs selects the ids of query (which takes args) and gives them to
// update, whose first arguments are updArgs; it returns the ids as
// arguments and their placeholders, or nil when none matched.
func (t *Tx) leaseIDs(ctx context.Context, what, query string, args []any, update string, updArgs ...any) ([]any, string, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	var ids []any
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, "", fmt.Errorf("%s: %w", what, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return nil, "", err
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	if _, err := t.exec(ctx, update+` WHERE id IN (`+marks+`)`, append(updArgs, ids...)...); err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err)
	}
	return ids, marks, nil
}

const dueMail = `SELECT id FROM mail_outbox
WHERE sent_at IS NULL AND expired_at IS NULL AND next_attempt_at <= ? AND (expires_at IS NULL OR expires_at > ?)
AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)
ORDER BY next_attempt_at, created_at LIMIT ?`

// ClaimMail leases due, queued messages whose payload has not expired to owner.
func (t *Tx) ClaimMail(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*models.OutboundMail, error) {
	ids, marks, err := t.leaseIDs(ctx, "claim mail", dueMail+t.db.dialect.SkipLocked, []any{us(now), us(now), us(now), owner, limit},
		`UPDATE mail_outbox SET lease_owner = ?, lease_until = ?`, owner, us(leaseUntil))
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return t.mailList(ctx, "claim mail", `SELECT `+mailCols+` FROM mail_outbox WHERE id IN (`+marks+`) ORDER BY created_at, id`, ids...)
}

const expiredMail = `SELECT id FROM mail_outbox
WHERE sent_at IS NULL AND expired_at IS NULL AND expires_at <= ? AND (lease_until IS NULL OR lease_until < ?)
ORDER BY expires_at, id`

// ExpireMail drops the bodies of queued messages whose payload expired.
func (t *Tx) ExpireMail(ctx context.Context, now time.Time) ([]*models.OutboundMail, error) {
	ids, marks, err := t.leaseIDs(ctx, "expire mail", expiredMail+t.db.dialect.SkipLocked, []any{us(now), us(now)},
		`UPDATE mail_outbox SET raw = NULL, expired_at = ?, lease_owner = '', lease_until = NULL`, us(now))
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return t.mailList(ctx, "expire mail", `SELECT `+mailCols+` FROM mail_outbox WHERE id IN (`+marks+`) ORDER BY created_at, id`, ids...)
}

// MarkMailSent records the server's answers and the hash of what was
// sent, drops the body and clears the lease.
func (t *Tx) MarkMailSent(ctx context.Context, id, owner string, rc models.MailReceipt, rawSHA256 string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE mail_outbox SET sent_at = ?, reply = ?, dsn = ?, rcpt_reply = ?, raw = NULL, raw_sha256 = ?, attempts = attempts + 1,
lease_owner = '', lease_until = NULL, last_error = '' WHERE id = ? AND lease_owner = ? AND sent_at IS NULL AND expired_at IS NULL`,
		us(at), truncate(rc.Reply, 1000), rc.DSN, truncate(strings.Join(rc.Rcpt, "\n"), 1000), rawSHA256, id, owner)
	if err != nil {
		return fmt.Errorf("mark mail %s sent: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "mail %s is not leased by %s", id, owner)
	}
	return nil
}

// MarkMailFailed records a failed attempt and when to retry.
func (t *Tx) MarkMailFailed(ctx context.Context, id, owner, errMsg string, next time.Time) error {
	r, err := t.exec(ctx, `UPDATE mail_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, lease_owner = '', lease_until = NULL
WHERE id = ? AND lease_owner = ? AND sent_at IS NULL`, truncate(errMsg, 1000), us(next), id, owner)
	if err != nil {
		return fmt.Errorf("mark mail %s failed: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "mail %s is not leased by %s", id, owner)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
