//! Encrypt/decrypt with AAD and CRC32C, asymmetric signing and decryption, MACs.

use super::*;

#[tokio::test]
async fn gcp_crypto_with_aad_crc32c_signatures_oaep_and_macs() {
    let gw = TestGateway::start().await;
    let token = gw.token("gcp-crypto", "admin").await;
    let kms = client(&gw, &token).await;
    create_ring(&kms, "r").await;
    let ring = format!("{LOC}/keyRings/r");
    create_key(
        &kms,
        &ring,
        "sym",
        CryptoKeyPurpose::EncryptDecrypt,
        Alg::GoogleSymmetricEncryption,
    )
    .await;
    let sym = format!("{ring}/cryptoKeys/sym");

    let encrypted = kms
        .encrypt()
        .set_name(&sym)
        .set_plaintext(b"card 4111".to_vec())
        .set_additional_authenticated_data(b"tenant-7".to_vec())
        .set_plaintext_crc32c(crc(b"card 4111"))
        .set_additional_authenticated_data_crc32c(crc(b"tenant-7"))
        .send()
        .await
        .unwrap();
    assert_eq!(encrypted.name, format!("{sym}/cryptoKeyVersions/1"));
    assert!(encrypted.verified_plaintext_crc32c);
    assert!(encrypted.verified_additional_authenticated_data_crc32c);
    assert_eq!(
        encrypted.ciphertext_crc32c,
        Some(crc(&encrypted.ciphertext))
    );
    let decrypted = kms
        .decrypt()
        .set_name(&sym)
        .set_ciphertext(encrypted.ciphertext.clone())
        .set_additional_authenticated_data(b"tenant-7".to_vec())
        .set_ciphertext_crc32c(crc(&encrypted.ciphertext))
        .send()
        .await
        .unwrap();
    assert_eq!(&decrypted.plaintext[..], b"card 4111");
    assert_eq!(decrypted.plaintext_crc32c, Some(crc(b"card 4111")));
    // The same envelope opens through keygate itself with the GCP context.
    let ctx = EncryptionContext::new().with("gcp:aad", "dGVuYW50LTc=");
    let opened = gw
        .service
        .local_admin()
        .decrypt(&encrypted.ciphertext, &ctx)
        .await
        .unwrap();
    assert_eq!(&opened.plaintext[..], b"card 4111");

    for aad in [&b"tenant-8"[..], &b""[..]] {
        let wrong = kms
            .decrypt()
            .set_name(&sym)
            .set_ciphertext(encrypted.ciphertext.clone())
            .set_additional_authenticated_data(aad.to_vec())
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&wrong), Code::InvalidArgument);
        assert!(
            wrong
                .status()
                .unwrap()
                .message
                .starts_with("Decryption failed")
        );
    }
    let corrupted = kms
        .encrypt()
        .set_name(&sym)
        .set_plaintext(b"x".to_vec())
        .set_plaintext_crc32c(crc(b"x") ^ 1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&corrupted), Code::InvalidArgument);
    let corrupted = kms
        .decrypt()
        .set_name(&sym)
        .set_ciphertext(encrypted.ciphertext.clone())
        .set_additional_authenticated_data(b"tenant-7".to_vec())
        .set_ciphertext_crc32c(crc(&encrypted.ciphertext) ^ 1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&corrupted), Code::InvalidArgument);

    // EC P-256: sign data and a digest, verify locally with the public key.
    create_key(
        &kms,
        &ring,
        "ec",
        CryptoKeyPurpose::AsymmetricSign,
        Alg::EcSignP256Sha256,
    )
    .await;
    let ec_v1 = format!("{ring}/cryptoKeys/ec/cryptoKeyVersions/1");
    let public = kms.get_public_key().set_name(&ec_v1).send().await.unwrap();
    assert_eq!(public.algorithm, Alg::EcSignP256Sha256);
    assert_eq!(public.pem_crc32c, Some(crc(public.pem.as_bytes())));
    use p256::pkcs8::DecodePublicKey as _;
    let ec_public = p256::ecdsa::VerifyingKey::from_public_key_pem(&public.pem).unwrap();
    let signed = kms
        .asymmetric_sign()
        .set_name(&ec_v1)
        .set_data(b"release v1".to_vec())
        .set_data_crc32c(crc(b"release v1"))
        .send()
        .await
        .unwrap();
    assert!(signed.verified_data_crc32c);
    assert_eq!(signed.signature_crc32c, Some(crc(&signed.signature)));
    use p256::ecdsa::signature::Verifier as _;
    let sig = p256::ecdsa::Signature::from_der(&signed.signature).unwrap();
    ec_public.verify(b"release v1", &sig).unwrap();
    assert!(
        ec_public.verify(b"release v2", &sig).is_err(),
        "a signature over other data does not verify"
    );
    let by_digest = kms
        .asymmetric_sign()
        .set_name(&ec_v1)
        .set_digest(Digest::new().set_sha256(sha256(b"release v1")))
        .set_digest_crc32c(crc(&sha256(b"release v1")))
        .send()
        .await
        .unwrap();
    assert!(by_digest.verified_digest_crc32c);
    let sig = p256::ecdsa::Signature::from_der(&by_digest.signature).unwrap();
    ec_public.verify(b"release v1", &sig).unwrap();
    let wrong_digest = kms
        .asymmetric_sign()
        .set_name(&ec_v1)
        .set_digest(Digest::new().set_sha384(vec![0u8; 48]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&wrong_digest), Code::InvalidArgument);

    // RSA-PSS signing, verified with the rsa crate.
    create_key(
        &kms,
        &ring,
        "rsa",
        CryptoKeyPurpose::AsymmetricSign,
        Alg::RsaSignPss2048Sha256,
    )
    .await;
    let rsa_v1 = format!("{ring}/cryptoKeys/rsa/cryptoKeyVersions/1");
    let pem = kms
        .get_public_key()
        .set_name(&rsa_v1)
        .send()
        .await
        .unwrap()
        .pem;
    let rsa_public = rsa::RsaPublicKey::from_public_key_pem(&pem).unwrap();
    let signed = kms
        .asymmetric_sign()
        .set_name(&rsa_v1)
        .set_data(b"doc".to_vec())
        .send()
        .await
        .unwrap();
    let verifier = rsa::pss::VerifyingKey::<sha2::Sha256>::new(rsa_public);
    let sig = rsa::pss::Signature::try_from(&signed.signature[..]).unwrap();
    verifier.verify(b"doc", &sig).unwrap();
    assert!(verifier.verify(b"other doc", &sig).is_err());

    // RSA-OAEP: encrypt locally with the public key, decrypt through keygate.
    create_key(
        &kms,
        &ring,
        "oaep",
        CryptoKeyPurpose::AsymmetricDecrypt,
        Alg::RsaDecryptOaep2048Sha256,
    )
    .await;
    let oaep_v1 = format!("{ring}/cryptoKeys/oaep/cryptoKeyVersions/1");
    let pem = kms
        .get_public_key()
        .set_name(&oaep_v1)
        .send()
        .await
        .unwrap()
        .pem;
    let oaep_public = rsa::RsaPublicKey::from_public_key_pem(&pem).unwrap();
    let ciphertext = oaep_public
        .encrypt(
            &mut rsa::rand_core::OsRng,
            rsa::Oaep::new::<sha2::Sha256>(),
            b"wrapped secret",
        )
        .unwrap();
    let plain = kms
        .asymmetric_decrypt()
        .set_name(&oaep_v1)
        .set_ciphertext(ciphertext.clone())
        .set_ciphertext_crc32c(crc(&ciphertext))
        .send()
        .await
        .unwrap();
    assert_eq!(&plain.plaintext[..], b"wrapped secret");
    assert!(plain.verified_ciphertext_crc32c);
    let mut tampered = ciphertext.clone();
    tampered[10] ^= 1;
    let bad = kms
        .asymmetric_decrypt()
        .set_name(&oaep_v1)
        .set_ciphertext(tampered)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), Code::InvalidArgument);

    // HMAC.
    create_key(&kms, &ring, "mac", CryptoKeyPurpose::Mac, Alg::HmacSha256).await;
    let mac_v1 = format!("{ring}/cryptoKeys/mac/cryptoKeyVersions/1");
    let tag = kms
        .mac_sign()
        .set_name(&mac_v1)
        .set_data(b"msg".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(tag.mac_crc32c, Some(crc(&tag.mac)));
    let ok = kms
        .mac_verify()
        .set_name(&mac_v1)
        .set_data(b"msg".to_vec())
        .set_mac(tag.mac.clone())
        .send()
        .await
        .unwrap();
    assert!(ok.success);
    assert!(ok.verified_success_integrity);
    let mut bad_tag = tag.mac.to_vec();
    bad_tag[0] ^= 1;
    let no = kms
        .mac_verify()
        .set_name(&mac_v1)
        .set_data(b"msg".to_vec())
        .set_mac(bad_tag)
        .send()
        .await
        .unwrap();
    assert!(!no.success);
    // The integrity field echoes `success`: a mismatch is an answer, not corruption.
    assert!(!no.verified_success_integrity);
    gw.stop().await;
}
