//! Versions as Cloud KMS has them: each with its own state, destroyed and restored one at a
//! time, named in every operation, and any enabled version of an ENCRYPT_DECRYPT key made
//! primary.

use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::DecodePublicKey as _;

use super::*;

fn mask_state() -> google_cloud_wkt::FieldMask {
    google_cloud_wkt::FieldMask::default().set_paths(["state"])
}

async fn set_state(kms: &KeyManagementService, version: &str, state: State) -> CryptoKeyVersion {
    kms.update_crypto_key_version()
        .set_crypto_key_version(CryptoKeyVersion::new().set_name(version).set_state(state))
        .set_update_mask(mask_state())
        .send()
        .await
        .unwrap()
}

async fn new_version(kms: &KeyManagementService, key: &str) -> CryptoKeyVersion {
    kms.create_crypto_key_version()
        .set_parent(key)
        .set_crypto_key_version(CryptoKeyVersion::new())
        .send()
        .await
        .unwrap()
}

async fn seal(kms: &KeyManagementService, key: &str, text: &[u8]) -> Vec<u8> {
    kms.encrypt()
        .set_name(key)
        .set_plaintext(text.to_vec())
        .send()
        .await
        .unwrap()
        .ciphertext
        .to_vec()
}

async fn open(
    kms: &KeyManagementService,
    key: &str,
    ciphertext: &[u8],
) -> Result<Vec<u8>, google_cloud_kms_v1::Error> {
    kms.decrypt()
        .set_name(key)
        .set_ciphertext(ciphertext.to_vec())
        .send()
        .await
        .map(|r| r.plaintext.to_vec())
}

#[tokio::test]
async fn gcp_symmetric_versions_destroy_restore_disable_and_roll_back() {
    let gw = TestGateway::start().await;
    let token = gw.token("gcp-versions", "admin").await;
    let kms = client(&gw, &token).await;
    create_ring(&kms, "vr").await;
    let ring = format!("{LOC}/keyRings/vr");
    create_key(
        &kms,
        &ring,
        "data",
        CryptoKeyPurpose::EncryptDecrypt,
        Alg::GoogleSymmetricEncryption,
    )
    .await;
    let key = format!("{ring}/cryptoKeys/data");
    let (v1, v2, v3) = (
        format!("{key}/cryptoKeyVersions/1"),
        format!("{key}/cryptoKeyVersions/2"),
        format!("{key}/cryptoKeyVersions/3"),
    );
    let sealed_1 = seal(&kms, &key, b"one").await;
    new_version(&kms, &key).await;
    let sealed_2 = seal(&kms, &key, b"two").await;
    new_version(&kms, &key).await;
    let sealed_3 = seal(&kms, &key, b"three").await;

    // A version destroyed while the others stay enabled refuses every use at once.
    let destroyed = kms
        .destroy_crypto_key_version()
        .set_name(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(destroyed.state, State::DestroyScheduled);
    assert!(destroyed.destroy_time.is_some());
    let refused = open(&kms, &key, &sealed_1).await.unwrap_err();
    assert_eq!(code(&refused), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(open(&kms, &key, &sealed_2).await.unwrap(), b"two");
    assert_eq!(open(&kms, &key, &sealed_3).await.unwrap(), b"three");
    let read = kms
        .get_crypto_key_version()
        .set_name(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(read.state, State::DestroyScheduled);
    assert_eq!(read.destroy_time, destroyed.destroy_time);

    // Restore leaves it DISABLED: still refused until enabled.
    let restored = kms
        .restore_crypto_key_version()
        .set_name(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(restored.state, State::Disabled);
    let still = open(&kms, &key, &sealed_1).await.unwrap_err();
    assert_eq!(code(&still), Code::FailedPrecondition);
    assert_eq!(
        set_state(&kms, &v1, State::Enabled).await.state,
        State::Enabled
    );
    assert_eq!(open(&kms, &key, &sealed_1).await.unwrap(), b"one");

    // Data sealed by older enabled versions still decrypts after the primary is disabled;
    // the primary's own data and new encryptions are refused.
    assert_eq!(
        set_state(&kms, &v3, State::Disabled).await.state,
        State::Disabled
    );
    assert_eq!(open(&kms, &key, &sealed_1).await.unwrap(), b"one");
    assert_eq!(open(&kms, &key, &sealed_2).await.unwrap(), b"two");
    let primary_off = open(&kms, &key, &sealed_3).await.unwrap_err();
    assert_eq!(code(&primary_off), Code::FailedPrecondition);
    let no_encrypt = kms
        .encrypt()
        .set_name(&key)
        .set_plaintext(b"x".to_vec())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_encrypt), Code::FailedPrecondition);

    // Rolling the primary back to version 2: new data is sealed by it.
    let rolled = kms
        .update_crypto_key_primary_version()
        .set_name(&key)
        .set_crypto_key_version_id("2")
        .send()
        .await
        .unwrap();
    assert_eq!(rolled.primary.unwrap().name, v2);
    let sealed = kms
        .encrypt()
        .set_name(&key)
        .set_plaintext(b"after".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(sealed.name, v2);
    assert_eq!(
        open(&kms, &key, &sealed.ciphertext).await.unwrap(),
        b"after"
    );
    // A disabled version cannot become primary; a missing one is NOT_FOUND.
    let disabled = kms
        .update_crypto_key_primary_version()
        .set_name(&key)
        .set_crypto_key_version_id("3")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&disabled), Code::FailedPrecondition);
    let missing = kms
        .update_crypto_key_primary_version()
        .set_name(&key)
        .set_crypto_key_version_id("9")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), Code::NotFound);

    // Missing versions are NOT_FOUND wherever they are named.
    let v9 = format!("{key}/cryptoKeyVersions/9");
    let get = kms
        .get_crypto_key_version()
        .set_name(&v9)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&get), Code::NotFound);
    let destroy = kms
        .destroy_crypto_key_version()
        .set_name(&v9)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&destroy), Code::NotFound);
    let restore = kms
        .restore_crypto_key_version()
        .set_name(&v9)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&restore), Code::NotFound);
    let patch = kms
        .update_crypto_key_version()
        .set_crypto_key_version(
            CryptoKeyVersion::new()
                .set_name(&v9)
                .set_state(State::Disabled),
        )
        .set_update_mask(mask_state())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&patch), Code::NotFound);
    gw.stop().await;
}

