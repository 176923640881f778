//! Audit before acting: a call that acts writes its intent row first and is refused when
//! that row cannot be made durable; a full store recovers without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use keygate_core::api::{Gateway, TokenRequest};
use keygate_core::audit::{AuditOutcome, AuditQuery};
use keygate_core::{
    CreateKeyRequest, EncryptionContext, ErrorKind, KeyProvider, KeySpec, ListKeysRequest,
};

use super::tests::{kl, start_on};
use crate::cache::CacheConfig;
use crate::store::GatewayStore;

/// SQLite's largest `max_page_count`: no limit.
const UNLIMITED: u64 = 4_294_967_294;

fn token(principal: &str) -> TokenRequest {
    TokenRequest {
        principal: principal.to_owned(),
        role: "app".to_owned(),
        expires_in_days: None,
        kind: Default::default(),
    }
}

/// The store fills up (`SQLITE_FULL`, as on a full disk): every call that would act is
/// refused with 503 and nothing happens; readiness fails; once space is available again the
/// same store (no restart) writes, answers and reports ready.
#[tokio::test]
async fn a_full_store_refuses_before_acting_and_recovers_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let limit = Arc::new(AtomicU64::new(UNLIMITED));
    let store =
        GatewayStore::open_with_page_limit(&dir.path().join("gateway.db"), Arc::clone(&limit))
            .await;
    let (service, provider) = start_on(store.clone(), CacheConfig::default()).await;
    let admin = service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    service.ready().await.unwrap();

    // The disk is full: the file may not grow. The last page still takes a few rows.
    limit.store(1, Ordering::SeqCst);
    let mut refused = None;
    for i in 0..2000 {
        let name = format!("full-{i}");
        if let Err(e) = admin
            .create_key(None, CreateKeyRequest::new(&name, KeySpec::Aes256))
            .await
        {
            refused = Some((name, e));
            break;
        }
    }
    let (refused_name, err) = refused.expect("the store filled up");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    // Refused before acting: the provider never saw it.
    let keys = provider
        .list_keys(ListKeysRequest::default())
        .await
        .unwrap();
    assert!(
        keys.items.iter().all(|k| k.name != refused_name),
        "a refused create still created {refused_name}"
    );
    // A nearly full file still takes a row here and there (a page with room left), as a
    // nearly full disk does: from here on a trigger refuses every audit insert, so that
    // each call below meets a store that cannot write.
    limit.store(UNLIMITED, Ordering::SeqCst);
    store.refuse_audit_inserts().await;
    limit.store(1, Ordering::SeqCst);
    let tokens_before = service.tokens.list().await.unwrap().len();
    let ctx = EncryptionContext::new();
    for err in [
        admin.create_token(token("t1")).await.map(drop).unwrap_err(),
        admin.generate_random(16).await.map(drop).unwrap_err(),
        admin
            .encrypt(&kl("k"), b"m", &ctx)
            .await
            .map(drop)
            .unwrap_err(),
        admin
            .create_alias("a1", &kl("k"))
            .await
            .map(drop)
            .unwrap_err(),
        // A read is answered only with its row, too.
        admin.describe_key(&kl("k")).await.map(drop).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    }
    assert_eq!(service.tokens.list().await.unwrap().len(), tokens_before);
    assert!(
        service
            .registry
            .store()
            .list_aliases()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        service.ready().await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );

    // Space is freed: no restart, the next calls simply work.
    limit.store(UNLIMITED, Ordering::SeqCst);
    store.allow_audit_inserts().await;
    service.ready().await.unwrap();
    for i in 0..20 {
        admin
            .create_key(
                None,
                CreateKeyRequest::new(format!("after-{i}"), KeySpec::Aes256),
            )
            .await
            .unwrap();
        admin.encrypt(&kl("k"), b"m", &ctx).await.unwrap();
    }
    admin.create_token(token("t2")).await.unwrap();
    admin.create_alias("a2", &kl("k")).await.unwrap();

    // Every row acknowledged is durable: a fresh store on the file sees them all, and
    // nothing the store holds lacks its intent.
    let reopened = GatewayStore::open(&dir.path().join("gateway.db"))
        .await
        .unwrap();
    let (fresh, _) = start_on(reopened, CacheConfig::default()).await;
    let rows = fresh
        .audit()
        .query(&AuditQuery {
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    let intents = |action: &str| {
        rows.iter()
            .filter(|r| r.action == action && r.outcome == AuditOutcome::Unknown)
            .count()
    };
    let keys = provider
        .list_keys(ListKeysRequest::default())
        .await
        .unwrap();
    assert!(
        keys.items.len() <= intents("keys:create"),
        "a key without intent"
    );
    assert_eq!(intents("tokens:create"), 1, "one token created, one intent");
    assert_eq!(intents("aliases:write"), 1, "one alias written, one intent");
    for r in rows.iter().filter(|r| r.intent_seq.is_some()) {
        let intent = rows.iter().find(|i| Some(i.seq) == r.intent_seq).unwrap();
        assert_eq!(intent.outcome, AuditOutcome::Unknown);
        assert_eq!(
            (&intent.action, &intent.request_id),
            (&r.action, &r.request_id)
        );
    }
    let v = fresh.audit().verify().await.unwrap();
    assert!(v.first_broken.is_none(), "{v:?}");
}

/// An intent without its outcome (the gateway stopped between them) is counted by verify,
/// without breaking the chain.
#[tokio::test]
async fn an_intent_without_outcome_is_counted_not_broken() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store, CacheConfig::default()).await;
    let admin = service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    // What a crash leaves: an intent row, then nothing for it.
    let mut orphan = service
        .audit()
        .query(&AuditQuery::default())
        .await
        .unwrap()
        .items[0]
        .event();
    assert_eq!(orphan.outcome, AuditOutcome::Unknown);
    orphan.request_id = "crashed".to_owned();
    service.audit().append(orphan).await.unwrap();
    let v = service.audit().verify().await.unwrap();
    assert!(v.first_broken.is_none(), "{v:?}");
    assert_eq!(v.unresolved_intents, 1);
}
