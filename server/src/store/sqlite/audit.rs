//! The audit log's rows in SQLite (`audit_events`, migration `0002_audit.sql`).
//!
//! Decoding reports which column it could not read instead of failing opaquely: the verifier
//! turns that into "this row was edited", the query path into a store error.

use async_trait::async_trait;
use keygate_core::audit::{
    AuditEvent, AuditOutcome, AuditQuery, canonical_time, parse_canonical_time,
};
use keygate_core::cost::ActionCount;
use keygate_core::{Error, Result};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::SqliteStore;
use crate::store::{
    AuditAppendError, AuditHead, AuditRows, ChainedAuditRow, ObjectWrite, OutcomeRow,
    ScannedAuditRow, StoredCheckpoint, WriteAppended,
};

/// The columns every reader selects, in the order [`decode`] expects.
const COLUMNS: &str = "seq, time, request_id, principal, source, action, provider, \
     key_uri, key_version, outcome, error_kind, duration_us, prev_hash, hash, intent_seq";

/// Rows per INSERT statement: 64 × 15 columns = 960 parameters, under the 999 that older
/// SQLite builds allow per statement.
const ROWS_PER_INSERT: usize = 64;

/// Maps a driver error to the store being unavailable.
fn db_err(e: sqlx::Error) -> Error {
    super::db_err("audit store", e)
}

#[async_trait]
impl AuditRows for SqliteStore {
    async fn audit_head(&self) -> Result<AuditHead> {
        let row = sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
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

    async fn audit_row_count(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        u64::try_from(count)
            .map_err(|_| Error::unavailable(format!("audit store: negative row count {count}")))
    }

    async fn append_audit_rows(&self, rows: &[ChainedAuditRow]) -> Result<(), AuditAppendError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| AuditAppendError::Failed(db_err(e)))?;
        if let Err(e) = insert_rows(&mut tx, rows).await {
            // Roll back now rather than when the connection is next used.
            let _ = tx.rollback().await;
            return Err(e);
        }
        tx.commit()
            .await
            .map_err(|e| AuditAppendError::Failed(db_err(e)))
    }

    async fn append_with_write(
        &self,
        write: &ObjectWrite,
        row: OutcomeRow<'_>,
    ) -> Result<WriteAppended, AuditAppendError> {
        super::objects::append_with_write(self, write, row).await
    }

    async fn query_audit_rows(&self, q: &AuditQuery, limit: u32) -> Result<Vec<AuditEvent>> {
        let rows = filtered("SELECT", q, limit)?
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(decode_strict).collect()
    }

    async fn count_successes_since(&self, since: OffsetDateTime) -> Result<Vec<ActionCount>> {
        // The time index bounds the scan to the window; grouping happens in the database.
        let rows = sqlx::query(
            "SELECT provider, key_uri, action, COUNT(*) FROM audit_events \
             WHERE time >= ? AND outcome = ? GROUP BY provider, key_uri, action \
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
        let first_page = format!("SELECT {COLUMNS} FROM audit_events ORDER BY seq LIMIT ?");
        let next_page =
            format!("SELECT {COLUMNS} FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?");
        let limit = i64::from(limit);
        let rows = match after {
            // Without a cursor, start below any seq: a forged row with seq <= 0 is still seen.
            None => sqlx::query(&first_page).bind(limit),
            Some(after) => sqlx::query(&next_page).bind(after).bind(limit),
        }
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(scanned).collect()
    }

    async fn save_audit_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()> {
        checkpoints::save(&self.pool, checkpoint).await
    }

    async fn latest_audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        checkpoints::latest(&self.pool).await
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
}