#[tokio::test]
async fn gcp_signers_and_macs_use_any_enabled_version() {
    let gw = TestGateway::start().await;
    let token = gw.token("gcp-pinned", "admin").await;
    let kms = client(&gw, &token).await;
    create_ring(&kms, "pin").await;
    let ring = format!("{LOC}/keyRings/pin");
    create_key(
        &kms,
        &ring,
        "signer",
        CryptoKeyPurpose::AsymmetricSign,
        Alg::EcSignP256Sha256,
    )
    .await;
    let key = format!("{ring}/cryptoKeys/signer");
    let v1 = format!("{key}/cryptoKeyVersions/1");
    let v1_public = kms.get_public_key().set_name(&v1).send().await.unwrap();
    let v1_public = p256::ecdsa::VerifyingKey::from_public_key_pem(&v1_public.pem).unwrap();

    // A signer pinned to version 1 keeps working after version 2 is created.
    let v2 = new_version(&kms, &key).await.name;
    let signed = kms
        .asymmetric_sign()
        .set_name(&v1)
        .set_data(b"pinned".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(signed.name, v1);
    let sig = p256::ecdsa::Signature::from_der(&signed.signature).unwrap();
    v1_public.verify(b"pinned", &sig).unwrap();
    let by_v2 = kms
        .asymmetric_sign()
        .set_name(&v2)
        .set_data(b"newer".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(by_v2.name, v2);
    let sig = p256::ecdsa::Signature::from_der(&by_v2.signature).unwrap();
    assert!(
        v1_public.verify(b"newer", &sig).is_err(),
        "version 2 signs with its own key"
    );
    // updatePrimaryVersion is for ENCRYPT_DECRYPT keys only.
    let no_primary = kms
        .update_crypto_key_primary_version()
        .set_name(&key)
        .set_crypto_key_version_id("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_primary), Code::FailedPrecondition);

    // Destroying version 1 stops it at once; version 2 signs on.
    kms.destroy_crypto_key_version()
        .set_name(&v1)
        .send()
        .await
        .unwrap();
    let stopped = kms
        .asymmetric_sign()
        .set_name(&v1)
        .set_data(b"pinned".to_vec())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&stopped), Code::FailedPrecondition, "{stopped:?}");
    kms.asymmetric_sign()
        .set_name(&v2)
        .set_data(b"still".to_vec())
        .send()
        .await
        .unwrap();
    let missing = kms
        .asymmetric_sign()
        .set_name(format!("{key}/cryptoKeyVersions/7"))
        .set_data(b"x".to_vec())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), Code::NotFound);

    // MACs: each version signs and verifies with its own key; a disabled one refuses.
    create_key(&kms, &ring, "mac", CryptoKeyPurpose::Mac, Alg::HmacSha256).await;
    let mac_key = format!("{ring}/cryptoKeys/mac");
    let m1 = format!("{mac_key}/cryptoKeyVersions/1");
    let m2 = new_version(&kms, &mac_key).await.name;
    let tag1 = kms
        .mac_sign()
        .set_name(&m1)
        .set_data(b"msg".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(tag1.name, m1);
    let verify = |version: String, tag: Vec<u8>| {
        let kms = kms.clone();
        async move {
            kms.mac_verify()
                .set_name(version)
                .set_data(b"msg".to_vec())
                .set_mac(tag)
                .send()
                .await
        }
    };
    let ok = verify(m1.clone(), tag1.mac.to_vec()).await.unwrap();
    assert!(ok.success && ok.verified_success_integrity);
    let other = verify(m2.clone(), tag1.mac.to_vec()).await.unwrap();
    assert!(!other.success && !other.verified_success_integrity);
    set_state(&kms, &m1, State::Disabled).await;
    let off = verify(m1.clone(), tag1.mac.to_vec()).await.unwrap_err();
    assert_eq!(code(&off), Code::FailedPrecondition);
    let no_sign = kms
        .mac_sign()
        .set_name(&m1)
        .set_data(b"msg".to_vec())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_sign), Code::FailedPrecondition);
    let missing = kms
        .mac_sign()
        .set_name(format!("{mac_key}/cryptoKeyVersions/5"))
        .set_data(b"msg".to_vec())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), Code::NotFound);
    gw.stop().await;
}

