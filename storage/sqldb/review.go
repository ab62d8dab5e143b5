package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"remoteidv/models"
)

const insertLetter = `INSERT INTO letters (id, case_id, evidence_id, content_type, width, height, source, actor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateLetter stores an uploaded letter (its scope comes later).
func (t *Tx) CreateLetter(ctx context.Context, l *models.Letter) error {
	if _, err := t.exec(ctx, insertLetter, l.ID, l.CaseID, l.Evidence, l.ContentType, l.Width, l.Height, l.Source, l.Actor, us(l.CreatedAt)); err != nil {
		return fmt.Errorf("create letter for %s: %w", l.CaseID, err)
	}
	return nil
}

const setLetterScope = `UPDATE letters SET scope = ?, scope_by = ?, scope_at = ? WHERE id = ? AND scope = ''`

// SetLetterScope records the scope once.
func (t *Tx) SetLetterScope(ctx context.Context, id models.LetterID, s models.LetterScope, by string, at time.Time) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("letter %s scope: %w", id, err)
	}
	r, err := t.exec(ctx, setLetterScope, string(b), by, us(at), id)
	if err != nil {
		return fmt.Errorf("letter %s scope: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		var one int
		if err := t.queryRow(ctx, `SELECT 1 FROM letters WHERE id = ?`, id).Scan(&one); err != nil {
			return fmt.Errorf("letter %s: %w", id, t.db.translate(err))
		}
		return models.Errorf(models.ECONFLICT, "the scope of letter %s was already recorded", id)
	}
	return nil
}

// LettersByCase lists a case's letters, oldest first.
func (t *Tx) LettersByCase(ctx context.Context, id models.CaseID) ([]*models.Letter, error) {
	rows, err := t.query(ctx, `SELECT id, case_id, evidence_id, content_type, width, height, source, actor, created_at, scope, scope_by, scope_at
FROM letters WHERE case_id = ? ORDER BY created_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("letters of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.Letter
	for rows.Next() {
		var l models.Letter
		var created int64
		var scope string
		var scopeAt sql.NullInt64
		if err := rows.Scan(&l.ID, &l.CaseID, &l.Evidence, &l.ContentType, &l.Width, &l.Height, &l.Source, &l.Actor, &created, &scope, &l.ScopeBy, &scopeAt); err != nil {
			return nil, fmt.Errorf("letters of %s: %w", id, err)
		}
		l.CreatedAt, l.ScopeAt = fromUS(created), fromNullUS(scopeAt)
		if scope != "" {
			l.Scope = new(models.LetterScope)
			if err := json.Unmarshal([]byte(scope), l.Scope); err != nil {
				return nil, fmt.Errorf("letter %s scope: %w", l.ID, err)
			}
		}
		out = append(out, &l)
	}
	return out, rows.Err()
}

const insertEmailCode = `INSERT INTO email_codes (id, case_id, invite_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`

// CreateEmailCode stores a code's hash.
func (t *Tx) CreateEmailCode(ctx context.Context, c *models.EmailCode) error {
	if _, err := t.exec(ctx, insertEmailCode, c.ID, c.CaseID, c.InviteID, c.CodeHash, us(c.CreatedAt), us(c.ExpiresAt)); err != nil {
		return fmt.Errorf("create email code for %s: %w", c.CaseID, err)
	}
	return nil
}

// EmailCodesByInvite lists an invite's codes, newest first.
func (t *Tx) EmailCodesByInvite(ctx context.Context, id models.InviteID) ([]*models.EmailCode, error) {
	rows, err := t.query(ctx, `SELECT id, case_id, invite_id, code_hash, created_at, expires_at, used_at, failures
FROM email_codes WHERE invite_id = ? ORDER BY created_at DESC, id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("email codes of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*models.EmailCode
	for rows.Next() {
		var c models.EmailCode
		var created, expires int64
		var used sql.NullInt64
		if err := rows.Scan(&c.ID, &c.CaseID, &c.InviteID, &c.CodeHash, &created, &expires, &used, &c.Failures); err != nil {
			return nil, fmt.Errorf("email codes of %s: %w", id, err)
		}
		c.CreatedAt, c.ExpiresAt, c.UsedAt = fromUS(created), fromUS(expires), fromNullUS(used)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// AddEmailCodeFailure counts one wrong guess.
func (t *Tx) AddEmailCodeFailure(ctx context.Context, id string) error {
	r, err := t.exec(ctx, `UPDATE email_codes SET failures = failures + 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("email code %s failure: %w", id, err)
	}
	return mustAffect(r, "email code "+id)
}

