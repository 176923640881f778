//! Multi-key envelopes and re-wrapping in the service: any one key opens, each key is
//! authorized and audited alone, the minimum-key rules hold at encrypt and re-wrap time.

use std::sync::Arc;

use keygate_core::access::{AccessPolicy, Identity};
use keygate_core::api::Gateway;
use keygate_core::audit::{AuditOutcome, AuditQuery};
use keygate_core::envelope::{self, EnvelopeHeader};
use keygate_core::{
    CreateKeyRequest, DynProvider, EncryptionContext, ErrorKind, KeyLocator, KeySpec,
};
use keygate_providers::local::LocalProvider;

use super::tests::kl;
use super::{Service, Source};
use crate::audit::AuditConfig;
use crate::cache::CacheConfig;
use crate::config::{EnvelopeConfig, EnvelopeRule};
use crate::registry::Registry;
use crate::store::GatewayStore;

/// Three local providers, `a`, `b` and `escrow`, with one AES key each (`ka`, `kb`, `ke`;
/// `ka` labelled `tier=critical`), under `config`.
async fn start(config: EnvelopeConfig) -> Arc<Service> {
    let mut providers: Vec<DynProvider> = Vec::new();
    for name in ["a", "b", "escrow"] {
        let p = LocalProvider::builder()
            .with_name(name)
            .build()
            .await
            .unwrap();
        providers.push(Arc::new(p));
    }
    let store = GatewayStore::in_memory().await.unwrap();
    let registry = Registry::new(providers, store).unwrap();
    let mut service = Service::new(registry, &AuditConfig::default(), &CacheConfig::default())
        .await
        .unwrap();
    Service::configure_envelopes(&mut service, config).unwrap();
    let admin = service.local_admin();
    for (provider, name) in [("a", "ka"), ("b", "kb"), ("escrow", "ke")] {
        let mut req = CreateKeyRequest::new(name, KeySpec::Aes256);
        if name == "ka" {
            req.labels.insert("tier".into(), "critical".into());
        }
        admin.create_key(Some(provider), req).await.unwrap();
    }
    service
}

fn uri(name: &str) -> String {
    let provider = match name {
        "ka" => "a",
        "kb" => "b",
        _ => "escrow",
    };
    format!("local://{provider}/{name}")
}

/// A session whose role may decrypt with (and describe) the key named `only`.
async fn only_decrypts_with(service: &Arc<Service>, only: &str) -> super::Session {
    let policy = AccessPolicy::from_toml(&format!(
        r#"
        [roles.reader]
        description = "decrypts with one key"
        [[roles.reader.statements]]
        effect = "allow"
        actions = ["crypto:decrypt", "keys:describe"]
        keys = {{ name = "{only}" }}
        "#
    ))
    .unwrap();
    service
        .local_admin()
        .set_access_policy(policy)
        .await
        .unwrap();
    service.session(
        Identity {
            principal: format!("reader-{only}"),
            role: "reader".into(),
        },
        Source::Rest,
    )
}

