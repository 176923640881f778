//! Verification from a kept checkpoint against a log and a checkpoint table tampered with in
//! the database: it agrees with a full check on an intact log, names a bad row after the
//! checkpoint, and falls back to checking every row when the checkpoint does not prove itself.
//! On every backend: SQLite always, PostgreSQL when `KEYGATE_TEST_PG_URL` names a database.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keygate_core::audit::AuditKeys;

use crate::audit::tests::event;
use crate::audit::{AuditConfig, AuditLog, AuditOutcome, NewAuditEvent};
use crate::store::{PostgresStore, SqliteStore, Store};

/// A store of one backend, with a way to tamper with its tables.
#[derive(Clone)]
enum Db {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Db {
    /// Every backend to run `test` on, each on a new, empty store.
    async fn every(test: &str) -> Vec<Db> {
        let mut all = vec![Db::Sqlite(SqliteStore::in_memory().await.unwrap())];
        if let Some(pg) = crate::store::postgres::testing::fresh_store(test).await {
            all.push(Db::Postgres(pg));
        }
        all
    }

    fn store(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite(s) => Arc::new(s.clone()),
            Db::Postgres(s) => Arc::new(s.clone()),
        }
    }

    fn name(&self) -> &'static str {
        self.store().backend()
    }

    async fn execute(&self, statement: &str) {
        match self {
            Db::Sqlite(s) => s.execute(statement).await,
            Db::Postgres(s) => s.execute(statement).await,
        }
    }

    async fn latest_size(&self) -> Option<u64> {
        self.store()
            .latest_audit_checkpoint()
            .await
            .unwrap()
            .map(|c| c.size)
    }
}

fn keys() -> Arc<AuditKeys> {
    Arc::new(AuditKeys::from_root_key(&[17u8; 32]).unwrap())
}

