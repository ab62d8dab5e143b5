-- Runs of the account import (idv accounts import, idv demo load) with the
-- outcome of every CSV row, for the admin page's import status. report is a
-- JSON array of {line, account_no, error, problems}.

CREATE TABLE import_runs (
	id          TEXT PRIMARY KEY,
	started_at  BIGINT NOT NULL,
	finished_at BIGINT NOT NULL,
	actor       TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
	source      TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
	imported    BIGINT NOT NULL CHECK (imported >= 0),
	failed      BIGINT NOT NULL CHECK (failed >= 0),
	flagged     BIGINT NOT NULL CHECK (flagged BETWEEN 0 AND imported),
	report      TEXT NOT NULL CHECK (json_typeof(report::json) = 'array'),
	CHECK (finished_at >= started_at)
);
CREATE INDEX import_runs_started ON import_runs (started_at);
