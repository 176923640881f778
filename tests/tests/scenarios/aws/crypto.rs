//! The AWS KMS dialect's cryptography through aws-sdk-kms: encryption with context, data
//! keys, random bytes, signatures, MACs, public keys and key policies.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeySpec, EncryptionAlgorithmSpec, KeySpec, KeyUsageType, MacAlgorithmSpec, MessageType,
    SigningAlgorithmSpec,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keygate_core::api::Gateway as _;

use super::{client, code, create};
use crate::support::TestGateway;

#[tokio::test]
async fn aws_sdk_encrypts_decrypts_and_makes_data_keys() {
    let gw = TestGateway::start().await;
    let c = client(&gw, "app1", "admin").await;
    let key = create(&c, KeySpec::SymmetricDefault, None).await;
    let other = create(&c, KeySpec::SymmetricDefault, None).await;
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{key}");

    let sealed = c
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("top secret"))
        .encryption_context("tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(sealed.key_id(), Some(arn.as_str()));
    assert_eq!(
        sealed.encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    let blob = sealed.ciphertext_blob().unwrap().clone();
    // Without KeyId; with the right context only.
    let opened = c
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref(), b"top secret");
    assert_eq!(opened.key_id(), Some(arn.as_str()));
    let wrong = c
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("tenant", "evil")
        .send()
        .await;
    assert_eq!(code(wrong), "InvalidCiphertextException");
    let missing = c.decrypt().ciphertext_blob(blob.clone()).send().await;
    assert_eq!(code(missing), "InvalidCiphertextException");
    let wrong_key = c
        .decrypt()
        .ciphertext_blob(blob.clone())
        .key_id(&other)
        .encryption_context("tenant", "acme")
        .send()
        .await;
    assert_eq!(code(wrong_key), "IncorrectKeyException");
    let garbage = c
        .decrypt()
        .ciphertext_blob(Blob::new("not a ciphertext"))
        .send()
        .await;
    assert_eq!(code(garbage), "InvalidCiphertextException");
    // The same blob is a keygate envelope: the CLI/REST side opens it too.
    let ctx = keygate_core::EncryptionContext::new().with("tenant", "acme");
    let d = gw
        .service
        .local_admin()
        .decrypt(blob.as_ref(), &ctx)
        .await
        .unwrap();
    assert_eq!(d.plaintext.as_slice(), b"top secret");

    // ReEncrypt under the other key and context.
    let re = c
        .re_encrypt()
        .ciphertext_blob(blob)
        .source_encryption_context("tenant", "acme")
        .destination_key_id(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(re.source_key_id(), Some(arn.as_str()));
    assert!(re.key_id().unwrap().ends_with(&other));
    let opened = c
        .decrypt()
        .ciphertext_blob(re.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref(), b"top secret");

    // Bounds.
    let big = c
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(vec![0u8; 4097]))
        .send()
        .await;
    assert_eq!(code(big), "ValidationException");
    c.encrypt()
        .key_id(&key)
        .plaintext(Blob::new(vec![0u8; 4096]))
        .send()
        .await
        .unwrap();

    // Data keys: the blob decrypts to the plaintext data key, through AWS and through REST.
    let dk = c
        .generate_data_key()
        .key_id("alias/none")
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await;
    assert_eq!(code(dk), "NotFoundException");
    let dk = c
        .generate_data_key()
        .key_id(&key)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("purpose", "dk")
        .send()
        .await
        .unwrap();
    let plain = dk.plaintext().unwrap().as_ref().to_vec();
    assert_eq!(plain.len(), 32);
    let blob = dk.ciphertext_blob().unwrap().clone();
    let opened = c
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("purpose", "dk")
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref(), plain.as_slice());
    let token = gw.token("app1-rest", "admin").await;
    let rest: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/decrypt", gw.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"ciphertext": STANDARD.encode(blob.as_ref()), "context": {"purpose": "dk"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        STANDARD
            .decode(rest["plaintext"].as_str().unwrap())
            .unwrap(),
        plain
    );
    let without = c
        .generate_data_key_without_plaintext()
        .key_id(&key)
        .number_of_bytes(16)
        .send()
        .await
        .unwrap();
    let opened = c
        .decrypt()
        .ciphertext_blob(without.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref().len(), 16);

    // Random bytes, 1–1024.
    let r = c
        .generate_random()
        .number_of_bytes(64)
        .send()
        .await
        .unwrap();
    assert_eq!(r.plaintext().unwrap().as_ref().len(), 64);
    assert_eq!(
        code(c.generate_random().number_of_bytes(1025).send().await),
        "ValidationException"
    );

    // RSAES_OAEP_SHA_256 is the bare RSA-OAEP ciphertext AWS answers: the modulus' size.
    let rsa = create(&c, KeySpec::Rsa2048, Some(KeyUsageType::EncryptDecrypt)).await;
    let ct = c
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new("rsa data"))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(ct.ciphertext_blob().unwrap().as_ref().len(), 256);
    let opened = c
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(ct.ciphertext_blob().unwrap().clone())
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref(), b"rsa data");
    // RSAES_OAEP_SHA_1: the bare RSA ciphertext, which a client makes from the public key.
    let sha1 = c
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new("sha1 data"))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sha1.encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::RsaesOaepSha1)
    );
    let opened = c
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(sha1.ciphertext_blob().unwrap().clone())
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref(), b"sha1 data");
    assert_eq!(
        opened.encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::RsaesOaepSha1)
    );
    let public = c.get_public_key().key_id(&rsa).send().await.unwrap();
    let client_side = {
        use rsa::pkcs8::DecodePublicKey as _;
        let key =
            rsa::RsaPublicKey::from_public_key_der(public.public_key().unwrap().as_ref()).unwrap();
        key.encrypt(
            &mut rsa::rand_core::OsRng,
            rsa::Oaep::new::<sha1::Sha1>(),
            b"from a client",
        )
        .unwrap()
    };
    let opened = c
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(Blob::new(client_side.clone()))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.plaintext().unwrap().as_ref(), b"from a client");
    let wrong_padding = c
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(Blob::new(client_side))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await;
    assert_eq!(code(wrong_padding), "InvalidCiphertextException");
    // A client encrypts with RSA-OAEP-SHA-256 from the public key; the door opens it.
    let client_side = {
        use rsa::pkcs8::DecodePublicKey as _;
        let key =
            rsa::RsaPublicKey::from_public_key_der(public.public_key().unwrap().as_ref()).unwrap();
        key.encrypt(
            &mut rsa::rand_core::OsRng,
            rsa::Oaep::new::<sha2::Sha256>(),
            b"sha256 from a client",
        )
        .unwrap()
    };
    let opened = c
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(Blob::new(client_side))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(
        opened.plaintext().unwrap().as_ref(),
        b"sha256 from a client"
    );
    // keygate's native RSA ciphertext, which earlier versions answered, still opens.
    let uri = gw
        .service
        .aws_key_ids()
        .aws_uri_of(&rsa)
        .await
        .unwrap()
        .unwrap();
    let native = gw
        .service
        .local_admin()
        .encrypt_native(
            &keygate_core::KeyLocator::Uri(uri),
            b"from an older keygate",
            &keygate_core::EncryptionContext::default(),
        )
        .await
        .unwrap()
        .value
        .bytes;
    assert_ne!(native.len(), 256);
    let opened = c
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(Blob::new(native))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(
        opened.plaintext().unwrap().as_ref(),
        b"from an older keygate"
    );
    // The bare ciphertext binds no context, as in AWS.
    let with_context = c
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new("rsa data"))
        .encryption_context("k", "v")
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await;
    assert_eq!(code(with_context), "ValidationException");
    let with_context = c
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new("x"))
        .encryption_context("a", "b")
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await;
    assert_eq!(code(with_context), "ValidationException");
    gw.stop().await;
}

