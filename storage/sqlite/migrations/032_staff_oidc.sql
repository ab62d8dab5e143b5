-- OpenID Connect sign-in (issue 19, point 2): staff may come from the
-- bank's identity provider (source 'oidc'; directory_dn then holds
-- "issuer subject"), and a sign-in under way is kept, single use and
-- short-lived, until the provider sends the browser back.
--
-- The staff table's CHECK on source widens, which SQLite allows only by
-- rebuilding the table (as 023 did for cases). Unlike cases, staff has
-- children that cascade on delete (roles, sessions, API tokens and their
-- roles): dropping staff would delete them, deferred foreign keys or not.
-- So they wait in plain copies too and come back after the rebuild; the
-- commit checks every other reference finds its member again. SELECT * on
-- both sides: a column another migration added makes this one fail
-- instead of being dropped silently.

PRAGMA defer_foreign_keys = ON;

CREATE TABLE staff_032 AS SELECT * FROM staff;
CREATE TABLE staff_roles_032 AS SELECT * FROM staff_roles;
CREATE TABLE staff_sessions_032 AS SELECT * FROM staff_sessions;
CREATE TABLE api_tokens_032 AS SELECT * FROM api_tokens;
CREATE TABLE api_token_roles_032 AS SELECT * FROM api_token_roles;

DROP TABLE staff;
CREATE TABLE staff (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
	display_name  TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
	password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
	disabled_at   INTEGER,
	created_at    INTEGER NOT NULL,
	email         TEXT NOT NULL DEFAULT '' CHECK (length(email) <= 254),
	language      TEXT NOT NULL DEFAULT '' CHECK (language IN ('', 'en', 'zh-CN')),
	source        TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap', 'oidc')),
	directory_dn  TEXT NOT NULL DEFAULT '' CHECK (length(directory_dn) <= 1024),
	disabled_by   TEXT NOT NULL DEFAULT '' CHECK (disabled_by IN ('', 'admin', 'directory'))
) STRICT;
INSERT INTO staff SELECT * FROM staff_032;

DELETE FROM api_token_roles;
DELETE FROM api_tokens;
DELETE FROM staff_sessions;
DELETE FROM staff_roles;
INSERT INTO staff_roles SELECT * FROM staff_roles_032;
INSERT INTO staff_sessions SELECT * FROM staff_sessions_032;
INSERT INTO api_tokens SELECT * FROM api_tokens_032;
INSERT INTO api_token_roles SELECT * FROM api_token_roles_032;

DROP TABLE api_token_roles_032;
DROP TABLE api_tokens_032;
DROP TABLE staff_sessions_032;
DROP TABLE staff_roles_032;
DROP TABLE staff_032;

-- One row per sign-in sent to the provider: the hash of its state (the
-- browser holds the state in a cookie too), its nonce and PKCE verifier,
-- and for a step-up the hash of the session it is for. The callback
-- deletes the row it uses, so a state works once.
CREATE TABLE oidc_logins (
	state_hash   TEXT PRIMARY KEY CHECK (length(state_hash) = 64),
	nonce        TEXT NOT NULL CHECK (length(nonce) BETWEEN 16 AND 128),
	verifier     TEXT NOT NULL CHECK (length(verifier) BETWEEN 43 AND 128),
	session_hash TEXT NOT NULL DEFAULT '' CHECK (session_hash = '' OR length(session_hash) = 64),
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);
