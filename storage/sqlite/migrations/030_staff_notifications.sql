-- Staff notifications (issue 16, point 3). A staff member has an email
-- address and a language for them (both optional: no address, no mail;
-- no language, English). A dispatcher follows the audit log from its own
-- cursor (as the webhook dispatcher does) and turns events into
-- notifications for the people they concern; a job warns the case's
-- clerks and the supervisors when a slot is 15 minutes away and no clerk
-- has joined, once per case and slot (slot_alerts is what stops a second
-- process or a restart from sending it again). Each notification is
-- recorded per channel (email: the outbox message; webhook: the
-- staff.notified audit event the webhook dispatcher delivers).

ALTER TABLE staff ADD COLUMN email TEXT NOT NULL DEFAULT '' CHECK (length(email) <= 254);
ALTER TABLE staff ADD COLUMN language TEXT NOT NULL DEFAULT '' CHECK (language IN ('', 'en', 'zh-CN'));

-- A member's choice per kind; no row: the kind is on, by email too.
CREATE TABLE staff_notify_prefs (
	staff_id TEXT NOT NULL REFERENCES staff(id),
	kind     TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
	enabled  INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	email    INTEGER NOT NULL CHECK (email IN (0, 1)),
	PRIMARY KEY (staff_id, kind)
) STRICT;

CREATE TABLE staff_notifications (
	id         TEXT PRIMARY KEY,
	staff_id   TEXT NOT NULL REFERENCES staff(id),
	kind       TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
	case_id    TEXT NOT NULL REFERENCES cases(id),
	channel    TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
	ref        TEXT NOT NULL CHECK (length(ref) BETWEEN 1 AND 100),
	audit_seq  INTEGER NOT NULL CHECK (audit_seq >= 0),
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX staff_notifications_staff ON staff_notifications (staff_id, created_at);
CREATE INDEX staff_notifications_case ON staff_notifications (case_id);

CREATE TABLE slot_alerts (
	case_id TEXT NOT NULL REFERENCES cases(id),
	slot_at INTEGER NOT NULL,
	sent_at INTEGER NOT NULL,
	PRIMARY KEY (case_id, slot_at)
) STRICT;

-- The last audit event the dispatcher has turned into notifications. It
-- starts at the head: nobody is told of what happened before.
CREATE TABLE notify_cursor (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL CHECK (seq >= 0)
) STRICT;
INSERT INTO notify_cursor (id, seq) SELECT 1, seq FROM audit_head WHERE id = 1;

-- The outbox files the staff's notification mails under the kind
-- 'staff'. Widening
-- the CHECK takes a rebuild in SQLite (as in 010); nothing references the
-- table.
CREATE TABLE mail_outbox_030 (
	id              TEXT PRIMARY KEY,
	case_id         TEXT NOT NULL DEFAULT '',
	kind            TEXT NOT NULL CHECK (kind IN ('invite', 'code', 'statement', 'notice', 'staff')),
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

INSERT INTO mail_outbox_030 (id, case_id, kind, to_addr, from_addr, message_id, raw, raw_sha256, created_at, expires_at, attempts,
	next_attempt_at, lease_owner, lease_until, sent_at, expired_at, reply, last_error, envelope_id, dsn, rcpt_reply, delivery,
	delivery_status, delivery_diagnostic, delivery_remote_mta, delivery_at)
SELECT id, case_id, kind, to_addr, from_addr, message_id, raw, raw_sha256, created_at, expires_at, attempts,
	next_attempt_at, lease_owner, lease_until, sent_at, expired_at, reply, last_error, envelope_id, dsn, rcpt_reply, delivery,
	delivery_status, delivery_diagnostic, delivery_remote_mta, delivery_at
FROM mail_outbox;

DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_030 RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);
CREATE INDEX mail_outbox_case ON mail_outbox (case_id);
CREATE INDEX mail_outbox_expiry ON mail_outbox (expires_at) WHERE raw IS NOT NULL;
CREATE UNIQUE INDEX mail_outbox_envelope ON mail_outbox (envelope_id) WHERE envelope_id <> '';
