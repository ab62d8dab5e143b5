-- remoteidv schema, SQLite flavour. Times are microseconds since the Unix
-- epoch, UTC. Keep in step with storage/postgres/migrations.

CREATE TABLE staff (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
	display_name  TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
	password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
	disabled_at   INTEGER,
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE staff_roles (
	staff_id TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	role     TEXT NOT NULL CHECK (role IN ('clerk', 'supervisor', 'auditor', 'admin')),
	PRIMARY KEY (staff_id, role)
) STRICT;

CREATE TABLE staff_sessions (
	id_hash    TEXT PRIMARY KEY CHECK (length(id_hash) = 64),
	staff_id   TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	csrf_token TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	step_up_at INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

CREATE TABLE api_tokens (
	id         TEXT PRIMARY KEY,
	staff_id   TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	hash       TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
	created_at INTEGER NOT NULL,
	last_used  INTEGER,
	revoked_at INTEGER
) STRICT;

CREATE TABLE accounts (
	no          TEXT PRIMARY KEY CHECK (length(no) BETWEEN 4 AND 34),
	holder_name TEXT NOT NULL CHECK (length(holder_name) BETWEEN 1 AND 200),
	national_id TEXT NOT NULL CHECK (length(national_id) BETWEEN 4 AND 32),
	email       TEXT NOT NULL CHECK (email LIKE '%_@_%'),
	phone       TEXT NOT NULL,
	time_zone   TEXT NOT NULL CHECK (length(time_zone) > 0),
	language    TEXT NOT NULL CHECK (language IN ('en', 'zh-CN')),
	imported_at INTEGER NOT NULL
) STRICT;

CREATE TABLE account_images (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	account_no   TEXT NOT NULL REFERENCES accounts(no),
	kind         TEXT NOT NULL CHECK (kind IN ('photo', 'signature')),
	content_type TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
	sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
	data         BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	problem      TEXT NOT NULL DEFAULT '',
	UNIQUE (account_no, kind, sha256)
) STRICT;

CREATE TABLE cases (
	id          TEXT PRIMARY KEY,
	account_no  TEXT NOT NULL REFERENCES accounts(no),
	purpose     TEXT NOT NULL CHECK (purpose IN ('transaction_statement')),
	period_from TEXT NOT NULL CHECK (period_from GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	period_to   TEXT NOT NULL CHECK (period_to GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	state       TEXT NOT NULL CHECK (state IN ('scheduled', 'in_session', 'pending_review', 'approved', 'sealed',
	                'released', 'closed', 'rejected', 'cancelled', 'expired', 'aborted')),
	clerk_id    TEXT NOT NULL REFERENCES staff(id),
	slot_at     INTEGER NOT NULL,
	customer_tz TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	version     INTEGER NOT NULL CHECK (version > 0),
	CHECK (period_from <= period_to)
) STRICT;
CREATE INDEX cases_slot ON cases (slot_at);
CREATE INDEX cases_account ON cases (account_no);
CREATE INDEX cases_clerk ON cases (clerk_id);

CREATE TABLE invites (
	id         TEXT PRIMARY KEY,
	case_id    TEXT NOT NULL REFERENCES cases(id),
	token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
	not_before INTEGER NOT NULL,
	not_after  INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	used_at    INTEGER,
	revoked_at INTEGER,
	CHECK (not_after > not_before)
) STRICT;
CREATE INDEX invites_case ON invites (case_id);

CREATE TABLE audit_events (
	seq       INTEGER PRIMARY KEY CHECK (seq > 0),
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	case_id   TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL,
	prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
	hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
) STRICT;
CREATE INDEX audit_events_case ON audit_events (case_id, seq);

CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
) STRICT;
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
	seq       INTEGER PRIMARY KEY,
	hash      TEXT NOT NULL CHECK (length(hash) = 64),
	at        INTEGER NOT NULL,
	key_id    TEXT NOT NULL,
	signature BLOB NOT NULL
) STRICT;

CREATE TABLE evidence (
	id              TEXT PRIMARY KEY,
	case_id         TEXT NOT NULL REFERENCES cases(id),
	kind            TEXT NOT NULL CHECK (kind GLOB '[a-z]*'),
	key             TEXT NOT NULL UNIQUE,
	sha256          TEXT NOT NULL CHECK (length(sha256) = 64),
	size            INTEGER NOT NULL CHECK (size >= 0),
	content_type    TEXT NOT NULL,
	actor           TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	staged          TEXT NOT NULL,
	archived_at     INTEGER,
	version_id      TEXT NOT NULL DEFAULT '',
	retain_until    INTEGER,
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at INTEGER NOT NULL,
	lease_owner     TEXT NOT NULL DEFAULT '',
	lease_until     INTEGER,
	last_error      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX evidence_case ON evidence (case_id);
CREATE INDEX evidence_pending ON evidence (next_attempt_at) WHERE archived_at IS NULL;
