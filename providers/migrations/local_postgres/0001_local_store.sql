-- keygate local provider on PostgreSQL: the same tables as the SQLite migrations
-- (providers/migrations/local/0001..0004) in their current form, with PostgreSQL's types.
-- The store keeps them in a schema of their own (one per local provider), so several
-- providers, and the gateway store, share one database without sharing tables.
--
-- Key material is stored wrapped (AES-256-GCM under the root key, which never enters the
-- database). Timestamps are Unix nanoseconds (UTC) in BIGINT columns.

CREATE TABLE local_meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value BYTEA NOT NULL
);

-- Key state changes lock the key's row (SELECT ... FOR UPDATE) for their transaction, so two
-- replicas rotating or disabling one key serialize.
CREATE TABLE local_keys (
    id              TEXT COLLATE "C" PRIMARY KEY NOT NULL,
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

-- rotation: `automatic` or `on_demand` for a rotation, NULL for a key's first version.
-- destroy_time: when a version scheduled for destruction is (or was) destroyed.
CREATE TABLE local_key_versions (
    key_id       TEXT COLLATE "C" NOT NULL REFERENCES local_keys (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    state        TEXT NOT NULL,
    created      BIGINT NOT NULL,
    -- The key material encrypted under the root key; NULL once destroyed.
    material     BYTEA,
    destroy_time BIGINT,
    rotation     TEXT,
    PRIMARY KEY (key_id, version)
);

CREATE INDEX local_key_versions_destroy_time ON local_key_versions (destroy_time);

CREATE TABLE local_policies (
    key_id   TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES local_keys (id) ON DELETE CASCADE,
    bindings TEXT NOT NULL
);

CREATE TABLE local_expiry (
    key_id           TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES local_keys (id) ON DELETE CASCADE,
    policy           TEXT NOT NULL,
    notified_version BIGINT
);
