//! The GCP Cloud KMS provider against keygate's own GCP dialect: the conformance suite and
//! GCP-specific behaviour (versions, destroy/restore, IAM etags, AAD interoperability with
//! other Cloud KMS clients, keys made elsewhere, errors).

use google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use google_cloud_kms_v1::client::KeyManagementService;
use google_cloud_kms_v1::model::crypto_key::CryptoKeyPurpose;
use google_cloud_kms_v1::model::crypto_key_version::{
    CryptoKeyVersionAlgorithm as Alg, CryptoKeyVersionState as State,
};
use google_cloud_kms_v1::model::{CryptoKey, CryptoKeyVersionTemplate};
use keygate_core::{
    Binding, CreateKeyRequest, EncryptionContext, ErrorKind, KeyProvider, KeySpec, KeyState,
    KeyUpdate, KeyUsage, Labels, Policy, SigningAlgorithm, VersionState,
};
use keygate_providers::gcp::{GcpConfig, GcpKmsProvider};

use super::backing::{Backing, backing};

/// The project the conformance keys are made under (the dialect accepts any).
const PROJECT: &str = "conformance";
/// The dialect's location for the backing gateway's local provider.
const LOCATION: &str = "local";
/// The ring the provider lists from and creates in.
const RING: &str = "conformance-ring";

/// Credentials that send a fixed keygate bearer token.
#[derive(Debug)]
pub(crate) struct KeygateToken(pub(crate) String);

