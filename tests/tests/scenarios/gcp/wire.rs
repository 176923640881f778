//! Keys from elsewhere in the implicit ring, audit rows, errors and bad input, the anonymous switch.

use super::*;

#[tokio::test]
async fn gcp_cli_keys_are_in_the_implicit_ring_and_every_call_is_audited_once() {
    let gw = TestGateway::start().await;
    let admin = gw.service.local_admin();
    admin
        .create_key(None, CreateKeyRequest::new("cli-key", KeySpec::Aes256))
        .await
        .unwrap();
    let token = gw.token("gcp-audited", "admin").await;
    let kms = client(&gw, &token).await;
    let name = format!("{LOC}/keyRings/keygate/cryptoKeys/cli-key");

    let mut rows = gcp_rows(&gw, "gcp-audited").await;
    let key = kms.get_crypto_key().set_name(&name).send().await.unwrap();
    assert_eq!(key.name, name);
    let after = gcp_rows(&gw, "gcp-audited").await;
    // Describe, and the versions of an ENCRYPT_DECRYPT key for its primary's own state.
    assert_eq!(after, rows + 2, "get: two rows");
    rows = after;
    let listed = kms
        .list_crypto_keys()
        .set_parent(format!("{LOC}/keyRings/keygate"))
        .send()
        .await
        .unwrap();
    assert!(listed.crypto_keys.iter().any(|k| k.name == name));
    let after = gcp_rows(&gw, "gcp-audited").await;
    assert_eq!(after, rows + 1, "list: one row");
    rows = after;
    let ct = kms
        .encrypt()
        .set_name(&name)
        .set_plaintext(b"from gcp".to_vec())
        .send()
        .await
        .unwrap();
    let after = gcp_rows(&gw, "gcp-audited").await;
    assert_eq!(after, rows + 1, "encrypt: one row");
    rows = after;
    let pt = kms
        .decrypt()
        .set_name(&name)
        .set_ciphertext(ct.ciphertext.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(&pt.plaintext[..], b"from gcp");
    let after = gcp_rows(&gw, "gcp-audited").await;
    assert_eq!(after, rows + 1, "decrypt: one row");
    rows = after;
    kms.list_crypto_key_versions()
        .set_parent(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        gcp_rows(&gw, "gcp-audited").await,
        rows + 1,
        "list versions: one row"
    );

    // Ciphertext from the GCP dialect opens through keygate (and so the CLI and REST).
    let opened = admin
        .decrypt(&ct.ciphertext, &EncryptionContext::new())
        .await
        .unwrap();
    assert_eq!(&opened.plaintext[..], b"from gcp");
    // ...and keygate's own envelopes open through the dialect.
    let envelope = admin
        .encrypt(
            &crate::support::kl("cli-key"),
            b"from cli",
            &EncryptionContext::new(),
        )
        .await
        .unwrap();
    let pt = kms
        .decrypt()
        .set_name(&name)
        .set_ciphertext(envelope)
        .send()
        .await
        .unwrap();
    assert_eq!(&pt.plaintext[..], b"from cli");

    // A key made elsewhere is in the implicit ring only, even before the dialect has met it.
    admin
        .create_key(None, CreateKeyRequest::new("cli-only", KeySpec::Aes256))
        .await
        .unwrap();
    create_ring(&kms, "other").await;
    let elsewhere = format!("{LOC}/keyRings/other/cryptoKeys/cli-only");
    let err = kms
        .encrypt()
        .set_name(&elsewhere)
        .set_plaintext(b"x".to_vec())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), Code::NotFound);
    let err = kms
        .get_crypto_key()
        .set_name(&elsewhere)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), Code::NotFound);
    kms.encrypt()
        .set_name(format!("{LOC}/keyRings/keygate/cryptoKeys/cli-only"))
        .set_plaintext(b"x".to_vec())
        .send()
        .await
        .unwrap();
    gw.stop().await;
}

