-- Calls on the supervisors' board from every node (issue 20): each node
-- writes the calls running on it (case, call, who is connected, observers,
-- the latest quality sample) with its heartbeat, as a JSON array, so a
-- board served by any node shows every node's calls, at most one heartbeat
-- old.

ALTER TABLE nodes ADD COLUMN live_calls TEXT NOT NULL DEFAULT '[]' CHECK (length(live_calls) <= 1048576);
