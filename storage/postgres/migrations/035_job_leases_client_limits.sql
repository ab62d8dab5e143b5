-- Background jobs that run on every node (issue 20, point 4) claim a unit
-- of work that has no queue row of its own (sealing one case, deleting
-- one item past its retention, a whole round of a job) with a named
-- lease: one row per name, held by owner (a node ID) lease_until. A lease
-- that ran out (its node died mid-task) is taken over by the next claim.

CREATE TABLE job_leases (
	name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 200),
	owner       TEXT NOT NULL CHECK (length(owner) BETWEEN 1 AND 200),
	lease_until BIGINT NOT NULL
);
CREATE INDEX job_leases_until ON job_leases (lease_until);

-- Failures of one client address that used to be counted in each
-- process's memory (invalid invite links and customer sessions, wrong
-- email codes) are counted here, under 'client:<kind>' (subject: the
-- address, an IPv6 /64), so that every node sees the same count.
ALTER TABLE auth_limits DROP CONSTRAINT auth_limits_scope_check;
ALTER TABLE auth_limits ADD CONSTRAINT auth_limits_scope_check
	CHECK (scope IN ('account', 'addr', 'stepup') OR scope LIKE 'audit:%' OR scope LIKE 'client:%');
