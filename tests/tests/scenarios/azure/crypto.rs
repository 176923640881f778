//! Crypto through the SDK: RSA-OAEP-256, A256GCM with aad, digest signatures checked with
//! the JWK, and ciphertexts that cross to keygate's own API.

use super::*;

#[tokio::test]
async fn sdk_encrypts_wraps_and_signs_and_ciphertexts_cross_to_keygate() {
    let gw = TestGateway::start().await;
    let kc = client(&gw, "azure-admin", "admin").await;
    create(&kc, "crypt-rsa", create_params(KeyType::Rsa, &[])).await;
    create(&kc, "crypt-oct", create_params(KeyType::Oct, &[])).await;

    // RSA-OAEP-256 through the vault.
    let ct = kc
        .encrypt(
            "crypt-rsa",
            op(EncryptionAlgorithm::RsaOaep256, b"hello rsa", None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let pt = kc
        .decrypt(
            "crypt-rsa",
            "",
            op(EncryptionAlgorithm::RsaOaep256, &ct.result.unwrap(), None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(pt.result.as_deref(), Some(&b"hello rsa"[..]));

    let wrapped = kc
        .wrap_key(
            "crypt-rsa",
            op(EncryptionAlgorithm::RsaOaep256, b"data key", None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let wrapped = wrapped.result.unwrap();
    let unwrapped = kc
        .unwrap_key(
            "crypt-rsa",
            "",
            op(EncryptionAlgorithm::RsaOaep256, &wrapped, None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(unwrapped.result.as_deref(), Some(&b"data key"[..]));
    // keygate's RSA ciphertexts are its own: the CLI/REST path opens them too.
    let back = gw
        .service
        .local_admin()
        .decrypt_native(
            &crate::support::kl("crypt-rsa"),
            None,
            &wrapped,
            &EncryptionContext::new(),
        )
        .await
        .unwrap();
    assert_eq!(back.plaintext.as_slice(), b"data key");

    // A256GCM with aad: Key Vault's shape (iv, tag) over a keygate envelope bound to the
    // aad; the algorithms scenario covers every field.
    let sealed = kc
        .encrypt(
            "crypt-oct",
            op(EncryptionAlgorithm::A256Gcm, b"hello gcm", Some(b"order-7"))
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let value = sealed.result.unwrap();
    let (iv, tag) = (sealed.iv.unwrap(), sealed.authentication_tag.unwrap());
    let gcm = |aad: Option<&[u8]>| KeyOperationParameters {
        iv: Some(iv.clone()),
        authentication_tag: Some(tag.clone()),
        ..op(EncryptionAlgorithm::A256Gcm, &value, aad)
    };
    let version = sealed.kid.unwrap().rsplit('/').next().unwrap().to_owned();
    let opened = kc
        .decrypt(
            "crypt-oct",
            &version,
            gcm(Some(b"order-7")).try_into().unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(opened.result.as_deref(), Some(&b"hello gcm"[..]));
    for aad in [Some(&b"order-8"[..]), None] {
        let err = kc
            .decrypt("crypt-oct", "", gcm(aad).try_into().unwrap(), None)
            .await
            .unwrap_err();
        assert_eq!(status(&err), StatusCode::BadRequest);
        assert!(err.to_string().contains("Decryption failed"), "{err}");
    }
    // Another key's name does not open it either.
    create(&kc, "crypt-oct2", create_params(KeyType::Oct, &[])).await;
    let err = kc
        .decrypt(
            "crypt-oct2",
            "",
            gcm(Some(b"order-7")).try_into().unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(status(&err), StatusCode::BadRequest);
    // `value || tag` is keygate's envelope: the CLI/REST path opens it with the shared
    // context.
    let mut envelope = value.clone();
    envelope.extend_from_slice(&tag);
    let ctx = EncryptionContext::new().with("azure:aad", "b3JkZXItNw==");
    let d = gw
        .service
        .local_admin()
        .decrypt(&envelope, &ctx)
        .await
        .unwrap();
    assert_eq!(d.plaintext.as_slice(), b"hello gcm");

    // ES256 over a digest; verified locally with the JWK, and by the vault.
    let mut p = create_params(KeyType::Ec, &[]);
    p.curve = Some(CurveName::P256);
    let ec = create(&kc, "crypt-ec", p).await;
    let digest = sha2::Sha256::digest(b"release.tar").to_vec();
    let sig = kc
        .sign(
            "crypt-ec",
            SignParameters {
                algorithm: Some(SignatureAlgorithm::Es256),
                value: Some(digest.clone()),
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .result
        .unwrap();
    assert_eq!(sig.len(), 64, "raw r||s");
    let jwk = ec.key.unwrap();
    let point = p256::EncodedPoint::from_affine_coordinates(
        jwk.x.as_deref().unwrap().into(),
        jwk.y.as_deref().unwrap().into(),
        false,
    );
    let vk = p256::ecdsa::VerifyingKey::from_encoded_point(&point).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
    vk.verify_prehash(&digest, &signature).unwrap();
    for (d, expect) in [
        (digest.clone(), true),
        (sha2::Sha256::digest(b"other").to_vec(), false),
    ] {
        let valid = kc
            .verify(
                "crypt-ec",
                "",
                VerifyParameters {
                    algorithm: Some(SignatureAlgorithm::Es256),
                    digest: Some(d),
                    signature: Some(sig.clone()),
                }
                .try_into()
                .unwrap(),
                None,
            )
            .await
            .unwrap()
            .into_model()
            .unwrap();
        assert_eq!(valid.value, Some(expect));
    }
    // RS256 and PS256 over a digest, verified locally with the JWK's n and e.
    let mut p = create_params(KeyType::Rsa, &[]);
    p.key_ops = Some(vec![KeyOperation::Sign, KeyOperation::Verify]);
    let signer = create(&kc, "crypt-rsa-sign", p).await.key.unwrap();
    let public = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(signer.n.as_deref().unwrap()),
        rsa::BigUint::from_bytes_be(signer.e.as_deref().unwrap()),
    )
    .unwrap();
    for (alg, scheme) in [
        (SignatureAlgorithm::Rs256, None),
        (SignatureAlgorithm::Ps256, Some(())),
    ] {
        let sig = kc
            .sign(
                "crypt-rsa-sign",
                SignParameters {
                    algorithm: Some(alg),
                    value: Some(digest.clone()),
                }
                .try_into()
                .unwrap(),
                None,
            )
            .await
            .unwrap()
            .into_model()
            .unwrap()
            .result
            .unwrap();
        match scheme {
            None => public
                .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &sig)
                .unwrap(),
            Some(()) => public
                .verify(rsa::Pss::new::<sha2::Sha256>(), &digest, &sig)
                .unwrap(),
        }
    }
    // A digest of the wrong size is a client error.
    let err = kc
        .sign(
            "crypt-ec",
            SignParameters {
                algorithm: Some(SignatureAlgorithm::Es256),
                value: Some(vec![1; 20]),
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(status(&err), StatusCode::BadRequest);
    gw.stop().await;
}
