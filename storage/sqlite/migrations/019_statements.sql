-- Statements are generated and stored as evidence at submission; the
-- supervisor approves the file's hash and the release sends exactly it.
CREATE TABLE statements (
	id            TEXT PRIMARY KEY CHECK (id GLOB 'stm_*'),
	case_id       TEXT NOT NULL REFERENCES cases(id),
	evidence_id   TEXT NOT NULL UNIQUE REFERENCES evidence(id),
	sha256        TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
	created_at    INTEGER NOT NULL,
	released_at   INTEGER,
	revoked_at    INTEGER,
	revoke_reason TEXT NOT NULL DEFAULT '',
	CHECK (revoked_at IS NULL OR length(revoke_reason) BETWEEN 1 AND 1000)
) STRICT;
CREATE INDEX statements_case ON statements (case_id, created_at);
