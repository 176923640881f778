//! The Azure Key Vault provider against keygate's own Azure dialect: the conformance suite
//! and Azure-specific behaviour (the AES_256 envelope, the deletion window, recovery, tags,
//! role assignments, errors).
//!
//! The provider reaches the backing gateway's Azure listener over TLS, trusting the CA
//! keygate generated (`ca_file`), with a keygate bearer token as its credential. keygate's
//! challenge names `https://vault.azure.net`, which is not a parent of `127.0.0.1`, so the
//! resource check of the challenge is off here; Resource Manager is the same listener.

use std::sync::Arc;

use azure_core::http::{ClientOptions, RetryOptions, Transport};
use azure_security_keyvault_keys::{KeyClient, KeyClientOptions};
use keygate_core::{
    CreateKeyRequest, EncryptionContext, ErrorKind, KeyProvider, KeySpec, KeyState, KeyUpdate,
    KeyUsage, Labels,
};
use keygate_providers::azure::{AzureConfig, AzureKeyVaultProvider, StaticToken};

use super::backing::{Backing, backing};

/// The dialect's soft-delete retention: the local provider's longest deletion window.
const RETENTION_DAYS: u32 = 30;
/// The subscription and resource group role assignments are made under (the dialect takes
/// any).
const SUBSCRIPTION: &str = "00000000-0000-0000-0000-00000000c0de";
const RESOURCE_GROUP: &str = "keygate-conformance";

fn config(b: &Backing) -> AzureConfig {
    AzureConfig {
        vault_url: b.azure_url.clone(),
        ca_file: Some(b.azure_ca.clone()),
        verify_challenge_resource: Some(false),
        vault_name: Some(b.vault_name.clone()),
        soft_delete_retention_days: Some(RETENTION_DAYS),
        subscription_id: Some(SUBSCRIPTION.into()),
        resource_group: Some(RESOURCE_GROUP.into()),
        management_endpoint: Some(b.azure_url.clone()),
        ..AzureConfig::default()
    }
}

async fn provider_with(config: AzureConfig, token: &str) -> AzureKeyVaultProvider {
    AzureKeyVaultProvider::builder()
        .with_name("azure-conformance")
        .with_config(&config)
        .with_credential(Arc::new(StaticToken::new(token.to_owned())))
        .build()
        .await
        .unwrap()
}

async fn provider() -> AzureKeyVaultProvider {
    let b = backing();
    provider_with(config(b), &b.token).await
}

/// The official client, straight at the dialect, for what the provider does not show.
fn raw_client() -> KeyClient {
    let b = backing();
    let ca = std::fs::read(&b.azure_ca).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap();
    let options = KeyClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            retry: RetryOptions::none(),
            ..Default::default()
        },
        verify_challenge_resource: Some(false),
        ..Default::default()
    };
    KeyClient::new(
        &b.azure_url,
        Arc::new(StaticToken::new(b.token.clone())),
        Some(options),
    )
    .unwrap()
}

fn unique(tag: &str) -> String {
    use std::hash::{BuildHasher, RandomState};
    let n = RandomState::new().hash_one(std::time::SystemTime::now());
    format!("azp-{tag}-{n:x}")
}

