-- Security keys and passkeys (issue 19, point 3). A staff member's
-- WebAuthn credentials (credential: the verified credential as the
-- library stores it, JSON; its ID base64url), the ceremonies under way
-- (single use, short-lived: a row is taken, never read twice), and per
-- session whether role work waits for a key (key_required) and when a key
-- was last presented (key_at).

CREATE TABLE webauthn_credentials (
	id           TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 1400),
	staff_id     TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
	credential   BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER
) STRICT;
CREATE INDEX webauthn_credentials_staff ON webauthn_credentials (staff_id);

CREATE TABLE webauthn_challenges (
	hash         TEXT PRIMARY KEY CHECK (length(hash) = 64),
	staff_id     TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
	session_hash TEXT NOT NULL CHECK (length(session_hash) = 64),
	purpose      TEXT NOT NULL CHECK (purpose IN ('register', 'signin', 'decision')),
	binding      TEXT NOT NULL DEFAULT '' CHECK (length(binding) <= 512),
	ceremony     BLOB NOT NULL,
	expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);

ALTER TABLE staff_sessions ADD COLUMN key_required INTEGER NOT NULL DEFAULT 0 CHECK (key_required IN (0, 1));
ALTER TABLE staff_sessions ADD COLUMN key_at INTEGER NOT NULL DEFAULT 0;