#[tokio::test]
async fn gcp_errors_and_bad_input_are_google_shaped_4xx() {
    let gw = TestGateway::start().await;
    let token = gw.token("gcp-bad", "admin").await;
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
    let key = format!("/v1/{ring}/cryptoKeys/k");

    let missing = kms
        .get_crypto_key()
        .set_name(format!("{ring}/cryptoKeys/nope"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), Code::NotFound);
    let no_ring = kms
        .list_crypto_keys()
        .set_parent(format!("{LOC}/keyRings/absent"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_ring), Code::NotFound);
    let unsupported = kms
        .create_crypto_key()
        .set_parent(&ring)
        .set_crypto_key_id("k2")
        .set_crypto_key(
            CryptoKey::new()
                .set_purpose(CryptoKeyPurpose::AsymmetricSign)
                .set_version_template(
                    CryptoKeyVersionTemplate::new().set_algorithm(Alg::EcSignEd25519),
                ),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unsupported), Code::InvalidArgument);
    assert!(
        unsupported
            .status()
            .unwrap()
            .message
            .contains("EC_SIGN_ED25519")
    );

    let post = reqwest::Method::POST;
    let (s, b) = raw(
        &gw,
        post.clone(),
        &format!("{key}:encrypt"),
        Some(&token),
        Some(b"{garbage".to_vec()),
    )
    .await;
    assert_google_error(s, &b, 400, "INVALID_ARGUMENT");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON payload received.")
    );
    let wrong_type = serde_json::to_vec(&json!({"plaintext": 12})).unwrap();
    let (s, b) = raw(
        &gw,
        post.clone(),
        &format!("{key}:encrypt"),
        Some(&token),
        Some(wrong_type),
    )
    .await;
    assert_google_error(s, &b, 400, "INVALID_ARGUMENT");
    let unknown_field =
        serde_json::to_vec(&json!({"plaintext": "aGk=", "nonsense": true})).unwrap();
    let (s, b) = raw(
        &gw,
        post.clone(),
        &format!("{key}:encrypt"),
        Some(&token),
        Some(unknown_field),
    )
    .await;
    assert_google_error(s, &b, 400, "INVALID_ARGUMENT");
    let (s, b) = raw(
        &gw,
        post.clone(),
        &format!("{key}:frobnicate"),
        Some(&token),
        Some(b"{}".to_vec()),
    )
    .await;
    assert_google_error(s, &b, 404, "NOT_FOUND");
    let (s, b) = raw(
        &gw,
        reqwest::Method::PUT,
        &key,
        Some(&token),
        Some(b"{}".to_vec()),
    )
    .await;
    assert_google_error(s, &b, 404, "NOT_FOUND");
    let huge = vec![b'a'; 2 * 1024 * 1024];
    let (s, b) = raw(
        &gw,
        post.clone(),
        &format!("{key}:encrypt"),
        Some(&token),
        Some(huge),
    )
    .await;
    assert!((400..500).contains(&s), "{s}");
    assert_eq!(b["error"]["status"], "INVALID_ARGUMENT");
    // Within the body limit but over Cloud KMS's 64 KiB plaintext bound.
    let big = serde_json::to_vec(&json!({"plaintext": "AAAA".repeat(70 * 1024 / 3 + 1)})).unwrap();
    let (s, b) = raw(
        &gw,
        post.clone(),
        &format!("{key}:encrypt"),
        Some(&token),
        Some(big),
    )
    .await;
    assert_google_error(s, &b, 400, "INVALID_ARGUMENT");
    let (s, b) = raw(
        &gw,
        reqwest::Method::GET,
        &format!("/v1/{LOC}/keyRings?filter=name%3Dx"),
        Some(&token),
        None,
    )
    .await;
    assert_google_error(s, &b, 400, "INVALID_ARGUMENT");

    // Enums as names work as well as the client's numbers.
    let by_name = serde_json::to_vec(&json!({"purpose": "ENCRYPT_DECRYPT", "versionTemplate": {"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"}})).unwrap();
    let (s, b) = raw(
        &gw,
        post.clone(),
        &format!("/v1/{ring}/cryptoKeys?cryptoKeyId=named"),
        Some(&token),
        Some(by_name),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["purpose"], "ENCRYPT_DECRYPT");

    // No token, or a bad one: 401 with fixed text.
    let (s, b) = raw(&gw, reqwest::Method::GET, &key, None, None).await;
    assert_google_error(s, &b, 401, "UNAUTHENTICATED");
    let (s, b) = raw(&gw, reqwest::Method::GET, &key, Some("kgt_nope.nope"), None).await;
    assert_google_error(s, &b, 401, "UNAUTHENTICATED");
    assert!(!b["error"]["message"].as_str().unwrap().contains("kgt_nope"));
    // A caller whose role may not encrypt: 403 with fixed text.
    let auditor = gw.token("gcp-auditor", "auditor").await;
    let body = serde_json::to_vec(&json!({"plaintext": "aGk="})).unwrap();
    let (s, b) = raw(
        &gw,
        post,
        &format!("{key}:encrypt"),
        Some(&auditor),
        Some(body),
    )
    .await;
    assert_google_error(s, &b, 403, "PERMISSION_DENIED");
    gw.stop().await;
}

#[tokio::test]
async fn gcp_anonymous_switch_maps_callers_without_a_token() {
    let config = crate::support::config(|c| {
        c.dialects.insecure_anonymous = Some(keygate_server::config::AnonymousIdentity {
            principal: "dev-anon".into(),
            role: "admin".into(),
        });
    });
    let gw = TestGateway::start_with(config).await;
    let (s, b) = raw(
        &gw,
        reqwest::Method::GET,
        &format!("/v1/{LOC}/keyRings"),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["keyRings"][0]["name"], format!("{LOC}/keyRings/keygate"));
    // `global` is the default provider; locations list it and every provider.
    let (s, b) = raw(
        &gw,
        reqwest::Method::GET,
        "/v1/projects/p/locations",
        None,
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let ids: Vec<&str> = b["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["locationId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["global", "local"]);
    let body = serde_json::to_vec(&json!({"purpose": 1})).unwrap();
    let path = "/v1/projects/p/locations/global/keyRings/keygate/cryptoKeys?cryptoKeyId=g";
    let (s, b) = raw(&gw, reqwest::Method::POST, path, None, Some(body)).await;
    assert_eq!(s, 200, "{b}");
    let meta = gw
        .service
        .local_admin()
        .describe_key(&crate::support::kl("local://g"))
        .await
        .unwrap();
    assert!(meta.labels.is_empty(), "the implicit ring sets no label");
    let (s, b) = raw(
        &gw,
        reqwest::Method::GET,
        "/v1/projects/p/locations/nowhere/keyRings",
        None,
        None,
    )
    .await;
    assert_google_error(s, &b, 404, "NOT_FOUND");
    gw.stop().await;
}
