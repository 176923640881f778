//! Per-version `enabled` through the SDK: a PATCH of one version's attributes disables that
//! version alone, which then refuses use with Key Vault's 403 while the key's other versions
//! keep working; enabling it again brings it back. A signer signs with any enabled version.

use azure_security_keyvault_keys::models::{
    KeyClientSignOptions, KeyClientUpdateKeyPropertiesOptions, KeyOperationResult,
};

use super::*;

async fn set_version_enabled(kc: &KeyClient, name: &str, version: &str, enabled: bool) -> Key {
    kc.update_key_properties(
        name,
        UpdateKeyPropertiesParameters {
            key_attributes: Some(KeyAttributes {
                enabled: Some(enabled),
                ..Default::default()
            }),
            ..Default::default()
        }
        .try_into()
        .unwrap(),
        Some(KeyClientUpdateKeyPropertiesOptions {
            key_version: Some(version.to_owned()),
            ..Default::default()
        }),
    )
    .await
    .unwrap()
    .into_model()
    .unwrap()
}

fn version_of(key: &Key) -> String {
    let kid = key.key.as_ref().unwrap().kid.as_deref().unwrap();
    kid.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_disabled_version_refuses_use_while_the_others_work() {
    let gw = TestGateway::start().await;
    let kc = client(&gw, "azure-admin", "admin").await;
    let first = create(&kc, "per-version", create_params(KeyType::Oct, &[])).await;
    let v1 = version_of(&first);
    let seal = |plain: &'static [u8]| {
        let kc = &kc;
        async move {
            kc.encrypt(
                "per-version",
                op(EncryptionAlgorithm::A256Gcm, plain, None)
                    .try_into()
                    .unwrap(),
                None,
            )
            .await
            .unwrap()
            .into_model()
            .unwrap()
        }
    };
    let open = |sealed: &KeyOperationResult| {
        let kc = &kc;
        let params = KeyOperationParameters {
            iv: sealed.iv.clone(),
            authentication_tag: sealed.authentication_tag.clone(),
            ..op(
                EncryptionAlgorithm::A256Gcm,
                sealed.result.as_deref().unwrap(),
                None,
            )
        };
        async move {
            kc.decrypt("per-version", "", params.try_into().unwrap(), None)
                .await
        }
    };
    let old = seal(b"under version 1").await;
    let v2 = version_of(
        &kc.rotate_key("per-version", None)
            .await
            .unwrap()
            .into_model()
            .unwrap(),
    );
    let new = seal(b"under version 2").await;

    // Disable version 1 alone.
    let answered = set_version_enabled(&kc, "per-version", &v1, false).await;
    assert_eq!(version_of(&answered), v1);
    assert_eq!(answered.attributes.unwrap().enabled, Some(false));
    let listed: Vec<_> = kc
        .list_key_properties_versions("per-version", None)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let enabled_of = |v: &str| {
        listed
            .iter()
            .find(|p| p.kid.as_deref().unwrap().ends_with(v))
            .and_then(|p| p.attributes.as_ref())
            .and_then(|a| a.enabled)
    };
    assert_eq!(
        (enabled_of(&v1), enabled_of(&v2)),
        (Some(false), Some(true))
    );
    let got = kc
        .get_key(
            "per-version",
            Some(KeyClientGetKeyOptions {
                key_version: Some(v1.clone()),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(got.attributes.unwrap().enabled, Some(false));

    // Version 1's ciphertext is refused as Key Vault refuses a disabled version; version 2's
    // still opens, and the key still encrypts.
    let err = open(&old).await.unwrap_err();
    assert_eq!(status(&err), StatusCode::Forbidden, "{err}");
    let plain = open(&new).await.unwrap().into_model().unwrap();
    assert_eq!(plain.result.as_deref(), Some(&b"under version 2"[..]));
    seal(b"still encrypts").await;

    // Enabled again, it opens what it sealed.
    let answered = set_version_enabled(&kc, "per-version", &v1, true).await;
    assert_eq!(answered.attributes.unwrap().enabled, Some(true));
    let plain = open(&old).await.unwrap().into_model().unwrap();
    assert_eq!(plain.result.as_deref(), Some(&b"under version 1"[..]));

    // An unknown version is not found; each change is audited with its version.
    let err = kc
        .update_key_properties(
            "per-version",
            UpdateKeyPropertiesParameters {
                key_attributes: Some(KeyAttributes {
                    enabled: Some(false),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .try_into()
            .unwrap(),
            Some(KeyClientUpdateKeyPropertiesOptions {
                key_version: Some("999".into()),
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(status(&err), StatusCode::NotFound);
    let rows = gw
        .service
        .audit()
        .query(&AuditQuery {
            action: Some("keys:disable".into()),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert!(
        rows.iter()
            .any(|e| e.source == "azure" && e.key_version.as_deref() == Some(v1.as_str())),
        "{rows:?}"
    );
    gw.stop().await;
}

/// The inner error code of a Key Vault error answer.
fn inner_code(err: &azure_core::Error) -> Option<String> {
    let azure_core::error::ErrorKind::HttpResponse {
        raw_response: Some(raw),
        ..
    } = err.kind()
    else {
        return None;
    };
    let body: serde_json::Value = serde_json::from_slice(raw.body().as_ref()).ok()?;
    body["error"]["innererror"]["code"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn a_signer_signs_with_any_enabled_version_and_a_disabled_one_is_key_disabled() {
    let gw = TestGateway::start().await;
    let kc = client(&gw, "azure-admin", "admin").await;
    let mut p = create_params(KeyType::Ec, &[]);
    p.curve = Some(CurveName::P256);
    let v1 = version_of(&create(&kc, "signer-versions", p).await);
    let v2 = version_of(
        &kc.rotate_key("signer-versions", None)
            .await
            .unwrap()
            .into_model()
            .unwrap(),
    );
    let digest = sha2::Sha256::digest(b"pinned to version 1").to_vec();
    let sign = |version: &str| {
        let kc = &kc;
        let params = SignParameters {
            algorithm: Some(SignatureAlgorithm::Es256),
            value: Some(digest.clone()),
        };
        let options = KeyClientSignOptions {
            key_version: Some(version.to_owned()),
            ..Default::default()
        };
        async move {
            kc.sign("signer-versions", params.try_into().unwrap(), Some(options))
                .await
        }
    };
    // Key Vault signs with the version the request names, not only the current one.
    let signed = sign(&v1).await.unwrap().into_model().unwrap();
    assert!(
        signed.kid.as_deref().unwrap().ends_with(&format!("/{v1}")),
        "{:?}",
        signed.kid
    );
    assert_eq!(signed.result.as_deref().map(<[u8]>::len), Some(64));

    // A disabled version is Key Vault's 403 with the inner code KeyDisabled.
    set_version_enabled(&kc, "signer-versions", &v1, false).await;
    let err = sign(&v1).await.unwrap_err();
    assert_eq!(status(&err), StatusCode::Forbidden, "{err}");
    assert_eq!(inner_code(&err).as_deref(), Some("KeyDisabled"), "{err:?}");
    sign(&v2).await.unwrap();

    // With its current version disabled the key is still read, shown disabled.
    set_version_enabled(&kc, "signer-versions", &v2, false).await;
    let got = kc
        .get_key("signer-versions", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(got.attributes.unwrap().enabled, Some(false));
    gw.stop().await;
}
