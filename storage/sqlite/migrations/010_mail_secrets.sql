-- No usable secret rests in the mail outbox (issue 10, point 6). A message's
-- body (invite link, email code, statement) is kept only while it may still
-- be sent: delivery drops it, and so does the expiry of what it carries
-- (expires_at); the row keeps the body's SHA-256, the addresses, the times
-- and the server's answer. raw becomes nullable, which SQLite only allows by
-- rebuilding the table.
--
-- Rows from before: delivered ones lose their body now (their hash was not
-- recorded and stays ''); queued ones keep it, get the expiry of what they
-- carry (a code: 10 minutes; an invite: the end of the case's newest invite
-- issued by then; a statement: none) and get their hash when delivered.

CREATE TABLE mail_outbox_010 (
	id              TEXT PRIMARY KEY,
	case_id         TEXT NOT NULL DEFAULT '',
	kind            TEXT NOT NULL CHECK (kind IN ('invite', 'code', 'statement')),
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
	CHECK (sent_at IS NULL OR expired_at IS NULL),
	-- The body is there exactly while the message is queued.
	CHECK ((raw IS NULL) = (sent_at IS NOT NULL OR expired_at IS NOT NULL))
) STRICT;

INSERT INTO mail_outbox_010 (id, case_id, kind, to_addr, from_addr, message_id, raw, created_at, expires_at, attempts, next_attempt_at,
	lease_owner, lease_until, sent_at, reply, last_error)
SELECT id, case_id, kind, to_addr, from_addr, message_id,
	CASE WHEN sent_at IS NULL THEN raw END,
	created_at,
	CASE kind
		WHEN 'code' THEN created_at + 600000000
		WHEN 'invite' THEN (SELECT max(i.not_after) FROM invites i WHERE i.case_id = mail_outbox.case_id AND i.created_at <= mail_outbox.created_at)
	END,
	attempts, next_attempt_at, lease_owner, lease_until, sent_at, reply, last_error
FROM mail_outbox;

DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_010 RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due ON mail_outbox (sent_at, next_attempt_at);
CREATE INDEX mail_outbox_case ON mail_outbox (case_id);
CREATE INDEX mail_outbox_expiry ON mail_outbox (expires_at) WHERE raw IS NOT NULL;
