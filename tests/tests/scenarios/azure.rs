//! The Azure Key Vault dialect driven by the official SDK (azure_security_keyvault_keys 1.x)
//! over TLS, trusting the CA keygate generated; raw HTTPS for the challenge and bad input.
//!
//! The SDK checks that a challenge's `resource` is a parent domain of the vault host; keygate
//! names `https://vault.azure.net`, so most tests turn `verify_challenge_resource` off, and
//! one test keeps it on by addressing the vault as `keygate.vault.azure.net`.

use std::collections::HashMap;
use std::sync::Arc;

use azure_core::http::{ClientOptions, RetryOptions, StatusCode, Transport};
use azure_security_keyvault_keys::models::{
    CreateKeyParameters, CurveName, EncryptionAlgorithm, Key, KeyAttributes,
    KeyClientGetKeyOptions, KeyClientListKeyPropertiesOptions, KeyOperation,
    KeyOperationParameters, KeyRotationPolicy, KeyRotationPolicyAction, KeyType, LifetimeAction,
    LifetimeActionTrigger, LifetimeActionType, SignParameters, SignatureAlgorithm,
    UpdateKeyPropertiesParameters, VerifyParameters,
};
use azure_security_keyvault_keys::{KeyClient, KeyClientOptions, ResourceExt as _};
use futures::TryStreamExt as _;
use keygate_core::EncryptionContext;
use keygate_core::api::Gateway as _;
use keygate_core::audit::AuditQuery;
use sha2::Digest as _;

use crate::support::TestGateway;
use keygate_providers::azure::StaticToken;

#[path = "azure/algorithms.rs"]
mod algorithms;
#[path = "azure/arm.rs"]
mod arm;
#[path = "azure/crypto.rs"]
mod crypto;
#[path = "azure/rotation_policy.rs"]
mod rotation_policy;
#[path = "azure/versions.rs"]
mod versions;
#[path = "azure/wire.rs"]
mod wire;

/// An HTTPS client trusting only keygate's CA.
fn https(gw: &TestGateway) -> reqwest::ClientBuilder {
    let ca = std::fs::read(&gw.azure_ca).unwrap();
    reqwest::Client::builder().tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
}

fn options(http: reqwest::Client, verify_resource: bool) -> KeyClientOptions {
    KeyClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            retry: RetryOptions::none(),
            ..Default::default()
        },
        verify_challenge_resource: Some(verify_resource),
        ..Default::default()
    }
}

/// The SDK client of `gw`'s vault with a token for `principal`/`role`.
pub(crate) async fn client(gw: &TestGateway, principal: &str, role: &str) -> KeyClient {
    let token = gw.token(principal, role).await;
    let http = https(gw).build().unwrap();
    KeyClient::new(
        &gw.azure_url,
        Arc::new(StaticToken::new(token)),
        Some(options(http, false)),
    )
    .unwrap()
}

