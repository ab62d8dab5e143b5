-- The Merkle log over the audit chain (RFC 6962; audit/log.go). Each event's
-- chain hash is leaf seq-1; the table keeps the tree's stored hashes
-- (golang.org/x/mod/sumdb/tlog numbering), written in the event's own
-- transaction. Events appended before this migration get theirs from the
-- deterministic backfill that runs at start-up (audit.SyncTree).
CREATE TABLE audit_tree_hashes (
	idx  INTEGER PRIMARY KEY CHECK (idx >= 0),
	hash BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;

-- Checkpoints now also carry the log's root at their size and the same
-- statement as a C2SP signed note; older checkpoints keep them empty.
ALTER TABLE audit_checkpoints ADD COLUMN root_hash TEXT NOT NULL DEFAULT '' CHECK (root_hash = '' OR length(root_hash) = 64);
ALTER TABLE audit_checkpoints ADD COLUMN note TEXT NOT NULL DEFAULT '';