mod conformance {
    keygate_conformance::conformance_tests!(async { super::provider().await });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aes_keys_are_envelopes_that_bind_the_context_and_refuse_tampering() {
    let p = provider().await;
    let key = p
        .create_key(CreateKeyRequest::new(unique("env"), KeySpec::Aes256))
        .await
        .unwrap();
    assert_eq!((key.spec, key.usage), (KeySpec::Aes256, KeyUsage::Encrypt));

    // The vault holds an RSA key that only wraps, tagged as keygate's AES_256.
    let raw = raw_client()
        .get_key(&key.id, None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let jwk = raw.key.unwrap();
    assert_eq!(
        jwk.kty,
        Some(azure_security_keyvault_keys::models::KeyType::Rsa)
    );
    assert_eq!(jwk.n.unwrap().len(), 384, "an RSA-3072 key");
    let tags = raw.tags.unwrap();
    assert_eq!(
        tags.get("keygate-spec").map(String::as_str),
        Some("AES_256")
    );

    let ctx = EncryptionContext::new().with("tenant", "acme");
    let ct = p.encrypt(&key.id, b"envelope secret", &ctx).await.unwrap();
    assert_eq!(&ct.bytes[..6], b"KGAZ\x01\x01", "keygate's blob, format 1");
    assert_eq!(Some(&ct.key_version), key.primary_version.as_ref());
    assert!(
        !ct.bytes
            .windows(b"envelope secret".len())
            .any(|w| w == b"envelope secret")
    );
    // Another provider instance over the same vault opens it: nothing is kept locally.
    let other = provider().await;
    let pt = other
        .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
        .await
        .unwrap();
    assert_eq!(pt.as_slice(), b"envelope secret");

    // Every byte matters: header, version, wrapped key, nonce, ciphertext, tag.
    let len = ct.bytes.len();
    for i in [0, 4, 5, 6, 8, 40, 60, 200, len - 30, len - 1] {
        let mut bad = ct.bytes.clone();
        bad[i] ^= 0x01;
        match p.decrypt(Some(&key.id), None, &bad, &ctx).await {
            Ok(_) => panic!("a blob with byte {i} altered decrypted"),
            Err(err) => assert_eq!(err.kind(), ErrorKind::IntegrityFailure, "byte {i}: {err}"),
        }
    }
    let err = p
        .decrypt(Some(&key.id), None, &ct.bytes[..len - 1], &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntegrityFailure);
    let err = p
        .decrypt(Some(&key.id), None, &ct.bytes, &EncryptionContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntegrityFailure);

    // After a rotation the old blob still opens (it names its version), new ones use the new.
    let v2 = p.rotate_key(&key.id).await.unwrap();
    let again = p
        .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
        .await
        .unwrap();
    assert_eq!(again.as_slice(), b"envelope secret");
    let ct2 = p.encrypt(&key.id, b"after rotation", &ctx).await.unwrap();
    assert_eq!(ct2.key_version, v2.id);
    p.schedule_deletion(&key.id, RETENTION_DAYS).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deletion_window_is_the_retention_and_recovery_leaves_the_key_disabled() {
    let p = provider().await;
    let window = p.capabilities().deletion_window;
    assert_eq!((window.min, window.max), (RETENTION_DAYS, RETENTION_DAYS));
    let key = p
        .create_key(CreateKeyRequest::new(unique("delete"), KeySpec::EcP256))
        .await
        .unwrap();
    let err = p.schedule_deletion(&key.id, 7).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("30 days"), "{err}");
    assert_eq!(
        p.describe_key(&key.id).await.unwrap().state,
        KeyState::Enabled
    );

    let pending = p.schedule_deletion(&key.id, RETENTION_DAYS).await.unwrap();
    assert!(matches!(pending.state, KeyState::PendingDeletion { .. }));
    // Soft-deleted: the vault shows it among deleted keys, keygate still describes and lists it.
    raw_client().get_deleted_key(&key.id, None).await.unwrap();
    let described = p.describe_key(&key.id).await.unwrap();
    assert!(matches!(described.state, KeyState::PendingDeletion { .. }));
    let listed = keygate_core::KeyProviderExt::list_all_keys(&p)
        .await
        .unwrap();
    let found = listed.iter().find(|m| m.id == key.id).unwrap();
    assert!(matches!(found.state, KeyState::PendingDeletion { .. }));
    // The name is held while the key is deleted.
    let err = p
        .create_key(CreateKeyRequest::new(key.id.clone(), KeySpec::EcP256))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.to_string().contains("deleted"), "{err}");

    let recovered = p.cancel_deletion(&key.id).await.unwrap();
    assert_eq!(recovered.state, KeyState::Disabled);
    let raw = raw_client()
        .get_key(&key.id, None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(raw.attributes.unwrap().enabled, Some(false));
    let err = p.cancel_deletion(&key.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    p.schedule_deletion(&key.id, RETENTION_DAYS).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygate_tags_are_hidden_from_labels_and_reserved() {
    let p = provider().await;
    let mut labels = Labels::new();
    labels.insert("team".into(), "payments".into());
    let req = CreateKeyRequest {
        description: "card tokens".into(),
        labels: labels.clone(),
        usage: Some(KeyUsage::Sign),
        ..CreateKeyRequest::new(unique("tags"), KeySpec::Rsa2048)
    };
    let key = p.create_key(req).await.unwrap();
    assert_eq!(key.labels, labels);
    assert_eq!(key.description, "card tokens");
    let raw = raw_client()
        .get_key(&key.id, None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let tags = raw.tags.unwrap();
    assert_eq!(tags.get("team").map(String::as_str), Some("payments"));
    assert_eq!(tags.get("keygate-usage").map(String::as_str), Some("sign"));
    assert_eq!(
        tags.get("keygate-description").map(String::as_str),
        Some("card tokens")
    );

    let mut reserved = Labels::new();
    reserved.insert("keygate-spec".into(), "AES_256".into());
    let err = p
        .update_key(
            &key.id,
            KeyUpdate {
                set_labels: reserved,
                ..KeyUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // The refused update changed nothing: still a signing RSA key.
    let m = p.describe_key(&key.id).await.unwrap();
    assert_eq!((m.spec, m.usage), (KeySpec::Rsa2048, KeyUsage::Sign));
    p.schedule_deletion(&key.id, RETENTION_DAYS).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_made_elsewhere_read_their_spec_from_the_jwk() {
    use azure_security_keyvault_keys::models::{CreateKeyParameters, CurveName, KeyType};
    let p = provider().await;
    let name = unique("foreign");
    let params = CreateKeyParameters {
        kty: Some(KeyType::Ec),
        curve: Some(CurveName::P384),
        ..Default::default()
    };
    raw_client()
        .create_key(&name, params.try_into().unwrap(), None)
        .await
        .unwrap();
    let m = p.describe_key(&name).await.unwrap();
    assert_eq!((m.spec, m.usage), (KeySpec::EcP384, KeyUsage::Sign));
    assert!(m.labels.is_empty());
    let sig = p
        .sign(
            &name,
            None,
            keygate_core::SignInput::Message(b"hello"),
            keygate_core::SigningAlgorithm::EcdsaSha384,
        )
        .await
        .unwrap();
    assert!(
        p.verify(
            &name,
            None,
            keygate_core::SignInput::Message(b"hello"),
            &sig.bytes,
            keygate_core::SigningAlgorithm::EcdsaSha384,
        )
        .await
        .unwrap()
    );
    let pending = p.schedule_deletion(&name, RETENTION_DAYS).await.unwrap();
    assert_eq!(pending.spec, KeySpec::EcP384);
    // Deleted, it still reads as what it was.
    let m = p.describe_key(&name).await.unwrap();
    assert_eq!(m.spec, KeySpec::EcP384);
    assert!(matches!(m.state, KeyState::PendingDeletion { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_map_from_real_answers() {
    let b = backing();
    let p = provider().await;
    // A name Key Vault cannot hold is refused before any call.
    let err = p.describe_key("bad_name").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // A token keygate does not know: 401 from the vault.
    let stranger = provider_with(config(b), "kgt_not-a-real-token").await;
    let err = stranger.describe_key("anything").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(!err.to_string().contains("not-a-real-token"), "{err}");
    // A vault that is not there: unavailable.
    let gone = provider_with(
        AzureConfig {
            vault_url: "https://127.0.0.1:9".into(),
            ..config(b)
        },
        &b.token,
    )
    .await;
    let err = gone.describe_key("anything").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    // HMAC keys: Key Vault has no MAC.
    let err = p
        .create_key(CreateKeyRequest::new(unique("hmac"), KeySpec::HmacSha256))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_is_read_from_the_vault_when_not_configured() {
    let b = backing();
    let p = provider().await;
    // At least one key exists for the vault to report its retention on.
    let key = p
        .create_key(CreateKeyRequest::new(unique("probe"), KeySpec::EcP256))
        .await
        .unwrap();
    let probed = provider_with(
        AzureConfig {
            soft_delete_retention_days: None,
            ..config(b)
        },
        &b.token,
    )
    .await;
    assert_eq!(probed.retention_days(), RETENTION_DAYS);
    let window = probed.capabilities().deletion_window;
    assert_eq!((window.min, window.max), (RETENTION_DAYS, RETENTION_DAYS));
    p.schedule_deletion(&key.id, RETENTION_DAYS).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_role_assignments_at_the_key_scope() {
    use keygate_core::{Binding, Policy};
    let b = backing();
    let p = provider().await;
    let key = p
        .create_key(CreateKeyRequest::new(unique("rbac"), KeySpec::EcP256))
        .await
        .unwrap();
    assert!(p.capabilities().key_policy);
    let principal = "3c9f6a2e-5b1d-4e8f-a7c2-9d0e1f2a3b4c";
    // By name or by GUID: read back by the built-in role's name.
    let wanted = Policy::from_bindings(vec![
        Binding::role(principal, "Key Vault Crypto Officer"),
        Binding::role(principal, "21090545-7ca7-4776-b22c-e363652d74d2"),
    ]);
    let stored = p.set_key_policy(&key.id, wanted).await.unwrap();
    assert_eq!(
        stored.normalized_bindings(),
        Policy::from_bindings(vec![
            Binding::role(principal, "Key Vault Crypto Officer"),
            Binding::role(principal, "Key Vault Reader"),
        ])
        .normalized_bindings()
    );
    let native = stored.native.clone().unwrap();
    assert_eq!(native.format, "azure-rbac");
    assert_eq!(
        native.document["roleAssignments"].as_array().unwrap().len(),
        2
    );
    // The assignments are the backing key's keygate policy, readable there.
    let backing_policy: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/keys/{}/policy", b.base, key.name))
        .bearer_auth(&b.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut roles: Vec<&str> = backing_policy["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["role"].as_str().unwrap())
        .collect();
    roles.sort_unstable();
    assert_eq!(roles, ["Key Vault Crypto Officer", "Key Vault Reader"]);
    // Setting the same again changes nothing (assignment names are derived, not random).
    let again = p.set_key_policy(&key.id, stored.clone()).await.unwrap();
    assert_eq!(again.native, stored.native);
    let err = p
        .set_key_policy(
            &key.id,
            Policy::from_bindings(vec![Binding::role("user:alice", "Key Vault Reader")]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    p.set_key_policy(&key.id, Policy::default()).await.unwrap();
    assert!(p.get_key_policy(&key.id).await.unwrap().bindings.is_empty());
    p.schedule_deletion(&key.id, RETENTION_DAYS).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_managed_hsm_aes_keys_are_native_and_encrypt_with_a256gcm() {
    let b = backing();
    let p = provider_with(
        AzureConfig {
            managed_hsm: Some(true),
            ..config(b)
        },
        &b.token,
    )
    .await;
    assert!(p.is_managed_hsm());
    let key = p
        .create_key(CreateKeyRequest::new(unique("hsm"), KeySpec::Aes256))
        .await
        .unwrap();
    let raw = raw_client()
        .get_key(&key.id, None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    // A symmetric key (keygate's dialect answers `oct` for the `oct-HSM` asked for).
    assert!(matches!(
        raw.key.unwrap().kty,
        Some(
            azure_security_keyvault_keys::models::KeyType::Oct
                | azure_security_keyvault_keys::models::KeyType::OctHsm
        )
    ));
    let ctx = EncryptionContext::new().with("tenant", "acme");
    let ct = p.encrypt(&key.id, b"hsm secret", &ctx).await.unwrap();
    assert_eq!(&ct.bytes[..6], b"KGAZ\x01\x02", "keygate's blob, HSM kind");
    let pt = p
        .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
        .await
        .unwrap();
    assert_eq!(pt.as_slice(), b"hsm secret");
    let err = p
        .decrypt(Some(&key.id), None, &ct.bytes, &EncryptionContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntegrityFailure);
    let mut bad = ct.bytes.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let err = p
        .decrypt(Some(&key.id), None, &bad, &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntegrityFailure);
    // The key's type decides, not the provider's setting: a provider of the same endpoint
    // set up as a plain vault opens it too, and a blob claiming to be an envelope is refused.
    let vault = provider().await;
    let pt = vault
        .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
        .await
        .unwrap();
    assert_eq!(pt.as_slice(), b"hsm secret");
    let mut envelope = ct.bytes.clone();
    envelope[5] = 1;
    let err = vault
        .decrypt(Some(&key.id), None, &envelope, &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IntegrityFailure);
    p.schedule_deletion(&key.id, RETENTION_DAYS).await.unwrap();
}
