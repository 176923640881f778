//! Filtered, cursor-paged reads of the audit log.
//!
//! The store applies the same rules as [`AuditQuery::matches`], which the live stream uses,
//! so a row is returned by a query exactly when the stream would deliver it.

use keygate_core::audit::{AuditEvent, AuditQuery};
use keygate_core::{Page, Result};

use crate::store::AuditRows;

/// One page of rows matching `q`, oldest first.
///
/// # Errors
/// [`keygate_core::Error::InvalidArgument`] for a limit of 0 or an unrepresentable time
/// filter; [`keygate_core::Error::Unavailable`] when the store cannot be read or holds an
/// unreadable row.
pub(super) async fn page(store: &dyn AuditRows, q: &AuditQuery) -> Result<Page<AuditEvent>> {
    let limit = q.page_size()?;
    // One row more than asked tells whether another page exists.
    let mut items = store.query_audit_rows(q, limit + 1).await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}
