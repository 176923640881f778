//! `Gateway::status` over real local providers: probes, the store and audit checks, what the
//! composing process set, and who may ask.

use std::sync::Arc;

use keygate_core::access::Identity;
use keygate_core::api::{Gateway, Listener};
use keygate_core::audit::{AuditEvent, AuditOutcome, AuditQuery};
use keygate_core::{CreateKeyRequest, DynProvider, ErrorKind, KeySpec, ProviderKind};
use keygate_providers::local::LocalProvider;

use super::tests::Counting;
use super::{BuildInfo, Service, Source};
use crate::audit::AuditConfig;
use crate::cache::CacheConfig;
use crate::registry::Registry;
use crate::store::GatewayStore;

/// A service over a healthy `local` provider and a `broken` one whose probe fails as an
/// unreachable backend's does, on `store`.
async fn start(store: GatewayStore) -> Arc<Service> {
    let broken = LocalProvider::builder()
        .with_name("broken")
        .with_uri_prefix("local://broken/")
        .build()
        .await
        .unwrap();
    let broken = Counting::new(broken);
    broken.set_unreachable();
    let local: DynProvider = Arc::new(LocalProvider::builder().build().await.unwrap());
    let registry = Registry::new(vec![local, Arc::new(broken)], store).unwrap();
    Service::new(registry, &AuditConfig::default(), &CacheConfig::default())
        .await
        .unwrap()
}

async fn rows(service: &Service) -> Vec<AuditEvent> {
    let q = AuditQuery {
        limit: Some(1000),
        ..AuditQuery::default()
    };
    service.audit().query(&q).await.unwrap().items
}

fn who(principal: &str, role: &str) -> Identity {
    Identity {
        principal: principal.to_owned(),
        role: role.to_owned(),
    }
}

#[tokio::test]
async fn status_reports_each_provider_the_store_and_the_audit_head() {
    let service = start(GatewayStore::in_memory().await.unwrap()).await;
    let admin = service.local_admin();
    admin
        .create_key(Some("local"), CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    let before = rows(&service).await;

    let status = admin.status().await.unwrap();
    let [local, broken] = status.providers.as_slice() else {
        panic!("two providers expected: {:?}", status.providers);
    };
    assert_eq!(
        (local.name.as_str(), local.kind),
        ("local", ProviderKind::Local)
    );
    assert!(local.reachable && local.error.is_none(), "{local:?}");
    assert_eq!(broken.name, "broken");
    assert!(!broken.reachable, "{broken:?}");
    let error = broken.error.as_ref().unwrap();
    assert!(
        !error.kind.is_empty() && error.message.contains("broken"),
        "{error:?}"
    );
    assert_eq!(status.reachable_providers(), 1);

    assert_eq!(status.store.backend, "sqlite");
    assert!(
        status.store.readable && status.store.writable,
        "{:?}",
        status.store
    );
    assert!(status.store.error.is_none());
    assert!(status.can_write());

    let last = before.last().unwrap();
    assert!(status.audit.writer_running);
    assert_eq!(status.audit.rows, before.len() as u64);
    assert_eq!(status.audit.head_seq, Some(last.seq));
    assert_eq!(status.audit.head_hash.as_deref(), Some(last.hash.as_str()));
    assert_eq!(
        status.audit.size_bytes, None,
        "an in-memory store has no file"
    );
    assert_eq!(status.audit.failed_batches, 0);

    // Nothing was set by a composing process: this crate's version, no features, no sockets.
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    assert!(status.features.is_empty() && status.listeners.is_empty());
    // A successful status read is health, not a use of a key: no audit row.
    assert_eq!(rows(&service).await.len(), before.len());
}

#[tokio::test]
async fn status_reports_what_the_composing_process_set_and_the_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = GatewayStore::open(&dir.path().join("gateway.db"))
        .await
        .unwrap();
    let service = start(store).await;
    service.set_build_info(BuildInfo {
        version: "9.9.9".into(),
        features: vec!["aws".into(), "gcp".into()],
    });
    let rest = Listener {
        name: "rest".into(),
        url: "http://127.0.0.1:8200".into(),
    };
    service.set_listeners(vec![rest.clone()]);
    let auditor = service.session(who("ann", "auditor"), Source::Rest);
    let status = auditor.status().await.unwrap();
    assert_eq!(status.version, "9.9.9");
    assert_eq!(status.features, ["aws", "gcp"]);
    assert_eq!(status.listeners, [rest]);
    assert!(status.audit.size_bytes.unwrap() > 0);
    // The JSON contract: snake_case fields, RFC 3339 time, absent optionals left out.
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["providers"][0]["kind"], "local");
    assert!(json["providers"][0].get("error").is_none());
    assert!(json["checked_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(json["audit"]["rows"], 0);
    assert!(
        json["audit"].get("head_seq").is_none(),
        "an empty log has no head"
    );
}

#[tokio::test]
async fn a_store_that_cannot_take_writes_is_reported_not_writable() {
    let store = GatewayStore::in_memory().await.unwrap();
    let service = start(store.clone()).await;
    store.execute("PRAGMA query_only = ON").await;
    let status = service.local_admin().status().await.unwrap();
    assert!(status.store.readable, "{:?}", status.store);
    assert!(!status.store.writable, "{:?}", status.store);
    assert_eq!(status.store.error.as_ref().unwrap().kind, "unavailable");
    assert!(!status.can_write());
}

#[tokio::test]
async fn an_app_token_is_refused_and_the_refusal_is_audited() {
    let service = start(GatewayStore::in_memory().await.unwrap()).await;
    let app = service
        .session(who("billing", "app"), Source::Rest)
        .with_request_id("req-status");
    let err = app.status().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let rows = rows(&service).await;
    let [row] = rows.as_slice() else {
        panic!("one audit row expected: {rows:?}");
    };
    assert_eq!(row.action, "status:read");
    assert_eq!(row.outcome, AuditOutcome::Denied);
    assert_eq!(row.principal, "billing");
    assert_eq!(row.request_id, "req-status");
    // Operators may read it too.
    let ops = service.session(who("olga", "operator"), Source::Rest);
    ops.status().await.unwrap();
}
