//! The cost view through a session: the estate and the audit counts it prices, who may see
//! it, and its own audit row.

use keygate_core::access::Identity;
use keygate_core::api::Gateway;
use keygate_core::audit::{AuditOutcome, AuditQuery};
use keygate_core::cost::RequestKind;
use keygate_core::{
    CreateKeyRequest, EncryptionContext, ErrorKind, KeyLocator, KeySpec, ProviderKind,
};
use time::OffsetDateTime;

use super::Source;
use super::tests::start_on;
use crate::cache::CacheConfig;
use crate::store::GatewayStore;

#[tokio::test]
async fn prices_the_local_estate_from_its_audit_counts() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store, CacheConfig::default()).await;
    let before = OffsetDateTime::now_utc();
    let admin = service.local_admin();
    let key = admin
        .create_key(None, CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    let locator = KeyLocator::parse(&key.uri).unwrap();
    admin.rotate_key(&locator).await.unwrap();
    admin.rotate_key(&locator).await.unwrap();
    for _ in 0..3 {
        admin
            .encrypt(&locator, b"x", &EncryptionContext::default())
            .await
            .unwrap();
    }
    admin.generate_random(16).await.unwrap();

    let report = admin.cost(before).await.unwrap();
    assert_eq!(report.keys.len(), 1);
    assert_eq!(report.keys[0].versions, 3);
    assert_eq!(report.keys[0].kind, ProviderKind::Local);
    // One create and two rotations are key management; three encryptions.
    assert_eq!(
        report.keys[0].requests,
        [(RequestKind::Symmetric, 3), (RequestKind::Management, 3)].into()
    );
    let provider = &report.providers[0];
    // keygate draws random bytes itself: no provider is called, none is billed.
    assert!(!provider.requests.contains_key(&RequestKind::Random));
    // The local provider costs nothing; on AWS the key is $1 + 2 rotations × $1 = $3 and
    // 6 requests × $0.03 / 10,000 = $0.000018; on GCP 3 versions × $0.06 = $0.18 and 3
    // cryptographic requests (management is free) = $0.000009.
    assert_eq!(report.total_usd, 0.0);
    assert_eq!(provider.elsewhere[&ProviderKind::Aws], 3.000018);
    assert_eq!(provider.elsewhere[&ProviderKind::Gcp], 0.180009);

    // A window after everything counts no requests, but still the keys.
    let later = admin.cost(OffsetDateTime::now_utc()).await.unwrap();
    assert!(later.providers[0].requests.is_empty());
    assert_eq!(later.keys[0].versions, 3);

    // Audited as an audit read, once per report.
    let rows = service
        .audit()
        .query(&AuditQuery {
            action: Some("audit:read".into()),
            outcome: Some(AuditOutcome::Success),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.items.len(), 2);
}

#[tokio::test]
async fn needs_audit_read_and_is_audited_when_refused() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store, CacheConfig::default()).await;
    let app = service.session(
        Identity {
            principal: "svc".into(),
            role: "app".into(),
        },
        Source::Rest,
    );
    let err = app.cost(OffsetDateTime::now_utc()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let auditor = service.session(
        Identity {
            principal: "carol".into(),
            role: "auditor".into(),
        },
        Source::Rest,
    );
    auditor.cost(OffsetDateTime::now_utc()).await.unwrap();
    let denied = service
        .audit()
        .query(&AuditQuery {
            outcome: Some(AuditOutcome::Denied),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(denied.items.len(), 1);
    assert_eq!(denied.items[0].action, "audit:read");
}
