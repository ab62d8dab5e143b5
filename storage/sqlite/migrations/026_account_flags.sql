-- Fraud flags (issue 16, point 6): an abort may name a category of
-- suspected fraud, and the flag stays against the account, shown to whoever
-- opens a new case for it, until a supervisor other than the one who raised
-- it clears it with a reason.

CREATE TABLE account_flags (
	id           TEXT PRIMARY KEY,
	account_no   TEXT NOT NULL REFERENCES accounts(no),
	case_id      TEXT NOT NULL REFERENCES cases(id),
	category     TEXT NOT NULL CHECK (category IN ('suspected_impostor', 'coercion', 'document_forgery', 'other')),
	reason       TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
	actor        TEXT NOT NULL REFERENCES staff(id),
	created_at   INTEGER NOT NULL,
	cleared_at   INTEGER,
	cleared_by   TEXT REFERENCES staff(id),
	clear_reason TEXT NOT NULL DEFAULT '' CHECK (length(clear_reason) <= 1000),
	-- Cleared means all three: when, by whom (never the raiser) and why.
	CHECK ((cleared_at IS NULL AND cleared_by IS NULL AND clear_reason = '')
	    OR (cleared_at IS NOT NULL AND cleared_by IS NOT NULL AND cleared_by <> actor AND clear_reason <> ''))
) STRICT;
CREATE INDEX account_flags_account ON account_flags (account_no, created_at);
