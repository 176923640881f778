//! Gateway objects (tokens, aliases, the access policy, GCP key rings and destroy requests)
//! commit in the same store transaction as their call's outcome audit row: the object
//! changed exactly when that row exists.

use keygate_core::access::{AccessPolicy, Action};
use keygate_core::api::{Gateway, TokenRequest};
use keygate_core::audit::{AuditEvent, AuditOutcome, AuditQuery};
use keygate_core::{CreateKeyRequest, ErrorKind, KeyRef, KeySpec};

use super::tests::{kl, start_on};
use crate::cache::CacheConfig;
use crate::store::{AuditRows, GatewayStore, ObjectWrite, PolicyDocument};

fn token(principal: &str) -> TokenRequest {
    TokenRequest {
        principal: principal.to_owned(),
        role: "app".to_owned(),
        expires_in_days: None,
        kind: Default::default(),
    }
}

fn rotator_policy() -> AccessPolicy {
    AccessPolicy::from_toml(
        r#"
        [roles.rotator]
        statements = [{ effect = "allow", actions = ["keys:rotate"], keys = { name = "prod-*" } }]
        "#,
    )
    .unwrap()
}

async fn rows(service: &super::Service) -> Vec<AuditEvent> {
    service
        .audit()
        .query(&AuditQuery {
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items
}

/// The outcome row of every call with `action` whose intent is in `rows`.
fn outcomes<'r>(rows: &'r [AuditEvent], action: &str) -> Vec<&'r AuditEvent> {
    rows.iter()
        .filter(|r| r.action == action && r.intent_seq.is_some())
        .collect()
}

/// A fault between the object write and its outcome row (the store refuses the row inside
/// the object's transaction): the caller gets 503, nothing of the object changed, and the
/// call's intent row stays `unknown`.
#[tokio::test]
async fn a_refused_outcome_row_rolls_back_the_object_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = GatewayStore::open(&dir.path().join("gateway.db"))
        .await
        .unwrap();
    let (service, _) = start_on(store.clone(), CacheConfig::default()).await;
    let admin = service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    admin
        .create_key(None, CreateKeyRequest::new("other", KeySpec::Aes256))
        .await
        .unwrap();
    let kept_token = admin.create_token(token("kept")).await.unwrap();
    admin.create_alias("kept", &kl("k")).await.unwrap();
    let unresolved_before = store.count_unresolved_intents().await.unwrap();
    assert_eq!(unresolved_before, 0);
    let tokens_before = admin.list_tokens().await.unwrap();
    let aliases_before = admin.list_aliases().await.unwrap();
    let policy_before = store.policy_document().await.unwrap();

    let uri = service.key_uri(&KeyRef::new("local", "k")).await.unwrap();
    let destroy = ObjectWrite::AddDestroy {
        key_uri: uri.clone(),
        version: "1".to_owned(),
        at: time::OffsetDateTime::now_utc(),
    };

    store.refuse_outcome_rows().await;
    let errors = [
        admin.create_token(token("t1")).await.map(drop).unwrap_err(),
        admin
            .revoke_token(&kept_token.info.id)
            .await
            .map(drop)
            .unwrap_err(),
        admin
            .create_alias("new", &kl("k"))
            .await
            .map(drop)
            .unwrap_err(),
        admin
            .update_alias("kept", &kl("other"))
            .await
            .map(drop)
            .unwrap_err(),
        admin.delete_alias("kept").await.unwrap_err(),
        admin
            .set_access_policy(rotator_policy())
            .await
            .map(drop)
            .unwrap_err(),
        admin
            .write_record(
                Action::KeysCreate,
                "local",
                "projects/p/locations/local/keyRings/r".to_owned(),
                ObjectWrite::CreateRing {
                    project: "p".to_owned(),
                    location: "local".to_owned(),
                    ring: "r".to_owned(),
                    at: time::OffsetDateTime::now_utc(),
                },
            )
            .await
            .unwrap_err(),
        admin
            .write_key_object(Action::KeysDelete, &kl("k"), destroy.clone())
            .await
            .unwrap_err(),
    ];
    for err in &errors {
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    }
    store.allow_outcome_rows().await;

    // Nothing of any of them happened.
    assert_eq!(admin.list_tokens().await.unwrap(), tokens_before);
    assert_eq!(admin.list_aliases().await.unwrap(), aliases_before);
    assert_eq!(store.policy_document().await.unwrap(), policy_before);
    assert_eq!(*service.access.current(), AccessPolicy::default());
    let gcp = service.gcp_records();
    assert_eq!(gcp.ring("p", "local", "r").await.unwrap(), None);
    assert!(gcp.destroys(&uri).await.unwrap().is_empty());
    // Each refused call left its intent, and only that.
    assert_eq!(
        store.count_unresolved_intents().await.unwrap(),
        errors.len() as u64
    );
    let v = service.audit().verify().await.unwrap();
    assert!(v.first_broken.is_none(), "{v:?}");

    // The store writes again: the same calls now change their objects, each with its row.
    admin.create_token(token("t1")).await.unwrap();
    admin.revoke_token(&kept_token.info.id).await.unwrap();
    admin.update_alias("kept", &kl("other")).await.unwrap();
    admin.set_access_policy(rotator_policy()).await.unwrap();
    assert_eq!(*service.access.current(), rotator_policy());
    admin
        .write_key_object(Action::KeysDelete, &kl("k"), destroy)
        .await
        .unwrap();
    assert_eq!(gcp.destroys(&uri).await.unwrap().len(), 1);
    let v = service.audit().verify().await.unwrap();
    assert!(v.first_broken.is_none(), "{v:?}");
    assert_eq!(v.unresolved_intents, errors.len() as u64);
}