impl CredentialsProvider for KeygateToken {
    async fn headers(
        &self,
        _extensions: http::Extensions,
    ) -> Result<CacheableResource<http::HeaderMap>, google_cloud_auth::errors::CredentialsError>
    {
        let mut headers = http::HeaderMap::new();
        let value = http::HeaderValue::from_str(&format!("Bearer {}", self.0)).unwrap();
        headers.insert(http::header::AUTHORIZATION, value);
        Ok(CacheableResource::New {
            entity_tag: EntityTag::new(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
}

fn config(b: &Backing, ring: &str) -> GcpConfig {
    GcpConfig {
        project: PROJECT.into(),
        location: Some(LOCATION.into()),
        key_ring: Some(ring.into()),
        create_key_ring: Some(true),
        // The ring exists before the tests use the provider, however busy the machine.
        probe_wait_ms: Some(20_000),
        endpoint: Some(b.base.clone()),
        ..GcpConfig::default()
    }
}

async fn provider_with(config: GcpConfig, token: &str) -> GcpKmsProvider {
    GcpKmsProvider::builder()
        .with_name("gcp-conformance")
        .with_config(&config)
        .with_credentials(Credentials::from(KeygateToken(token.to_owned())))
        .build()
        .await
        .unwrap()
}

async fn provider() -> GcpKmsProvider {
    let b = backing();
    provider_with(config(b, RING), &b.token).await
}

/// The official client, straight at the dialect, for what a provider does not show.
async fn raw_client() -> KeyManagementService {
    let b = backing();
    KeyManagementService::builder()
        .with_endpoint(b.base.clone())
        .with_credentials(Credentials::from(KeygateToken(b.token.clone())))
        .build()
        .await
        .unwrap()
}

fn key_name(ring: &str, id: &str) -> String {
    format!("projects/{PROJECT}/locations/{LOCATION}/keyRings/{ring}/cryptoKeys/{id}")
}

fn unique(tag: &str) -> String {
    format!("gcpp-{tag}-{:x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

mod conformance {
    keygate_conformance::conformance_tests!(async { super::provider().await });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_makes_the_newest_version_primary_for_every_purpose() {
    let p = provider().await;
    for (spec, usage) in [
        (KeySpec::Aes256, KeyUsage::Encrypt),
        (KeySpec::EcP256, KeyUsage::Sign),
        (KeySpec::Rsa2048, KeyUsage::Encrypt),
        (KeySpec::HmacSha256, KeyUsage::Mac),
    ] {
        let req = CreateKeyRequest {
            usage: Some(usage),
            ..CreateKeyRequest::new(unique("rotate"), spec)
        };
        let key = p.create_key(req).await.unwrap();
        assert_eq!(key.primary_version.as_deref(), Some("1"), "{spec}");
        let ct = if usage == KeyUsage::Encrypt {
            Some(
                p.encrypt(&key.id, b"v1", &EncryptionContext::new())
                    .await
                    .unwrap(),
            )
        } else {
            None
        };
        let v2 = p.rotate_key(&key.id).await.unwrap();
        let v3 = p.rotate_key(&key.id).await.unwrap();
        assert_eq!((v2.id.as_str(), v3.id.as_str()), ("2", "3"), "{spec}");
        let versions = p.list_versions(&key.id).await.unwrap();
        let ids: Vec<(&str, bool, VersionState)> = versions
            .iter()
            .map(|v| (v.id.as_str(), v.primary, v.state))
            .collect();
        assert_eq!(
            ids,
            [
                ("1", false, VersionState::Enabled),
                ("2", false, VersionState::Enabled),
                ("3", true, VersionState::Enabled)
            ],
            "{spec}"
        );
        let described = p.describe_key(&key.id).await.unwrap();
        assert_eq!(described.primary_version.as_deref(), Some("3"), "{spec}");
        if let Some(ct) = ct {
            // Version 1's ciphertext still opens; new ones are version 3's.
            let pt = p
                .decrypt(Some(&key.id), None, &ct.bytes, &EncryptionContext::new())
                .await
                .unwrap();
            assert_eq!(pt.as_slice(), b"v1");
            let new = p
                .encrypt(&key.id, b"v3", &EncryptionContext::new())
                .await
                .unwrap();
            assert_eq!(new.key_version, "3");
        }
        if spec == KeySpec::Aes256 {
            // Cloud KMS's own view: the primary moved with the rotation.
            let raw = raw_client()
                .await
                .get_crypto_key()
                .set_name(key_name(RING, &key.id))
                .send()
                .await
                .unwrap();
            assert!(raw.primary.unwrap().name.ends_with("/cryptoKeyVersions/3"));
            let again = p.set_primary_version(&key.id, "3").await.unwrap();
            assert_eq!(again.primary_version.as_deref(), Some("3"));
        } else {
            let err = p.set_primary_version(&key.id, "3").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{spec}: {err}");
        }
        p.schedule_deletion(&key.id, 30).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_destroys_every_version_and_restores_them_disabled() {
    let p = provider().await;
    let key = p
        .create_key(CreateKeyRequest::new(unique("destroy"), KeySpec::EcP384))
        .await
        .unwrap();
    p.rotate_key(&key.id).await.unwrap();
    let wrong = p.schedule_deletion(&key.id, 7).await.unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::InvalidArgument);
    assert!(wrong.to_string().contains("30"), "{wrong}");

    let pending = p.schedule_deletion(&key.id, 30).await.unwrap();
    let KeyState::PendingDeletion { deletion_date } = pending.state else {
        panic!("state {}", pending.state);
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expected = now + 30 * 86_400;
    assert!((deletion_date.unix_timestamp() - expected).abs() < 3600);
    let versions = p.list_versions(&key.id).await.unwrap();
    assert!(
        versions
            .iter()
            .all(|v| v.state == VersionState::DestroyScheduled),
        "{versions:?}"
    );
    let kms = raw_client().await;
    let raw = kms
        .list_crypto_key_versions()
        .set_parent(key_name(RING, &key.id))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.crypto_key_versions.len(), 2);
    assert!(
        raw.crypto_key_versions
            .iter()
            .all(|v| v.state == State::DestroyScheduled && v.destroy_time.is_some())
    );
    let again = p.schedule_deletion(&key.id, 30).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::InvalidState);

    let restored = p.cancel_deletion(&key.id).await.unwrap();
    assert_eq!(restored.state, KeyState::Disabled);
    let versions = p.list_versions(&key.id).await.unwrap();
    assert!(versions.iter().all(|v| v.state == VersionState::Disabled));
    let err = p.cancel_deletion(&key.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    let enabled = p.enable_key(&key.id).await.unwrap();
    assert_eq!(enabled.state, KeyState::Enabled);
    p.sign(
        &key.id,
        None,
        keygate_core::SignInput::Message(b"back"),
        SigningAlgorithm::EcdsaSha384,
    )
    .await
    .unwrap();
    p.schedule_deletion(&key.id, 30).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_destroy_scheduled_duration_is_the_deletion_window() {
    let b = backing();
    let p = provider_with(
        GcpConfig {
            destroy_scheduled_days: Some(10),
            ..config(b, "ten-day-ring")
        },
        &b.token,
    )
    .await;
    let window = p.capabilities().deletion_window;
    assert_eq!((window.min, window.max), (10, 10));
    // Refused before any call: an unknown key is not even looked up.
    let err = p.schedule_deletion("no-such-key", 30).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let key = p
        .create_key(CreateKeyRequest::new(unique("ten"), KeySpec::Aes256))
        .await
        .unwrap();
    let raw = raw_client()
        .await
        .get_crypto_key()
        .set_name(key_name("ten-day-ring", &key.id))
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.destroy_scheduled_duration.unwrap().seconds(),
        10 * 86_400
    );
    let pending = p.schedule_deletion(&key.id, 10).await.unwrap();
    assert!(matches!(pending.state, KeyState::PendingDeletion { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_etags_guard_concurrent_changes() {
    let p = provider().await;
    let key = p
        .create_key(CreateKeyRequest::new(unique("iam"), KeySpec::Aes256))
        .await
        .unwrap();
    let first = p.get_key_policy(&key.id).await.unwrap();
    let etag = first
        .etag
        .clone()
        .expect("Cloud KMS policies carry an etag");
    assert_eq!(first.native.as_ref().unwrap().format, "gcp-iam");
    let alice = Binding::role(
        "user:alice@example.com",
        "roles/cloudkms.cryptoKeyEncrypterDecrypter",
    );
    let set = p
        .set_key_policy(
            &key.id,
            Policy {
                etag: Some(etag.clone()),
                ..Policy::from_bindings(vec![alice.clone()])
            },
        )
        .await
        .unwrap();
    assert_eq!(set.bindings, vec![alice]);
    assert_ne!(set.etag.as_deref(), Some(etag.as_str()));
    // The etag read before that change is stale now.
    let stale = p
        .set_key_policy(
            &key.id,
            Policy {
                etag: Some(etag),
                ..Policy::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), ErrorKind::InvalidState, "{stale}");
    // Cloud KMS grants roles: a binding of actions has no IAM form.
    let actions = p
        .set_key_policy(
            &key.id,
            Policy::from_bindings(vec![Binding::actions("user:bob@example.com", ["encrypt"])]),
        )
        .await
        .unwrap_err();
    assert_eq!(actions.kind(), ErrorKind::InvalidArgument);
    // The native document sets back as it is.
    let read = p.get_key_policy(&key.id).await.unwrap();
    let back = p
        .set_key_policy(
            &key.id,
            Policy {
                bindings: Vec::new(),
                ..read.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(back.normalized_bindings(), read.normalized_bindings());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_is_the_aad_other_cloud_kms_clients_use() {
    let p = provider().await;
    let key = p
        .create_key(CreateKeyRequest::new(unique("aad"), KeySpec::Aes256))
        .await
        .unwrap();
    let ctx = EncryptionContext::new()
        .with("tenant", "acme")
        .with("purpose", "invoices");
    let aad = ctx.canonical_bytes();
    let kms = raw_client().await;
    let name = key_name(RING, &key.id);
    // Made by another Cloud KMS client with the context's canonical bytes as AAD.
    let made = kms
        .encrypt()
        .set_name(&name)
        .set_plaintext(b"from elsewhere".to_vec())
        .set_additional_authenticated_data(aad.clone())
        .send()
        .await
        .unwrap();
    let pt = p
        .decrypt(Some(&key.id), None, &made.ciphertext, &ctx)
        .await
        .unwrap();
    assert_eq!(pt.as_slice(), b"from elsewhere");
    let other = EncryptionContext::new().with("tenant", "acme");
    let err = p
        .decrypt(Some(&key.id), None, &made.ciphertext, &other)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntegrityFailure);
    // And the other way round.
    let ours = p.encrypt(&key.id, b"from keygate", &ctx).await.unwrap();
    let opened = kms
        .decrypt()
        .set_name(&name)
        .set_ciphertext(ours.bytes.clone())
        .set_additional_authenticated_data(aad)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext.as_ref(), b"from keygate");
    let no_aad = kms
        .decrypt()
        .set_name(&name)
        .set_ciphertext(ours.bytes)
        .send()
        .await;
    assert!(no_aad.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_made_elsewhere_keep_their_algorithm() {
    let p = provider().await;
    let kms = raw_client().await;
    let id = unique("pkcs1");
    kms.create_crypto_key()
        .set_parent(format!(
            "projects/{PROJECT}/locations/{LOCATION}/keyRings/{RING}"
        ))
        .set_crypto_key_id(&id)
        .set_crypto_key(
            CryptoKey::new()
                .set_purpose(CryptoKeyPurpose::AsymmetricSign)
                .set_version_template(
                    CryptoKeyVersionTemplate::new().set_algorithm(Alg::RsaSignPkcs12048Sha256),
                ),
        )
        .send()
        .await
        .unwrap();
    let meta = p.describe_key(&id).await.unwrap();
    assert_eq!((meta.spec, meta.usage), (KeySpec::Rsa2048, KeyUsage::Sign));
    let sig = p
        .sign(
            &id,
            None,
            keygate_core::SignInput::Message(b"message"),
            SigningAlgorithm::RsaPkcs1Sha256,
        )
        .await
        .unwrap();
    assert!(
        p.verify(
            &id,
            None,
            keygate_core::SignInput::Message(b"message"),
            &sig.bytes,
            SigningAlgorithm::RsaPkcs1Sha256,
        )
        .await
        .unwrap()
    );
    let pss = p
        .sign(
            &id,
            None,
            keygate_core::SignInput::Message(b"message"),
            SigningAlgorithm::RsaPssSha256,
        )
        .await
        .unwrap_err();
    assert_eq!(pss.kind(), ErrorKind::InvalidArgument, "{pss}");
    assert!(
        p.list_versions(&id).await.unwrap()[0].primary,
        "its only version is the primary"
    );
    p.schedule_deletion(&id, 30).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_follow_gcp_rules_and_the_description_rides_in_labels() {
    let p = provider().await;
    let mut labels = Labels::new();
    labels.insert("team".into(), "payments".into());
    let key = p
        .create_key(CreateKeyRequest {
            description: "Invoices, 2030 — EU".into(),
            labels: labels.clone(),
            ..CreateKeyRequest::new(unique("labels"), KeySpec::Aes256)
        })
        .await
        .unwrap();
    assert_eq!(key.description, "Invoices, 2030 — EU");
    assert_eq!(key.labels, labels);
    let raw = raw_client()
        .await
        .get_crypto_key()
        .set_name(key_name(RING, &key.id))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.labels.get("team").map(String::as_str), Some("payments"));
    assert!(
        raw.labels.contains_key("keygate-description-0"),
        "{:?}",
        raw.labels
    );
    for (k, v) in [
        ("Team", "x"),
        ("team", "Payments"),
        ("keygate-description-0", "x"),
    ] {
        let mut set = Labels::new();
        set.insert(k.into(), v.into());
        let err = p
            .update_key(
                &key.id,
                KeyUpdate {
                    set_labels: set,
                    ..KeyUpdate::default()
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{k}={v}");
    }
    p.schedule_deletion(&key.id, 30).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_map_from_status_codes() {
    let b = backing();
    let p = provider().await;
    let missing = p.describe_key("no-such-key").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let bad_id = p.describe_key("not a key id").await.unwrap_err();
    assert_eq!(bad_id.kind(), ErrorKind::InvalidArgument);
    let name = unique("dup");
    p.create_key(CreateKeyRequest::new(name.clone(), KeySpec::HmacSha256))
        .await
        .unwrap();
    let dup = p
        .create_key(CreateKeyRequest::new(name.clone(), KeySpec::HmacSha256))
        .await
        .unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists);
    let no_decrypt = p
        .decrypt(None, None, b"anything", &EncryptionContext::new())
        .await
        .unwrap_err();
    assert_eq!(no_decrypt.kind(), ErrorKind::InvalidArgument);

    let mut no_ring = config(b, RING);
    no_ring.create_key_ring = None;
    let stranger = provider_with(no_ring, "kgt_not-a-real-token").await;
    let unauthenticated = stranger.describe_key(&name).await.unwrap_err();
    assert_eq!(unauthenticated.kind(), ErrorKind::Unauthenticated);
    assert!(!unauthenticated.to_string().contains("not-a-real-token"));

    // Nothing listens on port 9 of the loopback: building works, calls are Unavailable.
    let mut down = config(b, RING);
    down.endpoint = Some("http://127.0.0.1:9".into());
    let down = provider_with(down, &b.token).await;
    let unavailable = down.describe_key(&name).await.unwrap_err();
    assert_eq!(unavailable.kind(), ErrorKind::Unavailable, "{unavailable}");
    p.schedule_deletion(&name, 30).await.unwrap();
}

#[path = "gcp_provider/versions.rs"]
mod versions;
