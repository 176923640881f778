-- The SQLite migration 0009_audit_checkpoints.sql for PostgreSQL: signed checkpoints kept for
-- verification, so `audit verify --from-checkpoint` takes the log up after the newest one
-- instead of reading every row again. Only `note` is signed; the verifier checks that
-- `range_hashes` (the hex roots of the perfect subtrees of the tree over the first `size`
-- rows, largest first, concatenated) gives the signed root before using it. `open_intents`
-- lists the intent rows (comma-separated seqs) no row up to `size` resolves.
CREATE TABLE audit_checkpoints (
    size          BIGINT PRIMARY KEY NOT NULL,
    note          TEXT NOT NULL,
    range_hashes  TEXT NOT NULL,
    unkeyed_rows  BIGINT NOT NULL,
    open_intents  TEXT NOT NULL,
    created       TEXT NOT NULL
);
