//! The audit log's rows in PostgreSQL (`audit_events`): appends serialize on the chain head.

use async_trait::async_trait;
use keygate_core::audit::{AuditEvent, AuditOutcome, AuditQuery, canonical_time};
use keygate_core::cost::ActionCount;
use keygate_core::{Error, Result};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{AUDIT_HEAD_LOCK, PostgresStore};
use crate::store::{
    AuditAppendError, AuditHead, AuditRows, ChainedAuditRow, ObjectWrite, OutcomeRow,
    ScannedAuditRow, StoredCheckpoint, WriteAppended,
};

/// The columns every reader selects, in the order [`decode`] expects.
const COLUMNS: &str = "seq, time, request_id, principal, source, action, provider, \
     key_uri, key_version, outcome, error_kind, duration_us, prev_hash, hash, intent_seq";

/// Rows per INSERT statement: 512 × 15 columns, well under PostgreSQL's 65535 parameters.
const ROWS_PER_INSERT: usize = 512;

fn db_err(e: sqlx::Error) -> Error {
    super::db_err("audit store", e)
}

fn failed(e: sqlx::Error) -> AuditAppendError {
    AuditAppendError::Failed(db_err(e))
}

async fn head_of<'e>(conn: impl sqlx::PgExecutor<'e>) -> Result<AuditHead> {
    let row = sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        .fetch_optional(conn)
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(AuditHead::genesis());
    };
    let seq: i64 = row.try_get(0).map_err(db_err)?;
    Ok(AuditHead {
        seq: u64::try_from(seq)
            .map_err(|_| Error::unavailable(format!("audit store: negative seq {seq}")))?,
        hash: row.try_get(1).map_err(db_err)?,
    })
}

/// Takes the chain head's lock for the rest of `conn`'s transaction (every replica's appends
/// wait for it in turn).
pub(super) async fn lock_head(conn: &mut PgConnection) -> Result<(), AuditAppendError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(AUDIT_HEAD_LOCK)
        .execute(&mut *conn)
        .await
        .map(drop)
        .map_err(failed)
}

/// Under the head lock: whether `first` continues the chain as it stands. A batch chained
/// after an older head (another writer appended since) is [`AuditAppendError::SeqTaken`]:
/// the writer re-reads the head and chains it again.
pub(super) async fn check_continues(
    conn: &mut PgConnection,
    first: &ChainedAuditRow,
) -> Result<(), AuditAppendError> {
    let head = head_of(&mut *conn)
        .await
        .map_err(AuditAppendError::Failed)?;
    if head.seq.checked_add(1) == Some(first.event.seq) && head.hash == first.event.prev_hash {
        return Ok(());
    }
    Err(AuditAppendError::SeqTaken(Error::unavailable(format!(
        "audit store: the chain head moved to seq {} before this batch (seq {}) was appended",
        head.seq, first.event.seq
    ))))
}

#[async_trait]
impl AuditRows for PostgresStore {
    async fn audit_head(&self) -> Result<AuditHead> {
        head_of(&self.pool).await
    }

    async fn audit_row_count(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        u64::try_from(count)
            .map_err(|_| Error::unavailable(format!("audit store: negative row count {count}")))
    }