async fn rows_for(service: &Arc<Service>, action: &str) -> Vec<(Option<String>, AuditOutcome)> {
    let page = service
        .audit()
        .query(&AuditQuery {
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    page.items
        .into_iter()
        .filter(|e| e.action == action && e.outcome != AuditOutcome::Unknown)
        .map(|e| (e.key, e.outcome))
        .collect()
}

fn keys(names: &[&str]) -> Vec<KeyLocator> {
    names.iter().map(kl).collect()
}

#[tokio::test]
async fn any_one_key_opens_and_each_key_is_authorized_and_audited_alone() {
    let service = start(EnvelopeConfig {
        decrypt_order: vec!["escrow".into(), "b".into()],
        require: vec![],
    })
    .await;
    let admin = service.local_admin();
    let ctx = EncryptionContext::new().with("app", "billing");
    let sealed = admin
        .encrypt_for_keys(&keys(&["ka", "kb", "ke"]), b"survives a cloud", &ctx)
        .await
        .unwrap();
    let (header, _) = EnvelopeHeader::decode(&sealed).unwrap();
    let uris: Vec<String> = header.recipients().into_iter().map(|r| r.key_uri).collect();
    assert_eq!(uris, vec![uri("ka"), uri("kb"), uri("ke")]);
    let encrypts = rows_for(&service, "crypto:encrypt").await;
    for k in ["ka", "kb", "ke"] {
        assert!(
            encrypts.contains(&(Some(uri(k)), AuditOutcome::Success)),
            "{k}: {encrypts:?}"
        );
    }
    // The admin may use every key: the preferred provider opens it.
    let opened = admin.decrypt(&sealed, &ctx).await.unwrap();
    assert_eq!(opened.plaintext.as_slice(), b"survives a cloud");
    assert_eq!(opened.key_uri, uri("ke"));

    // Each key alone opens it, for a caller allowed only that key; the refused tries
    // before it are audited as denied.
    for only in ["ka", "kb", "ke"] {
        let reader = only_decrypts_with(&service, only).await;
        let opened = reader.decrypt(&sealed, &ctx).await.unwrap();
        assert_eq!(opened.plaintext.as_slice(), b"survives a cloud");
        assert_eq!(opened.key_uri, uri(only));
    }
    let decrypts = rows_for(&service, "crypto:decrypt").await;
    assert!(decrypts.contains(&(Some(uri("ke")), AuditOutcome::Denied)));
    assert!(decrypts.contains(&(Some(uri("ka")), AuditOutcome::Success)));

    // A caller allowed none of them fails, refused on each.
    let nobody = only_decrypts_with(&service, "no-such-key").await;
    assert_eq!(
        nobody.decrypt(&sealed, &ctx).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // Streaming: a multi-key header from begin opens with open_envelope.
    let sealing = admin
        .begin_envelope_for_keys(&keys(&["kb", "ka"]), &ctx)
        .await
        .unwrap();
    assert_eq!(sealing.header.extra_recipients.len(), 1);
    let data_key = admin.open_envelope(&sealing.header, &ctx).await.unwrap();
    assert_eq!(data_key, sealing.data_key);
    // The same key twice is refused before any key is used.
    assert_eq!(
        admin
            .encrypt_for_keys(&keys(&["ka", "local://a/ka"]), b"x", &ctx)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

#[tokio::test]
async fn a_copy_of_another_data_key_is_refused_by_the_commitment() {
    let service = start(EnvelopeConfig {
        decrypt_order: vec!["b".into()],
        require: vec![],
    })
    .await;
    let admin = service.local_admin();
    let ctx = EncryptionContext::new();
    let x = admin
        .encrypt_for_keys(&keys(&["ka", "kb"]), b"x", &ctx)
        .await
        .unwrap();
    let y = admin
        .encrypt_for_keys(&keys(&["ka", "kb"]), b"y", &ctx)
        .await
        .unwrap();
    let (hx, _) = EnvelopeHeader::decode(&x).unwrap();
    let (mut hy, yl) = EnvelopeHeader::decode(&y).unwrap();
    // Y's copy under kb swapped for X's: kb unwraps X's data key, which Y is not committed
    // to; the try fails and `ka` opens Y.
    hy.extra_recipients[0] = hx.extra_recipients[0].clone();
    let mut forged = hy.encode().unwrap();
    forged.extend_from_slice(&y[yl..]);
    let opened = admin.decrypt(&forged, &ctx).await.unwrap();
    assert_eq!(opened.plaintext.as_slice(), b"y");
    assert_eq!(opened.key_uri, uri("ka"));
    let decrypts = rows_for(&service, "crypto:decrypt").await;
    assert!(decrypts.contains(&(Some(uri("kb")), AuditOutcome::Failure)));
}

#[tokio::test]
async fn the_minimum_key_rule_holds_at_encrypt_and_rewrap() {
    let service = start(EnvelopeConfig {
        decrypt_order: vec![],
        require: vec![EnvelopeRule {
            label: "tier=critical".into(),
            provider: "escrow".into(),
        }],
    })
    .await;
    let admin = service.local_admin();
    let ctx = EncryptionContext::new();
    let refused = admin.encrypt(&kl("ka"), b"x", &ctx).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidArgument);
    assert!(refused.to_string().contains("escrow"), "{refused}");
    assert_eq!(
        admin
            .encrypt_for_keys(&keys(&["ka", "kb"]), b"x", &ctx)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    // Refused before any key was used: no intent row for a wrap.
    let page = service
        .audit()
        .query(&AuditQuery {
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert!(
        !page
            .items
            .iter()
            .any(|e| e.action == "crypto:encrypt" && e.outcome == AuditOutcome::Unknown)
    );
    // Unlabelled keys need nothing; a critical key with an escrow key is fine.
    admin.encrypt(&kl("kb"), b"x", &ctx).await.unwrap();
    let sealed = admin
        .encrypt_for_keys(&keys(&["ka", "ke"]), b"x", &ctx)
        .await
        .unwrap();
    let (header, _) = EnvelopeHeader::decode(&sealed).unwrap();
    // Dropping the escrow copy of a critical envelope is refused too.
    assert_eq!(
        admin
            .rewrap_envelope(&header, &[], &keys(&["ke"]), &ctx)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    // Swapping the escrow copy for one under kb leaves no escrow key: refused. Adding kb
    // alongside it is fine.
    assert_eq!(
        admin
            .rewrap_envelope(&header, &keys(&["kb"]), &keys(&["ke"]), &ctx)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
    admin
        .rewrap_envelope(&header, &keys(&["kb"]), &[], &ctx)
        .await
        .unwrap();
}

#[tokio::test]
async fn rewrap_changes_keys_and_keeps_the_payload() {
    let service = start(EnvelopeConfig::default()).await;
    let admin = service.local_admin();
    let ctx = EncryptionContext::new().with("t", "1");
    let plaintext = vec![42u8; 200_000];
    let sealed = admin.encrypt(&kl("ka"), &plaintext, &ctx).await.unwrap();
    let (header, hl) = EnvelopeHeader::decode(&sealed).unwrap();
    let moved = admin
        .rewrap_envelope(&header, &keys(&["kb", "ke"]), &keys(&["ka"]), &ctx)
        .await
        .unwrap();
    // Same length: it can overwrite the old header in place; the payload is untouched.
    let new_header = moved.encode().unwrap();
    assert_eq!(new_header.len(), hl);
    let mut rewrapped = new_header;
    rewrapped.extend_from_slice(&sealed[hl..]);
    let uris: Vec<String> = moved.recipients().into_iter().map(|r| r.key_uri).collect();
    assert_eq!(uris, vec![uri("kb"), uri("ke")]);
    for only in ["kb", "ke"] {
        let reader = only_decrypts_with(&service, only).await;
        let opened = reader.decrypt(&rewrapped, &ctx).await.unwrap();
        assert_eq!(opened.plaintext.as_slice(), &plaintext[..]);
    }
    // The removed key no longer opens it.
    let old = only_decrypts_with(&service, "ka").await;
    assert_eq!(
        old.decrypt(&rewrapped, &ctx).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    let admin = service.local_admin();
    // Bad requests are typed: a key it does not carry, one it carries, none left, nothing.
    for (add, remove) in [
        (vec![], vec!["ka"]),
        (vec!["kb"], vec![]),
        (vec![], vec!["kb", "ke"]),
        (vec![], vec![]),
    ] {
        assert_eq!(
            admin
                .rewrap_envelope(&moved, &keys(&add), &keys(&remove), &ctx)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidArgument,
            "{add:?} {remove:?}"
        );
    }
    // A format 1 envelope cannot be re-wrapped: its payload binds its key.
    let mut v1 = EnvelopeHeader::new("a", uri("ka"), "1", ctx.clone(), vec![1; 40]);
    v1.format = envelope::FORMAT_V1;
    v1.padding = 0;
    assert_eq!(
        admin
            .rewrap_envelope(&v1, &keys(&["kb"]), &[], &ctx)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported
    );
}
