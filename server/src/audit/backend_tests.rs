//! The audit log over every store backend: SQLite always, PostgreSQL when
//! `KEYGATE_TEST_PG_URL` names a database. Several logs on one store stand for several
//! processes or replicas sharing a database: their appends must form one chain.

#![allow(clippy::unwrap_used)]

use keygate_core::ErrorKind;

use super::tests::event;
use super::*;
use crate::store::{ObjectWrite, ObjectWritten, Store, new_alias};

/// Three stores on one database per backend (a SQLite file opened three times; one
/// PostgreSQL schema with three pools), by backend name.
async fn shared_stores(
    test: &str,
) -> Vec<(&'static str, Vec<Arc<dyn Store>>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    let mut sqlite: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..3 {
        sqlite.push(crate::store::SqliteStore::open(&path).await.unwrap().into());
    }
    let mut all = vec![("sqlite", sqlite, Some(dir))];
    if let Some(schema) = crate::store::postgres::testing::fresh_schema(test).await {
        let mut pg: Vec<Arc<dyn Store>> = Vec::new();
        for _ in 0..3 {
            pg.push(
                crate::store::postgres::testing::open_on(&schema)
                    .await
                    .into(),
            );
        }
        all.push(("postgres", pg, None));
    }
    all
}

async fn every_row(log: &AuditLog) -> Vec<AuditEvent> {
    let mut stored = Vec::new();
    let mut q = AuditQuery::default();
    loop {
        let page = log.query(&q).await.unwrap();
        stored.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c.parse().unwrap()),
            None => break,
        }
    }
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_appending_at_once_form_one_chain() {
    for (backend, stores, _dir) in shared_stores("replicas_appending_at_once").await {
        let mut logs = Vec::new();
        for store in &stores {
            logs.push(
                AuditLog::open(store.clone(), &AuditConfig::default())
                    .await
                    .unwrap(),
            );
        }
        let tasks: Vec<_> = (1..=150)
            .map(|i| {
                let log = logs[i % logs.len()].clone();
                tokio::spawn(async move { log.append(event(i)).await.unwrap() })
            })
            .collect();
        let mut acked = Vec::new();
        for task in tasks {
            acked.push(task.await.unwrap());
        }
        acked.sort_by_key(|e| e.seq);
        let seqs: Vec<u64> = acked.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=150).collect::<Vec<_>>(), "{backend}");
        // Any replica verifies the whole chain and reads exactly what was acknowledged.
        for log in &logs {
            let v = log.verify().await.unwrap();
            assert_eq!((v.rows, v.first_broken.clone()), (150, None), "{backend}");
            assert_eq!(v.head, Some(acked[149].hash.clone()), "{backend}");
        }
        assert_eq!(every_row(&logs[2]).await, acked, "{backend}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_writes_from_replicas_commit_with_their_rows() {
    for (backend, stores, _dir) in shared_stores("object_writes_from_replicas").await {
        let mut logs = Vec::new();
        for store in &stores {
            logs.push(
                AuditLog::open(store.clone(), &AuditConfig::default())
                    .await
                    .unwrap(),
            );
        }
        let target = keygate_core::KeyRef::new("local", "k");
        // Every replica creates the same alias and appends plain rows meanwhile: exactly
        // one creation wins, every attempt has its outcome row, and the chain holds.
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let log = logs[i % logs.len()].clone();
                let alias = new_alias("shared", &target).unwrap();
                tokio::spawn(async move {
                    let plain = log.append(event(100 + i)).await.unwrap();
                    let written = log
                        .append_with_write(event(i), ObjectWrite::InsertAlias(alias))
                        .await
                        .unwrap();
                    (plain, written)
                })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            let (_, written) = task.await.unwrap();
            match written {
                Ok(ObjectWritten::Alias(a)) => {
                    assert_eq!(a.target, target);
                    created += 1;
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{backend}: {e}"),
                other => panic!("{backend}: {other:?}"),
            }
        }
        assert_eq!(created, 1, "{backend}");
        assert_eq!(stores[1].resolve_alias("shared").await.unwrap(), target);
        let v = logs[0].verify().await.unwrap();
        assert_eq!((v.rows, v.first_broken), (24, None), "{backend}");
    }
}

#[tokio::test]
async fn a_writer_behind_another_replica_chains_after_it() {
    for (backend, stores, _dir) in shared_stores("a_writer_behind_another_replica").await {
        let log = AuditLog::open(stores[0].clone(), &AuditConfig::default())
            .await
            .unwrap();
        log.append(event(1)).await.unwrap();
        // Another replica appends: this log's cached head is stale and it must re-chain.
        let other = AuditLog::open(stores[1].clone(), &AuditConfig::default())
            .await
            .unwrap();
        assert_eq!(other.append(event(2)).await.unwrap().seq, 2, "{backend}");
        assert_eq!(log.append(event(3)).await.unwrap().seq, 3, "{backend}");
        let v = other.verify().await.unwrap();
        assert_eq!((v.rows, v.first_broken), (3, None), "{backend}");
    }
}
