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
);

CREATE TABLE staff_notifications (
	id         TEXT PRIMARY KEY,
	staff_id   TEXT NOT NULL REFERENCES staff(id),
	kind       TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
	case_id    TEXT NOT NULL REFERENCES cases(id),
	channel    TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
	ref        TEXT NOT NULL CHECK (length(ref) BETWEEN 1 AND 100),
	audit_seq  BIGINT NOT NULL CHECK (audit_seq >= 0),
	created_at BIGINT NOT NULL
);
CREATE INDEX staff_notifications_staff ON staff_notifications (staff_id, created_at);
CREATE INDEX staff_notifications_case ON staff_notifications (case_id);

CREATE TABLE slot_alerts (
	case_id TEXT NOT NULL REFERENCES cases(id),
	slot_at BIGINT NOT NULL,
	sent_at BIGINT NOT NULL,
	PRIMARY KEY (case_id, slot_at)
);

-- The last audit event the dispatcher has turned into notifications. It
-- starts at the head: nobody is told of what happened before.
CREATE TABLE notify_cursor (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL CHECK (seq >= 0)
);
INSERT INTO notify_cursor (id, seq) SELECT 1, seq FROM audit_head WHERE id = 1;

-- The outbox files the staff's notification mails under the kind 'staff'.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('invite', 'code', 'statement', 'notice', 'staff'));
