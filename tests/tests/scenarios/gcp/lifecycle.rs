//! Destroy and restore versions, version state, IAM policies and permissions.

use super::*;

#[tokio::test]
async fn gcp_destroy_restore_and_iam() {
    let gw = TestGateway::start().await;
    let token = gw.token("gcp-ops", "admin").await;
    let kms = client(&gw, &token).await;
    create_ring(&kms, "r").await;
    let ring = format!("{LOC}/keyRings/r");
    create_key(
        &kms,
        &ring,
        "k",
        CryptoKeyPurpose::EncryptDecrypt,
        Alg::GoogleSymmetricEncryption,
    )
    .await;
    let key = format!("{ring}/cryptoKeys/k");
    kms.create_crypto_key_version()
        .set_parent(&key)
        .set_crypto_key_version(CryptoKeyVersion::new())
        .send()
        .await
        .unwrap();

    // Destroying one version schedules that version alone; the key stays enabled.
    let v1 = kms
        .destroy_crypto_key_version()
        .set_name(format!("{key}/cryptoKeyVersions/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(v1.state, State::DestroyScheduled);
    assert!(v1.destroy_time.is_some());
    let meta = gw
        .service
        .local_admin()
        .describe_key(&crate::support::kl("local://k"))
        .await
        .unwrap();
    assert_eq!(meta.state.as_str(), "enabled");
    let twice = kms
        .destroy_crypto_key_version()
        .set_name(format!("{key}/cryptoKeyVersions/1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&twice), Code::FailedPrecondition);
    let not_scheduled = kms
        .restore_crypto_key_version()
        .set_name(format!("{key}/cryptoKeyVersions/2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&not_scheduled), Code::FailedPrecondition);

    // Restoring leaves the version DISABLED, as Cloud KMS does; a PATCH of its state
    // enables it again.
    let restored = kms
        .restore_crypto_key_version()
        .set_name(format!("{key}/cryptoKeyVersions/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(restored.state, State::Disabled);
    assert!(restored.destroy_time.is_none());
    let enabled = kms
        .update_crypto_key_version()
        .set_crypto_key_version(
            CryptoKeyVersion::new()
                .set_name(format!("{key}/cryptoKeyVersions/1"))
                .set_state(State::Enabled),
        )
        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(["state"]))
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.state, State::Enabled);
    let versions = kms
        .list_crypto_key_versions()
        .set_parent(&key)
        .send()
        .await
        .unwrap();
    assert!(
        versions
            .crypto_key_versions
            .iter()
            .all(|v| v.state == State::Enabled)
    );

    // IAM: read, write with the etag just read, refuse a stale etag, test permissions.
    let policy = kms
        .get_iam_policy()
        .set_resource(&key)
        .send()
        .await
        .unwrap();
    assert!(policy.bindings.is_empty());
    let new = google_cloud_iam_v1::model::Policy::new()
        .set_etag(policy.etag.clone())
        .set_bindings([google_cloud_iam_v1::model::Binding::new()
            .set_role("roles/cloudkms.cryptoKeyEncrypterDecrypter")
            .set_members(["user:app@example.com", "user:ops@example.com"])]);
    let stored = kms
        .set_iam_policy()
        .set_resource(&key)
        .set_policy(new.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(stored.bindings.len(), 1);
    assert_eq!(stored.bindings[0].members.len(), 2);
    assert_ne!(stored.etag, policy.etag);
    let native = gw
        .service
        .local_admin()
        .get_key_policy(&crate::support::kl("local://k"))
        .await
        .unwrap();
    assert_eq!(native.value.bindings.len(), 2);
    let stale = kms
        .set_iam_policy()
        .set_resource(&key)
        .set_policy(new)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&stale), Code::Aborted);
    let read_back = kms
        .get_iam_policy()
        .set_resource(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(read_back.etag, stored.etag);

    // The built-in app role works on keys labelled `app = <principal>`.
    kms.update_crypto_key()
        .set_crypto_key(
            CryptoKey::new()
                .set_name(&key)
                .set_labels([("app", "gcp-app-user")]),
        )
        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths(["labels"]))
        .send()
        .await
        .unwrap();
    let app = gw.token("gcp-app-user", "app").await;
    let app_kms = client(&gw, &app).await;
    let perms = [
        "cloudkms.cryptoKeyVersions.useToEncrypt",
        "cloudkms.cryptoKeyVersions.useToDecrypt",
        "cloudkms.cryptoKeys.setIamPolicy",
    ];
    let admin_has = kms
        .test_iam_permissions()
        .set_resource(&key)
        .set_permissions(perms)
        .send()
        .await
        .unwrap();
    assert_eq!(admin_has.permissions.len(), 3);
    let app_has = app_kms
        .test_iam_permissions()
        .set_resource(&key)
        .set_permissions(perms)
        .send()
        .await
        .unwrap();
    assert!(
        app_has
            .permissions
            .contains(&"cloudkms.cryptoKeyVersions.useToEncrypt".to_owned())
    );
    assert!(
        !app_has
            .permissions
            .contains(&"cloudkms.cryptoKeys.setIamPolicy".to_owned())
    );
    // On a key it may not even describe, the answer is still an answer: nothing.
    create_key(
        &kms,
        &ring,
        "other",
        CryptoKeyPurpose::EncryptDecrypt,
        Alg::GoogleSymmetricEncryption,
    )
    .await;
    let none = app_kms
        .test_iam_permissions()
        .set_resource(format!("{ring}/cryptoKeys/other"))
        .set_permissions(perms)
        .send()
        .await
        .unwrap();
    assert!(none.permissions.is_empty());
    let ring_set = kms
        .set_iam_policy()
        .set_resource(&ring)
        .set_policy(google_cloud_iam_v1::model::Policy::new())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&ring_set), Code::FailedPrecondition);
    gw.stop().await;
}
