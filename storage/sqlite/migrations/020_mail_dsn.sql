-- Delivery you can prove (issue 17, point 5). Mail goes out asking for
-- delivery status notifications (RFC 3461) where the server offers them,
-- under a random envelope id (ENVID) the recipient never sees; the row
-- keeps whether they were asked for, the server's answer to the recipient,
-- and the latest delivery report that came back (RFC 3464: its action,
-- status, diagnostic, reporting server and when it came). Rows from before
-- have no envelope id and stay as they were.

ALTER TABLE mail_outbox ADD COLUMN envelope_id TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_outbox ADD COLUMN dsn TEXT NOT NULL DEFAULT '' CHECK (dsn IN ('', 'requested', 'not_offered'));
ALTER TABLE mail_outbox ADD COLUMN rcpt_reply TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_outbox ADD COLUMN delivery TEXT NOT NULL DEFAULT ''
	CHECK (delivery IN ('', 'delivered', 'failed', 'delayed', 'relayed', 'expanded'));
ALTER TABLE mail_outbox ADD COLUMN delivery_status TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_outbox ADD COLUMN delivery_diagnostic TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_outbox ADD COLUMN delivery_remote_mta TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_outbox ADD COLUMN delivery_at INTEGER;
CREATE UNIQUE INDEX mail_outbox_envelope ON mail_outbox (envelope_id) WHERE envelope_id <> '';
