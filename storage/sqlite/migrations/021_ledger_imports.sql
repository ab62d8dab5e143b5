-- Ledger imports and how far each makes the ledger complete: submission
-- needs the ledger to cover the statement's period (issue 17).
CREATE TABLE ledger_imports (
	id          INTEGER PRIMARY KEY,
	imported_at INTEGER NOT NULL,
	through     INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	source      TEXT NOT NULL,
	read_rows   INTEGER NOT NULL CHECK (read_rows >= 0),
	added_rows  INTEGER NOT NULL CHECK (added_rows >= 0 AND added_rows <= read_rows)
) STRICT;
