//! The local provider's digest signing beyond the conformance suite: the contract's error
//! order (unknown key, then state or usage, then algorithm, then the digest's length) and
//! signatures from older versions after a rotation.

use aws_lc_rs::digest::{SHA256, SHA384, digest};
use keygate_core::{CreateKeyRequest, Error, KeyProvider, KeySpec, KeyUsage, SigningAlgorithm};
use keygate_providers::local::LocalProvider;

async fn provider_with(keys: &[(&str, KeySpec)]) -> LocalProvider {
    let p = LocalProvider::builder().build().await.unwrap();
    for &(name, spec) in keys {
        let usage = spec.is_rsa().then_some(KeyUsage::Sign);
        p.create_key(CreateKeyRequest {
            usage,
            ..CreateKeyRequest::new(name, spec)
        })
        .await
        .unwrap();
    }
    p
}

fn kind(r: keygate_core::Result<impl Sized>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(Error::NotFound(_)) => "not_found",
        Err(Error::InvalidState(_)) => "invalid_state",
        Err(Error::InvalidArgument(_)) => "invalid_argument",
        Err(_) => "other error",
    }
}

#[tokio::test]
async fn errors_come_in_the_contracts_order() {
    let p = provider_with(&[
        ("ec", KeySpec::EcP256),
        ("off", KeySpec::EcP256),
        ("aes", KeySpec::Aes256),
    ])
    .await;
    p.disable_key("off").await.unwrap();
    let es256 = SigningAlgorithm::EcdsaSha256;
    let short = [0u8; 7];
    let cases: [(&str, &str, SigningAlgorithm, &str); 5] = [
        ("an unknown key", "missing", es256, "not_found"),
        ("a disabled key", "off", es256, "invalid_state"),
        ("an AES key", "aes", es256, "invalid_state"),
        (
            "an algorithm the key lacks",
            "ec",
            SigningAlgorithm::EcdsaSha384,
            "invalid_argument",
        ),
        ("a 7-byte digest", "ec", es256, "invalid_argument"),
    ];
    for (label, key, alg, want) in cases {
        assert_eq!(
            kind(
                p.sign(key, None, keygate_core::SignInput::Digest(&short), alg)
                    .await
            ),
            want,
            "sign_digest with {label}"
        );
        assert_eq!(
            kind(
                p.verify(
                    key,
                    None,
                    keygate_core::SignInput::Digest(&short),
                    &[0; 64],
                    alg
                )
                .await
            ),
            want,
            "verify_digest with {label}"
        );
    }
    let Err(Error::InvalidArgument(msg)) = p
        .sign("ec", None, keygate_core::SignInput::Digest(&short), es256)
        .await
    else {
        panic!("a short digest was not an invalid argument");
    };
    assert!(
        msg.contains("32 bytes") && msg.contains("got 7"),
        "unclear message: {msg}"
    );
}

#[tokio::test]
async fn older_versions_verify_digests_after_a_rotation() {
    let p = provider_with(&[("rsa", KeySpec::Rsa2048), ("p384", KeySpec::EcP384)]).await;
    let cases = [
        ("rsa", SigningAlgorithm::RsaPssSha256, &SHA256),
        ("rsa", SigningAlgorithm::RsaPkcs1Sha256, &SHA256),
        ("p384", SigningAlgorithm::EcdsaSha384, &SHA384),
    ];
    for (key, alg, hash) in cases {
        let d = digest(hash, b"signed before the rotation");
        let old = p
            .sign(key, None, keygate_core::SignInput::Digest(d.as_ref()), alg)
            .await
            .unwrap();
        let new_version = p.rotate_key(key).await.unwrap().id;
        assert_ne!(new_version, old.key_version, "{key} {alg}");
        assert!(
            p.verify(
                key,
                Some(&old.key_version),
                keygate_core::SignInput::Digest(d.as_ref()),
                &old.bytes,
                alg
            )
            .await
            .unwrap(),
            "{key} {alg}: the old version's signature no longer verifies"
        );
        assert!(
            !p.verify(
                key,
                Some(&new_version),
                keygate_core::SignInput::Digest(d.as_ref()),
                &old.bytes,
                alg
            )
            .await
            .unwrap(),
            "{key} {alg}: the new version accepted the old version's signature"
        );
        let fresh = p
            .sign(key, None, keygate_core::SignInput::Digest(d.as_ref()), alg)
            .await
            .unwrap();
        assert_eq!(fresh.key_version, new_version, "{key} {alg}");
    }
}