/// The query of [`AuditRows::query_audit_rows`]: `verb` (`SELECT`, or `EXPLAIN QUERY PLAN
/// SELECT` in the plan tests) the rows above `q.after` matching `q`, up to `limit`, in `seq`
/// order. Every filter combination is served by an index (migrations 0002 and 0008).
///
/// # Errors
/// [`Error::InvalidArgument`] for a time filter outside years 0000..=9999.
fn filtered(verb: &str, q: &AuditQuery, limit: u32) -> Result<QueryBuilder<'static, Sqlite>> {
    let mut sql = QueryBuilder::<Sqlite>::new(format!("{verb} {COLUMNS} FROM audit_events"));
    // A cursor beyond any storable seq simply finds nothing.
    let after = q.after.map_or(0, |a| i64::try_from(a).unwrap_or(i64::MAX));
    sql.push(" WHERE seq > ").push_bind(after);
    // Stored times are canonical text, whose order is time order.
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
            // Not LIKE: SQLite's LIKE ignores ASCII case and treats `_` and `%` as
            // wildcards. substr and length count characters in SQLite and PostgreSQL alike;
            // the range before it (the text order of UTF-8 is code point order) lets the
            // action index find the rows.
            Some(prefix) if !prefix.is_empty() => {
                sql.push(" AND action >= ").push_bind(prefix.to_owned());
                if let Some(end) = prefix_end(prefix) {
                    sql.push(" AND action < ").push_bind(end);
                }
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
    Ok(sql)
}

/// The least text above every text starting with `prefix`: `prefix` with its last character
/// replaced by the next one (dropping last characters that have none), or `None` when every
/// text at or above `prefix` starts with it.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next scalar value, skipping the surrogate range.
        if let Some(next) = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Inserts `rows` on `conn`, inside the caller's transaction (which the caller rolls back
