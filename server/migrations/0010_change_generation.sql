-- A counter that moves whenever a record the gateway serves from memory changes (tokens,
-- aliases, the access policy, AWS key ids, GCP key rings and key records), by whichever
-- process wrote it: a running gateway reads this one row a few times a second instead of
-- reading those tables on every request. Writing only audit rows, or only a token's
-- last_used, leaves it alone. Written to be run twice (two processes opening a new home at
-- once may both start it; the second finds everything in place).
CREATE TABLE IF NOT EXISTS change_generation (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    value  BIGINT NOT NULL
);

INSERT INTO change_generation (id, value)
SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM change_generation);

CREATE TRIGGER IF NOT EXISTS tokens_insert_generation AFTER INSERT ON tokens
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS tokens_update_generation
AFTER UPDATE OF id, principal, role, secret_hash, created, expires, revoked, kind, sealed_secret ON tokens
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS tokens_delete_generation AFTER DELETE ON tokens
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER IF NOT EXISTS aliases_insert_generation AFTER INSERT ON aliases
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS aliases_update_generation AFTER UPDATE ON aliases
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS aliases_delete_generation AFTER DELETE ON aliases
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER IF NOT EXISTS access_policy_insert_generation AFTER INSERT ON access_policy
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS access_policy_update_generation AFTER UPDATE ON access_policy
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS access_policy_delete_generation AFTER DELETE ON access_policy
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER IF NOT EXISTS aws_key_ids_insert_generation AFTER INSERT ON aws_key_ids
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS aws_key_ids_update_generation AFTER UPDATE ON aws_key_ids
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS aws_key_ids_delete_generation AFTER DELETE ON aws_key_ids
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER IF NOT EXISTS gcp_key_rings_insert_generation AFTER INSERT ON gcp_key_rings
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS gcp_key_rings_update_generation AFTER UPDATE ON gcp_key_rings
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS gcp_key_rings_delete_generation AFTER DELETE ON gcp_key_rings
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER IF NOT EXISTS gcp_crypto_keys_insert_generation AFTER INSERT ON gcp_crypto_keys
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS gcp_crypto_keys_update_generation AFTER UPDATE ON gcp_crypto_keys
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS gcp_crypto_keys_delete_generation AFTER DELETE ON gcp_crypto_keys
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
