-- The PostgreSQL twin of ../0010_change_generation.sql: a counter that moves whenever a record
-- the gateway serves from memory changes (tokens, aliases, the access policy, AWS key ids,
-- GCP key rings and key records), by whichever replica or process wrote it. Each replica
-- reads this one row a few times a second instead of reading those tables on every request.
-- Writing only audit rows, or only a token's last_used, leaves it alone.
--
-- The counter is a row, not a sequence: it moves in the transaction of the change and is
-- seen exactly when that change is committed (a sequence moves at once, even for a change
-- that is rolled back or not yet visible, and a reader could re-read the old records after
-- it moved and keep them).
CREATE TABLE change_generation (
    id     INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    value  BIGINT NOT NULL
);

INSERT INTO change_generation (id, value) VALUES (1, 0);

CREATE FUNCTION keygate_bump_change_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_generation SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

-- Row-level: a statement that changes nothing (an insert that found its row, a revocation
-- of an unknown token) moves nothing.
CREATE TRIGGER tokens_insert_delete_generation AFTER INSERT OR DELETE ON tokens
FOR EACH ROW EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER tokens_update_generation
AFTER UPDATE OF id, principal, role, secret_hash, created, expires, revoked, kind, sealed_secret
ON tokens FOR EACH ROW EXECUTE FUNCTION keygate_bump_change_generation();

CREATE TRIGGER aliases_generation AFTER INSERT OR UPDATE OR DELETE ON aliases
FOR EACH ROW EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER access_policy_generation AFTER INSERT OR UPDATE OR DELETE ON access_policy
FOR EACH ROW EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER aws_key_ids_generation AFTER INSERT OR UPDATE OR DELETE ON aws_key_ids
FOR EACH ROW EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER gcp_key_rings_generation AFTER INSERT OR UPDATE OR DELETE ON gcp_key_rings
FOR EACH ROW EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER gcp_crypto_keys_generation AFTER INSERT OR UPDATE OR DELETE ON gcp_crypto_keys
FOR EACH ROW EXECUTE FUNCTION keygate_bump_change_generation();

-- Truncating a table changes every record of it.
CREATE TRIGGER tokens_truncate_generation AFTER TRUNCATE ON tokens
FOR EACH STATEMENT EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER aliases_truncate_generation AFTER TRUNCATE ON aliases
FOR EACH STATEMENT EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER access_policy_truncate_generation AFTER TRUNCATE ON access_policy
FOR EACH STATEMENT EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER aws_key_ids_truncate_generation AFTER TRUNCATE ON aws_key_ids
FOR EACH STATEMENT EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER gcp_key_rings_truncate_generation AFTER TRUNCATE ON gcp_key_rings
FOR EACH STATEMENT EXECUTE FUNCTION keygate_bump_change_generation();
CREATE TRIGGER gcp_crypto_keys_truncate_generation AFTER TRUNCATE ON gcp_crypto_keys
FOR EACH STATEMENT EXECUTE FUNCTION keygate_bump_change_generation();
