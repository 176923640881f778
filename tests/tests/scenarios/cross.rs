//! One gateway, three clouds' SDKs and keygate's own API over the same keys: a key created
//! through one dialect is usable through the others and through keygate's REST API (what
//! `keygate --gateway` runs), ciphertexts cross between them where the formats allow, and
//! each call is audited once, with its dialect as the source.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::KeyState;
use azure_security_keyvault_keys::models::{EncryptionAlgorithm, KeyType};
use google_cloud_gax::error::rpc::Code;
use google_cloud_kms_v1::model::crypto_key::CryptoKeyPurpose;
use google_cloud_kms_v1::model::crypto_key_version::CryptoKeyVersionAlgorithm;
use keygate_client::HttpGateway;
use keygate_core::EncryptionContext;
use keygate_core::api::Gateway as _;
use keygate_core::audit::AuditEvent;

use crate::support::TestGateway;

const RING: &str = "projects/demo/locations/local/keyRings";

/// The audit rows of `action` on the key whose URI ends with `/name` (or is `local://name`),
/// per source.
fn rows<'a>(audit: &'a [AuditEvent], action: &str, name: &str) -> Vec<&'a str> {
    audit
        .iter()
        .filter(|e| e.action == action)
        .filter(|e| {
            e.key
                .as_deref()
                .is_some_and(|k| k.rsplit('/').next() == Some(name))
        })
        .map(|e| e.source.as_str())
        .collect()
}

#[tokio::test]
async fn a_key_made_through_one_dialect_works_through_the_others_and_keygate() {
    let gw = TestGateway::start().await;
    let token = gw.token("cross", "admin").await;
    let aws = super::aws::client(&gw, "cross", "admin").await;
    let gcp = super::gcp::client(&gw, &token).await;
    let azure = super::azure::client(&gw, "cross", "admin").await;
    let rest = HttpGateway::new(&gw.base, &token, None).unwrap();

    // Made through AWS: its keygate name is its UUID.
    let made = aws.create_key().send().await.unwrap().key_metadata.unwrap();
    let uuid = made.key_id().to_owned();
    let sealed = aws
        .encrypt()
        .key_id(&uuid)
        .plaintext(Blob::new(b"from aws".to_vec()))
        .encryption_context("order", "7")
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    // keygate's API opens the AWS ciphertext (a keygate envelope) with the same context...
    let ctx = EncryptionContext([("order".to_owned(), "7".to_owned())].into());
    let opened = rest.decrypt(sealed.as_ref(), &ctx).await.unwrap();
    assert_eq!(&opened.plaintext[..], b"from aws");
    assert!(opened.key_uri.ends_with(&uuid));
    // ...and refuses another one.
    let wrong = EncryptionContext([("order".to_owned(), "8".to_owned())].into());
    assert!(rest.decrypt(sealed.as_ref(), &wrong).await.is_err());
    // GCP reaches it in the implicit ring, Azure by name.
    let gcp_name = format!("{RING}/keygate/cryptoKeys/{uuid}");
    let g = gcp
        .encrypt()
        .set_name(&gcp_name)
        .set_plaintext(b"from gcp".to_vec())
        .send()
        .await
        .unwrap();
    let back = gcp
        .decrypt()
        .set_name(&gcp_name)
        .set_ciphertext(g.ciphertext)
        .send()
        .await
        .unwrap();
    assert_eq!(&back.plaintext[..], b"from gcp");
    let a = azure
        .encrypt(
            &uuid,
            super::azure::op(EncryptionAlgorithm::A256Gcm, b"from azure", None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    // The Azure ciphertext has Key Vault's A256GCM shape (iv and tag beside it): the vault's
    // own decrypt opens it.
    let params = azure_security_keyvault_keys::models::KeyOperationParameters {
        iv: a.iv.clone(),
        authentication_tag: a.authentication_tag.clone(),
        ..super::azure::op(
            EncryptionAlgorithm::A256Gcm,
            a.result.as_deref().unwrap(),
            None,
        )
    };
    let opened = azure
        .decrypt(&uuid, "", params.try_into().unwrap(), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(opened.result.as_deref(), Some(&b"from azure"[..]));

    // Made through GCP, in a ring of its own: AWS and Azure use it by its keygate name.
    super::gcp::create_ring(&gcp, "cross").await;
    let ring = format!("{RING}/cross");
    super::gcp::create_key(
        &gcp,
        &ring,
        "gcp-made",
        CryptoKeyPurpose::EncryptDecrypt,
        CryptoKeyVersionAlgorithm::GoogleSymmetricEncryption,
    )
    .await;
    let described = aws
        .describe_key()
        .key_id("gcp-made")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let gcp_made_id = described.key_id().to_owned();
    let blob = aws
        .encrypt()
        .key_id(&gcp_made_id)
        .plaintext(Blob::new(b"aws on a gcp key".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let plain = aws
        .decrypt()
        .ciphertext_blob(blob)
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    assert_eq!(plain.as_ref(), b"aws on a gcp key");
    let key = azure
        .get_key("gcp-made", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(
        key.key.unwrap().kty,
        Some(KeyType::Oct),
        "an AES key held in software is an oct key to Azure"
    );

    // Made through Azure: AWS disables it, and GCP and Azure both see it refuse.
    super::azure::create(
        &azure,
        "azure-made",
        super::azure::create_params(KeyType::OctHsm, &[("team", "pay")]),
    )
    .await;
    let meta = rest
        .describe_key(&crate::support::kl("azure-made"))
        .await
        .unwrap();
    assert_eq!(meta.labels["team"], "pay");
    let disabled = aws.disable_key().key_id("azure-made").send().await;
    assert!(disabled.is_ok(), "{disabled:?}");
    let state = aws
        .describe_key()
        .key_id("azure-made")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(state.key_state(), Some(&KeyState::Disabled));
    let refused = gcp
        .encrypt()
        .set_name(format!("{RING}/keygate/cryptoKeys/azure-made"))
        .set_plaintext(b"x".to_vec())
        .send()
        .await
        .unwrap_err();
    assert_eq!(super::gcp::code(&refused), Code::FailedPrecondition);
    let refused = azure
        .encrypt(
            "azure-made",
            super::azure::op(EncryptionAlgorithm::A256Gcm, b"x", None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert!(super::azure::status(&refused).is_client_error());

    // Every one of those crypto calls is one audit row, with its dialect as source.
    let audit = super::aws::audit(&gw).await;
    assert_eq!(
        rows(&audit, "crypto:encrypt", &uuid),
        ["aws", "gcp", "azure"]
    );
    assert_eq!(
        rows(&audit, "crypto:decrypt", &uuid),
        ["rest", "rest", "gcp", "azure"]
    );
    assert_eq!(rows(&audit, "crypto:encrypt", "gcp-made"), ["aws"]);
    assert_eq!(rows(&audit, "crypto:decrypt", "gcp-made"), ["aws"]);
    assert_eq!(rows(&audit, "keys:disable", "azure-made"), ["aws"]);
    assert_eq!(
        rows(&audit, "crypto:encrypt", "azure-made"),
        ["gcp", "azure"]
    );
    gw.stop().await;
}
