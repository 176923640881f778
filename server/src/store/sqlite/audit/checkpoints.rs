//! Kept checkpoints (`audit_checkpoints`, migration `0009_audit_checkpoints.sql`): where a
//! verification may take the log up instead of reading every row again.

use keygate_core::audit::merkle::{self, Hash};
use keygate_core::audit::{canonical_time, hex};
use keygate_core::{Error, Result};
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;

use super::db_err;
use crate::store::StoredCheckpoint;

/// How many checkpoints are kept. Verification starts from the newest; a few older ones are
/// kept for whoever looks at the table after damage.
const KEPT: i64 = 4;

/// Keeps `checkpoint` and drops all but the newest [`KEPT`], in one transaction.
pub(super) async fn save(pool: &SqlitePool, checkpoint: &StoredCheckpoint) -> Result<()> {
    let size = i64::try_from(checkpoint.size)
        .map_err(|_| Error::invalid("checkpoint size out of range"))?;
    let unkeyed = i64::try_from(checkpoint.unkeyed_rows)
        .map_err(|_| Error::invalid("checkpoint unkeyed row count out of range"))?;
    let range: String = checkpoint.range.iter().map(|h| hex(h)).collect();
    let open = checkpoint
        .open_intents
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut tx = pool.begin().await.map_err(db_err)?;
    // A size kept already holds the same signed tree head (one log, one tree).
    sqlx::query(
        "INSERT INTO audit_checkpoints \
         (size, note, range_hashes, unkeyed_rows, open_intents, created) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (size) DO NOTHING",
    )
    .bind(size)
    .bind(&checkpoint.note)
    .bind(range)
    .bind(unkeyed)
    .bind(open)
    .bind(canonical_time(OffsetDateTime::now_utc())?)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    sqlx::query(
        "DELETE FROM audit_checkpoints WHERE size NOT IN \
         (SELECT size FROM audit_checkpoints ORDER BY size DESC LIMIT ?)",
    )
    .bind(KEPT)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// The kept checkpoint of the most rows.
pub(super) async fn latest(pool: &SqlitePool) -> Result<Option<StoredCheckpoint>> {
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
    let bad = |what: &str| Error::unavailable(format!("audit store: kept checkpoint: {what}"));
    let size: i64 = row.try_get(0).map_err(db_err)?;
    let unkeyed: i64 = row.try_get(3).map_err(db_err)?;
    let range: String = row.try_get(2).map_err(db_err)?;
    let open: String = row.try_get(4).map_err(db_err)?;
    let range = range
        .as_bytes()
        .chunks(64)
        .map(|chunk| {
            std::str::from_utf8(chunk)
                .ok()
                .and_then(merkle::parse_hex)
                .ok_or_else(|| bad("range_hashes is not hex hashes"))
        })
        .collect::<Result<Vec<Hash>>>()?;
    let open_intents = open
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| bad("open_intents is not seqs"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(StoredCheckpoint {
        size: u64::try_from(size).map_err(|_| bad("negative size"))?,
        note: row.try_get(1).map_err(db_err)?,
        range,
        unkeyed_rows: u64::try_from(unkeyed).map_err(|_| bad("negative unkeyed_rows"))?,
        open_intents,
    }))
}
