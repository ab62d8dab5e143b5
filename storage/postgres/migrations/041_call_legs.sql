-- One call record across nodes (issue 20): a call whose node went away
-- (killed, or shut down for an upgrade) is continued by the node that
-- starts the case's next call, in the same record. legs counts the nodes'
-- turns at running it (1 when it started); a leg's segments are numbered
-- from (legs - 1) * 10000 + 1, so the segments a lost node recovers later
-- never collide with its successor's. suspended_at is set when a node
-- stops with the call unfinished but its recording kept (a graceful
-- shutdown, or a restart that recovered it), and cleared when the call is
-- continued.

ALTER TABLE calls ADD COLUMN legs INTEGER NOT NULL DEFAULT 1 CHECK (legs >= 1 AND legs <= 200000);
ALTER TABLE calls ADD COLUMN suspended_at BIGINT;
