//! The verifier against rows edited in the database itself: every way of tampering with a
//! SQLite row that keygate can see is reported, naming the row.

#![allow(clippy::unwrap_used)]

use keygate_core::audit::canonical_time;

use crate::audit::AuditQuery;
use crate::audit::tests::{event, log_with};
use crate::store::{AuditAppendError, AuditHead, AuditRows, ChainedAuditRow};

/// `n` sample rows chained after `head`, ready to append.
fn rows_after(head: &AuditHead, n: usize) -> Vec<ChainedAuditRow> {
    let (mut seq, mut hash) = (head.seq, head.hash.clone());
    (0..n)
        .map(|i| {
            let event = event(i).into_chained(seq + 1, hash.clone(), None);
            (seq, hash) = (event.seq, event.hash.clone());
            ChainedAuditRow {
                time_text: canonical_time(event.time).unwrap(),
                event,
            }
        })
        .collect()
}

/// The contract the writer's retry relies on: a batch reaching an existing `seq` is
/// `SeqTaken` and keeps nothing, not even its rows before that `seq`.
#[tokio::test]
async fn a_taken_seq_fails_the_whole_batch_as_seq_taken() {
    let (store, _log) = log_with(2).await;
    let stale = AuditHead {
        seq: 1,
        hash: store.audit_head().await.unwrap().hash,
    };
    // 70 rows: the clash is in the first INSERT statement, the rest would follow it.
    let taken = store.append_audit_rows(&rows_after(&stale, 70)).await;
    assert!(
        matches!(taken, Err(AuditAppendError::SeqTaken(_))),
        "{taken:?}"
    );
    assert_eq!(store.audit_head().await.unwrap().seq, 2);
    // Past the first INSERT statement: the rows of the first are rolled back too.
    let head = store.audit_head().await.unwrap();
    let mut rows = rows_after(&head, 70);
    rows[69].event.seq = 1;
    let taken = store.append_audit_rows(&rows).await;
    assert!(
        matches!(taken, Err(AuditAppendError::SeqTaken(_))),
        "{taken:?}"
    );
    assert_eq!(store.audit_head().await.unwrap(), head);

    store.refuse_audit_inserts().await;
    let failed = store.append_audit_rows(&rows_after(&head, 1)).await;
    assert!(
        matches!(failed, Err(AuditAppendError::Failed(_))),
        "{failed:?}"
    );
}

#[tokio::test]
async fn editing_any_column_names_the_row() {
    let edits = [
        "time = '2026-01-01T00:00:00.000000000Z'",
        // Same instant, other spelling: the hash still matches, the stored text does not.
        "time = replace(time, 'Z', '+00:00')",
        "request_id = 'forged'",
        "principal = 'mallory'",
        "source = 'console'",
        "action = 'keys:delete'",
        "provider = NULL",
        "key_uri = 'kg://local/other'",
        "key_version = NULL",
        "outcome = 'denied'",
        "outcome = 'bogus'",
        "error_kind = 'not_found'",
        "duration_us = duration_us + 1",
        "duration_us = 'abc'",
        "prev_hash = '1111111111111111111111111111111111111111111111111111111111111111'",
        "hash = 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'",
    ];
    for edit in edits {
        let (store, log) = log_with(5).await;
        let second = log.query(&AuditQuery::default()).await.unwrap().items[1].clone();
        store
            .execute(&format!("UPDATE audit_events SET {edit} WHERE seq = 3"))
            .await;
        let v = log.verify().await.unwrap();
        let broken = v
            .first_broken
            .unwrap_or_else(|| panic!("{edit}: not detected"));
        assert_eq!(broken.seq, 3, "{edit}: {}", broken.reason);
        assert_eq!(v.rows, 2, "{edit}");
        assert_eq!(v.head, Some(second.hash), "{edit}");
    }
}

#[tokio::test]
async fn deleting_a_row_names_the_next_one() {
    let (store, log) = log_with(5).await;
    store
        .execute("DELETE FROM audit_events WHERE seq = 3")
        .await;
    let broken = log.verify().await.unwrap().first_broken.unwrap();
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("missing"), "{}", broken.reason);

    let (store, log) = log_with(3).await;
    store
        .execute("DELETE FROM audit_events WHERE seq = 1")
        .await;
    assert_eq!(log.verify().await.unwrap().first_broken.unwrap().seq, 2);
}

#[tokio::test]
async fn swapping_rows_breaks_the_chain() {
    let (store, log) = log_with(5).await;
    // Rows 2 and 4 trade places: every column but seq swaps.
    store
        .execute("UPDATE audit_events SET seq = -2 WHERE seq = 2")
        .await;
    store
        .execute("UPDATE audit_events SET seq = 2 WHERE seq = 4")
        .await;
    store
        .execute("UPDATE audit_events SET seq = 4 WHERE seq = -2")
        .await;
    let broken = log.verify().await.unwrap().first_broken.unwrap();
    assert_eq!(broken.seq, 2);
    assert!(broken.reason.contains("prev_hash"), "{}", broken.reason);
}

#[tokio::test]
async fn forged_rows_before_the_chain_are_reported() {
    let (store, log) = log_with(2).await;
    store
        .execute(
            "INSERT INTO audit_events SELECT 0, time, request_id, principal, source, action, \
             provider, key_uri, key_version, outcome, error_kind, duration_us, prev_hash, hash, \
             intent_seq FROM audit_events WHERE seq = 1",
        )
        .await;
    let v = log.verify().await.unwrap();
    assert_eq!(v.first_broken.unwrap().seq, 0);
    assert_eq!(v.rows, 0);
}
