-- One-time enrolment codes for a member's first security key (issue 19):
-- with IDV_WEBAUTHN_ENROLMENT=admin the first key is not trusted on first
-- use; an admin (or the operator, idv users enrol) issues a code for the
-- member, and registering the first key needs it. Only the code's SHA-256
-- is kept; a code expires (expires_at) and is used once (used_at). Issuing
-- another code for the member replaces the one not yet used.

CREATE TABLE webauthn_enrolments (
	hash       TEXT PRIMARY KEY CHECK (length(hash) = 64),
	staff_id   TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	issued_by  TEXT NOT NULL CHECK (length(issued_by) BETWEEN 1 AND 200),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
) STRICT;
CREATE INDEX webauthn_enrolments_staff ON webauthn_enrolments (staff_id);
