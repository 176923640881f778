-- The GCP Cloud KMS dialect. Times are RFC 3339 in UTC. Plain SQL that PostgreSQL also runs.
--
-- gcp_key_rings: key rings created through the dialect. A ring is a name only: which keys are
-- in it is the `gcp-key-ring` label on the keygate key (the implicit ring `keygate`, which
-- holds every key without that label, is never stored).
CREATE TABLE gcp_key_rings (
    project     TEXT NOT NULL,
    location    TEXT NOT NULL,
    key_ring_id TEXT NOT NULL,
    created     TEXT NOT NULL,
    PRIMARY KEY (project, location, key_ring_id)
);

-- gcp_crypto_keys: what the dialect knows about a keygate key beyond keygate's metadata,
-- written when the dialect creates or reads the key: its URI, the ring it was created in, the
-- Cloud KMS algorithm (RSA keys sign with PSS or PKCS#1 as created) and the key's
-- destroyScheduledDuration in seconds. `provider` + `key_name` is the key in its location.
CREATE TABLE gcp_crypto_keys (
    provider         TEXT NOT NULL,
    key_name         TEXT NOT NULL,
    key_uri          TEXT NOT NULL,
    key_ring         TEXT NOT NULL,
    algorithm        TEXT NOT NULL,
    destroy_seconds  BIGINT NOT NULL,
    created          TEXT NOT NULL,
    PRIMARY KEY (provider, key_name)
);

-- gcp_version_destroys: versions a caller asked to destroy (`:destroy`). keygate deletes whole
-- keys, so a version stays DESTROY_SCHEDULED here until every version of its key is; then the
-- key is scheduled for deletion. `:restore` removes the row.
CREATE TABLE gcp_version_destroys (
    key_uri      TEXT NOT NULL,
    version_id   TEXT NOT NULL,
    destroy_time TEXT NOT NULL,
    PRIMARY KEY (key_uri, version_id)
);
