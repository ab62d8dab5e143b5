-- Review and release: authorization letters, customer email codes, supervisor
-- approvals, idempotency keys of decision requests, the ledger and the mail
-- outbox (issue 6).

CREATE TABLE letters (
	id           TEXT PRIMARY KEY,
	case_id      TEXT NOT NULL REFERENCES cases(id),
	evidence_id  TEXT NOT NULL,
	content_type TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
	width        INTEGER NOT NULL CHECK (width >= 0),
	height       INTEGER NOT NULL CHECK (height >= 0),
	source       TEXT NOT NULL CHECK (source IN ('clerk', 'customer')),
	actor        TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	scope        TEXT NOT NULL DEFAULT '',
	scope_by     TEXT NOT NULL DEFAULT '',
	scope_at     INTEGER
) STRICT;
CREATE INDEX letters_case ON letters (case_id, created_at);

CREATE TABLE email_codes (
	id         TEXT PRIMARY KEY,
	case_id    TEXT NOT NULL REFERENCES cases(id),
	invite_id  TEXT NOT NULL REFERENCES invites(id),
	code_hash  TEXT NOT NULL CHECK (length(code_hash) = 64),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER,
	failures   INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0)
) STRICT;
CREATE INDEX email_codes_invite ON email_codes (invite_id, created_at);
CREATE INDEX email_codes_case ON email_codes (case_id);

CREATE TABLE approvals (
	id          TEXT PRIMARY KEY,
	case_id     TEXT NOT NULL UNIQUE REFERENCES cases(id),
	supervisor  TEXT NOT NULL REFERENCES staff(id),
	actor       TEXT NOT NULL,
	decision    TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
	reason      TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
	action      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	used_at     INTEGER,
	CHECK (used_at IS NULL OR decision = 'approve')
) STRICT;

CREATE TABLE idempotency_keys (
	key          TEXT PRIMARY KEY,
	request_hash TEXT NOT NULL CHECK (length(request_hash) = 64),
	status       INTEGER NOT NULL DEFAULT 0,
	response     BLOB NOT NULL DEFAULT x'',
	created_at   INTEGER NOT NULL,
	completed_at INTEGER
) STRICT;

CREATE TABLE ledger_entries (
	id          INTEGER PRIMARY KEY,
	account_no  TEXT NOT NULL REFERENCES accounts(no),
	booked_at   INTEGER NOT NULL,
	description TEXT NOT NULL CHECK (length(description) <= 200),
	amount      INTEGER NOT NULL,
	currency    TEXT NOT NULL CHECK (length(currency) = 3),
	UNIQUE (account_no, booked_at, description, amount, currency)
) STRICT;

CREATE TABLE mail_outbox (
	id              TEXT PRIMARY KEY,
	case_id         TEXT NOT NULL DEFAULT '',
	kind            TEXT NOT NULL CHECK (kind IN ('invite', 'code', 'statement')),
	to_addr         TEXT NOT NULL,
	from_addr       TEXT NOT NULL,
	message_id      TEXT NOT NULL UNIQUE,
	raw             BLOB NOT NULL,
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	lease_owner     TEXT NOT NULL DEFAULT '',
	lease_until     INTEGER,
	sent_at         INTEGER,
	reply           TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);
CREATE INDEX mail_outbox_case ON mail_outbox (case_id);
