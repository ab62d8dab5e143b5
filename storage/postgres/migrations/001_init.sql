-- remoteidv schema, PostgreSQL flavour. Times are microseconds since the Unix
-- epoch, UTC. Keep in step with storage/sqlite/migrations.

CREATE TABLE staff (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
	display_name  TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
	password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
	disabled_at   BIGINT,
	created_at    BIGINT NOT NULL
);

CREATE TABLE staff_roles (
	staff_id TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	role     TEXT NOT NULL CHECK (role IN ('clerk', 'supervisor', 'auditor', 'admin')),
	PRIMARY KEY (staff_id, role)
);

CREATE TABLE staff_sessions (
	id_hash    TEXT PRIMARY KEY CHECK (length(id_hash) = 64),
	staff_id   TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	csrf_token TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen  BIGINT NOT NULL,
	step_up_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

CREATE TABLE api_tokens (
	id         TEXT PRIMARY KEY,
	staff_id   TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	hash       TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
	created_at BIGINT NOT NULL,
	last_used  BIGINT,
	revoked_at BIGINT
);

CREATE TABLE accounts (
	no          TEXT PRIMARY KEY CHECK (length(no) BETWEEN 4 AND 34),
	holder_name TEXT NOT NULL CHECK (length(holder_name) BETWEEN 1 AND 200),
	national_id TEXT NOT NULL CHECK (length(national_id) BETWEEN 4 AND 32),
	email       TEXT NOT NULL CHECK (email LIKE '%_@_%'),
	phone       TEXT NOT NULL,
	time_zone   TEXT NOT NULL CHECK (length(time_zone) > 0),
	language    TEXT NOT NULL CHECK (language IN ('en', 'zh-CN')),
	imported_at BIGINT NOT NULL
);

CREATE TABLE account_images (
	id           BIGSERIAL PRIMARY KEY,
	account_no   TEXT NOT NULL REFERENCES accounts(no),
	kind         TEXT NOT NULL CHECK (kind IN ('photo', 'signature')),
	content_type TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
	sha256       TEXT NOT NULL CHECK (length(sha256) = 64),
	data         BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	problem      TEXT NOT NULL DEFAULT '',
	UNIQUE (account_no, kind, sha256)
);

CREATE TABLE cases (
	id          TEXT PRIMARY KEY,
	account_no  TEXT NOT NULL REFERENCES accounts(no),
	purpose     TEXT NOT NULL CHECK (purpose IN ('transaction_statement')),
	period_from TEXT NOT NULL CHECK (period_from ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	period_to   TEXT NOT NULL CHECK (period_to ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	state       TEXT NOT NULL CHECK (state IN ('scheduled', 'in_session', 'pending_review', 'approved', 'sealed',
	                'released', 'closed', 'rejected', 'cancelled', 'expired', 'aborted')),
	clerk_id    TEXT NOT NULL REFERENCES staff(id),
	slot_at     BIGINT NOT NULL,
	customer_tz TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	version     BIGINT NOT NULL CHECK (version > 0),
	CHECK (period_from <= period_to)
);
CREATE INDEX cases_slot ON cases (slot_at);
CREATE INDEX cases_account ON cases (account_no);
CREATE INDEX cases_clerk ON cases (clerk_id);

CREATE TABLE invites (
	id         TEXT PRIMARY KEY,
	case_id    TEXT NOT NULL REFERENCES cases(id),
	token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
	not_before BIGINT NOT NULL,
	not_after  BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	used_at    BIGINT,
	revoked_at BIGINT,
	CHECK (not_after > not_before)
);
CREATE INDEX invites_case ON invites (case_id);

CREATE TABLE audit_events (
	seq       BIGINT PRIMARY KEY CHECK (seq > 0),
	at        BIGINT NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	case_id   TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL,
	prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
	hash      TEXT NOT NULL UNIQUE CHECK (length(hash) = 64)
);
CREATE INDEX audit_events_case ON audit_events (case_id, seq);

CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
	seq       BIGINT PRIMARY KEY,
	hash      TEXT NOT NULL CHECK (length(hash) = 64),
	at        BIGINT NOT NULL,
	key_id    TEXT NOT NULL,
	signature BYTEA NOT NULL
);

CREATE TABLE evidence (
	id              TEXT PRIMARY KEY,
	case_id         TEXT NOT NULL REFERENCES cases(id),
	kind            TEXT NOT NULL CHECK (kind ~ '^[a-z]+$'),
	key             TEXT NOT NULL UNIQUE,
	sha256          TEXT NOT NULL CHECK (length(sha256) = 64),
	size            BIGINT NOT NULL CHECK (size >= 0),
	content_type    TEXT NOT NULL,
	actor           TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	staged          TEXT NOT NULL,
	archived_at     BIGINT,
	version_id      TEXT NOT NULL DEFAULT '',
	retain_until    BIGINT,
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at BIGINT NOT NULL,
	lease_owner     TEXT NOT NULL DEFAULT '',
	lease_until     BIGINT,
	last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX evidence_case ON evidence (case_id);
CREATE INDEX evidence_pending ON evidence (next_attempt_at) WHERE archived_at IS NULL;