#[tokio::test]
async fn aws_sdk_makes_data_keys_of_16_to_1024_bytes() {
    let gw = TestGateway::start().await;
    let c = client(&gw, "sizes", "admin").await;
    let key = create(&c, KeySpec::SymmetricDefault, None).await;
    for n in [16, 17, 24, 33, 1024] {
        let dk = c
            .generate_data_key()
            .key_id(&key)
            .number_of_bytes(n)
            .send()
            .await
            .unwrap();
        let plain = dk.plaintext().unwrap().as_ref().to_vec();
        assert_eq!(plain.len(), usize::try_from(n).unwrap());
        let opened = c
            .decrypt()
            .ciphertext_blob(dk.ciphertext_blob().unwrap().clone())
            .send()
            .await
            .unwrap();
        assert_eq!(opened.plaintext().unwrap().as_ref(), plain.as_slice());
        let without = c
            .generate_data_key_without_plaintext()
            .key_id(&key)
            .number_of_bytes(n)
            .send()
            .await
            .unwrap();
        let opened = c
            .decrypt()
            .ciphertext_blob(without.ciphertext_blob().unwrap().clone())
            .send()
            .await
            .unwrap();
        assert_eq!(opened.plaintext().unwrap().as_ref().len(), plain.len());
    }
    for (n, want) in [
        (0, "ValidationException"),
        (1025, "ValidationException"),
        // The blob is an envelope keyed by the data key, which needs 16 bytes.
        (5, "UnsupportedOperationException"),
    ] {
        let refused = c
            .generate_data_key()
            .key_id(&key)
            .number_of_bytes(n)
            .send()
            .await;
        assert_eq!(code(refused), want, "{n} bytes");
    }
    gw.stop().await;
}

