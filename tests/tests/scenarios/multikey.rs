//! One envelope under three providers' keys: an AWS KMS key (LocalStack), a GCP Cloud KMS key
//! (the GCP provider against keygate's own GCP dialect, as its conformance run does) and a
//! local key. Any one of them alone opens it; none of them does not. Then the envelope moves
//! between clouds by re-wrapping, its payload untouched.
//!
//! The AWS leg needs `KEYGATE_TEST_AWS_ENDPOINT` (`scripts/test.sh` starts LocalStack and
//! sets it); without it the envelope is sealed under the GCP and local keys only, and the
//! test says so on stderr.

use std::sync::Arc;

use google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use keygate_core::access::{AccessPolicy, Identity};
use keygate_core::api::Gateway;
use keygate_core::envelope::EnvelopeHeader;
use keygate_core::{
    CreateKeyRequest, DynProvider, EncryptionContext, ErrorKind, KeyLocator, KeySpec,
};
use keygate_providers::aws::AwsKmsBuilder;
use keygate_providers::gcp::{GcpConfig, GcpKmsProvider};
use keygate_providers::local::LocalProvider;
use keygate_server::audit::AuditConfig;
use keygate_server::cache::CacheConfig;
use keygate_server::config::EnvelopeConfig;
use keygate_server::service::{Service, Session, Source};
use keygate_server::{GatewayStore, Registry};

use super::backing::backing;

const ENDPOINT_VAR: &str = "KEYGATE_TEST_AWS_ENDPOINT";

/// Credentials that send a fixed keygate bearer token.
#[derive(Debug)]
struct KeygateToken(String);

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

/// A name no earlier run used (the backing gateway's home outlives one test run).
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}")
}

/// The providers: local, gcp (against the backing keygate), and aws when LocalStack is up.
async fn providers() -> Vec<DynProvider> {
    let mut out: Vec<DynProvider> = vec![Arc::new(
        LocalProvider::builder()
            .with_name("local")
            .build()
            .await
            .unwrap(),
    )];
    let b = backing();
    let gcp = GcpKmsProvider::builder()
        .with_name("gcp")
        .with_config(&GcpConfig {
            project: "multikey".into(),
            location: Some("local".into()),
            key_ring: Some(unique("ring")),
            create_key_ring: Some(true),
            endpoint: Some(b.base.clone()),
            ..GcpConfig::default()
        })
        .with_credentials(Credentials::from(KeygateToken(b.token.clone())))
        .build()
        .await
        .unwrap();
    out.push(Arc::new(gcp));
    match std::env::var(ENDPOINT_VAR) {
        Ok(endpoint) => {
            let aws = AwsKmsBuilder::new()
                .with_name("aws")
                .with_region("us-east-1")
                .with_endpoint_url(endpoint)
                .with_static_credentials("test", "test")
                .with_probe_wait(std::time::Duration::from_secs(20))
                .build()
                .await
                .unwrap();
            out.push(Arc::new(aws));
        }
        Err(_) => eprintln!(
            "multikey: {ENDPOINT_VAR} is not set, so the AWS leg is skipped; run scripts/test.sh"
        ),
    }
    out
}

/// A session whose role may decrypt only with keys of `provider`.
async fn only(service: &Arc<Service>, provider: &str) -> Session {
    let policy = AccessPolicy::from_toml(&format!(
        r#"
        [roles.reader]
        description = "decrypts with one provider's keys"
        [[roles.reader.statements]]
        effect = "allow"
        actions = ["crypto:decrypt", "keys:describe"]
        keys = {{ provider = "{provider}" }}
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
            principal: format!("reader-of-{provider}"),
            role: "reader".into(),
        },
        Source::Rest,
    )
}

#[tokio::test]
async fn an_envelope_under_three_clouds_opens_with_each_key_alone_and_not_without_one() {
    let providers = providers().await;
    let names: Vec<String> = providers.iter().map(|p| p.info().name.clone()).collect();
    let registry = Registry::new(providers, GatewayStore::in_memory().await.unwrap()).unwrap();
    let mut service = Service::new(registry, &AuditConfig::default(), &CacheConfig::default())
        .await
        .unwrap();
    Service::configure_envelopes(
        &mut service,
        EnvelopeConfig {
            decrypt_order: vec!["aws".into(), "gcp".into(), "local".into()],
            require: vec![],
        },
    )
    .unwrap();
    let admin = service.local_admin();
    let mut keys = Vec::new();
    for name in &names {
        let key = admin
            .create_key(
                Some(name.as_str()),
                CreateKeyRequest::new(unique("multi"), KeySpec::Aes256),
            )
            .await
            .unwrap();
        keys.push(KeyLocator::Uri(key.uri));
    }
    let ctx = EncryptionContext::new().with("dataset", "ledger");
    let plaintext: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let sealed = admin
        .encrypt_for_keys(&keys, &plaintext, &ctx)
        .await
        .unwrap();
    let (header, header_len) = EnvelopeHeader::decode(&sealed).unwrap();
    let providers_in: Vec<String> = header
        .recipients()
        .into_iter()
        .map(|r| r.provider)
        .collect();
    assert_eq!(providers_in, names);

    // Each key alone: a caller allowed only that provider's key opens it with that key.
    for (name, key) in names.iter().zip(&keys) {
        let reader = only(&service, name).await;
        let opened = reader.decrypt(&sealed, &ctx).await.unwrap();
        assert_eq!(opened.plaintext.as_slice(), &plaintext[..], "{name}");
        assert_eq!(KeyLocator::Uri(opened.key_uri), *key, "{name}");
    }
    // None of them: refused on every key.
    let nobody = only(&service, "no-such-provider").await;
    assert_eq!(
        nobody.decrypt(&sealed, &ctx).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );

    // Moving between clouds: keep one key at a time by re-wrapping (the payload is the same
    // bytes); that key alone opens the result, and the dropped keys do not.
    for (i, (name, key)) in names.iter().zip(&keys).enumerate() {
        let others: Vec<KeyLocator> = keys
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, k)| k.clone())
            .collect();
        let single = admin
            .rewrap_envelope(&header, &[], &others, &ctx)
            .await
            .unwrap();
        let mut moved = single.encode().unwrap();
        assert_eq!(
            moved.len(),
            header_len,
            "{name}: same length, rewritable in place"
        );
        moved.extend_from_slice(&sealed[header_len..]);
        let opened = admin.decrypt(&moved, &ctx).await.unwrap();
        assert_eq!(KeyLocator::Uri(opened.key_uri), *key);
        assert_eq!(opened.plaintext.as_slice(), &plaintext[..]);
        for other in names.iter().filter(|n| *n != name) {
            let reader = only(&service, other).await;
            assert_eq!(
                reader.decrypt(&moved, &ctx).await.unwrap_err().kind(),
                ErrorKind::PermissionDenied,
                "{other} opened an envelope that kept only {name}"
            );
        }
    }
}
