-- Counters that bound what unauthenticated callers cost, kept in the
-- database so that every process of the service sees the same ones.
--
-- scope names what is counted: 'account' (failed password checks against a
-- login name; subject is the keyed hash of the name as typed, never the name),
-- 'addr' (failed logins from a client address, an IPv6 /64), 'stepup'
-- (failed step-ups of a staff member; subject is the staff ID) and
-- 'audit:<action>' (security events of one source not written to the audit
-- chain one by one; subject is the source address).
--
-- failures counts attempts reserved before the expensive check (a success
-- gives its reservation back), or events suppressed in the current window;
-- window_start is the start of that run or window; locked_until ends a
-- temporary lock. unseen and unseen_locked_at are what the owner of an
-- account has not been told of yet (at the next successful login).
CREATE TABLE auth_limits (
	scope            TEXT NOT NULL CHECK (scope IN ('account', 'addr', 'stepup') OR scope LIKE 'audit:%'),
	subject          TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
	failures         BIGINT NOT NULL DEFAULT 0 CHECK (failures >= 0),
	window_start     BIGINT,
	last_at          BIGINT,
	locked_until     BIGINT,
	unseen           BIGINT NOT NULL DEFAULT 0 CHECK (unseen >= 0),
	unseen_locked_at BIGINT,
	PRIMARY KEY (scope, subject)
);
CREATE INDEX auth_limits_last ON auth_limits (last_at);
