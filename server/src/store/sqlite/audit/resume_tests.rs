//! Verification from a kept checkpoint against a log and a checkpoint table tampered with in
//! the database: it agrees with a full check on an intact log, names a bad row after the
//! checkpoint, and falls back to checking every row when the checkpoint does not prove itself.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keygate_core::audit::AuditKeys;

use crate::audit::tests::event;
use crate::audit::{AuditConfig, AuditLog, AuditOutcome, NewAuditEvent};
use crate::store::{AuditRows, GatewayStore};

fn keys() -> Arc<AuditKeys> {
    Arc::new(AuditKeys::from_root_key(&[17u8; 32]).unwrap())
}

/// A keyed log of `rows` rows whose odd rows are intents: the outcome of each follows it,
/// except the intent at `open` (if any), whose outcome never comes.
async fn log_with_intents(rows: usize, open: Option<usize>) -> (GatewayStore, AuditLog) {
    let store = GatewayStore::in_memory().await.unwrap();
    let log = AuditLog::open_keyed(
        Arc::new(store.clone()),
        &AuditConfig::default(),
        Some(keys()),
    )
    .await
    .unwrap();
    append(&log, 1, rows, open).await;
    (store, log)
}

/// Appends rows `from..=to` as [`log_with_intents`] describes them.
async fn append(log: &AuditLog, from: usize, to: usize, open: Option<usize>) {
    for seq in from..=to {
        let intent = seq % 2 == 1;
        let e = NewAuditEvent {
            outcome: if intent {
                AuditOutcome::Unknown
            } else {
                AuditOutcome::Success
            },
            intent_seq: (!intent && Some(seq - 1) != open).then(|| seq as u64 - 1),
            ..event(seq)
        };
        log.append(e).await.unwrap();
    }
}

#[tokio::test]
async fn from_a_checkpoint_only_later_rows_are_read_and_the_report_matches_a_full_check() {
    let (store, log) = log_with_intents(20, Some(7)).await;
    // Nothing kept yet: the whole log is checked, and a checkpoint of it is kept.
    let first = log.verify_from_checkpoint().await.unwrap();
    assert_eq!(first.from_checkpoint, None);
    assert_eq!((first.rows, first.unresolved_intents), (20, 1));
    assert_eq!(
        store.latest_audit_checkpoint().await.unwrap().unwrap().size,
        20
    );

    append(&log, 21, 31, Some(29)).await;
    let resumed = log.verify_from_checkpoint().await.unwrap();
    let full = log.verify().await.unwrap();
    assert_eq!(resumed.from_checkpoint, Some(20));
    assert_eq!(full.from_checkpoint, None);
    assert_eq!(resumed.first_broken, None);
    // Row 31 is an intent still waiting for its outcome, like 7 and 29.
    assert_eq!(resumed.unresolved_intents, 3);
    assert_eq!(store.count_unresolved_intents().await.unwrap(), 3);
    for v in [&resumed, &full] {
        assert_eq!(v.rows, 31);
        assert_eq!(v.unresolved_intents, 3);
        assert_eq!(v.unkeyed_rows, 0);
    }
    assert_eq!(resumed.head, full.head);
    assert_eq!(resumed.root, full.root);
    // Each intact check keeps a newer checkpoint.
    assert_eq!(
        store.latest_audit_checkpoint().await.unwrap().unwrap().size,
        31
    );
    let again = log.verify_from_checkpoint().await.unwrap();
    assert_eq!((again.from_checkpoint, again.rows), (Some(31), 31));
    assert_eq!(Some(log.checkpoint().await.unwrap().root), resumed.root);
}

#[tokio::test]
async fn an_edit_after_the_checkpoint_is_named_and_one_before_it_only_by_a_full_check() {
    let (store, log) = log_with_intents(12, None).await;
    log.verify().await.unwrap();
    append(&log, 13, 20, None).await;
    store
        .execute("UPDATE audit_events SET principal = 'mallory' WHERE seq = 16")
        .await;
    let resumed = log.verify_from_checkpoint().await.unwrap();
    assert_eq!(resumed.from_checkpoint, Some(12));
    assert_eq!(resumed.rows, 15);
    assert_eq!(resumed.first_broken.unwrap().seq, 16);

    // An edit among the rows the checkpoint covers (not its last row) is not read again.
    store
        .execute("UPDATE audit_events SET principal = 'alice' WHERE seq = 16")
        .await;
    store
        .execute("UPDATE audit_events SET principal = 'mallory' WHERE seq = 5")
        .await;
    let full = log.verify().await.unwrap();
    assert_eq!(full.first_broken.unwrap().seq, 5);
}

#[tokio::test]
async fn a_checkpoint_whose_last_row_changed_or_went_is_checked_against_in_full() {
    let (store, log) = log_with_intents(12, None).await;
    log.verify().await.unwrap();
    store
        .execute("UPDATE audit_events SET principal = 'mallory' WHERE seq = 12")
        .await;
    let edited = log.verify_from_checkpoint().await.unwrap();
    assert_eq!(edited.from_checkpoint, None);
    assert_eq!(edited.first_broken.unwrap().seq, 12);
    assert!(!edited.checkpoint.unwrap().consistent);

    let (store, log) = log_with_intents(12, None).await;
    log.verify().await.unwrap();
    store
        .execute("DELETE FROM audit_events WHERE seq >= 10")
        .await;
    let cut = log.verify_from_checkpoint().await.unwrap();
    let broken = cut.first_broken.unwrap();
    assert_eq!(broken.seq, 10);
    assert!(
        broken.reason.contains("cut off the end"),
        "{}",
        broken.reason
    );
}

#[tokio::test]
async fn a_tampered_checkpoint_table_is_not_trusted() {
    for tamper in [
        // Another tree: its roots no longer give the signed root.
        "UPDATE audit_checkpoints SET range_hashes = replace(range_hashes, substr(range_hashes, 1, 1), \
         CASE substr(range_hashes, 1, 1) WHEN '0' THEN '1' ELSE '0' END)",
        // A bigger size under the same note.
        "UPDATE audit_checkpoints SET size = 999",
        // A note not signed by this log's key.
        "UPDATE audit_checkpoints SET note = replace(note, 'keygate', 'mallory')",
    ] {
        let (store, log) = log_with_intents(12, None).await;
        log.verify().await.unwrap();
        store.execute(tamper).await;
        let v = log.verify_from_checkpoint().await.unwrap();
        assert_eq!(v.from_checkpoint, None, "{tamper}");
        assert_eq!((v.rows, v.first_broken), (12, None), "{tamper}");
    }
}

#[tokio::test]
async fn a_log_without_the_root_key_keeps_no_checkpoint_and_checks_every_row() {
    let store = GatewayStore::in_memory().await.unwrap();
    let log = AuditLog::open(Arc::new(store.clone()), &AuditConfig::default())
        .await
        .unwrap();
    append(&log, 1, 9, None).await;
    let v = log.verify_from_checkpoint().await.unwrap();
    assert_eq!((v.rows, v.from_checkpoint), (9, None));
    assert_eq!(v.unresolved_intents, 1);
    assert!(store.latest_audit_checkpoint().await.unwrap().is_none());
}
