-- keygate local provider: keys of imported material (origin `external`). A row exists for
-- each such key. `material_check` is the SHA-256 of the first material imported, sealed
-- under the root key, so that a later import must bring the same material.

CREATE TABLE local_imports (
    key_id         TEXT PRIMARY KEY NOT NULL REFERENCES local_keys (id) ON DELETE CASCADE,
    expires        BIGINT,
    valid_to       BIGINT,
    material_check BLOB
);

CREATE INDEX local_imports_valid_to ON local_imports (valid_to);
