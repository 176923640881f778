-- keygate local provider: keys, their versions (material encrypted under the root key),
-- access policies and the root-key check value.
--
-- Plain SQL on purpose: the same schema (BLOB -> BYTEA) serves a PostgreSQL store.
-- Timestamps are Unix nanoseconds (UTC) in BIGINT columns.

CREATE TABLE local_meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);

CREATE TABLE local_keys (
    id              TEXT PRIMARY KEY NOT NULL,
    spec            TEXT NOT NULL,
    usage           TEXT NOT NULL,
    state           TEXT NOT NULL,
    deletion_date   BIGINT,
    primary_version BIGINT NOT NULL,
    rotation_days   BIGINT,
    next_rotation   BIGINT,
    description     TEXT NOT NULL,
    labels          TEXT NOT NULL,
    created         BIGINT NOT NULL
);

CREATE INDEX local_keys_next_rotation ON local_keys (next_rotation);
CREATE INDEX local_keys_deletion_date ON local_keys (deletion_date);

CREATE TABLE local_key_versions (
    key_id   TEXT NOT NULL REFERENCES local_keys (id) ON DELETE CASCADE,
    version  BIGINT NOT NULL,
    state    TEXT NOT NULL,
    created  BIGINT NOT NULL,
    -- The key material encrypted under the root key; NULL once destroyed.
    material BLOB,
    PRIMARY KEY (key_id, version)
);

CREATE TABLE local_policies (
    key_id   TEXT PRIMARY KEY NOT NULL REFERENCES local_keys (id) ON DELETE CASCADE,
    bindings TEXT NOT NULL
);
