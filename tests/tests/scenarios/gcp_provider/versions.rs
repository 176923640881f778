//! The GCP provider's versions, natively: one version's state, destruction and restoration,
//! the primary version of a symmetric key, and operations on a named version.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_version_at_a_time_and_primary_rollback() {
    let p = provider().await;
    let caps = p.capabilities();
    assert!(caps.version_state && caps.version_destruction && caps.primary_selection);
    let key = p
        .create_key(CreateKeyRequest::new(unique("versions"), KeySpec::Aes256))
        .await
        .unwrap();
    let ctx = EncryptionContext::new();
    let sealed_1 = p.encrypt(&key.id, b"one", &ctx).await.unwrap();
    p.rotate_key(&key.id).await.unwrap();
    let sealed_2 = p.encrypt(&key.id, b"two", &ctx).await.unwrap();
    assert_eq!(sealed_2.key_version, "2");

    // Destroying version 1 stops it at once; version 2 works on.
    let destroyed = p.destroy_version(&key.id, "1").await.unwrap();
    assert_eq!(destroyed.state, VersionState::DestroyScheduled);
    assert!(destroyed.destroy_time.is_some());
    let err = p
        .decrypt(Some(&key.id), None, &sealed_1.bytes, &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState, "{err}");
    let two = p
        .decrypt(Some(&key.id), None, &sealed_2.bytes, &ctx)
        .await
        .unwrap();
    assert_eq!(two.as_slice(), b"two");
    // Restored, it is disabled; enabled, it decrypts again.
    let restored = p.restore_version(&key.id, "1").await.unwrap();
    assert_eq!(restored.state, VersionState::Disabled);
    assert_eq!(restored.destroy_time, None);
    let enabled = p.enable_version(&key.id, "1").await.unwrap();
    assert_eq!(enabled.state, VersionState::Enabled);

    // The primary disabled: data sealed by version 1 still opens.
    let off = p.disable_version(&key.id, "2").await.unwrap();
    assert_eq!(off.state, VersionState::Disabled);
    let one = p
        .decrypt(Some(&key.id), None, &sealed_1.bytes, &ctx)
        .await
        .unwrap();
    assert_eq!(one.as_slice(), b"one");
    // Roll the primary back to version 1; a disabled or unknown version cannot be primary.
    let meta = p.set_primary_version(&key.id, "1").await.unwrap();
    assert_eq!(meta.primary_version.as_deref(), Some("1"));
    assert_eq!(
        p.encrypt(&key.id, b"x", &ctx).await.unwrap().key_version,
        "1"
    );
    let err = p.set_primary_version(&key.id, "2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState, "{err}");
    let err = p.set_primary_version(&key.id, "9").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = p.destroy_version(&key.id, "9").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    p.schedule_deletion(&key.id, 30).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_pinned_to_version_one_keeps_signing() {
    let p = provider().await;
    let key = p
        .create_key(CreateKeyRequest::new(unique("pinned"), KeySpec::EcP256))
        .await
        .unwrap();
    p.rotate_key(&key.id).await.unwrap();
    let input = keygate_core::SignInput::Message(b"pinned");
    let alg = SigningAlgorithm::EcdsaSha256;
    let sig = p.sign(&key.id, Some("1"), input, alg).await.unwrap();
    assert_eq!(sig.key_version, "1");
    assert!(
        p.verify(&key.id, Some("1"), input, &sig.bytes, alg)
            .await
            .unwrap()
    );
    assert!(
        !p.verify(&key.id, Some("2"), input, &sig.bytes, alg)
            .await
            .unwrap()
    );
    let newest = p.sign(&key.id, None, input, alg).await.unwrap();
    assert_eq!(newest.key_version, "2");
    // A disabled version refuses to sign, naming its state; an unknown one is NotFound.
    p.disable_version(&key.id, "1").await.unwrap();
    let err = p.sign(&key.id, Some("1"), input, alg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(err.to_string().contains("disabled"), "{err}");
    let err = p.sign(&key.id, Some("5"), input, alg).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // Cloud KMS has primary versions for symmetric keys only.
    let err = p.set_primary_version(&key.id, "2").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");

    let mac = p
        .create_key(CreateKeyRequest::new(
            unique("pinned-mac"),
            KeySpec::HmacSha256,
        ))
        .await
        .unwrap();
    p.rotate_key(&mac.id).await.unwrap();
    let tag = p.generate_mac(&mac.id, Some("1"), b"m").await.unwrap();
    assert_eq!(tag.key_version, "1");
    assert!(
        p.verify_mac(&mac.id, Some("1"), b"m", &tag.bytes)
            .await
            .unwrap()
    );
    assert!(
        !p.verify_mac(&mac.id, Some("2"), b"m", &tag.bytes)
            .await
            .unwrap()
    );
    assert!(p.verify_mac(&mac.id, None, b"m", &tag.bytes).await.unwrap());
    p.schedule_deletion(&key.id, 30).await.unwrap();
    p.schedule_deletion(&mac.id, 30).await.unwrap();
}
