//! Reading `audit_events` rows back into [`AuditEvent`]s.
//!
//! Decoding reports which column it could not read instead of failing opaquely: the verifier
//! turns that into "this row was edited", the query path into a store error.

use keygate_core::audit::{AuditEvent, AuditOutcome};
use keygate_core::{Error, Result};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The columns every reader selects, in the order [`decode`] expects.
pub(super) const COLUMNS: &str = "seq, time, request_id, principal, source, action, provider, \
     key_uri, key_version, outcome, error_kind, duration_us, prev_hash, hash";

/// Maps a driver error to the store being unavailable.
pub(super) fn db_err(e: sqlx::Error) -> Error {
    crate::store::db_err("audit store", e)
}

/// The row's `seq`, which SQLite always stores as an integer (it is the rowid).
pub(super) fn seq_of(row: &SqliteRow) -> Result<i64> {
    row.try_get::<i64, _>(0).map_err(db_err)
}

/// Decodes one row selected with [`COLUMNS`].
///
/// # Errors
/// The name of the first column that does not hold what keygate writes there.
pub(super) fn decode(row: &SqliteRow) -> Result<AuditEvent, String> {
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
    })
}

/// Decodes a row for a reader that expects an intact store.
///
/// # Errors
/// [`Error::Unavailable`] naming the row and column that cannot be read.
pub(super) fn decode_strict(row: &SqliteRow) -> Result<AuditEvent> {
    decode(row).map_err(|reason| {
        let seq = seq_of(row).map_or_else(|_| "?".to_owned(), |s| s.to_string());
        Error::Unavailable(format!("audit store: row {seq}: {reason}"))
    })
}
