-- Interruptions of a call (issue 20, point 3): each time a party (customer
-- or clerk) dropped out of a call while it went on, or while the node
-- serving it shut down, with why (a closed set of causes, see
-- models.InterruptionCause) and the media server's own words. ended_at is
-- set when the party's media arrives again, in this call or in the case's
-- next one (resumed_call); NULL: they have not come back.

CREATE TABLE call_interruptions (
	id           TEXT PRIMARY KEY,
	case_id      TEXT NOT NULL REFERENCES cases(id),
	call_id      TEXT NOT NULL REFERENCES calls(id),
	participant  TEXT NOT NULL CHECK (participant IN ('customer', 'clerk')),
	cause        TEXT NOT NULL CHECK (cause IN ('left', 'socket_closed', 'media_failed', 'media_closed', 'replaced',
	                                            'removed', 'protocol', 'node_shutdown', 'node_lost', 'recorder_failed')),
	detail       TEXT NOT NULL DEFAULT '' CHECK (length(detail) <= 500),
	started_at   BIGINT NOT NULL,
	ended_at     BIGINT CHECK (ended_at IS NULL OR ended_at >= started_at),
	resumed_call TEXT REFERENCES calls(id),
	CHECK ((ended_at IS NULL) = (resumed_call IS NULL))
);
CREATE INDEX call_interruptions_case ON call_interruptions (case_id, participant, started_at);
