-- API tokens expire and carry a scope: the roles they may use, a subset of
-- their staff member's roles when minted. A request through a token has the
-- roles of its scope that the member still holds.
--
-- Tokens from before keep what they could do: their scope is their member's
-- roles now, and they expire 90 days after this migration (revoke or
-- re-mint them sooner with idv tokens list / revoke / create).

CREATE TABLE api_token_roles (
	token_id TEXT NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
	role     TEXT NOT NULL CHECK (role IN ('clerk', 'supervisor', 'auditor', 'admin')),
	PRIMARY KEY (token_id, role)
) STRICT;

INSERT INTO api_token_roles (token_id, role)
	SELECT t.id, r.role FROM api_tokens t JOIN staff_roles r ON r.staff_id = t.staff_id;

-- 0 (the default) is already expired: every insert names the expiry.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE api_tokens SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000 + 7776000000000;
CREATE INDEX api_tokens_staff ON api_tokens (staff_id, created_at);
