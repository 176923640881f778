-- A counter that moves whenever a record the gateway serves from memory changes (tokens,
-- aliases, the access policy, AWS key ids, GCP key rings and key records), by whichever
-- process wrote it: a running gateway reads this one row a few times a second instead of
-- reading those tables on every request. Writing only audit rows, or only a token's
-- last_used, leaves it alone.
CREATE TABLE change_generation (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    value  BIGINT NOT NULL
);

INSERT INTO change_generation (id, value) VALUES (1, 0);

CREATE TRIGGER tokens_insert_generation AFTER INSERT ON tokens
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER tokens_update_generation
AFTER UPDATE OF id, principal, role, secret_hash, created, expires, revoked, kind, sealed_secret ON tokens
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER tokens_delete_generation AFTER DELETE ON tokens
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER aliases_insert_generation AFTER INSERT ON aliases
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER aliases_update_generation AFTER UPDATE ON aliases
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER aliases_delete_generation AFTER DELETE ON aliases
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER access_policy_insert_generation AFTER INSERT ON access_policy
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER access_policy_update_generation AFTER UPDATE ON access_policy
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER access_policy_delete_generation AFTER DELETE ON access_policy
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER aws_key_ids_insert_generation AFTER INSERT ON aws_key_ids
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER aws_key_ids_update_generation AFTER UPDATE ON aws_key_ids
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER aws_key_ids_delete_generation AFTER DELETE ON aws_key_ids
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER gcp_key_rings_insert_generation AFTER INSERT ON gcp_key_rings
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER gcp_key_rings_update_generation AFTER UPDATE ON gcp_key_rings
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER gcp_key_rings_delete_generation AFTER DELETE ON gcp_key_rings
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;

CREATE TRIGGER gcp_crypto_keys_insert_generation AFTER INSERT ON gcp_crypto_keys
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER gcp_crypto_keys_update_generation AFTER UPDATE ON gcp_crypto_keys
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER gcp_crypto_keys_delete_generation AFTER DELETE ON gcp_crypto_keys
BEGIN UPDATE change_generation SET value = value + 1 WHERE id = 1; END;
