-- No usable secret rests in the mail outbox (issue 10, point 6). A message's
-- body (invite link, email code, statement) is kept only while it may still
-- be sent: delivery drops it, and so does the expiry of what it carries
-- (expires_at); the row keeps the body's SHA-256, the addresses, the times
-- and the server's answer.
--
-- Rows from before: delivered ones lose their body now (their hash was not
-- recorded and stays ''); queued ones keep it, get the expiry of what they
-- carry (a code: 10 minutes; an invite: the end of the case's newest invite
-- issued by then; a statement: none) and get their hash when delivered.

ALTER TABLE mail_outbox ALTER COLUMN raw DROP NOT NULL;
ALTER TABLE mail_outbox ADD COLUMN raw_sha256 TEXT NOT NULL DEFAULT '' CHECK (raw_sha256 = '' OR length(raw_sha256) = 64);
ALTER TABLE mail_outbox ADD COLUMN expires_at BIGINT;
ALTER TABLE mail_outbox ADD COLUMN expired_at BIGINT;

UPDATE mail_outbox SET raw = NULL WHERE sent_at IS NOT NULL;
UPDATE mail_outbox SET expires_at = created_at + 600000000 WHERE kind = 'code';
UPDATE mail_outbox m SET expires_at = (SELECT max(i.not_after) FROM invites i WHERE i.case_id = m.case_id AND i.created_at <= m.created_at)
WHERE kind = 'invite';

ALTER TABLE mail_outbox ADD CHECK (sent_at IS NULL OR expired_at IS NULL);
-- The body is there exactly while the message is queued.
ALTER TABLE mail_outbox ADD CHECK ((raw IS NULL) = (sent_at IS NOT NULL OR expired_at IS NOT NULL));
CREATE INDEX mail_outbox_expiry ON mail_outbox (expires_at) WHERE raw IS NOT NULL;
