-- Background jobs that run on every node (issue 20, point 4) claim a unit
-- of work that has no queue row of its own (sealing one case, deleting
-- one item past its retention, a whole round of a job) with a named
-- lease: one row per name, held by owner (a node ID) lease_until. A lease
-- that ran out (its node died mid-task) is taken over by the next claim.

CREATE TABLE job_leases (
	name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
	owner       TEXT NOT NULL CHECK (length(owner) BETWEEN 1 AND 200),
	lease_until INTEGER NOT NULL
) STRICT;
CREATE INDEX job_leases_until ON job_leases (lease_until);

-- Failures of one client address that used to be counted in each
-- process's memory (invalid invite links and customer sessions, wrong
-- email codes) are counted here, under 'client:<kind>' (subject: the
-- address, an IPv6 /64), so that every node sees the same count. SQLite
-- cannot change a CHECK: the table is rebuilt.
CREATE TABLE auth_limits_035 (
	scope            TEXT NOT NULL CHECK (scope IN ('account', 'addr', 'stepup') OR scope LIKE 'audit:%' OR scope LIKE 'client:%'),
	subject          TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
	failures         INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
	window_start     INTEGER,
	last_at          INTEGER,
	locked_until     INTEGER,
	unseen           INTEGER NOT NULL DEFAULT 0 CHECK (unseen >= 0),
	unseen_locked_at INTEGER,
	PRIMARY KEY (scope, subject)
) STRICT;
INSERT INTO auth_limits_035 (scope, subject, failures, window_start, last_at, locked_until, unseen, unseen_locked_at)
	SELECT scope, subject, failures, window_start, last_at, locked_until, unseen, unseen_locked_at FROM auth_limits;
DROP TABLE auth_limits;
ALTER TABLE auth_limits_035 RENAME TO auth_limits;
CREATE INDEX auth_limits_last ON auth_limits (last_at);
