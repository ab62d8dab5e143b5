-- Customer communications (issue 16, point 4): the calendar entry the
-- customer was sent for a case (one UID, a SEQUENCE raised by every later
-- calendar file), the reminders sent before each slot (one row per case,
-- slot and kind: the row is what stops a second process or a restart from
-- sending a reminder twice), and how the request came in.

CREATE TABLE case_calendars (
	case_id    TEXT PRIMARY KEY REFERENCES cases(id),
	uid        TEXT NOT NULL CHECK (length(uid) BETWEEN 1 AND 200),
	sequence   INTEGER NOT NULL CHECK (sequence >= 0),
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE case_reminders (
	case_id TEXT NOT NULL REFERENCES cases(id),
	slot_at INTEGER NOT NULL,
	kind    TEXT NOT NULL CHECK (kind IN ('24h', '1h')),
	mail_id TEXT NOT NULL,
	sent_at INTEGER NOT NULL,
	PRIMARY KEY (case_id, slot_at, kind)
) STRICT;

CREATE TABLE case_intakes (
	case_id     TEXT PRIMARY KEY REFERENCES cases(id),
	channel     TEXT NOT NULL CHECK (channel IN ('phone', 'email', 'counter', 'letter')),
	received_at INTEGER NOT NULL,
	notes       TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
	recorded_by TEXT NOT NULL REFERENCES staff(id),
	created_at  INTEGER NOT NULL
) STRICT;

-- The outbox files the customer's notices (reminders, reschedule and
-- cancellation notices, decision mails) under the kind 'notice'. Widening
-- the CHECK takes a rebuild in SQLite (as in 010); nothing references the
-- table.
CREATE TABLE mail_outbox_029 (
	id              TEXT PRIMARY KEY,
	case_id         TEXT NOT NULL DEFAULT '',
	kind            TEXT NOT NULL CHECK (kind IN ('invite', 'code', 'statement', 'notice')),
	to_addr         TEXT NOT NULL,
	from_addr       TEXT NOT NULL,
	message_id      TEXT NOT NULL UNIQUE,
	raw             BLOB,
	raw_sha256      TEXT NOT NULL DEFAULT '' CHECK (raw_sha256 = '' OR length(raw_sha256) = 64),
	created_at      INTEGER NOT NULL,
	expires_at      INTEGER,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	lease_owner     TEXT NOT NULL DEFAULT '',
	lease_until     INTEGER,
	sent_at         INTEGER,
	expired_at      INTEGER,
	reply           TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT '',
	envelope_id     TEXT NOT NULL DEFAULT '',
	dsn             TEXT NOT NULL DEFAULT '' CHECK (dsn IN ('', 'requested', 'not_offered')),
	rcpt_reply      TEXT NOT NULL DEFAULT '',
	delivery        TEXT NOT NULL DEFAULT '' CHECK (delivery IN ('', 'delivered', 'failed', 'delayed', 'relayed', 'expanded')),
	delivery_status TEXT NOT NULL DEFAULT '',
	delivery_diagnostic TEXT NOT NULL DEFAULT '',
	delivery_remote_mta TEXT NOT NULL DEFAULT '',
	delivery_at     INTEGER,
	CHECK (sent_at IS NULL OR expired_at IS NULL),
	-- The body is there exactly while the message is queued.
	CHECK ((raw IS NULL) = (sent_at IS NOT NULL OR expired_at IS NOT NULL))
) STRICT;

INSERT INTO mail_outbox_029 (id, case_id, kind, to_addr, from_addr, message_id, raw, raw_sha256, created_at, expires_at, attempts,
	next_attempt_at, lease_owner, lease_until, sent_at, expired_at, reply, last_error, envelope_id, dsn, rcpt_reply, delivery,
	delivery_status, delivery_diagnostic, delivery_remote_mta, delivery_at)
SELECT id, case_id, kind, to_addr, from_addr, message_id, raw, raw_sha256, created_at, expires_at, attempts,
	next_attempt_at, lease_owner, lease_until, sent_at, expired_at, reply, last_error, envelope_id, dsn, rcpt_reply, delivery,
	delivery_status, delivery_diagnostic, delivery_remote_mta, delivery_at
FROM mail_outbox;

DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_029 RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);
CREATE INDEX mail_outbox_case ON mail_outbox (case_id);
CREATE INDEX mail_outbox_expiry ON mail_outbox (expires_at) WHERE raw IS NOT NULL;
CREATE UNIQUE INDEX mail_outbox_envelope ON mail_outbox (envelope_id) WHERE envelope_id <> '';
