-- The gateway store in PostgreSQL: the same tables as the SQLite migrations (server/migrations/
-- 0001..0007), in their current form, with PostgreSQL's types. Times are RFC 3339 text in UTC as
-- in SQLite; columns that are compared or ordered as text use the "C" collation, so text order
-- is byte order (and, for the audit log's canonical times, time order) whatever the database's
-- locale.

-- Cross-provider aliases: alias/<name> -> a key in any registered provider.
CREATE TABLE aliases (
    name       TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    provider   TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    created    TEXT NOT NULL
);
CREATE INDEX aliases_by_key ON aliases (provider, key_id);

-- The audit log: one row per audited call, a hash chain (see keygate_core::audit::chain_hash).
-- Rows are only ever inserted. Every append takes the transaction-scoped advisory lock the store
-- names AUDIT_HEAD_LOCK and re-reads the head under it, so appends from every process and
-- replica on this database form one chain in one order. time is RFC 3339 with exactly nine
-- fractional digits. intent_seq names the intent row an outcome row closes (NULL otherwise).
CREATE TABLE audit_events (
    seq          BIGINT PRIMARY KEY NOT NULL,
    time         TEXT COLLATE "C" NOT NULL,
    request_id   TEXT NOT NULL,
    principal    TEXT COLLATE "C" NOT NULL,
    source       TEXT NOT NULL,
    action       TEXT COLLATE "C" NOT NULL,
    provider     TEXT,
    key_uri      TEXT COLLATE "C",
    key_version  TEXT,
    outcome      TEXT NOT NULL,
    error_kind   TEXT,
    duration_us  BIGINT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    intent_seq   BIGINT
);
-- Queries page by seq within a filter, so each filter index ends in seq.
CREATE INDEX audit_events_by_time ON audit_events (time);
CREATE INDEX audit_events_by_key ON audit_events (key_uri, seq);
CREATE INDEX audit_events_by_principal ON audit_events (principal, seq);
CREATE INDEX audit_events_by_action ON audit_events (action, seq);
CREATE INDEX audit_events_by_intent ON audit_events (intent_seq) WHERE intent_seq IS NOT NULL;

-- API tokens (kind `bearer`) and AWS access keys (kind `aws`, the secret sealed under a key
-- derived from the gateway root key). Only SHA-256(secret) is kept for either.
CREATE TABLE tokens (
    id            TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    principal     TEXT NOT NULL,
    role          TEXT NOT NULL,
    secret_hash   BYTEA NOT NULL,
    created       TEXT COLLATE "C" NOT NULL,
    expires       TEXT,
    revoked       TEXT,
    last_used     TEXT,
    kind          TEXT NOT NULL DEFAULT 'bearer',
    sealed_secret BYTEA
);
CREATE INDEX tokens_by_principal ON tokens (principal);

-- The access policy: at most one row, the current document (JSON), replaced as a whole.
CREATE TABLE access_policy (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    document   TEXT NOT NULL,
    updated    TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- The AWS KMS dialect's key ids: the UUID shown for a keygate key, given once, never changed.
CREATE TABLE aws_key_ids (
    key_id  TEXT PRIMARY KEY NOT NULL,
    uri     TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);

-- The GCP Cloud KMS dialect: key rings, what it knows of each crypto key (by provider, ring and
-- crypto key id), and version destroy requests.
CREATE TABLE gcp_key_rings (
    project     TEXT NOT NULL,
    location    TEXT NOT NULL,
    key_ring_id TEXT COLLATE "C" NOT NULL,
    created     TEXT NOT NULL,
    PRIMARY KEY (project, location, key_ring_id)
);

CREATE TABLE gcp_crypto_keys (
    provider         TEXT NOT NULL,
    key_ring         TEXT NOT NULL,
    key_name         TEXT NOT NULL,
    key_uri          TEXT NOT NULL,
    algorithm        TEXT NOT NULL,
    destroy_seconds  BIGINT NOT NULL,
    created          TEXT NOT NULL,
    PRIMARY KEY (provider, key_ring, key_name)
);

CREATE TABLE gcp_version_destroys (
    key_uri      TEXT NOT NULL,
    version_id   TEXT NOT NULL,
    destroy_time TEXT NOT NULL,
    PRIMARY KEY (key_uri, version_id)
);
