//! Key rings, crypto keys and versions: create, list with paging, rotate, PATCH.

use super::*;

#[tokio::test]
async fn gcp_rings_keys_versions_paging_rotation_and_labels() {
    let gw = TestGateway::start().await;
    let token = gw.token("gcp-admin", "admin").await;
    let kms = client(&gw, &token).await;

    let ring = create_ring(&kms, "ring-a").await;
    assert_eq!(ring.name, format!("{LOC}/keyRings/ring-a"));
    let again = kms
        .create_key_ring()
        .set_parent(LOC)
        .set_key_ring_id("ring-a")
        .set_key_ring(KeyRing::new())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&again), Code::AlreadyExists);
    create_ring(&kms, "ring-b").await;
    create_ring(&kms, "ring-c").await;

    // Four rings (with the implicit `keygate`), two per page.
    let first = kms
        .list_key_rings()
        .set_parent(LOC)
        .set_page_size(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.key_rings.len(), 2);
    assert_eq!(first.total_size, 4);
    assert!(!first.next_page_token.is_empty());
    let second = kms
        .list_key_rings()
        .set_parent(LOC)
        .set_page_size(2)
        .set_page_token(first.next_page_token.clone())
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = first
        .key_rings
        .iter()
        .chain(&second.key_rings)
        .map(|r| r.name.clone())
        .collect();
    names.sort();
    assert_eq!(names.len(), 4);
    assert!(names.contains(&format!("{LOC}/keyRings/keygate")));
    assert!(second.next_page_token.is_empty());

    let ring = format!("{LOC}/keyRings/ring-a");
    let sym = create_key(
        &kms,
        &ring,
        "sym",
        CryptoKeyPurpose::EncryptDecrypt,
        Alg::GoogleSymmetricEncryption,
    )
    .await;
    assert_eq!(sym.purpose, CryptoKeyPurpose::EncryptDecrypt);
    assert_eq!(sym.labels.get("team").map(String::as_str), Some("payments"));
    assert!(
        !sym.labels.contains_key("gcp-key-ring"),
        "the ring label is hidden"
    );
    let primary = sym.primary.clone().unwrap();
    assert_eq!(
        primary.name,
        format!("{ring}/cryptoKeys/sym/cryptoKeyVersions/1")
    );
    assert_eq!(primary.state, State::Enabled);
    for (id, purpose, alg) in [
        (
            "rsa-sign",
            CryptoKeyPurpose::AsymmetricSign,
            Alg::RsaSignPss2048Sha256,
        ),
        (
            "ec-sign",
            CryptoKeyPurpose::AsymmetricSign,
            Alg::EcSignP256Sha256,
        ),
        (
            "rsa-dec",
            CryptoKeyPurpose::AsymmetricDecrypt,
            Alg::RsaDecryptOaep2048Sha256,
        ),
        ("hmac", CryptoKeyPurpose::Mac, Alg::HmacSha256),
    ] {
        let k = create_key(&kms, &ring, id, purpose.clone(), alg.clone()).await;
        assert_eq!(k.purpose, purpose);
        assert_eq!(k.version_template.unwrap().algorithm, alg);
        assert!(
            k.primary.is_none(),
            "only ENCRYPT_DECRYPT keys report a primary"
        );
    }
    // A crypto key id is scoped to its ring: `sym` of ring-b is another key than ring-a's...
    let ring_b = format!("{LOC}/keyRings/ring-b");
    let other_sym = kms
        .create_crypto_key()
        .set_parent(&ring_b)
        .set_crypto_key_id("sym")
        .set_crypto_key(CryptoKey::new().set_purpose(CryptoKeyPurpose::EncryptDecrypt))
        .send()
        .await
        .unwrap();
    assert_eq!(other_sym.name, format!("{ring_b}/cryptoKeys/sym"));
    assert!(other_sym.labels.is_empty(), "{:?}", other_sym.labels);
    let sealed_b = kms
        .encrypt()
        .set_name(&other_sym.name)
        .set_plaintext(b"ring b".to_vec())
        .send()
        .await
        .unwrap();
    let across = kms
        .decrypt()
        .set_name(format!("{ring}/cryptoKeys/sym"))
        .set_ciphertext(sealed_b.ciphertext.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&across), Code::InvalidArgument, "{across:?}");
    let opened_b = kms
        .decrypt()
        .set_name(&other_sym.name)
        .set_ciphertext(sealed_b.ciphertext)
        .send()
        .await
        .unwrap();
    assert_eq!(&opened_b.plaintext[..], b"ring b");
    // The implicit ring is a ring too: its `sym` is a third key.
    let implicit = kms
        .create_crypto_key()
        .set_parent(format!("{LOC}/keyRings/keygate"))
        .set_crypto_key_id("sym")
        .set_crypto_key(CryptoKey::new().set_purpose(CryptoKeyPurpose::EncryptDecrypt))
        .send()
        .await
        .unwrap();
    let got = kms
        .get_crypto_key()
        .set_name(&implicit.name)
        .send()
        .await
        .unwrap();
    assert_eq!(got.name, format!("{LOC}/keyRings/keygate/cryptoKeys/sym"));
    // ... and the same id twice in one ring is taken.
    for parent in [&ring, &ring_b] {
        let taken = kms
            .create_crypto_key()
            .set_parent(parent)
            .set_crypto_key_id("sym")
            .set_crypto_key(CryptoKey::new().set_purpose(CryptoKeyPurpose::EncryptDecrypt))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&taken), Code::AlreadyExists, "{parent}");
    }

    // Keys of the ring, three per page; none of them shows up in another ring.
    let page = kms
        .list_crypto_keys()
        .set_parent(&ring)
        .set_page_size(3)
        .send()
        .await
        .unwrap();
    assert_eq!((page.crypto_keys.len(), page.total_size), (3, 5));
    let rest = kms
        .list_crypto_keys()
        .set_parent(&ring)
        .set_page_token(page.next_page_token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.crypto_keys.len(), 2);
    let other = kms
        .list_crypto_keys()
        .set_parent(&ring_b)
        .send()
        .await
        .unwrap();
    let listed: Vec<&str> = other.crypto_keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(listed, [other_sym.name.as_str()]);
    let wrong_ring = kms
        .get_crypto_key()
        .set_name(format!("{LOC}/keyRings/ring-c/cryptoKeys/sym"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&wrong_ring), Code::NotFound);

    // Create a version: it becomes the primary.
    let sym_name = format!("{ring}/cryptoKeys/sym");
    let v2 = kms
        .create_crypto_key_version()
        .set_parent(&sym_name)
        .set_crypto_key_version(CryptoKeyVersion::new())
        .send()
        .await
        .unwrap();
    assert_eq!(v2.name, format!("{sym_name}/cryptoKeyVersions/2"));
    let got = kms
        .get_crypto_key()
        .set_name(&sym_name)
        .send()
        .await
        .unwrap();
    assert_eq!(got.primary.unwrap().name, v2.name);
    let versions = kms
        .list_crypto_key_versions()
        .set_parent(&sym_name)
        .set_page_size(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (versions.crypto_key_versions.len(), versions.total_size),
        (1, 2)
    );
    assert_eq!(
        versions.crypto_key_versions[0].algorithm,
        Alg::GoogleSymmetricEncryption
    );
    let v1 = kms
        .get_crypto_key_version()
        .set_name(format!("{sym_name}/cryptoKeyVersions/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(v1.state, State::Enabled);
    // The primary moves to any enabled version (and back).
    let rolled_back = kms
        .update_crypto_key_primary_version()
        .set_name(&sym_name)
        .set_crypto_key_version_id("1")
        .send()
        .await
        .unwrap();
    assert!(
        rolled_back
            .primary
            .unwrap()
            .name
            .ends_with("/cryptoKeyVersions/1")
    );
    kms.update_crypto_key_primary_version()
        .set_name(&sym_name)
        .set_crypto_key_version_id("2")
        .send()
        .await
        .unwrap();

    // PATCH rotation and labels.
    let next = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 10 * 86_400;
    let updated = kms
        .update_crypto_key()
        .set_crypto_key(
            CryptoKey::new()
                .set_name(&sym_name)
                .set_rotation_period(google_cloud_wkt::Duration::clamp(30 * 86_400, 0))
                .set_next_rotation_time(google_cloud_wkt::Timestamp::clamp(next, 0))
                .set_labels([("env", "prod")]),
        )
        .set_update_mask(google_cloud_wkt::FieldMask::default().set_paths([
            "rotation_period",
            "next_rotation_time",
            "labels",
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.rotation_period().map(|d| d.seconds()),
        Some(30 * 86_400)
    );
    assert_eq!(updated.next_rotation_time.unwrap().seconds(), next);
    let labels: HashMap<_, _> = updated.labels.into_iter().collect();
    assert_eq!(
        labels,
        HashMap::from([("env".to_owned(), "prod".to_owned())])
    );
    let meta = gw
        .service
        .local_admin()
        .describe_key(&crate::support::kl("local://sym"))
        .await
        .unwrap();
    assert_eq!(meta.rotation.unwrap().period_days, 30);
    assert_eq!(
        meta.labels.get("gcp-key-ring").map(String::as_str),
        Some("ring-a"),
        "PATCH keeps the ring"
    );
    let bad_period = kms
        .update_crypto_key()
        .set_crypto_key(
            CryptoKey::new()
                .set_name(&sym_name)
                .set_rotation_period(google_cloud_wkt::Duration::clamp(3600, 0))
                .set_next_rotation_time(google_cloud_wkt::Timestamp::clamp(next, 0)),
        )
        .set_update_mask(
            google_cloud_wkt::FieldMask::default()
                .set_paths(["rotation_period", "next_rotation_time"]),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad_period), Code::InvalidArgument);
    gw.stop().await;
}