// UseEmailCode marks an unused code used.
func (t *Tx) UseEmailCode(ctx context.Context, id string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE email_codes SET used_at = ? WHERE id = ? AND used_at IS NULL`, us(at), id)
	if err != nil {
		return fmt.Errorf("use email code %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "email code already used")
	}
	return nil
}

// EmailCodeVerified reports whether a code of the case was used.
func (t *Tx) EmailCodeVerified(ctx context.Context, id models.CaseID) (bool, error) {
	var n int
	if err := t.queryRow(ctx, `SELECT count(*) FROM email_codes WHERE case_id = ? AND used_at IS NOT NULL`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("email code of %s: %w", id, t.db.translate(err))
	}
	return n > 0, nil
}

const insertApproval = `INSERT INTO approvals (id, case_id, supervisor, actor, decision, reason, action, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

// CreateApproval stores the case's one decision.
func (t *Tx) CreateApproval(ctx context.Context, a *models.Approval) error {
	b, err := json.Marshal(a.Action)
	if err != nil {
		return fmt.Errorf("create approval for %s: %w", a.CaseID, err)
	}
	if _, err := t.exec(ctx, insertApproval, a.ID, a.CaseID, a.Supervisor, a.Actor, string(a.Decision), a.Reason, string(b), us(a.CreatedAt)); err != nil {
		return fmt.Errorf("create approval for %s: %w", a.CaseID, err)
	}
	return nil
}

// ApprovalByCase returns the case's decision.
func (t *Tx) ApprovalByCase(ctx context.Context, id models.CaseID) (*models.Approval, error) {
	var a models.Approval
	var action string
	var created int64
	var used sql.NullInt64
	err := t.queryRow(ctx, `SELECT id, case_id, supervisor, actor, decision, reason, action, created_at, used_at FROM approvals WHERE case_id = ?`, id).
		Scan(&a.ID, &a.CaseID, &a.Supervisor, &a.Actor, &a.Decision, &a.Reason, &action, &created, &used)
	if err != nil {
		return nil, fmt.Errorf("approval of %s: %w", id, t.db.translate(err))
	}
	if err := json.Unmarshal([]byte(action), &a.Action); err != nil {
		return nil, fmt.Errorf("approval of %s: action: %w", id, err)
	}
	a.CreatedAt, a.UsedAt = fromUS(created), fromNullUS(used)
	return &a, nil
}

// UseApproval marks an unused approval used.
func (t *Tx) UseApproval(ctx context.Context, id string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE approvals SET used_at = ? WHERE id = ? AND used_at IS NULL AND decision = 'approve'`, us(at), id)
	if err != nil {
		return fmt.Errorf("use approval %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "approval %s was already used", id)
	}
	return nil
}

// BeginIdempotent stores an in-flight record. A taken key is reported
// without failing the statement (ON CONFLICT DO NOTHING): PostgreSQL aborts
// a transaction at a unique violation, and the caller goes on to read the
// stored answer in the same transaction.
func (t *Tx) BeginIdempotent(ctx context.Context, r *models.IdempotencyRecord) error {
	res, err := t.exec(ctx, `INSERT INTO idempotency_keys (key, request_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		r.Key, r.RequestHash, us(r.CreatedAt))
	if err != nil {
		return fmt.Errorf("begin idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return models.Errorf(models.ECONFLICT, "idempotency key is taken")
	}
	return nil
}

// IdempotencyByKey returns a stored record.
func (t *Tx) IdempotencyByKey(ctx context.Context, key string) (*models.IdempotencyRecord, error) {
	var r models.IdempotencyRecord
	var created int64
	var completed sql.NullInt64
	err := t.queryRow(ctx, `SELECT key, request_hash, status, response, created_at, completed_at FROM idempotency_keys WHERE key = ?`, key).
		Scan(&r.Key, &r.RequestHash, &r.Status, &r.Response, &created, &completed)
	if err != nil {
		return nil, fmt.Errorf("idempotency key: %w", t.db.translate(err))
	}
	r.CreatedAt, r.CompletedAt = fromUS(created), fromNullUS(completed)
	return &r, nil
}

// CompleteIdempotent stores the answer given.
func (t *Tx) CompleteIdempotent(ctx context.Context, key string, status int, response []byte, at time.Time) error {
	if response == nil {
		response = []byte{}
	}
	r, err := t.exec(ctx, `UPDATE idempotency_keys SET status = ?, response = ?, completed_at = ? WHERE key = ?`, status, response, us(at), key)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return mustAffect(r, "idempotency key")
}

// DeleteIdempotent forgets a key (an abandoned or expired request).
func (t *Tx) DeleteIdempotent(ctx context.Context, key string) error {
	if _, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete idempotency key: %w", err)
	}
	return nil
}

const insertLedger = `INSERT INTO ledger_entries (account_no, booked_at, description, amount, currency) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (account_no, booked_at, description, amount, currency) DO NOTHING`

// AddLedgerEntries inserts entries, skipping exact duplicates.
func (t *Tx) AddLedgerEntries(ctx context.Context, es []*models.LedgerEntry) (int, error) {
	added := 0
	for _, e := range es {
		r, err := t.exec(ctx, insertLedger, e.AccountNo, us(e.BookedAt), e.Description, e.Amount, e.Currency)
		if err != nil {
			return added, fmt.Errorf("add ledger entry of %s: %w", models.MaskAccountNo(e.AccountNo), err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			added++
		}
	}
	return added, nil
}

// LedgerEntries lists an account's entries booked in [from, to).
func (t *Tx) LedgerEntries(ctx context.Context, no models.AccountNo, from, to time.Time) ([]*models.LedgerEntry, error) {
	rows, err := t.query(ctx, `SELECT id, account_no, booked_at, description, amount, currency FROM ledger_entries
WHERE account_no = ? AND booked_at >= ? AND booked_at < ? ORDER BY booked_at, id`, no, us(from), us(to))
	if err != nil {
		return nil, fmt.Errorf("ledger of %s: %w", models.MaskAccountNo(no), err)
	}
	defer rows.Close()
	var out []*models.LedgerEntry
	for rows.Next() {
		var e models.LedgerEntry
		var booked int64
		if err := rows.Scan(&e.ID, &e.AccountNo, &booked, &e.Description, &e.Amount, &e.Currency); err != nil {
			return nil, fmt.Errorf("ledger of %s: %w", models.MaskAccountNo(no), err)
		}
		e.BookedAt = fromUS(booked)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// LedgerBalance sums an account's entries booked before t, per currency.
func (t *Tx) LedgerBalance(ctx context.Context, no models.AccountNo, before time.Time) (map[string]int64, error) {
	rows, err := t.query(ctx, `SELECT currency, sum(amount) FROM ledger_entries WHERE account_no = ? AND booked_at < ? GROUP BY currency`, no, us(before))
	if err != nil {
		return nil, fmt.Errorf("balance of %s: %w", models.MaskAccountNo(no), err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var cur string
		var sum int64
		if err := rows.Scan(&cur, &sum); err != nil {
			return nil, fmt.Errorf("balance of %s: %w", models.MaskAccountNo(no), err)
		}
		out[cur] = sum
	}
	return out, rows.Err()
}

const mailCols = `id, case_id, kind, to_addr, from_addr, message_id, raw, raw_sha256, created_at, expires_at, attempts, next_attempt_at, lease_owner, lease_until,
sent_at, expired_at, reply, last_error`

func scanMail(row interface{ Scan(...any) error }) (*models.OutboundMail, error) {
	var m models.OutboundMail
	var created, next int64
	var expires, lease, sent, expired sql.NullInt64
	if err := row.Scan(&m.ID, &m.CaseID, &m.Kind, &m.To, &m.From, &m.MessageID, &m.Raw, &m.RawSHA256, &created, &expires, &m.Attempts, &next,
		&m.LeaseOwner, &lease, &sent, &expired, &m.Reply, &m.LastError); err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAttemptAt, m.LeaseUntil, m.SentAt = fromUS(created), fromUS(next), fromNullUS(lease), fromNullUS(sent)
	m.ExpiresAt, m.ExpiredAt = fromNullUS(expires), fromNullUS(expired)
	return &m, nil
}

const insertMail = `INSERT INTO mail_outbox (id, case_id, kind, to_addr, from_addr, message_id, raw, raw_sha256, created_at, expires_at, next_attempt_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// EnqueueMail adds a message to the outbox.
func (t *Tx) EnqueueMail(ctx context.Context, m *models.OutboundMail) error {
	if _, err := t.exec(ctx, insertMail, m.ID, m.CaseID, m.Kind, m.To, m.From, m.MessageID, m.Raw, m.RawSHA256, us(m.CreatedAt), nullUS(m.ExpiresAt),
		us(m.NextAttemptAt)); err != nil {
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

// MarkMailSent records the server's reply and the hash of what was sent,
// drops the body and clears the lease.
func (t *Tx) MarkMailSent(ctx context.Context, id, owner, reply, rawSHA256 string, at time.Time) error {
	r, err := t.exec(ctx, `UPDATE mail_outbox SET sent_at = ?, reply = ?, raw = NULL, raw_sha256 = ?, attempts = attempts + 1, lease_owner = '', lease_until = NULL,
last_error = '' WHERE id = ? AND lease_owner = ? AND sent_at IS NULL AND expired_at IS NULL`, us(at), truncate(reply, 1000), rawSHA256, id, owner)
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
