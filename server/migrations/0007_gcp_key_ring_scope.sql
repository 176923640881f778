-- GCP Cloud KMS dialect: a CryptoKey id is scoped to its key ring, as in Cloud KMS, so the same
-- id in two rings is two keys. gcp_crypto_keys was keyed by provider + key name; it is now keyed
-- by provider + ring + crypto key id (`key_name` holds the crypto key id, `key_uri` the keygate
-- key it stands for). Existing rows keep their ring and id. Plain SQL that PostgreSQL also runs.
CREATE TABLE gcp_crypto_keys_scoped (
    provider         TEXT NOT NULL,
    key_ring         TEXT NOT NULL,
    key_name         TEXT NOT NULL,
    key_uri          TEXT NOT NULL,
    algorithm        TEXT NOT NULL,
    destroy_seconds  BIGINT NOT NULL,
    created          TEXT NOT NULL,
    PRIMARY KEY (provider, key_ring, key_name)
);

INSERT INTO gcp_crypto_keys_scoped
    (provider, key_ring, key_name, key_uri, algorithm, destroy_seconds, created)
SELECT provider, key_ring, key_name, key_uri, algorithm, destroy_seconds, created
FROM gcp_crypto_keys;

DROP TABLE gcp_crypto_keys;

ALTER TABLE gcp_crypto_keys_scoped RENAME TO gcp_crypto_keys;
