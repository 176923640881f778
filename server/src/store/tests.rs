//! The store traits' contracts, checked on every backend: SQLite always, PostgreSQL when
//! `KEYGATE_TEST_PG_URL` names a database (each test on a fresh schema).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use keygate_core::api::{TokenInfo, TokenKind};
use keygate_core::{ErrorKind, KeyRef};
use time::OffsetDateTime;

use super::{
    AliasesExt as _, KeyRecord, PolicyRevision, SqliteStore, Store, TokenInsert, TokenRecord,
    TokenRecords as _,
};

/// Every backend to run `test` on, by name: SQLite in memory, and a fresh PostgreSQL schema
/// when the test database is configured.
pub(crate) async fn backends(test: &str) -> Vec<(&'static str, Arc<dyn Store>)> {
    let mut stores: Vec<(&'static str, Arc<dyn Store>)> =
        vec![("sqlite", SqliteStore::in_memory().await.unwrap().into())];
    if let Some(pg) = super::postgres::testing::fresh_store(test).await {
        stores.push(("postgres", pg.into()));
    }
    stores
}

#[tokio::test]
async fn aliases_roundtrip() {
    for (backend, store) in backends("aliases_roundtrip").await {
        let k = KeyRef::new("local", "demo");
        store.create_alias("pay", &k).await.unwrap();
        assert_eq!(store.resolve_alias("pay").await.unwrap(), k, "{backend}");
        let again = store.create_alias("pay", &k).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::AlreadyExists, "{backend}");
        store.create_alias("apay", &k).await.unwrap();
        let other = KeyRef::new("local", "other");
        let updated = store.update_alias("pay", &other).await.unwrap();
        assert_eq!(updated.target, other, "{backend}");
        assert_eq!(
            store.resolve_alias("pay").await.unwrap(),
            other,
            "{backend}"
        );
        let names: Vec<_> = store
            .list_aliases()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["apay", "pay"], "{backend}");
        store.delete_alias("pay").await.unwrap();
        for e in [
            store.resolve_alias("pay").await.unwrap_err(),
            store.delete_alias("pay").await.unwrap_err(),
            store.update_alias("pay", &k).await.unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::NotFound, "{backend}");
        }
    }
}

fn token(id: &str, principal: &str) -> TokenRecord {
    TokenRecord {
        info: TokenInfo {
            id: id.into(),
            principal: principal.into(),
            role: "app".into(),
            created: time::macros::datetime!(2030-01-01 00:00:00 UTC),
            expires: Some(time::macros::datetime!(2031-01-01 00:00:00.5 UTC)),
            revoked: None,
            kind: TokenKind::Aws,
        },
        secret_hash: vec![1; 32],
        last_used: None,
        sealed_secret: Some(vec![0, 255, 7]),
    }
}

