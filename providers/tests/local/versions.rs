//! Per-version state of the local provider beyond the conformance suite: the maintenance
//! pass destroying a version at its time, and the store migration that brought per-version
//! dates.

use std::sync::Arc;

use keygate_core::{CreateKeyRequest, ErrorKind, KeyProvider, KeySpec, ManualClock, VersionState};
use keygate_providers::local::LocalBuilder;
use sqlx::Connection;
use time::Duration;
use time::macros::datetime;

use super::{ctx, on_disk, raw_material, root_key};

#[tokio::test]
async fn a_version_is_due_and_destroyed_when_its_time_comes() {
    let start = datetime!(2030-01-01 00:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let p = LocalBuilder::new()
        .with_path(&db)
        .with_root_key(root_key(5))
        .with_clock(clock.clone())
        .build()
        .await
        .unwrap();
    p.create_key(CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    let old = p.encrypt("k", b"old", &ctx()).await.unwrap();
    p.rotate_key("k").await.unwrap();
    let err = p.destroy_version("k", "2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState, "the primary: {err}");

    let doomed = p.destroy_version("k", "1").await.unwrap();
    let due = start + Duration::days(30);
    assert_eq!(doomed.destroy_time, Some(due));
    // Scheduling again keeps the first date.
    clock.advance(Duration::days(1));
    assert_eq!(
        p.destroy_version("k", "1").await.unwrap().destroy_time,
        Some(due)
    );

    let early = p.due(due - Duration::seconds(1)).await.unwrap();
    assert!(early.is_empty(), "{early:?}");
    assert!(
        !p.destroy_due_version("k", "1", due - Duration::seconds(1))
            .await
            .unwrap(),
        "not due yet"
    );
    assert!(raw_material(&db, "k", 1).await.is_some());
    let listed = p.due(due).await.unwrap();
    assert_eq!(
        listed.version_destructions,
        [("k".to_owned(), "1".to_owned())]
    );
    assert!(
        listed.destructions.is_empty(),
        "the key itself stays: {listed:?}"
    );
    assert!(
        raw_material(&db, "k", 1).await.is_some(),
        "due does nothing"
    );
    assert!(p.destroy_due_version("k", "1", due).await.unwrap());
    assert_eq!(raw_material(&db, "k", 1).await, None);
    // Run again (another process got there first): nothing more to do.
    assert!(!p.destroy_due_version("k", "1", due).await.unwrap());
    assert!(p.due(due).await.unwrap().is_empty());
    assert!(p.tick(due).await.unwrap().destroyed_versions.is_empty());

    let v1 = &p.list_versions("k").await.unwrap()[0];
    assert_eq!(
        (v1.state, v1.destroy_time),
        (VersionState::Destroyed, Some(due))
    );
    for err in [
        p.restore_version("k", "1").await.unwrap_err(),
        p.enable_version("k", "1").await.unwrap_err(),
        p.decrypt(None, None, &old.bytes, &ctx()).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::InvalidState, "{err}");
    }
    // The key goes on with its other version.
    let fresh = p.encrypt("k", b"new", &ctx()).await.unwrap();
    assert_eq!(fresh.key_version, "2");
}

#[tokio::test]
async fn a_store_from_before_version_dates_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    {
        let p = on_disk(&db, 6).await.unwrap();
        p.create_key(CreateKeyRequest::new("old", KeySpec::Aes256))
            .await
            .unwrap();
        p.rotate_key("old").await.unwrap();
    }
    // Take the database back to the first schema, with the state name it used then.
    let url = format!("sqlite://{}", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for sql in [
        "DROP INDEX local_key_versions_destroy_time",
        "ALTER TABLE local_key_versions DROP COLUMN destroy_time",
        "UPDATE local_key_versions SET state = 'pending_destruction' WHERE version = 1",
        "DELETE FROM _sqlx_migrations WHERE version = 2",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();

    let p = on_disk(&db, 6).await.unwrap();
    let v1 = &p.list_versions("old").await.unwrap()[0];
    assert_eq!(
        (v1.state, v1.destroy_time),
        (VersionState::DestroyScheduled, None)
    );
    let restored = p.restore_version("old", "1").await.unwrap();
    assert_eq!(restored.state, VersionState::Disabled);
}
