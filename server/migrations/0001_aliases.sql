-- Cross-provider aliases: alias/<name> -> a key in any registered provider.
CREATE TABLE aliases (
    name       TEXT PRIMARY KEY NOT NULL,
    provider   TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    created    TEXT NOT NULL
);
CREATE INDEX aliases_by_key ON aliases (provider, key_id);