/// A keyed log of `rows` rows whose odd rows are intents: the outcome of each follows it,
/// except the intent at `open` (if any), whose outcome never comes.
async fn log_with_intents(db: &Db, rows: usize, open: Option<usize>) -> AuditLog {
    let log = AuditLog::open_keyed(db.store(), &AuditConfig::default(), Some(keys()))
        .await
        .unwrap();
    append(&log, 1, rows, open).await;
    log
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
    for db in Db::every("from_a_checkpoint_only_later_rows_are_read").await {
        let backend = db.name();
        let log = log_with_intents(&db, 20, Some(7)).await;
        // Nothing kept yet: the whole log is checked, and a checkpoint of it is kept.
        let first = log.verify_from_checkpoint().await.unwrap();
        assert_eq!(first.from_checkpoint, None, "{backend}");
        assert_eq!((first.rows, first.unresolved_intents), (20, 1), "{backend}");
        assert_eq!(db.latest_size().await, Some(20), "{backend}");

        append(&log, 21, 31, Some(29)).await;
        let resumed = log.verify_from_checkpoint().await.unwrap();
        let full = log.verify().await.unwrap();
        assert_eq!(resumed.from_checkpoint, Some(20), "{backend}");
        assert_eq!(full.from_checkpoint, None, "{backend}");
        assert_eq!(resumed.first_broken, None, "{backend}");
        // Row 31 is an intent still waiting for its outcome, like 7 and 29.
        assert_eq!(resumed.unresolved_intents, 3, "{backend}");
        assert_eq!(
            db.store().count_unresolved_intents().await.unwrap(),
            3,
            "{backend}"
        );
        for v in [&resumed, &full] {
            assert_eq!(v.rows, 31, "{backend}");
            assert_eq!(v.unresolved_intents, 3, "{backend}");
            assert_eq!(v.unkeyed_rows, 0, "{backend}");
        }
        assert_eq!(resumed.head, full.head, "{backend}");
        assert_eq!(resumed.root, full.root, "{backend}");
        // Each intact check keeps a newer checkpoint.
        assert_eq!(db.latest_size().await, Some(31), "{backend}");
        let again = log.verify_from_checkpoint().await.unwrap();
        assert_eq!(
            (again.from_checkpoint, again.rows),
            (Some(31), 31),
            "{backend}"
        );
        assert_eq!(
            Some(log.checkpoint().await.unwrap().root),
            resumed.root,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn an_edit_after_the_checkpoint_is_named_and_one_before_it_only_by_a_full_check() {
    for db in Db::every("an_edit_after_the_checkpoint_is_named").await {
        let backend = db.name();
        let log = log_with_intents(&db, 12, None).await;
        log.verify().await.unwrap();
        append(&log, 13, 20, None).await;
        db.execute("UPDATE audit_events SET principal = 'mallory' WHERE seq = 16")
            .await;
        let resumed = log.verify_from_checkpoint().await.unwrap();
        assert_eq!(resumed.from_checkpoint, Some(12), "{backend}");
        assert_eq!(resumed.rows, 15, "{backend}");
        assert_eq!(resumed.first_broken.unwrap().seq, 16, "{backend}");

        // An edit among the rows the checkpoint covers (not its last row) is not read again.
        db.execute("UPDATE audit_events SET principal = 'alice' WHERE seq = 16")
            .await;
        db.execute("UPDATE audit_events SET principal = 'mallory' WHERE seq = 5")
            .await;
        let full = log.verify().await.unwrap();
        assert_eq!(full.first_broken.unwrap().seq, 5, "{backend}");
    }
}

#[tokio::test]
async fn a_checkpoint_whose_last_row_changed_or_went_is_checked_against_in_full() {
    for db in Db::every("a_checkpoint_whose_last_row_changed").await {
        let backend = db.name();
        let log = log_with_intents(&db, 12, None).await;
        log.verify().await.unwrap();
        db.execute("UPDATE audit_events SET principal = 'mallory' WHERE seq = 12")
            .await;
        let edited = log.verify_from_checkpoint().await.unwrap();
        assert_eq!(edited.from_checkpoint, None, "{backend}");
        assert_eq!(edited.first_broken.unwrap().seq, 12, "{backend}");
        assert!(!edited.checkpoint.unwrap().consistent, "{backend}");
    }
    for db in Db::every("a_checkpoint_whose_last_row_went").await {
        let backend = db.name();
        let log = log_with_intents(&db, 12, None).await;
        log.verify().await.unwrap();
        db.execute("DELETE FROM audit_events WHERE seq >= 10").await;
        let cut = log.verify_from_checkpoint().await.unwrap();
        let broken = cut.first_broken.unwrap();
        assert_eq!(broken.seq, 10, "{backend}");
        assert!(
            broken.reason.contains("cut off the end"),
            "{backend}: {}",
            broken.reason
        );
    }
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
        for db in Db::every("a_tampered_checkpoint_table_is_not_trusted").await {
            let backend = db.name();
            let log = log_with_intents(&db, 12, None).await;
            log.verify().await.unwrap();
            db.execute(tamper).await;
            let v = log.verify_from_checkpoint().await.unwrap();
            assert_eq!(v.from_checkpoint, None, "{backend}: {tamper}");
            assert_eq!((v.rows, v.first_broken), (12, None), "{backend}: {tamper}");
        }
    }
}

#[tokio::test]
async fn a_log_without_the_root_key_keeps_no_checkpoint_and_checks_every_row() {
    for db in Db::every("a_log_without_the_root_key_keeps_no_checkpoint").await {
        let backend = db.name();
        let log = AuditLog::open(db.store(), &AuditConfig::default())
            .await
            .unwrap();
        append(&log, 1, 9, None).await;
        let v = log.verify_from_checkpoint().await.unwrap();
        assert_eq!((v.rows, v.from_checkpoint), (9, None), "{backend}");
        assert_eq!(v.unresolved_intents, 1, "{backend}");
        assert_eq!(db.latest_size().await, None, "{backend}");
    }
}
