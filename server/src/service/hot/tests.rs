//! The hot records in memory: what a repeated call reads from the store (nothing), and that
//! memory never outlives a change, made here or by another process on the same store.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use keygate_core::access::{AccessPolicy, Identity};
use keygate_core::api::{Gateway as _, IssuedToken, TokenRequest};
use keygate_core::{CreateKeyRequest, DynProvider, EncryptionContext, ErrorKind, KeySpec};
use keygate_providers::local::LocalProvider;

use super::{MAX_STALENESS, POLL_EVERY};
use crate::audit::AuditConfig;
use crate::cache::CacheConfig;
use crate::registry::Registry;
use crate::service::tests::{kl, start_on};
use crate::service::{Service, Source};
use crate::store::{Access, AliasesExt as _, GatewayStore, RequestKind, Store, StoreCallCount};
use tempfile::TempDir;

fn calls(counts: &[StoreCallCount], kind: RequestKind, access: Access) -> u64 {
    counts
        .iter()
        .find(|c| c.kind == kind && c.access == access)
        .map_or(0, |c| c.calls)
}

async fn issue(service: &Arc<Service>, principal: &str, role: &str) -> IssuedToken {
    service
        .local_admin()
        .create_token(TokenRequest {
            principal: principal.into(),
            role: role.into(),
            expires_in_days: None,
            kind: Default::default(),
        })
        .await
        .unwrap()
}

/// A service over `store`, each with its own local provider, as another process opens it.
async fn open_over(store: Arc<dyn Store>) -> Arc<Service> {
    let local: DynProvider = Arc::new(LocalProvider::builder().build().await.unwrap());
    let registry = Registry::new(vec![local], store).unwrap();
    Service::new(registry, &AuditConfig::default(), &CacheConfig::default())
        .await
        .unwrap()
}

/// Two services sharing one store, as a gateway and the CLI beside it (or two replicas)
/// do: on one SQLite file, and on one PostgreSQL schema when `KEYGATE_TEST_PG_URL` names a
/// database. Each with the backend's name and what keeps the store alive.
async fn pairs(test: &str) -> Vec<(&'static str, Arc<Service>, Arc<Service>, Option<TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    let sqlite = |path: std::path::PathBuf| async move {
        let store: Arc<dyn Store> = GatewayStore::open(&path).await.unwrap().into();
        open_over(store).await
    };
    let mut pairs = vec![(
        "sqlite",
        sqlite(path.clone()).await,
        sqlite(path).await,
        Some(dir),
    )];
    if let Some(schema) = crate::store::postgres::testing::fresh_schema(test).await {
        let one = crate::store::postgres::testing::open_on(&schema).await;
        let two = crate::store::postgres::testing::open_on(&schema).await;
        pairs.push((
            "postgres",
            open_over(one.into()).await,
            open_over(two.into()).await,
            None,
        ));
    }
    pairs
}

