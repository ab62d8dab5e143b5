-- Services (issue 17, point 6): a case is for a transaction statement or a
-- balance certificate, and the account import may give the holder's name in
-- the other script too (both print on the documents).
--
-- The cases table's CHECK on purpose widens, which SQLite allows only by
-- rebuilding the table. Other tables refer to cases, and foreign keys stay
-- on (a migration runs in one transaction, where they cannot be switched
-- off): with them deferred, the rows wait in a plain copy while the table
-- is dropped and created again, and the commit checks that every reference
-- finds its case again. SELECT * on both sides: a column another migration
-- added to cases makes this one fail instead of being dropped silently.

ALTER TABLE accounts ADD COLUMN holder_name_alt TEXT NOT NULL DEFAULT '' CHECK (length(holder_name_alt) <= 200);

PRAGMA defer_foreign_keys = ON;

CREATE TABLE cases_023 AS SELECT * FROM cases;
DROP TABLE cases;
CREATE TABLE cases (
	id          TEXT PRIMARY KEY,
	account_no  TEXT NOT NULL REFERENCES accounts(no),
	purpose     TEXT NOT NULL CHECK (purpose IN ('transaction_statement', 'balance_certificate')),
	period_from TEXT NOT NULL CHECK (period_from GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	period_to   TEXT NOT NULL CHECK (period_to GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
	state       TEXT NOT NULL CHECK (state IN ('scheduled', 'in_session', 'pending_review', 'approved', 'sealed',
	                'released', 'closed', 'rejected', 'cancelled', 'expired', 'aborted')),
	clerk_id    TEXT NOT NULL REFERENCES staff(id),
	slot_at     INTEGER NOT NULL,
	customer_tz TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	version     INTEGER NOT NULL CHECK (version > 0),
	CHECK (period_from <= period_to),
	-- A balance certificate is as at one date.
	CHECK (purpose <> 'balance_certificate' OR period_from = period_to)
) STRICT;
INSERT INTO cases SELECT * FROM cases_023;
DROP TABLE cases_023;
CREATE INDEX cases_slot ON cases (slot_at);
CREATE INDEX cases_account ON cases (account_no);
CREATE INDEX cases_clerk ON cases (clerk_id);