#[tokio::test]
async fn aws_sdk_signs_verifies_macs_and_edits_key_policies() {
    let gw = TestGateway::start().await;
    let c = client(&gw, "signer", "admin").await;
    let ec = create(&c, KeySpec::EccNistP256, Some(KeyUsageType::SignVerify)).await;
    let rsa = create(&c, KeySpec::Rsa3072, Some(KeyUsageType::SignVerify)).await;
    let p521 = create(&c, KeySpec::EccNistP521, Some(KeyUsageType::SignVerify)).await;
    let k1 = create(&c, KeySpec::EccSecgP256K1, Some(KeyUsageType::SignVerify)).await;

    for (key, alg) in [
        (&ec, SigningAlgorithmSpec::EcdsaSha256),
        (&rsa, SigningAlgorithmSpec::RsassaPssSha256),
        (&rsa, SigningAlgorithmSpec::RsassaPkcs1V15Sha256),
        (&rsa, SigningAlgorithmSpec::RsassaPssSha384),
        (&rsa, SigningAlgorithmSpec::RsassaPssSha512),
        (&rsa, SigningAlgorithmSpec::RsassaPkcs1V15Sha384),
        (&rsa, SigningAlgorithmSpec::RsassaPkcs1V15Sha512),
        (&p521, SigningAlgorithmSpec::EcdsaSha512),
        (&k1, SigningAlgorithmSpec::EcdsaSha256),
    ] {
        let sig = c
            .sign()
            .key_id(key)
            .message(Blob::new("hello"))
            .signing_algorithm(alg.clone())
            .send()
            .await
            .unwrap();
        let signature = sig.signature().unwrap().clone();
        let ok = c
            .verify()
            .key_id(key)
            .message(Blob::new("hello"))
            .signature(signature.clone())
            .signing_algorithm(alg.clone())
            .send()
            .await
            .unwrap();
        assert!(ok.signature_valid());
        let bad = c
            .verify()
            .key_id(key)
            .message(Blob::new("hellO"))
            .signature(signature)
            .signing_algorithm(alg.clone())
            .send()
            .await;
        assert_eq!(code(bad), "KMSInvalidSignatureException");
    }
    let unsupported = c
        .sign()
        .key_id(&rsa)
        .message(Blob::new("x"))
        .signing_algorithm(SigningAlgorithmSpec::Sm2Dsa)
        .send()
        .await;
    assert_eq!(code(unsupported), "UnsupportedOperationException");
    // The curves' one algorithm each, as DescribeKey lists it.
    for (key, spec, alg) in [
        (
            &p521,
            KeySpec::EccNistP521,
            SigningAlgorithmSpec::EcdsaSha512,
        ),
        (
            &k1,
            KeySpec::EccSecgP256K1,
            SigningAlgorithmSpec::EcdsaSha256,
        ),
    ] {
        let meta = c.describe_key().key_id(key).send().await.unwrap();
        let meta = meta.key_metadata().unwrap();
        assert_eq!(meta.key_spec(), Some(&spec));
        assert_eq!(meta.signing_algorithms(), [alg]);
    }
    // DIGEST: the caller hashes; a RAW verify of the message accepts the signature.
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(b"hello digest").to_vec();
    let sig = c
        .sign()
        .key_id(&ec)
        .message(Blob::new(digest.clone()))
        .message_type(MessageType::Digest)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    let ok = c
        .verify()
        .key_id(&ec)
        .message(Blob::new("hello digest"))
        .signature(sig.signature().unwrap().clone())
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(ok.signature_valid());
    let short = c
        .sign()
        .key_id(&ec)
        .message(Blob::new(vec![1u8; 20]))
        .message_type(MessageType::Digest)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await;
    assert_eq!(code(short), "ValidationException");

    // Public keys parse as DER SubjectPublicKeyInfo.
    use p256::pkcs8::DecodePublicKey as _;
    let public = c.get_public_key().key_id(&ec).send().await.unwrap();
    p256::PublicKey::from_public_key_der(public.public_key().unwrap().as_ref()).unwrap();
    assert_eq!(public.key_spec(), Some(&KeySpec::EccNistP256));
    let public = c.get_public_key().key_id(&rsa).send().await.unwrap();
    rsa::RsaPublicKey::from_public_key_der(public.public_key().unwrap().as_ref()).unwrap();

    // MACs.
    let mac_key = create(&c, KeySpec::Hmac256, Some(KeyUsageType::GenerateVerifyMac)).await;
    let tag = c
        .generate_mac()
        .key_id(&mac_key)
        .message(Blob::new("m"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    let mac = tag.mac().unwrap().clone();
    assert_eq!(mac.as_ref().len(), 32);
    let ok = c
        .verify_mac()
        .key_id(&mac_key)
        .message(Blob::new("m"))
        .mac(mac.clone())
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert!(ok.mac_valid());
    let bad = c
        .verify_mac()
        .key_id(&mac_key)
        .message(Blob::new("n"))
        .mac(mac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await;
    assert_eq!(code(bad), "KMSInvalidMacException");
    let wrong_alg = c
        .generate_mac()
        .key_id(&mac_key)
        .message(Blob::new("m"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha512)
        .send()
        .await;
    assert_eq!(code(wrong_alg), "InvalidKeyUsageException");

    // Key policy: put, get, and get → put → get is stable.
    // The account keeps its permissions (keygate enforces local keys' policies: without that
    // statement the caller would lose the key, which the lockout safety check refuses).
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"billing"},"Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:*","Resource":"*"}]}"#;
    c.put_key_policy()
        .key_id(&ec)
        .policy(doc)
        .send()
        .await
        .unwrap();
    let got = c
        .get_key_policy()
        .key_id(&ec)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert_eq!(value["Statement"][0]["Principal"]["AWS"], "billing");
    assert_eq!(
        value["Statement"][0]["Action"],
        serde_json::json!(["kms:Decrypt", "kms:Encrypt"])
    );
    c.put_key_policy()
        .key_id(&ec)
        .policy(&got)
        .send()
        .await
        .unwrap();
    let again = c
        .get_key_policy()
        .key_id(&ec)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(again, got);
    assert_eq!(
        code(
            c.get_key_policy()
                .key_id(&ec)
                .policy_name("other")
                .send()
                .await
        ),
        "NotFoundException"
    );
    assert_eq!(
        code(c.put_key_policy().key_id(&ec).policy("{nope").send().await),
        "MalformedPolicyDocumentException"
    );
    let names = c.list_key_policies().key_id(&ec).send().await.unwrap();
    assert_eq!(names.policy_names(), ["default"]);
    gw.stop().await;
}
