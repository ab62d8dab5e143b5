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
