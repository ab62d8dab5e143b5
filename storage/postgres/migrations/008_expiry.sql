-- Evidence past its retention is deleted from the store by the expiry job;
-- the row stays (with its hash) and records when, so the case's history
-- still lists what there was.

ALTER TABLE evidence ADD COLUMN expired_at BIGINT;
CREATE INDEX evidence_retain ON evidence (retain_until) WHERE archived_at IS NOT NULL AND expired_at IS NULL;
