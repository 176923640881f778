//! Key Vault's encryption algorithms through the SDK: A256GCM answers with its iv, tag and
//! aad and takes them back; RSA-OAEP-256, RSA-OAEP (SHA-1) and RSA1_5 on RSA keys round-trip
//! and open what an independent RSA implementation made with the JWK.

use keygate_core::EnvelopeHeader;

use super::*;

/// A256GCM decryption parameters as the SDK sends them.
fn gcm(
    value: &[u8],
    iv: Option<&[u8]>,
    tag: Option<&[u8]>,
    aad: Option<&[u8]>,
) -> KeyOperationParameters {
    KeyOperationParameters {
        iv: iv.map(<[u8]>::to_vec),
        authentication_tag: tag.map(<[u8]>::to_vec),
        ..op(EncryptionAlgorithm::A256Gcm, value, aad)
    }
}

async fn decrypt(
    kc: &KeyClient,
    name: &str,
    version: &str,
    params: KeyOperationParameters,
) -> Result<Vec<u8>, azure_core::Error> {
    let out = kc
        .decrypt(name, version, params.try_into().unwrap(), None)
        .await?
        .into_model()
        .unwrap();
    Ok(out.result.unwrap())
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 1;
    out
}

#[tokio::test]
async fn a256gcm_answers_iv_tag_and_aad_and_decrypts_only_with_them() {
    let gw = TestGateway::start().await;
    let kc = client(&gw, "azure-admin", "admin").await;
    create(&kc, "gcm-oct", create_params(KeyType::Oct, &[])).await;

    let sealed = kc
        .encrypt(
            "gcm-oct",
            op(EncryptionAlgorithm::A256Gcm, b"hello gcm", Some(b"order-7"))
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let value = sealed.result.clone().unwrap();
    let iv = sealed.iv.clone().unwrap();
    let tag = sealed.authentication_tag.clone().unwrap();
    assert_eq!(iv.len(), 12, "a 96-bit iv");
    assert_eq!(tag.len(), 16, "a 128-bit tag");
    assert_eq!(
        sealed.additional_authenticated_data.as_deref(),
        Some(&b"order-7"[..]),
        "the aad is echoed"
    );
    let version = sealed.kid.unwrap().rsplit('/').next().unwrap().to_owned();

    // The SDK's own decrypt, given what encrypt returned, with or without the version.
    for v in [version.as_str(), ""] {
        let plain = decrypt(
            &kc,
            "gcm-oct",
            v,
            gcm(&value, Some(&iv), Some(&tag), Some(b"order-7")),
        )
        .await
        .unwrap();
        assert_eq!(plain, b"hello gcm");
    }

    // A wrong tag, iv, aad or ciphertext fails as Key Vault's does.
    let last = value.len() - 1;
    let wrong = [
        gcm(&value, Some(&iv), Some(&flip(&tag, 0)), Some(b"order-7")),
        gcm(&value, Some(&flip(&iv, 3)), Some(&tag), Some(b"order-7")),
        gcm(&value, Some(&iv), Some(&tag), Some(b"order-8")),
        gcm(&value, Some(&iv), Some(&tag), None),
        gcm(&flip(&value, last), Some(&iv), Some(&tag), Some(b"order-7")),
        gcm(&value, Some(&iv), Some(&tag[..12]), Some(b"order-7")),
    ];
    for params in wrong {
        let err = decrypt(&kc, "gcm-oct", "", params).await.unwrap_err();
        assert_eq!(status(&err), StatusCode::BadRequest);
        assert!(err.to_string().contains("Decryption failed"), "{err}");
    }
    // The iv without the tag is a malformed request.
    let err = decrypt(
        &kc,
        "gcm-oct",
        "",
        gcm(&value, Some(&iv), None, Some(b"order-7")),
    )
    .await
    .unwrap_err();
    assert_eq!(status(&err), StatusCode::BadRequest);
    assert!(err.to_string().contains("iv and the tag"), "{err}");

    // Each encryption has its own iv.
    let again = kc
        .encrypt(
            "gcm-oct",
            op(EncryptionAlgorithm::A256Gcm, b"hello gcm", None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_ne!(again.iv.unwrap(), iv);
    assert_eq!(again.additional_authenticated_data, None);

    // `value || tag` is keygate's envelope: its own API opens it with the shared context.
    let aad_ctx = EncryptionContext::new().with("azure:aad", "b3JkZXItNw==");
    let mut whole = value.clone();
    whole.extend_from_slice(&tag);
    let d = gw
        .service
        .local_admin()
        .decrypt(&whole, &aad_ctx)
        .await
        .unwrap();
    assert_eq!(d.plaintext.as_slice(), b"hello gcm");

    // An envelope made through keygate's own API decrypts with the SDK's decrypt call.
    let envelope = gw
        .service
        .local_admin()
        .encrypt(
            &crate::support::kl("gcm-oct"),
            b"sealed by the cli",
            &aad_ctx,
        )
        .await
        .unwrap();
    let (header, _) = EnvelopeHeader::decode(&envelope).unwrap();
    let (body, tail) = envelope.split_at(envelope.len() - 16);
    let plain = decrypt(
        &kc,
        "gcm-oct",
        "",
        gcm(
            body,
            Some(&header.message_id[..12]),
            Some(tail),
            Some(b"order-7"),
        ),
    )
    .await
    .unwrap();
    assert_eq!(plain, b"sealed by the cli");

    // keygate makes 256-bit oct keys only: A128GCM and A192GCM are refused.
    for alg in [EncryptionAlgorithm::A128Gcm, EncryptionAlgorithm::A192Gcm] {
        let err = kc
            .encrypt("gcm-oct", op(alg, b"x", None).try_into().unwrap(), None)
            .await
            .unwrap_err();
        assert_eq!(status(&err), StatusCode::BadRequest);
        assert!(err.to_string().contains("256-bit"), "{err}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn rsa_oaep_sha1_and_rsa1_5_round_trip_and_open_an_independent_clients_ciphertexts() {
    let gw = TestGateway::start().await;
    let kc = client(&gw, "azure-admin", "admin").await;
    let jwk = create(&kc, "alg-rsa", create_params(KeyType::Rsa, &[]))
        .await
        .key
        .unwrap();
    let public = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(jwk.n.as_deref().unwrap()),
        rsa::BigUint::from_bytes_be(jwk.e.as_deref().unwrap()),
    )
    .unwrap();
    let version = jwk.kid.unwrap().rsplit('/').next().unwrap().to_owned();

    for alg in [
        EncryptionAlgorithm::RsaOaep256,
        EncryptionAlgorithm::RsaOaep,
        EncryptionAlgorithm::Rsa1_5,
    ] {
        // Through the vault: encrypt → decrypt, wrapkey → unwrapkey.
        let ct = kc
            .encrypt(
                "alg-rsa",
                op(alg.clone(), b"hello rsa", None).try_into().unwrap(),
                None,
            )
            .await
            .unwrap()
            .into_model()
            .unwrap()
            .result
            .unwrap();
        assert_eq!(ct.len(), 256, "{alg:?}: a bare RSA-2048 ciphertext");
        for v in [version.as_str(), ""] {
            let plain = decrypt(&kc, "alg-rsa", v, op(alg.clone(), &ct, None))
                .await
                .unwrap();
            assert_eq!(plain, b"hello rsa", "{alg:?}");
        }
        let wrapped = kc
            .wrap_key(
                "alg-rsa",
                op(alg.clone(), b"data key", None).try_into().unwrap(),
                None,
            )
            .await
            .unwrap()
            .into_model()
            .unwrap()
            .result
            .unwrap();
        let unwrapped = kc
            .unwrap_key(
                "alg-rsa",
                "",
                op(alg.clone(), &wrapped, None).try_into().unwrap(),
                None,
            )
            .await
            .unwrap()
            .into_model()
            .unwrap();
        assert_eq!(
            unwrapped.result.as_deref(),
            Some(&b"data key"[..]),
            "{alg:?}"
        );

        // What an independent implementation made with the JWK alone.
        let mut rng = rsa::rand_core::OsRng;
        let foreign = match alg {
            EncryptionAlgorithm::RsaOaep => public
                .encrypt(&mut rng, rsa::Oaep::new::<sha1::Sha1>(), b"from outside")
                .unwrap(),
            EncryptionAlgorithm::RsaOaep256 => public
                .encrypt(&mut rng, rsa::Oaep::new::<sha2::Sha256>(), b"from outside")
                .unwrap(),
            _ => public
                .encrypt(&mut rng, rsa::Pkcs1v15Encrypt, b"from outside")
                .unwrap(),
        };
        let plain = decrypt(&kc, "alg-rsa", "", op(alg.clone(), &foreign, None))
            .await
            .unwrap();
        assert_eq!(plain, b"from outside", "{alg:?}");

        // Each padding opens only its own ciphertexts; a corrupted one fails.
        let other = if alg == EncryptionAlgorithm::RsaOaep {
            EncryptionAlgorithm::Rsa1_5
        } else {
            EncryptionAlgorithm::RsaOaep
        };
        for params in [
            op(other, &foreign, None),
            op(alg.clone(), &flip(&foreign, 7), None),
        ] {
            let err = decrypt(&kc, "alg-rsa", "", params).await.unwrap_err();
            assert_eq!(status(&err), StatusCode::BadRequest, "{alg:?}");
        }
        // RSA algorithms take no AES-GCM fields, and an unknown version is not found.
        let err = decrypt(
            &kc,
            "alg-rsa",
            "",
            gcm(&foreign, Some(&[0; 12]), None, None),
        )
        .await;
        assert!(err.is_err(), "{alg:?}");
        let err = decrypt(&kc, "alg-rsa", "999", op(alg.clone(), &foreign, None))
            .await
            .unwrap_err();
        assert_eq!(status(&err), StatusCode::NotFound, "{alg:?}");
    }

    // keygate's native RSA ciphertext, which RSA-OAEP-256 answered before, still opens.
    let native = gw
        .service
        .local_admin()
        .encrypt_native(
            &keygate_core::KeyLocator::Name("alg-rsa".into()),
            b"sealed earlier",
            &EncryptionContext::new(),
        )
        .await
        .unwrap()
        .value;
    assert_ne!(native.bytes.len(), 256, "native, not bare");
    let plain = decrypt(
        &kc,
        "alg-rsa",
        "",
        op(EncryptionAlgorithm::RsaOaep256, &native.bytes, None),
    )
    .await
    .unwrap();
    assert_eq!(plain, b"sealed earlier");

    // The RSA algorithms need an RSA key.
    create(&kc, "alg-oct", create_params(KeyType::Oct, &[])).await;
    let err = kc
        .encrypt(
            "alg-oct",
            op(EncryptionAlgorithm::RsaOaep, b"x", None)
                .try_into()
                .unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(status(&err), StatusCode::BadRequest);

    // Every use is audited under the key, the failed decryptions as failures.
    let rows = gw
        .service
        .audit()
        .query(&AuditQuery {
            action: Some("crypto:decrypt".into()),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.source == "azure" && e.key.as_deref().is_some_and(|k| k.contains("alg-rsa")))
        .collect::<Vec<_>>();
    use keygate_core::audit::AuditOutcome;
    for outcome in [AuditOutcome::Success, AuditOutcome::Failure] {
        assert!(rows.iter().any(|e| e.outcome == outcome), "{outcome:?}");
    }
    gw.stop().await;
}