#[tokio::test]
async fn tokens_roundtrip_and_a_taken_id_writes_nothing() {
    for (backend, store) in backends("tokens_roundtrip").await {
        let record = token("0123456789ab", "a");
        assert_eq!(
            store.insert_token(&record).await.unwrap(),
            TokenInsert::Inserted
        );
        assert_eq!(
            store
                .insert_token(&token("0123456789ab", "b"))
                .await
                .unwrap(),
            TokenInsert::IdTaken,
            "{backend}"
        );
        assert_eq!(
            store.token("0123456789ab").await.unwrap(),
            Some(record.clone()),
            "{backend}"
        );
        assert_eq!(store.token("nope").await.unwrap(), None, "{backend}");
        let at = time::macros::datetime!(2030-02-01 00:00:00 UTC);
        store.touch_token("0123456789ab", at).await.unwrap();
        assert!(store.revoke_token("0123456789ab", at).await.unwrap());
        // The first revocation time stays.
        let later = time::macros::datetime!(2030-03-01 00:00:00 UTC);
        assert!(store.revoke_token("0123456789ab", later).await.unwrap());
        assert!(
            !store.revoke_token("nope", later).await.unwrap(),
            "{backend}"
        );
        let stored = store.token("0123456789ab").await.unwrap().unwrap();
        assert_eq!(stored.info.revoked, Some(at), "{backend}");
        assert_eq!(stored.last_used, Some(at), "{backend}");
        assert_eq!(
            store.list_tokens().await.unwrap(),
            [stored.info],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn policy_document_is_replaced_whole() {
    for (backend, store) in backends("policy_document").await {
        assert_eq!(store.policy_document().await.unwrap(), None, "{backend}");
        assert_eq!(store.policy_revision().await.unwrap(), None, "{backend}");
        for (doc, by) in [("{\"a\":1}", "alice"), ("{\"b\":2}", "bob")] {
            let revision = PolicyRevision {
                updated: time::macros::datetime!(2030-01-01 00:00:00 UTC),
                updated_by: by.into(),
            };
            store.put_policy_document(doc, &revision).await.unwrap();
            assert_eq!(store.policy_document().await.unwrap().as_deref(), Some(doc));
            assert_eq!(
                store.policy_revision().await.unwrap(),
                Some(revision),
                "{backend}"
            );
        }
    }
}

#[tokio::test]
async fn aws_ids_are_given_once_and_read_both_ways() {
    for (backend, store) in backends("aws_ids").await {
        assert_eq!(store.aws_id_of("local://k").await.unwrap(), None);
        assert_eq!(store.aws_id_for("local://k", "id-1").await.unwrap(), "id-1");
        assert_eq!(
            store.aws_id_for("local://k", "id-2").await.unwrap(),
            "id-1",
            "{backend}"
        );
        assert_eq!(
            store.aws_uri_of("id-1").await.unwrap().as_deref(),
            Some("local://k")
        );
        store
            .aws_assign("id-3", "local://other", Some("us-west-2"))
            .await
            .unwrap();
        let taken = store
            .aws_assign("id-3", "local://third", None)
            .await
            .unwrap_err();
        assert_eq!(taken.kind(), ErrorKind::AlreadyExists, "{backend}");
        // Only a key the dialect created keeps a region.
        assert_eq!(
            store
                .aws_region_of("local://other")
                .await
                .unwrap()
                .as_deref(),
            Some("us-west-2"),
            "{backend}"
        );
        assert_eq!(store.aws_region_of("local://k").await.unwrap(), None);
        assert_eq!(store.aws_region_of("local://none").await.unwrap(), None);
        let regions: Vec<_> = store.aws_regions().await.unwrap().into_iter().collect();
        assert_eq!(
            regions,
            [("local://other".to_owned(), "us-west-2".to_owned())],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn gcp_rings_keys_and_destroys_roundtrip() {
    for (backend, s) in backends("gcp_records").await {
        let now = time::macros::datetime!(2030-01-01 00:00:00 UTC);
        s.create_ring("p", "local", "r1", now).await.unwrap();
        let again = s.create_ring("p", "local", "r1", now).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::AlreadyExists, "{backend}");
        s.create_ring("p", "local", "r0", now).await.unwrap();
        s.create_ring("q", "local", "r9", now).await.unwrap();
        let ids: Vec<_> = s.rings("p", "local").await.unwrap();
        assert_eq!(ids, [("r0".into(), now), ("r1".into(), now)], "{backend}");
        assert_eq!(s.ring("p", "local", "r1").await.unwrap(), Some(now));
        assert!(s.ring("p", "local", "r9").await.unwrap().is_none());
        let mut rec = KeyRecord {
            provider: "local".into(),
            key_name: "k".into(),
            key_uri: "local://k".into(),
            key_ring: "r1".into(),
            algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION".into(),
            destroy_seconds: 86400,
        };
        s.put_key(&rec, now).await.unwrap();
        rec.destroy_seconds = 172_800;
        s.put_key(&rec, now).await.unwrap();
        assert_eq!(s.key("local", "r1", "k").await.unwrap(), Some(rec.clone()));
        assert_eq!(s.key("local", "r0", "k").await.unwrap(), None, "{backend}");
        s.add_destroy("local://k", "1", now).await.unwrap();
        s.add_destroy("local://k", "1", OffsetDateTime::now_utc())
            .await
            .unwrap();
        assert_eq!(
            s.destroys("local://k").await.unwrap(),
            [("1".to_owned(), now)],
            "{backend}"
        );
        assert!(s.remove_destroy("local://k", "1").await.unwrap());
        assert!(
            !s.remove_destroy("local://k", "1").await.unwrap(),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn a_store_names_its_backend_and_answers() {
    for (backend, store) in backends("store_status").await {
        assert_eq!(store.backend(), backend);
        store.ping().await.unwrap();
        store.check_writable().await.unwrap();
        assert_eq!(store.audit_row_count().await.unwrap(), 0, "{backend}");
    }
}

#[tokio::test]
async fn a_postgres_store_is_ready_only_while_migrated() {
    let Some(store) = super::postgres::testing::fresh_store("ready_while_migrated").await else {
        return;
    };
    store.ping().await.unwrap();
    store.forget_last_migration().await;
    let err = store.ping().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("not migrated"), "{err}");
}

/// The change generation after `change`, which must have moved it (`moves`) or not.
async fn generation_after(
    store: &dyn Store,
    backend: &str,
    what: &str,
    moves: bool,
    change: impl AsyncFnOnce(),
) {
    let before = store.change_generation().await.unwrap();
    change().await;
    let after = store.change_generation().await.unwrap();
    assert_eq!(
        after != before,
        moves,
        "{backend}: {what}: {before} → {after}"
    );
}

#[tokio::test]
async fn the_change_generation_moves_with_every_record_served_from_memory() {
    for (backend, s) in backends("change_generation").await {
        let s = s.as_ref();
        let now = time::macros::datetime!(2030-01-01 00:00:00 UTC);
        let k = KeyRef::new("local", "k");
        let revision = PolicyRevision {
            updated: now,
            updated_by: "alice".into(),
        };
        let rec = KeyRecord {
            provider: "local".into(),
            key_name: "k".into(),
            key_uri: "local://k".into(),
            key_ring: "r1".into(),
            algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION".into(),
            destroy_seconds: 86400,
        };
        let b = backend;
        generation_after(s, b, "token issued", true, async || {
            let inserted = s.insert_token(&token("0123456789ab", "a")).await.unwrap();
            assert_eq!(inserted, TokenInsert::Inserted);
        })
        .await;
        // Bookkeeping, not a change of what the token may do.
        generation_after(s, b, "token used", false, async || {
            s.touch_token("0123456789ab", now).await.unwrap();
        })
        .await;
        generation_after(s, b, "token revoked", true, async || {
            assert!(s.revoke_token("0123456789ab", now).await.unwrap());
        })
        .await;
        generation_after(s, b, "alias created", true, async || {
            s.create_alias("pay", &k).await.unwrap();
        })
        .await;
        generation_after(s, b, "alias moved", true, async || {
            s.update_alias("pay", &KeyRef::new("local", "j"))
                .await
                .unwrap();
        })
        .await;
        generation_after(s, b, "alias deleted", true, async || {
            s.delete_alias("pay").await.unwrap();
        })
        .await;
        generation_after(s, b, "policy set", true, async || {
            s.put_policy_document("{}", &revision).await.unwrap();
        })
        .await;
        generation_after(s, b, "AWS id given", true, async || {
            s.aws_id_for("local://k", "id-1").await.unwrap();
        })
        .await;
        generation_after(s, b, "GCP ring created", true, async || {
            s.create_ring("p", "local", "r1", now).await.unwrap();
        })
        .await;
        generation_after(s, b, "GCP key recorded", true, async || {
            s.put_key(&rec, now).await.unwrap();
        })
        .await;
        // Reads and version destroy requests (never served from memory) move nothing.
        generation_after(s, b, "reads", false, async || {
            s.token("0123456789ab").await.unwrap();
            s.aws_id_for("local://k", "id-2").await.unwrap();
            s.add_destroy("local://k", "1", now).await.unwrap();
        })
        .await;
    }
}

#[tokio::test]
async fn a_postgres_replica_sees_another_replicas_change_generation() {
    let Some(schema) = super::postgres::testing::fresh_schema("change_generation_shared").await
    else {
        return;
    };
    let one = super::postgres::testing::open_on(&schema).await;
    let two = super::postgres::testing::open_on(&schema).await;
    let seen = two.change_generation().await.unwrap();
    one.create_alias("pay", &KeyRef::new("local", "k"))
        .await
        .unwrap();
    assert_ne!(two.change_generation().await.unwrap(), seen);
    assert_eq!(
        two.change_generation().await.unwrap(),
        one.change_generation().await.unwrap()
    );
}

/// Every table copied from a SQLite store into each backend reads back the same, page by
/// page; a second copy into the same target is refused by key.
#[tokio::test]
async fn whole_tables_copy_as_stored() {
    use super::copy::{COPY_TABLES, first_page, next_page};
    let source = SqliteStore::in_memory().await.unwrap();
    let k = KeyRef::new("local", "demo");
    for i in 0..7 {
        source.create_alias(&format!("a{i}"), &k).await.unwrap();
    }
    assert!(matches!(
        source.insert_token(&token("t1", "alice")).await.unwrap(),
        TokenInsert::Inserted
    ));
    let log = crate::audit::AuditLog::open(Arc::new(source.clone()), &Default::default())
        .await
        .unwrap();
    for i in 1..=9 {
        log.append(crate::audit::tests::event(i)).await.unwrap();
    }
    let read_all = |store: Arc<dyn Store>, table: &'static super::copy::CopyTable| async move {
        let mut rows = Vec::new();
        let mut page = first_page(table);
        loop {
            let got = store.read_table(table, page, 3).await.unwrap();
            if got.is_empty() {
                return rows;
            }
            page = next_page(table, page, &got);
            rows.extend(got);
        }
    };
    for (backend, target) in backends("whole_tables_copy_as_stored").await {
        for table in COPY_TABLES {
            let rows = read_all(Arc::new(source.clone()), table).await;
            target.write_table(table, &rows).await.unwrap();
            assert_eq!(
                read_all(target.clone(), table).await,
                rows,
                "{backend} {}",
                table.name
            );
            assert_eq!(
                target.count_table(table).await.unwrap(),
                rows.len() as u64,
                "{backend}"
            );
        }
        let aliases = &COPY_TABLES[0];
        let rows = read_all(Arc::new(source.clone()), aliases).await;
        let again = target.write_table(aliases, &rows).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::AlreadyExists, "{backend}");
        assert_eq!(target.audit_row_count().await.unwrap(), 9, "{backend}");
    }
}