/// Each object write's outcome row names its intent and says how the write ended; a write
/// that fails for its own reason (a taken alias name) changes nothing and is recorded as a
/// failure in the same way.
/// On every store backend (SQLite, and PostgreSQL when the test database is configured).
#[tokio::test]
async fn object_writes_carry_their_outcome_rows() {
    for (_backend, store) in crate::store::tests::backends("object_writes_carry").await {
        object_writes_carry_their_outcome_rows_on(store).await;
    }
}

async fn object_writes_carry_their_outcome_rows_on(store: std::sync::Arc<dyn crate::store::Store>) {
    let (service, _) = start_on(store, CacheConfig::default()).await;
    let admin = service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("k", KeySpec::Aes256))
        .await
        .unwrap();
    let issued = admin.create_token(token("a")).await.unwrap();
    let revoked = admin.revoke_token(&issued.info.id).await.unwrap();
    assert!(revoked.revoked.is_some());
    assert_eq!(
        admin.revoke_token("0123456789ab").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let alias = admin.create_alias("pay", &kl("k")).await.unwrap();
    assert_eq!(alias.target, KeyRef::new("local", "k"));
    let taken = admin.create_alias("pay", &kl("k")).await.unwrap_err();
    assert_eq!(taken.kind(), ErrorKind::AlreadyExists);
    let bad = admin.create_alias("bad name", &kl("k")).await.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
    admin.delete_alias("pay").await.unwrap();
    assert_eq!(
        admin.delete_alias("pay").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    admin.set_access_policy(rotator_policy()).await.unwrap();

    let rows = rows(&service).await;
    let kinds = |action: &str| -> Vec<(AuditOutcome, Option<String>)> {
        outcomes(&rows, action)
            .iter()
            .map(|r| (r.outcome, r.error_kind.clone()))
            .collect()
    };
    let ok = (AuditOutcome::Success, None);
    let failed = |kind: &str| (AuditOutcome::Failure, Some(kind.to_owned()));
    assert_eq!(kinds("tokens:create"), vec![ok.clone()]);
    assert_eq!(
        kinds("tokens:revoke"),
        vec![ok.clone(), failed("not_found")]
    );
    assert_eq!(
        kinds("aliases:write"),
        vec![
            ok.clone(),
            failed("already_exists"),
            failed("invalid_argument"),
            ok.clone(),
            failed("not_found"),
        ]
    );
    assert_eq!(kinds("policy:set"), vec![ok]);
    for r in rows.iter().filter(|r| r.intent_seq.is_some()) {
        let intent = rows.iter().find(|i| Some(i.seq) == r.intent_seq).unwrap();
        assert_eq!(intent.outcome, AuditOutcome::Unknown);
        assert_eq!(
            (&intent.action, &intent.request_id),
            (&r.action, &r.request_id)
        );
    }
    // The rows written inside the object transactions sit in the one chain.
    let seqs: Vec<u64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=rows.len() as u64).collect::<Vec<_>>());
    let v = service.audit().verify().await.unwrap();
    assert!(v.first_broken.is_none(), "{v:?}");
    assert_eq!(v.unresolved_intents, 0);
}
