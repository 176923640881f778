//! Kept checkpoints (`audit_checkpoints`, PostgreSQL migration `0009_audit_checkpoints.sql`): where a
//! verification may take the log up instead of reading every row again.

use keygate_core::audit::canonical_time;
use keygate_core::{Error, Result};
use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::store::StoredCheckpoint;
use crate::store::audit::CheckpointColumns;

/// How many checkpoints are kept. Verification starts from the newest; a few older ones are
/// kept for whoever looks at the table after damage.
const KEPT: i64 = 4;

/// The transaction-scoped advisory lock a checkpoint is kept under (`kgchkpnt` in ASCII).
const CHECKPOINT_LOCK: i64 = 0x6b67_6368_6b70_6e74;

fn db_err(e: sqlx::Error) -> Error {
    super::db_err("audit store", e)
}

/// Keeps `checkpoint` and drops all but the newest [`KEPT`], in one transaction.
pub(super) async fn save(pool: &PgPool, checkpoint: &StoredCheckpoint) -> Result<()> {
    let c = CheckpointColumns::of(checkpoint)?;
    let mut tx = pool.begin().await.map_err(db_err)?;
    // Replicas keeping checkpoints at once: one after the other, as their appends.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CHECKPOINT_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    // A size kept already holds the same signed tree head (one log, one tree).
    sqlx::query(
        "INSERT INTO audit_checkpoints \
         (size, note, range_hashes, unkeyed_rows, open_intents, created) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (size) DO NOTHING",
    )
    .bind(c.size)
    .bind(c.note)
    .bind(c.range_hashes)
    .bind(c.unkeyed_rows)
    .bind(c.open_intents)
    .bind(canonical_time(OffsetDateTime::now_utc())?)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    sqlx::query(
        "DELETE FROM audit_checkpoints WHERE size NOT IN \
         (SELECT size FROM audit_checkpoints ORDER BY size DESC LIMIT $1)",
    )
    .bind(KEPT)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// The kept checkpoint of the most rows.
pub(super) async fn latest(pool: &PgPool) -> Result<Option<StoredCheckpoint>> {
    let row = sqlx::query(
        "SELECT size, note, range_hashes, unkeyed_rows, open_intents FROM audit_checkpoints \
         ORDER BY size DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    CheckpointColumns {
        size: row.try_get(0).map_err(db_err)?,
        note: row.try_get(1).map_err(db_err)?,
        range_hashes: row.try_get(2).map_err(db_err)?,
        unkeyed_rows: row.try_get(3).map_err(db_err)?,
        open_intents: row.try_get(4).map_err(db_err)?,
    }
    .decode()
    .map(Some)
}
