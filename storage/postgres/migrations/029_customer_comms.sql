-- Customer communications (issue 16, point 4): the calendar entry the
-- customer was sent for a case (one UID, a SEQUENCE raised by every later
-- calendar file), the reminders sent before each slot (one row per case,
-- slot and kind: the row is what stops a second process or a restart from
-- sending a reminder twice), and how the request came in.

CREATE TABLE case_calendars (
	case_id    TEXT PRIMARY KEY REFERENCES cases(id),
	uid        TEXT NOT NULL CHECK (length(uid) BETWEEN 1 AND 200),
	sequence   INTEGER NOT NULL CHECK (sequence >= 0),
	updated_at BIGINT NOT NULL
);

CREATE TABLE case_reminders (
	case_id TEXT NOT NULL REFERENCES cases(id),
	slot_at BIGINT NOT NULL,
	kind    TEXT NOT NULL CHECK (kind IN ('24h', '1h')),
	mail_id TEXT NOT NULL,
	sent_at BIGINT NOT NULL,
	PRIMARY KEY (case_id, slot_at, kind)
);

CREATE TABLE case_intakes (
	case_id     TEXT PRIMARY KEY REFERENCES cases(id),
	channel     TEXT NOT NULL CHECK (channel IN ('phone', 'email', 'counter', 'letter')),
	received_at BIGINT NOT NULL,
	notes       TEXT NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
	recorded_by TEXT NOT NULL REFERENCES staff(id),
	created_at  BIGINT NOT NULL
);

-- The outbox files the customer's notices (reminders, reschedule and
-- cancellation notices, decision mails) under the kind 'notice'.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check CHECK (kind IN ('invite', 'code', 'statement', 'notice'));
