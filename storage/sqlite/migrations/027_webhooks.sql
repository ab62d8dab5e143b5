-- Webhooks (issue 16, point 5). Admins register endpoints with a secret
-- and the event types they want; a dispatcher follows the hash-chained
-- audit log from a stored cursor and queues one delivery per (endpoint,
-- audit event, event type) in the same transaction as the cursor moves, so
-- a crash repeats nothing and loses nothing. A worker posts the due
-- deliveries under a lease, logs every attempt and retries with backoff
-- until give_up_at.
--
-- The secret is stored sealed (AES-256-GCM under the staging key, bound to
-- the endpoint's id) and erased when the endpoint is deleted; a deleted
-- endpoint's row and its delivery log stay.

CREATE TABLE webhook_endpoints (
	id          TEXT PRIMARY KEY,
	url         TEXT NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
	description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= 200),
	events      TEXT NOT NULL CHECK (length(events) BETWEEN 1 AND 1000),
	secret      BLOB,
	from_seq    INTEGER NOT NULL CHECK (from_seq >= 0),
	created_by  TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	disabled_at INTEGER,
	deleted_at  INTEGER,
	CHECK ((secret IS NULL) = (deleted_at IS NOT NULL))
) STRICT;

CREATE TABLE webhook_deliveries (
	id              TEXT PRIMARY KEY,
	endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id),
	event_type      TEXT NOT NULL,
	audit_seq       INTEGER NOT NULL,
	case_id         TEXT NOT NULL DEFAULT '',
	payload         TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at INTEGER NOT NULL,
	give_up_at      INTEGER NOT NULL,
	lease_owner     TEXT NOT NULL DEFAULT '',
	lease_until     INTEGER,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
	done_at         INTEGER,
	UNIQUE (endpoint_id, audit_seq, event_type),
	CHECK ((state = 'pending') = (done_at IS NULL))
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
	delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),
	n           INTEGER NOT NULL CHECK (n >= 1),
	at          INTEGER NOT NULL,
	status      INTEGER NOT NULL,
	error       TEXT NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
	duration_ms INTEGER NOT NULL,
	PRIMARY KEY (delivery_id, n)
) STRICT;

-- The last audit event the dispatcher has turned into deliveries. It
-- starts at the head: events from before webhooks existed are not sent.
CREATE TABLE webhook_cursor (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL CHECK (seq >= 0)
) STRICT;
INSERT INTO webhook_cursor (id, seq) SELECT 1, seq FROM audit_head WHERE id = 1;