/// on an error: a failed statement leaves the rows before it in place).
///
/// # Errors
/// [`AuditAppendError::SeqTaken`] when a row's `seq` exists; [`AuditAppendError::Failed`]
/// otherwise.
pub(super) async fn insert_rows(
    conn: &mut SqliteConnection,
    rows: &[ChainedAuditRow],
) -> Result<(), AuditAppendError> {
    let overflow = |what: &str| {
        AuditAppendError::Failed(Error::unavailable(format!("audit store: {what} overflow")))
    };
    let seqs = rows
        .iter()
        .map(|r| i64::try_from(r.event.seq))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| overflow("seq"))?;
    // Checked when the event was accepted; a batch never gets this far with one too long.
    let durations = rows
        .iter()
        .map(|r| i64::try_from(r.event.duration_us))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| overflow("duration_us"))?;
    let intents = rows
        .iter()
        .map(|r| r.event.intent_seq.map(i64::try_from).transpose())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| overflow("intent_seq"))?;
    // Several rows per statement: each statement is a round trip to SQLite's worker
    // thread, which would otherwise dominate a large batch.
    for (((chunk, seqs), durations), intents) in rows
        .chunks(ROWS_PER_INSERT)
        .zip(seqs.chunks(ROWS_PER_INSERT))
        .zip(durations.chunks(ROWS_PER_INSERT))
        .zip(intents.chunks(ROWS_PER_INSERT))
    {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO audit_events (seq, time, request_id, principal, source, action, \
             provider, key_uri, key_version, outcome, error_kind, duration_us, prev_hash, \
             hash, intent_seq) ",
        );
        insert.push_values(
            chunk.iter().zip(seqs).zip(durations).zip(intents),
            |mut b, (((row, seq), duration_us), intent_seq)| {
                let ChainedAuditRow { event, time_text } = row;
                b.push_bind(*seq)
                    .push_bind(time_text)
                    .push_bind(&event.request_id)
                    .push_bind(&event.principal)
                    .push_bind(&event.source)
                    .push_bind(&event.action)
                    .push_bind(&event.provider)
                    .push_bind(&event.key)
                    .push_bind(&event.key_version)
                    .push_bind(event.outcome.as_str())
                    .push_bind(&event.error_kind)
                    .push_bind(*duration_us)
                    .push_bind(&event.prev_hash)
                    .push_bind(&event.hash)
                    .push_bind(*intent_seq);
            },
        );
        let inserted = insert.build().execute(&mut *conn).await;
        if let Err(e) = inserted {
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

/// The row's `seq`, which SQLite always stores as an integer (it is the rowid).
fn seq_of(row: &SqliteRow) -> Result<i64> {
    row.try_get::<i64, _>(0).map_err(db_err)
}

/// A row as the verifier sees it.
fn scanned(row: &SqliteRow) -> Result<ScannedAuditRow> {
    let seq = seq_of(row)?;
    let (event, canonical_time) = match decode_spelled(row) {
        Ok((event, canonical)) => (Ok(event), canonical),
        Err(reason) => (Err(reason), false),
    };
    Ok(ScannedAuditRow {
        seq,
        event,
        canonical_time,
    })
}

/// Decodes one row selected with [`COLUMNS`].
///
/// # Errors
/// The name of the first column that does not hold what keygate writes there.
fn decode(row: &SqliteRow) -> Result<AuditEvent, String> {
    decode_spelled(row).map(|(event, _)| event)
}

/// [`decode`], and whether the stored time is spelled as `canonical_time` spells it.
fn decode_spelled(row: &SqliteRow) -> Result<(AuditEvent, bool), String> {
    fn text(row: &SqliteRow, i: usize, name: &str) -> Result<String, String> {
        row.try_get::<String, _>(i)
            .map_err(|_| format!("column {name} is not text"))
    }
    fn opt_text(row: &SqliteRow, i: usize, name: &str) -> Result<Option<String>, String> {
        row.try_get::<Option<String>, _>(i)
            .map_err(|_| format!("column {name} is not text"))
    }
    fn unsigned(row: &SqliteRow, i: usize, name: &str) -> Result<u64, String> {
        let n = row
            .try_get::<i64, _>(i)
            .map_err(|_| format!("column {name} is not an integer"))?;
        u64::try_from(n).map_err(|_| format!("column {name} is negative"))
    }
    let stored_time = text(row, 1, "time")?;
    // Rows keygate wrote take the fast path; anything else is parsed as RFC 3339 and
    // compared with its canonical spelling.
    let (time, canonical) = match parse_canonical_time(&stored_time) {
        Some(time) => (time, true),
        None => {
            let time = OffsetDateTime::parse(&stored_time, &Rfc3339)
                .map_err(|_| "column time is not an RFC 3339 time".to_owned())?;
            let canonical = canonical_time(time).ok().as_deref() == Some(stored_time.as_str());
            (time, canonical)
        }
    };
    let outcome = text(row, 9, "outcome")?;
    let event = AuditEvent {
        seq: unsigned(row, 0, "seq")?,
        time,
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
    };
    Ok((event, canonical))
}

/// Decodes a row for a reader that expects an intact store.
///
/// # Errors
/// [`Error::Unavailable`] naming the row and column that cannot be read.
fn decode_strict(row: &SqliteRow) -> Result<AuditEvent> {
    decode(row).map_err(|reason| {
        let seq = seq_of(row).map_or_else(|_| "?".to_owned(), |s| s.to_string());
        Error::unavailable(format!("audit store: row {seq}: {reason}"))
    })
}

/// Fault injection for the tests of the log's failing closed, which need the store itself to
/// refuse (a full disk, a broken file), inside the transaction.
#[cfg(test)]
impl SqliteStore {
    /// Makes every insert into the audit log fail until [`SqliteStore::allow_audit_inserts`].
    pub(crate) async fn refuse_audit_inserts(&self) {
        self.execute(
            "CREATE TRIGGER audit_fault BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'fault injected'); END",
        )
        .await;
    }

    /// Undoes [`SqliteStore::refuse_audit_inserts`].
    pub(crate) async fn allow_audit_inserts(&self) {
        self.execute("DROP TRIGGER audit_fault").await;
    }
}

mod checkpoints;
#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod proof_tests;
#[cfg(test)]
mod tests;