    async fn append_audit_rows(&self, rows: &[ChainedAuditRow]) -> Result<(), AuditAppendError> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let mut tx = self.pool.begin().await.map_err(failed)?;
        let appended = async {
            lock_head(&mut tx).await?;
            check_continues(&mut tx, first).await?;
            insert_rows(&mut tx, rows).await
        }
        .await;
        if let Err(e) = appended {
            let _ = tx.rollback().await;
            return Err(e);
        }
        tx.commit().await.map_err(failed)
    }

    async fn append_with_write(
        &self,
        write: &ObjectWrite,
        row: OutcomeRow<'_>,
    ) -> Result<WriteAppended, AuditAppendError> {
        super::objects::append_with_write(self, write, row).await
    }

    async fn query_audit_rows(&self, q: &AuditQuery, limit: u32) -> Result<Vec<AuditEvent>> {
        let mut sql = QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM audit_events"));
        let after = q.after.map_or(0, |a| i64::try_from(a).unwrap_or(i64::MAX));
        sql.push(" WHERE seq > ").push_bind(after);
        // Stored times are canonical text in the "C" collation, whose order is time order.
        if let Some(since) = q.since {
            sql.push(" AND time >= ").push_bind(canonical_time(since)?);
        }
        if let Some(until) = q.until {
            sql.push(" AND time < ").push_bind(canonical_time(until)?);
        }
        if let Some(key) = &q.key {
            sql.push(" AND key_uri = ").push_bind(key.clone());
        }
        if let Some(principal) = &q.principal {
            sql.push(" AND principal = ").push_bind(principal.clone());
        }
        if let Some(pattern) = &q.action {
            match pattern.strip_suffix('*') {
                // Not LIKE, whose `_` and `%` are wildcards: an exact prefix, as in SQLite.
                Some(prefix) if !prefix.is_empty() => {
                    sql.push(" AND substr(action, 1, length(")
                        .push_bind(prefix.to_owned())
                        .push(")) = ")
                        .push_bind(prefix.to_owned());
                }
                Some(_) => {}
                None => {
                    sql.push(" AND action = ").push_bind(pattern.clone());
                }
            }
        }
        if let Some(outcome) = q.outcome {
            sql.push(" AND outcome = ").push_bind(outcome.as_str());
        }
        sql.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
        let rows = sql.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(decode_strict).collect()
    }

    async fn count_successes_since(&self, since: OffsetDateTime) -> Result<Vec<ActionCount>> {
        let rows = sqlx::query(
            "SELECT provider, key_uri, action, COUNT(*) FROM audit_events \
             WHERE time >= $1 AND outcome = $2 GROUP BY provider, key_uri, action \
             ORDER BY provider, key_uri, action",
        )
        .bind(canonical_time(since)?)
        .bind(AuditOutcome::Success.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let count: i64 = row.try_get(3).map_err(db_err)?;
                Ok(ActionCount {
                    provider: row.try_get(0).map_err(db_err)?,
                    key_uri: row.try_get(1).map_err(db_err)?,
                    action: row.try_get(2).map_err(db_err)?,
                    count: u64::try_from(count).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn scan_audit_rows(
        &self,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ScannedAuditRow>> {
        let first_page = format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq LIMIT $1");
        let next_page =
            format!("SELECT {COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2");
        let limit = i64::from(limit);
        let rows = match after {
            None => sqlx::query(&first_page).bind(limit),
            Some(after) => sqlx::query(&next_page).bind(after).bind(limit),
        }
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(scanned).collect()
    }

    async fn count_unresolved_intents(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events AS i WHERE i.outcome = 'unknown' \
             AND NOT EXISTS (SELECT 1 FROM audit_events AS o WHERE o.intent_seq = i.seq)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        u64::try_from(count)
            .map_err(|_| Error::unavailable(format!("audit store: negative count {count}")))
    }

    async fn save_audit_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()> {
        super::checkpoints::save(&self.pool, checkpoint).await
    }

    async fn latest_audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        super::checkpoints::latest(&self.pool).await
    }
}

/// Inserts `rows` on `conn`, inside the caller's transaction (which the caller rolls back on
/// an error).
///
/// # Errors
/// [`AuditAppendError::SeqTaken`] when a row's `seq` exists; [`AuditAppendError::Failed`]
/// otherwise.
pub(super) async fn insert_rows(
    conn: &mut PgConnection,
    rows: &[ChainedAuditRow],
) -> Result<(), AuditAppendError> {
    let overflow = |what: &str| {
        AuditAppendError::Failed(Error::unavailable(format!("audit store: {what} overflow")))
    };
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut values = Vec::with_capacity(chunk.len());
        for row in chunk {
            let e = &row.event;
            values.push((
                row,
                i64::try_from(e.seq).map_err(|_| overflow("seq"))?,
                i64::try_from(e.duration_us).map_err(|_| overflow("duration_us"))?,
                e.intent_seq
                    .map(i64::try_from)
                    .transpose()
                    .map_err(|_| overflow("intent_seq"))?,
            ));
        }
        let mut insert = QueryBuilder::<Postgres>::new(
            "INSERT INTO audit_events (seq, time, request_id, principal, source, action, \
             provider, key_uri, key_version, outcome, error_kind, duration_us, prev_hash, \
             hash, intent_seq) ",
        );
        insert.push_values(values, |mut b, (row, seq, duration_us, intent_seq)| {
            let ChainedAuditRow { event, time_text } = row;
            b.push_bind(seq)
                .push_bind(time_text.clone())
                .push_bind(event.request_id.clone())
                .push_bind(event.principal.clone())
                .push_bind(event.source.clone())
                .push_bind(event.action.clone())
                .push_bind(event.provider.clone())
                .push_bind(event.key.clone())
                .push_bind(event.key_version.clone())
                .push_bind(event.outcome.as_str())
                .push_bind(event.error_kind.clone())
                .push_bind(duration_us)
                .push_bind(event.prev_hash.clone())
                .push_bind(event.hash.clone())
                .push_bind(intent_seq);
        });
        if let Err(e) = insert.build().execute(&mut *conn).await {
            let taken = e
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation());
            let e = db_err(e);
            return Err(if taken {
                AuditAppendError::SeqTaken(e)
            } else {
                AuditAppendError::Failed(e)
            });
        }
    }
    Ok(())
}

fn seq_of(row: &PgRow) -> Result<i64> {
    row.try_get::<i64, _>(0).map_err(db_err)
}

fn scanned(row: &PgRow) -> Result<ScannedAuditRow> {
    let seq = seq_of(row)?;
    let event = decode(row);
    let canonical_time = match &event {
        Ok(event) => {
            let stored: String = row.try_get(1).map_err(db_err)?;
            canonical_time(event.time).ok().as_deref() == Some(stored.as_str())
        }
        Err(_) => false,
    };
    Ok(ScannedAuditRow {
        seq,
        event,
        canonical_time,
    })
}

/// Decodes one row selected with [`COLUMNS`]; the columns are typed, so what can be wrong is a
/// value (a time that does not parse, an unknown outcome, a negative number).
///
/// # Errors
/// The name of the first column that does not hold what keygate writes there.
fn decode(row: &PgRow) -> Result<AuditEvent, String> {
    fn text(row: &PgRow, i: usize, name: &str) -> Result<String, String> {
        row.try_get::<String, _>(i)
            .map_err(|_| format!("column {name} is not text"))
    }
    fn opt_text(row: &PgRow, i: usize, name: &str) -> Result<Option<String>, String> {
        row.try_get::<Option<String>, _>(i)
            .map_err(|_| format!("column {name} is not text"))
    }
    fn unsigned(row: &PgRow, i: usize, name: &str) -> Result<u64, String> {
        let n = row
            .try_get::<i64, _>(i)
            .map_err(|_| format!("column {name} is not an integer"))?;
        u64::try_from(n).map_err(|_| format!("column {name} is negative"))
    }
    let time = text(row, 1, "time")?;
    let outcome = text(row, 9, "outcome")?;
    Ok(AuditEvent {
        seq: unsigned(row, 0, "seq")?,
        time: OffsetDateTime::parse(&time, &Rfc3339)
            .map_err(|_| "column time is not an RFC 3339 time".to_owned())?,
        request_id: text(row, 2, "request_id")?,
        principal: text(row, 3, "principal")?,
        source: text(row, 4, "source")?,
        action: text(row, 5, "action")?,
        provider: opt_text(row, 6, "provider")?,
        key: opt_text(row, 7, "key_uri")?,
        key_version: opt_text(row, 8, "key_version")?,
        outcome: outcome
            .parse::<AuditOutcome>()
            .map_err(|_| "column outcome is not a known outcome".to_owned())?,
        error_kind: opt_text(row, 10, "error_kind")?,
        duration_us: unsigned(row, 11, "duration_us")?,
        prev_hash: text(row, 12, "prev_hash")?,
        hash: text(row, 13, "hash")?,
        intent_seq: match row.try_get::<Option<i64>, _>(14) {
            Ok(None) => None,
            Ok(Some(n)) => {
                Some(u64::try_from(n).map_err(|_| "column intent_seq is negative".to_owned())?)
            }
            Err(_) => return Err("column intent_seq is not an integer".to_owned()),
        },
    })
}

fn decode_strict(row: &PgRow) -> Result<AuditEvent> {
    decode(row).map_err(|reason| {
        let seq = seq_of(row).map_or_else(|_| "?".to_owned(), |s| s.to_string());
        Error::unavailable(format!("audit store: row {seq}: {reason}"))
    })
}