/// A destroy request recorded by an older keygate (which emulated per-version destruction) is
/// carried out natively the next time the key's versions are read, and dropping its record
/// is audited like any other write.
#[tokio::test]
async fn a_destroy_recorded_by_an_older_keygate_is_carried_out_and_its_record_dropped() {
    let gw = TestGateway::start().await;
    let token = gw.token("gcp-legacy", "admin").await;
    let kms = client(&gw, &token).await;
    create_ring(&kms, "legacy").await;
    let ring = format!("{LOC}/keyRings/legacy");
    create_key(
        &kms,
        &ring,
        "old-destroy",
        CryptoKeyPurpose::EncryptDecrypt,
        Alg::GoogleSymmetricEncryption,
    )
    .await;
    let key = format!("{ring}/cryptoKeys/old-destroy");
    new_version(&kms, &key).await;
    let uri = gw
        .service
        .local_admin()
        .list_keys(None)
        .await
        .unwrap()
        .keys
        .into_iter()
        .find(|k| k.name.ends_with("old-destroy"))
        .unwrap()
        .uri;
    let records = gw.service.gcp_records();
    records
        .add_destroy(&uri, "1", time::OffsetDateTime::now_utc())
        .await
        .unwrap();

    let listed = kms
        .list_crypto_key_versions()
        .set_parent(&key)
        .send()
        .await
        .unwrap();
    let state_of = |id: &str| {
        listed
            .crypto_key_versions
            .iter()
            .find(|v| v.name.ends_with(&format!("/{id}")))
            .map(|v| v.state.clone())
    };
    assert_eq!(state_of("1"), Some(State::DestroyScheduled));
    assert_eq!(state_of("2"), Some(State::Enabled));
    assert!(records.destroys(&uri).await.unwrap().is_empty());
    let rows = gw
        .service
        .local_admin()
        .query_audit(&AuditQuery {
            principal: Some("gcp-legacy".into()),
            action: Some("keys:delete".into()),
            limit: Some(100),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items;
    let done = rows
        .iter()
        .filter(|e| e.outcome == keygate_core::audit::AuditOutcome::Success)
        .count();
    assert_eq!(
        done, 2,
        "the destruction and the record's removal: {rows:?}"
    );
    gw.stop().await;
}
