//! Recomputing the hash chain over the whole store.

use keygate_core::Result;
use keygate_core::audit::{AuditVerification, BrokenRow, GENESIS_HASH};

use crate::store::{AuditRows, ScannedAuditRow};

/// Rows read per page: memory stays bounded however long the log is.
const PAGE: u32 = 1000;

/// Checks every row in `seq` order; see [`super::AuditLog::verify`].
///
/// # Errors
/// [`keygate_core::Error::Unavailable`] when the store cannot be read.
pub(super) async fn verify(store: &dyn AuditRows) -> Result<AuditVerification> {
    let mut intact = 0u64;
    let mut prev_hash = GENESIS_HASH.to_owned();
    // Without a cursor the store starts below any seq: a forged row with seq <= 0 is seen.
    let mut after: Option<i64> = None;
    loop {
        let rows = store.scan_audit_rows(after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.seq);
        for row in &rows {
            match check(row, intact + 1, &prev_hash) {
                Ok(hash) => {
                    intact += 1;
                    prev_hash = hash;
                }
                Err(broken) => {
                    return Ok(AuditVerification {
                        rows: intact,
                        head: (intact > 0).then_some(prev_hash),
                        first_broken: Some(broken),
                    });
                }
            }
        }
    }
    Ok(AuditVerification {
        rows: intact,
        head: (intact > 0).then_some(prev_hash),
        first_broken: None,
    })
}

/// Checks one row against its expected position and predecessor: its hash when it holds,
/// or why it does not.
fn check(row: &ScannedAuditRow, expected_seq: u64, prev_hash: &str) -> Result<String, BrokenRow> {
    let seq = row.seq;
    let broken = |reason: String| BrokenRow {
        // A seq below 1 can only be forged; report it as 0.
        seq: u64::try_from(seq).unwrap_or(0),
        reason,
    };
    if u64::try_from(seq).ok() != Some(expected_seq) {
        let reason = if seq < 1 {
            format!("seq {seq} is not a valid position (chain starts at 1)")
        } else {
            format!(
                "rows missing before it: expected seq {expected_seq}, found {seq} (rows deleted)"
            )
        };
        return Err(broken(reason));
    }
    let event = match &row.event {
        Ok(event) => event,
        Err(reason) => return Err(broken(format!("edited: {reason}"))),
    };
    if event.prev_hash != prev_hash {
        return Err(broken(
            "prev_hash is not the previous row's hash (rows reordered, replaced or deleted)"
                .to_owned(),
        ));
    }
    if event.expected_hash() != event.hash {
        return Err(broken(
            "edited: hash does not match the row's contents".to_owned(),
        ));
    }
    // The hash covers the instant, not its spelling; a respelled time is still an edit.
    if !row.canonical_time {
        return Err(broken(
            "edited: time is not in the form keygate writes".to_owned(),
        ));
    }
    Ok(event.hash.clone())
}
