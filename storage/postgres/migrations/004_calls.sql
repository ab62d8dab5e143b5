-- Customer sessions (invite exchanged for a cookie, consent), video calls and
-- their recorded segments.

CREATE TABLE customer_sessions (
	id              TEXT PRIMARY KEY,
	case_id         TEXT NOT NULL REFERENCES cases(id),
	invite_id       TEXT NOT NULL UNIQUE REFERENCES invites(id),
	secret_hash     TEXT NOT NULL UNIQUE CHECK (length(secret_hash) = 64),
	created_at      BIGINT NOT NULL,
	expires_at      BIGINT NOT NULL,
	consent_version TEXT NOT NULL DEFAULT '',
	consent_sha256  TEXT NOT NULL DEFAULT '' CHECK (consent_sha256 = '' OR length(consent_sha256) = 64),
	consent_locale  TEXT NOT NULL DEFAULT '',
	consent_at      BIGINT
);
CREATE INDEX customer_sessions_case ON customer_sessions (case_id);

CREATE TABLE calls (
	id         TEXT PRIMARY KEY,
	case_id    TEXT NOT NULL REFERENCES cases(id),
	started_at BIGINT NOT NULL,
	ended_at   BIGINT,
	end_reason TEXT NOT NULL DEFAULT '',
	recording  TEXT NOT NULL CHECK (recording IN ('recording', 'complete', 'incomplete'))
);
CREATE INDEX calls_case ON calls (case_id, started_at);

CREATE TABLE call_segments (
	call_id     TEXT NOT NULL REFERENCES calls(id),
	seq         INTEGER NOT NULL CHECK (seq >= 1),
	participant TEXT NOT NULL CHECK (participant IN ('customer', 'clerk')),
	track       TEXT NOT NULL CHECK (track IN ('audio', 'video')),
	evidence_id TEXT NOT NULL,
	sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
	size        BIGINT NOT NULL CHECK (size >= 0),
	started_at  BIGINT NOT NULL,
	ended_at    BIGINT NOT NULL,
	PRIMARY KEY (call_id, participant, track, seq)
);
