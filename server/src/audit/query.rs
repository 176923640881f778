//! Filtered, cursor-paged reads of the audit log.
//!
//! The SQL here applies the same rules as [`AuditQuery::matches`], which the live stream
//! uses, so a row is returned by a query exactly when the stream would deliver it.

use keygate_core::audit::{AuditEvent, AuditQuery, canonical_time};
use keygate_core::{Page, Result};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::row::{COLUMNS, db_err, decode_strict};

/// One page of rows matching `q`, oldest first.
///
/// # Errors
/// [`keygate_core::Error::InvalidArgument`] for a limit of 0 or an unrepresentable time
/// filter; [`keygate_core::Error::Unavailable`] when the store cannot be read or holds an
/// unreadable row.
pub(super) async fn page(pool: &SqlitePool, q: &AuditQuery) -> Result<Page<AuditEvent>> {
    let limit = q.page_size()?;
    let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM audit_events"));
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
            // Not LIKE: SQLite's LIKE ignores ASCII case and treats `_` and `%` as wildcards.
            // substr and length count characters in SQLite and PostgreSQL alike.
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
    // One row more than asked tells whether another page exists.
    sql.push(" ORDER BY seq LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows = sql.build().fetch_all(pool).await.map_err(db_err)?;
    let mut items = rows.iter().map(decode_strict).collect::<Result<Vec<_>>>()?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}