/// Polls `check` until it holds, failing past `limit`; returns how long it took.
async fn within(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let began = Instant::now();
    loop {
        if check().await {
            return began.elapsed();
        }
        assert!(began.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_repeated_authenticated_encrypt_reads_nothing_and_writes_only_its_audit_rows() {
    let (service, _) = start_on(
        GatewayStore::in_memory().await.unwrap(),
        CacheConfig::default(),
    )
    .await;
    let admin = service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    admin.create_alias("hot", &kl("k")).await.unwrap();
    let token = issue(&service, "app-1", "admin").await;
    let ctx = EncryptionContext::new();
    let encrypt = async || {
        let who = service.authenticate(&token.token).await.unwrap();
        let session = service.session(who, Source::Rest);
        session.encrypt(&kl("alias/hot"), b"m", &ctx).await.unwrap();
    };
    // The first call reads the token and the alias (and records the token's first use).
    encrypt().await;
    let before = service.store_calls();
    let rows_before = service.audit().stats().rows;
    const CALLS: u64 = 5;
    for _ in 0..CALLS {
        encrypt().await;
    }
    let after = service.store_calls();
    let encrypt_kind = RequestKind {
        source: "rest",
        action: "crypto:encrypt",
    };
    for kind in [encrypt_kind, RequestKind::BEARER_AUTH] {
        for access in [Access::Read, Access::Write] {
            assert_eq!(
                calls(&after, kind, access),
                calls(&before, kind, access),
                "{kind:?} {access:?}: {after:?}"
            );
        }
    }
    // Each call's intent and outcome rows, appended by the audit writer, and nothing else:
    // one after the other here, so one commit each (under load, rows of concurrent calls
    // share commits).
    let appends = calls(&after, RequestKind::AUDIT_WRITER, Access::Write)
        - calls(&before, RequestKind::AUDIT_WRITER, Access::Write);
    assert_eq!(appends, 2 * CALLS);
    assert_eq!(service.audit().stats().rows - rows_before, 2 * CALLS);
    assert_eq!(calls(&after, RequestKind::AUDIT_WRITER, Access::Read), 0);
    for c in &after {
        let known = [
            encrypt_kind,
            RequestKind::BEARER_AUTH,
            RequestKind::AUDIT_WRITER,
        ];
        if !known.contains(&c.kind) && c.kind != RequestKind::FRESHNESS {
            assert_eq!(
                Some(c.calls),
                before
                    .iter()
                    .find(|b| b.kind == c.kind && b.access == c.access)
                    .map(|b| b.calls),
                "{c:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_token_revoked_here_is_refused_at_once() {
    let (service, _) = start_on(
        GatewayStore::in_memory().await.unwrap(),
        CacheConfig::default(),
    )
    .await;
    let token = issue(&service, "app-1", "app").await;
    service.authenticate(&token.token).await.unwrap();
    service
        .local_admin()
        .revoke_token(&token.info.id)
        .await
        .unwrap();
    let err = service.authenticate(&token.token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn a_token_revoked_by_another_process_is_refused_within_the_bound() {
    for (backend, server, cli, _home) in
        pairs("a_token_revoked_by_another_process_is_refused_within_the_bound").await
    {
        let token = issue(&server, "app-1", "app").await;
        // Remembered by the server.
        server.authenticate(&token.token).await.unwrap();
        server.authenticate(&token.token).await.unwrap();
        cli.local_admin()
            .revoke_token(&token.info.id)
            .await
            .unwrap();
        let took = within(MAX_STALENESS + POLL_EVERY, async || {
            server.authenticate(&token.token).await.is_err()
        })
        .await;
        assert!(took <= MAX_STALENESS, "{backend}: {took:?}");
        // And it stays refused.
        let err = server.authenticate(&token.token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }
}

#[tokio::test]
async fn a_policy_grant_removed_by_another_process_stops_within_the_bound() {
    for (backend, server, cli, _home) in
        pairs("a_policy_grant_removed_by_another_process_stops_within_the_bound").await
    {
        let ops = server.session(
            Identity {
                principal: "olga".into(),
                role: "operator".into(),
            },
            Source::Rest,
        );
        ops.create_key(None, CreateKeyRequest::new("k", KeySpec::Aes256))
            .await
            .unwrap();
        ops.rotate_key(&kl("k")).await.unwrap();
        let deny = AccessPolicy::from_toml(
            "[[statements]]\neffect = \"deny\"\nprincipals = [\"olga\"]\nactions = [\"keys:rotate\"]\n",
        )
        .unwrap();
        cli.local_admin().set_access_policy(deny).await.unwrap();
        let took = within(MAX_STALENESS + POLL_EVERY, async || {
            matches!(ops.rotate_key(&kl("k")).await, Err(e) if e.kind() == ErrorKind::PermissionDenied)
        })
        .await;
        assert!(took <= MAX_STALENESS, "{backend}: {took:?}");
    }
}

#[tokio::test]
async fn a_missing_alias_or_key_is_not_remembered() {
    for (backend, server, cli, _home) in pairs("a_missing_alias_or_key_is_not_remembered").await {
        let admin = server.local_admin();
        let ctx = EncryptionContext::new();
        for _ in 0..2 {
            let err = admin
                .encrypt(&kl("alias/later"), b"m", &ctx)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{backend}");
            let err = admin.encrypt(&kl("k"), b"m", &ctx).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
        }
        // Created here: usable at once.
        admin
            .create_key(None, CreateKeyRequest::new("k", KeySpec::Aes256))
            .await
            .unwrap();
        admin.encrypt(&kl("k"), b"m", &ctx).await.unwrap();
        admin.create_alias("later", &kl("k")).await.unwrap();
        admin.encrypt(&kl("alias/later"), b"m", &ctx).await.unwrap();
        // An alias created by another process: usable at once too (nothing was remembered of
        // its absence).
        let err = admin
            .encrypt(&kl("alias/elsewhere"), b"m", &ctx)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        // (Written straight to the store: that process's own local provider has no key `k`.)
        cli.registry()
            .store()
            .create_alias("elsewhere", &keygate_core::KeyRef::new("local", "k"))
            .await
            .unwrap();
        admin
            .encrypt(&kl("alias/elsewhere"), b"m", &ctx)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_alias_moved_by_another_process_is_followed_within_the_bound() {
    for (backend, server, cli, _home) in
        pairs("an_alias_moved_by_another_process_is_followed_within_the_bound").await
    {
        let admin = server.local_admin();
        for name in ["a", "b"] {
            admin
                .create_key(None, CreateKeyRequest::new(name, KeySpec::Aes256))
                .await
                .unwrap();
        }
        admin.create_alias("current", &kl("a")).await.unwrap();
        let target = async || {
            server
                .registry()
                .resolve(&kl("alias/current"))
                .await
                .unwrap()
                .id
        };
        assert_eq!(target().await, "a");
        cli.registry()
            .store()
            .update_alias("current", &keygate_core::KeyRef::new("local", "b"))
            .await
            .unwrap();
        let took = within(MAX_STALENESS + POLL_EVERY, async || target().await == "b").await;
        assert!(took <= MAX_STALENESS, "{backend}: {took:?}");
    }
}
