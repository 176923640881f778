-- The audit log: one row per audited call, forming a hash chain (each row's hash covers the
-- previous row's hash; see keygate_core::audit::chain_hash). Rows are only ever inserted.
--
-- time is RFC 3339 in UTC with exactly nine fractional digits, so text order is time order
-- and the since/until filters can compare text. Optional fields are NULL when absent.
--
-- Plain SQL that PostgreSQL also runs. For PostgreSQL: make seq BIGINT (INTEGER is 32-bit
-- there; in SQLite INTEGER PRIMARY KEY is the 64-bit rowid), and, when several gateway
-- replicas write, each batch must take a lock on the chain head (SELECT ... ORDER BY seq DESC
-- LIMIT 1 FOR UPDATE, or pg_advisory_xact_lock) and re-read it inside the transaction,
-- instead of trusting the writer's in-memory head as the single SQLite writer does.
CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY NOT NULL,
    time         TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    principal    TEXT NOT NULL,
    source       TEXT NOT NULL,
    action       TEXT NOT NULL,
    provider     TEXT,
    key_uri      TEXT,
    key_version  TEXT,
    outcome      TEXT NOT NULL,
    error_kind   TEXT,
    duration_us  BIGINT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
-- Queries page by seq within a filter, so each filter index ends in seq.
CREATE INDEX audit_events_by_time ON audit_events (time);
CREATE INDEX audit_events_by_key ON audit_events (key_uri, seq);
CREATE INDEX audit_events_by_principal ON audit_events (principal, seq);
CREATE INDEX audit_events_by_action ON audit_events (action, seq);
