//! The PostgreSQL key store against a real database: `KEYGATE_TEST_PG_URL` names it
//! (`scripts/postgres.sh` starts one); without it each test says it skipped. Every test works
//! in a schema of its own.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use keygate_core::{KeySpec, KeyState, KeyUsage, Labels, RotationKind, VersionState};
use time::OffsetDateTime;

use super::super::{KeyCopy, KeyRecord, LocalStore, VersionRecord};
use super::{PgPoolSettings, PostgresStore};
use crate::local::error::LocalError;

/// A fresh schema name and the test database's URL, or `None` (said on stderr).
fn fresh(test: &str) -> Option<(String, String)> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Ok(url) = std::env::var("KEYGATE_TEST_PG_URL") else {
        eprintln!("SKIPPED {test}: KEYGATE_TEST_PG_URL is not set");
        return None;
    };
    let schema = format!(
        "kgtest_local_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000
    );
    Some((url, schema))
}

async fn open(url: &str, schema: &str) -> PostgresStore {
    PostgresStore::open(url, schema, PgPoolSettings::default())
        .await
        .unwrap()
}

fn key(id: &str) -> KeyRecord {
    KeyRecord {
        id: id.to_owned(),
        spec: KeySpec::Aes256,
        usage: KeyUsage::Encrypt,
        state: KeyState::Enabled,
        primary_version: 1,
        rotation: None,
        description: String::new(),
        labels: Labels::new(),
        created: OffsetDateTime::UNIX_EPOCH,
    }
}

fn first() -> VersionRecord {
    VersionRecord {
        version: 1,
        state: VersionState::Enabled,
        created: OffsetDateTime::UNIX_EPOCH,
        destroy_time: None,
        rotation: None,
        material: Some(vec![1, 2, 3]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_through_two_stores_number_versions_once_each() {
    let Some((url, schema)) = fresh("concurrent_rotations_through_two_stores") else {
        return;
    };
    let a = Arc::new(open(&url, &schema).await);
    let b = Arc::new(open(&url, &schema).await);
    a.insert_key(&key("k"), &first()).await.unwrap();
    const N: u32 = 24;
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                store
                    .add_version(
                        "k",
                        OffsetDateTime::UNIX_EPOCH,
                        RotationKind::OnDemand,
                        &|_, n| Ok(n.to_be_bytes().to_vec()),
                    )
                    .await
                    .unwrap()
                    .unwrap()
                    .1
                    .version
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (2..=N + 1).collect::<Vec<_>>());
    let stored = b.versions("k").await.unwrap();
    assert_eq!(stored.len() as u32, N + 1);
    for v in &stored[1..] {
        // Each version kept the material made for its own number.
        assert_eq!(v.material.as_deref(), Some(&v.version.to_be_bytes()[..]));
    }
    assert_eq!(a.key("k").await.unwrap().unwrap().primary_version, N + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_waits_for_the_row_lock_another_store_holds() {
    let Some((url, schema)) = fresh("a_change_waits_for_the_row_lock") else {
        return;
    };
    let a = Arc::new(open(&url, &schema).await);
    let b = Arc::new(open(&url, &schema).await);
    a.insert_key(&key("k"), &first()).await.unwrap();
    // The first change holds the row while it sleeps; the second, through another pool,
    // reads the key only once the first committed, so it sees the first's description.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel::<()>();
    let slow = {
        let a = a.clone();
        tokio::spawn(async move {
            a.update_key("k", &|k| {
                k.description.push('a');
                locked_tx.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
                Ok(())
            })
            .await
            .unwrap()
        })
    };
    tokio::task::spawn_blocking(move || locked_rx.recv().unwrap())
        .await
        .unwrap();
    let second = b
        .update_key("k", &|k| {
            k.description.push('b');
            k.state = KeyState::Disabled;
            Ok(())
        })
        .await
        .unwrap()
        .unwrap();
    slow.await.unwrap();
    assert_eq!(second.description, "ab");
    let k = a.key("k").await.unwrap().unwrap();
    assert_eq!(
        (k.description.as_str(), k.state),
        ("ab", KeyState::Disabled)
    );
}

#[tokio::test]
async fn keys_versions_and_copies_roundtrip() {
    let Some((url, schema)) = fresh("keys_versions_and_copies_roundtrip") else {
        return;
    };
    let store = open(&url, &schema).await;
    assert_eq!(store.schema(), schema);
    store.insert_key(&key("a"), &first()).await.unwrap();
    let err = store.insert_key(&key("a"), &first()).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");
    // A failing callback rolls the whole change back.
    let err = store
        .update_key("a", &|k| {
            k.description = "changed".into();
            Err(LocalError::NotDue)
        })
        .await
        .unwrap_err();
    assert!(matches!(err, LocalError::NotDue));
    assert_eq!(store.key("a").await.unwrap().unwrap().description, "");
    let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
    store
        .update_version("a", 1, &|_, v| {
            v.state = VersionState::DestroyScheduled;
            v.destroy_time = Some(now);
            Ok(())
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.due_version_destructions(now).await.unwrap(),
        [("a".to_owned(), 1)]
    );
    assert!(store.destroy_version("a", 1, now).await.unwrap());
    assert!(!store.destroy_version("a", 1, now).await.unwrap());
    let v = store.version("a", 1).await.unwrap().unwrap();
    assert_eq!((v.state, v.material), (VersionState::Destroyed, None));
    assert!(store.set_policy("a", "{}").await.unwrap());
    assert!(!store.set_policy("missing", "{}").await.unwrap());

    // A copy keeps everything as it was, in another schema.
    let (_, other) = fresh("keys_versions_and_copies_roundtrip").unwrap();
    let target = open(&url, &other).await;
    let copy = KeyCopy {
        key: store.key("a").await.unwrap().unwrap(),
        versions: store.versions("a").await.unwrap(),
        policy: store.policy("a").await.unwrap(),
        expiry: None,
    };
    target
        .copy_in(&[
            copy.clone(),
            KeyCopy {
                key: key("b"),
                versions: vec![first()],
                policy: None,
                expiry: None,
            },
        ])
        .await
        .unwrap();
    assert_eq!(target.versions("a").await.unwrap(), copy.versions);
    assert_eq!(target.policy("a").await.unwrap().as_deref(), Some("{}"));
    let counts = target.counts().await.unwrap();
    assert_eq!((counts.keys, counts.versions, counts.policies), (2, 2, 1));
    let listed: Vec<_> = target
        .list_keys(Some("a"), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(listed, ["b"]);
    // The copy is one transaction: a clash keeps nothing of it.
    let err = target
        .copy_in(&[
            KeyCopy {
                key: key("c"),
                versions: vec![first()],
                policy: None,
                expiry: None,
            },
            copy,
        ])
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");
    assert!(target.key("c").await.unwrap().is_none());
}
