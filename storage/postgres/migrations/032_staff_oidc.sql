-- OpenID Connect sign-in (issue 19, point 2): staff may come from the
-- bank's identity provider (source 'oidc'; directory_dn then holds
-- "issuer subject"), and a sign-in under way is kept, single use and
-- short-lived, until the provider sends the browser back.

ALTER TABLE staff DROP CONSTRAINT staff_source_check;
ALTER TABLE staff ADD CONSTRAINT staff_source_check CHECK (source IN ('local', 'ldap', 'oidc'));

-- One row per sign-in sent to the provider: the hash of its state (the
-- browser holds the state in a cookie too), its nonce and PKCE verifier,
-- and for a step-up the hash of the session it is for. The callback
-- deletes the row it uses, so a state works once.
CREATE TABLE oidc_logins (
	state_hash   TEXT PRIMARY KEY CHECK (length(state_hash) = 64),
	nonce        TEXT NOT NULL CHECK (length(nonce) BETWEEN 16 AND 128),
	verifier     TEXT NOT NULL CHECK (length(verifier) BETWEEN 43 AND 128),
	session_hash TEXT NOT NULL DEFAULT '' CHECK (session_hash = '' OR length(session_hash) = 64),
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	CHECK (expires_at > created_at)
);
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);
