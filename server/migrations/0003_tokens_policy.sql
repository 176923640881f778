-- API tokens and the gateway access policy.
--
-- tokens: one row per issued bearer token `kgt_<id>.<secret>`. Only SHA-256(secret) is kept,
-- so the table cannot be turned back into working tokens. Times are RFC 3339 in UTC; expires,
-- revoked and last_used are NULL when absent (last_used is refreshed at most once a minute).
-- Plain SQL that PostgreSQL also runs, with BYTEA for secret_hash.
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY NOT NULL,
    principal   TEXT NOT NULL,
    role        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created     TEXT NOT NULL,
    expires     TEXT,
    revoked     TEXT,
    last_used   TEXT
);
CREATE INDEX tokens_by_principal ON tokens (principal);

-- access_policy: at most one row, the current document (JSON), replaced as a whole.
CREATE TABLE access_policy (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    document   TEXT NOT NULL,
    updated    TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
