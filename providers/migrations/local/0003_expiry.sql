-- keygate local provider: each key's expiry policy (JSON) and the primary version whose
-- expiry notification was last recorded.

CREATE TABLE local_expiry (
    key_id           TEXT PRIMARY KEY NOT NULL REFERENCES local_keys (id) ON DELETE CASCADE,
    policy           TEXT NOT NULL,
    notified_version BIGINT
);
