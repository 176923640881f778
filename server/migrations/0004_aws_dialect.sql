-- The AWS KMS dialect: stable key ids and AWS access keys.
--
-- aws_key_ids: the UUID the dialect shows for a keygate key (its KeyId, and the last part of
-- its ARN), given the first time the dialect returns the key and never changed. `uri` is the
-- keygate key URI (`local://demo`, `aws-kms://...`). Times are RFC 3339 in UTC.
CREATE TABLE aws_key_ids (
    key_id  TEXT PRIMARY KEY NOT NULL,
    uri     TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);

-- tokens.kind: `bearer` (kgt_ tokens, as before) or `aws` (an access key pair; the row's id is
-- the access key id). SigV4 needs the secret itself to recompute signatures, so an AWS row
-- keeps the secret sealed (AES-256-GCM under a key derived from the gateway root key) in
-- sealed_secret; secret_hash stays SHA-256 of the secret for both kinds. Plain SQL that
-- PostgreSQL also runs (BYTEA for sealed_secret).
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'bearer';
ALTER TABLE tokens ADD COLUMN sealed_secret BLOB;
