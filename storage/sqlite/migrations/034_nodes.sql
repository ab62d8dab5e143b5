-- Several nodes on one database (issue 20, point 1). Each `idv serve`
-- registers itself under its node ID (IDV_NODE_ID) with its internal URL
-- (IDV_NODE_URL) and heartbeats every few seconds with its load (running
-- calls). instance is random per process start: a second live process
-- under the same node ID is refused, and a process whose row another
-- process took over stops heartbeating it. gone_at is set at a graceful
-- shutdown; a node neither gone nor seen for a while is dead.

CREATE TABLE nodes (
	id         TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 128),
	instance   TEXT NOT NULL CHECK (length(instance) BETWEEN 1 AND 64),
	url        TEXT NOT NULL CHECK (length(url) <= 1024),
	version    TEXT NOT NULL CHECK (length(version) <= 128),
	started_at INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	calls      INTEGER NOT NULL CHECK (calls >= 0),
	gone_at    INTEGER
) STRICT;