pub(crate) fn create_params(kty: KeyType, tags: &[(&str, &str)]) -> CreateKeyParameters {
    CreateKeyParameters {
        kty: Some(kty),
        tags: Some(
            tags.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..Default::default()
    }
}

pub(crate) async fn create(kc: &KeyClient, name: &str, params: CreateKeyParameters) -> Key {
    kc.create_key(name, params.try_into().unwrap(), None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
}

pub(crate) fn status(err: &azure_core::Error) -> StatusCode {
    err.http_status()
        .unwrap_or_else(|| panic!("not an HTTP error: {err:?}"))
}

fn error_code(err: &azure_core::Error) -> Option<String> {
    match err.kind() {
        azure_core::error::ErrorKind::HttpResponse { error_code, .. } => error_code.clone(),
        _ => None,
    }
}

fn kid_version(key: &Key) -> String {
    key.resource_id().unwrap().version.unwrap()
}

pub(crate) fn op(
    alg: EncryptionAlgorithm,
    value: &[u8],
    aad: Option<&[u8]>,
) -> KeyOperationParameters {
    KeyOperationParameters {
        algorithm: Some(alg),
        value: Some(value.to_vec()),
        additional_authenticated_data: aad.map(<[u8]>::to_vec),
        ..Default::default()
    }
}

#[tokio::test]
async fn sdk_creates_gets_lists_updates_rotates_and_soft_deletes_keys() {
    let gw = TestGateway::start().await;
    let kc = client(&gw, "azure-admin", "admin").await;

    let rsa = create(
        &kc,
        "az-rsa",
        create_params(KeyType::Rsa, &[("team", "pay")]),
    )
    .await;
    let jwk = rsa.key.as_ref().unwrap();
    assert_eq!(jwk.kty, Some(KeyType::Rsa));
    assert_eq!(jwk.n.as_ref().unwrap().len(), 256, "RSA 2048 modulus");
    assert_eq!(jwk.e.as_deref(), Some(&[1u8, 0, 1][..]));
    assert_eq!(rsa.tags.as_ref().unwrap()["team"], "pay");
    let attrs = rsa.attributes.as_ref().unwrap();
    assert_eq!(attrs.enabled, Some(true));
    assert_eq!(attrs.recoverable_days, Some(30));
    assert!(
        jwk.kid
            .as_ref()
            .unwrap()
            .starts_with(&format!("{}/keys/az-rsa/", gw.azure_url))
    );

    let mut ec_params = create_params(KeyType::Ec, &[]);
    ec_params.curve = Some(CurveName::P384);
    let ec = create(&kc, "az-ec", ec_params).await;
    let jwk = ec.key.as_ref().unwrap();
    assert_eq!(jwk.crv, Some(CurveName::P384));
    assert_eq!(jwk.x.as_ref().unwrap().len(), 48);
    assert_eq!(
        jwk.key_ops.as_deref(),
        Some(&["sign".to_owned(), "verify".to_owned()][..])
    );
    let oct = create(&kc, "az-oct", create_params(KeyType::OctHsm, &[])).await;
    assert_eq!(oct.key.as_ref().unwrap().kty, Some(KeyType::Oct));
    assert!(oct.key.as_ref().unwrap().n.is_none());

    // The key is also a keygate key: the CLI's view agrees.
    let meta = gw
        .service
        .local_admin()
        .describe_key(&crate::support::kl("az-rsa"))
        .await
        .unwrap();
    assert_eq!(meta.labels["team"], "pay");

    // get, also by version; an unknown key is KeyNotFound.
    let got = kc
        .get_key("az-rsa", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(got.key.as_ref().unwrap().n, rsa.key.as_ref().unwrap().n);
    let v1 = kid_version(&rsa);
    let by_version = kc
        .get_key(
            "az-rsa",
            Some(KeyClientGetKeyOptions {
                key_version: Some(v1.clone()),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(kid_version(&by_version), v1);
    let err = kc.get_key("nope", None).await.unwrap_err();
    assert_eq!(status(&err), StatusCode::NotFound);
    assert_eq!(error_code(&err).as_deref(), Some("KeyNotFound"));

    // A key named the keygate way but not the Azure way is not listed.
    gw.service
        .local_admin()
        .create_key(
            None,
            keygate_core::CreateKeyRequest::new("not_azure", keygate_core::KeySpec::Aes256),
        )
        .await
        .unwrap();
    // list: three keys, two per page.
    let pager = kc
        .list_key_properties(Some(KeyClientListKeyPropertiesOptions {
            maxresults: Some(2),
            ..Default::default()
        }))
        .unwrap();
    let pages: Vec<_> = pager.into_pages().try_collect().await.unwrap();
    assert_eq!(pages.len(), 2);
    let mut names = Vec::new();
    for page in pages {
        for item in page.into_model().unwrap().value {
            names.push(item.resource_id().unwrap().name);
        }
    }
    assert_eq!(names, ["az-ec", "az-oct", "az-rsa"]);

    // update: tags replace, enabled toggles.
    let updated = kc
        .update_key_properties(
            "az-rsa",
            UpdateKeyPropertiesParameters {
                tags: Some(HashMap::from([("env".to_owned(), "prod".to_owned())])),
                key_attributes: Some(KeyAttributes {
                    enabled: Some(false),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(
        updated.tags.unwrap(),
        HashMap::from([("env".to_owned(), "prod".to_owned())])
    );
    assert_eq!(updated.attributes.unwrap().enabled, Some(false));
    // A disabled key refuses to encrypt.
    let err = kc
        .encrypt(
            "az-rsa",
            op(EncryptionAlgorithm::RsaOaep256, b"x", None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(status(&err), StatusCode::Forbidden);

    // rotate: a second version, listed.
    let rotated = kc
        .rotate_key("az-oct", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_ne!(kid_version(&rotated), kid_version(&oct));
    let versions: Vec<_> = kc
        .list_key_properties_versions("az-oct", None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);

    // rotation policy.
    let policy = KeyRotationPolicy {
        lifetime_actions: Some(vec![LifetimeAction {
            trigger: Some(LifetimeActionTrigger {
                time_after_create: Some("P90D".into()),
                ..Default::default()
            }),
            action: Some(LifetimeActionType {
                type_prop: Some(KeyRotationPolicyAction::Rotate),
            }),
        }]),
        ..Default::default()
    };
    kc.update_key_rotation_policy("az-oct", policy.try_into().unwrap(), None)
        .await
        .unwrap();
    let got = kc
        .get_key_rotation_policy("az-oct", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let action = &got.lifetime_actions.unwrap()[0];
    assert_eq!(
        action
            .trigger
            .as_ref()
            .unwrap()
            .time_after_create
            .as_deref(),
        Some("P90D")
    );
    assert_eq!(
        gw.service
            .local_admin()
            .get_rotation(&crate::support::kl("az-oct"))
            .await
            .unwrap()
            .value
            .unwrap()
            .period_days,
        90
    );

    // soft delete, see it deleted, recover it usable; purge is refused.
    let deleted = kc
        .delete_key("az-oct", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert!(
        deleted
            .recovery_id
            .unwrap()
            .ends_with("/deletedkeys/az-oct")
    );
    let purge_at = deleted.scheduled_purge_date.unwrap();
    let deleted_at = deleted.deleted_date.unwrap();
    assert_eq!((purge_at - deleted_at).whole_days(), 30);
    let err = kc.get_key("az-oct", None).await.unwrap_err();
    assert_eq!(status(&err), StatusCode::NotFound);
    let listed: Vec<_> = kc
        .list_deleted_key_properties(None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    kc.get_deleted_key("az-oct", None).await.unwrap();
    let err = kc.purge_deleted_key("az-oct", None).await.unwrap_err();
    assert_eq!(status(&err), StatusCode::Forbidden);
    let recovered = kc
        .recover_deleted_key("az-oct", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(recovered.attributes.unwrap().enabled, Some(true));
    let err = kc.get_deleted_key("az-oct", None).await.unwrap_err();
    assert_eq!(status(&err), StatusCode::NotFound);
    gw.stop().await;
}
