//! Imported key material through aws-sdk-kms: a key created with `Origin=EXTERNAL` waits in
//! `PendingImport`; material wrapped with the wrapping public key from
//! `GetParametersForImport` (here with the `rsa` crate, and AES key wrap with padding for
//! the `RSA_AES_KEY_WRAP_*` algorithms) makes it usable; deleting it, or its `ValidTo`
//! passing at a maintenance pass, puts it back in `PendingImport` until the same material is
//! imported again, after which old ciphertexts decrypt. Different material is
//! `IncorrectKeyMaterialException`, a token of another key `InvalidImportTokenException`.

use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded as _};
use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, KeySpec, KeyState, OriginType, WrappingKeySpec,
};
use keygate_core::audit::AuditOutcome;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::{Oaep, RsaPublicKey};

use super::{audit, client, code};
use crate::support::TestGateway;

/// Wraps `material` as an AWS client does for `algorithm`, with the wrapping public key.
fn wrap(public_der: &[u8], algorithm: &AlgorithmSpec, material: &[u8]) -> Vec<u8> {
    let public = RsaPublicKey::from_public_key_der(public_der).unwrap();
    let mut rng = rand_core();
    match algorithm {
        AlgorithmSpec::RsaesOaepSha256 => public
            .encrypt(&mut rng, Oaep::new::<sha2::Sha256>(), material)
            .unwrap(),
        AlgorithmSpec::RsaesOaepSha1 => public
            .encrypt(&mut rng, Oaep::new::<sha1::Sha1>(), material)
            .unwrap(),
        AlgorithmSpec::RsaAesKeyWrapSha256 => {
            let aes = [0x5au8; 32];
            let mut out = public
                .encrypt(&mut rng, Oaep::new::<sha2::Sha256>(), &aes)
                .unwrap();
            let kek = AesKek::new(&AES_256, &aes).unwrap();
            let mut wrapped = vec![0u8; material.len() + 15];
            let len = kek.wrap_with_padding(material, &mut wrapped).unwrap().len();
            out.extend_from_slice(&wrapped[..len]);
            out
        }
        other => panic!("no wrapping for {other:?} in this test"),
    }
}

fn rand_core() -> rsa::rand_core::OsRng {
    rsa::rand_core::OsRng
}

/// Creates a key of origin EXTERNAL and checks it waits for material.
async fn create_external(c: &Client, spec: KeySpec) -> String {
    let meta = c
        .create_key()
        .key_spec(spec)
        .origin(OriginType::External)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.origin(), Some(&OriginType::External));
    assert_eq!(meta.key_state(), Some(&KeyState::PendingImport));
    assert!(!meta.enabled());
    meta.key_id().to_owned()
}

/// Gets parameters and imports `material` with `algorithm`; `valid_to` in seconds from now.
async fn import(
    c: &Client,
    key: &str,
    algorithm: AlgorithmSpec,
    material: &[u8],
    valid_to: Option<i64>,
) -> Result<(), String> {
    let params = c
        .get_parameters_for_import()
        .key_id(key)
        .wrapping_algorithm(algorithm.clone())
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
        .unwrap();
    assert!(params.key_id().unwrap().ends_with(key));
    let valid = params.parameters_valid_to().unwrap().secs()
        - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((86_000..=86_400).contains(&valid), "{valid}");
    let wrapped = wrap(params.public_key().unwrap().as_ref(), &algorithm, material);
    let mut req = c
        .import_key_material()
        .key_id(key)
        .import_token(params.import_token().unwrap().clone())
        .encrypted_key_material(Blob::new(wrapped));
    req = match valid_to {
        Some(secs) => req
            .expiration_model(ExpirationModelType::KeyMaterialExpires)
            .valid_to(DateTime::from_secs(
                time::OffsetDateTime::now_utc().unix_timestamp() + secs,
            )),
        None => req.expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire),
    };
    req.send().await.map(drop).map_err(|e| {
        use aws_sdk_kms::error::ProvideErrorMetadata as _;
        e.code().unwrap_or("no code").to_owned()
    })
}

async fn state(c: &Client, key: &str) -> KeyState {
    c.describe_key()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_state()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn imported_material_encrypts_and_comes_back_after_deletion() {
    let gw = TestGateway::start().await;
    let c = client(&gw, "ops", "admin").await;
    let key = create_external(&c, KeySpec::SymmetricDefault).await;
    // No material yet: the key refuses every use.
    let refused = c
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"hi".to_vec()))
        .send()
        .await;
    assert_eq!(code(refused), "KMSInvalidStateException");

    let material = [0x42u8; 32];
    import(&c, &key, AlgorithmSpec::RsaesOaepSha256, &material, None)
        .await
        .unwrap();
    let meta = c
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
    assert_eq!(
        meta.expiration_model(),
        Some(&ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    let sealed = c
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"bring your own key".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();

    // Importing again while the key has material: AWS's KMSInvalidStateException.
    let again = import(&c, &key, AlgorithmSpec::RsaesOaepSha256, &material, None).await;
    assert_eq!(again.unwrap_err(), "KMSInvalidStateException");

    c.delete_imported_key_material()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(state(&c, &key).await, KeyState::PendingImport);
    let refused = c.decrypt().ciphertext_blob(sealed.clone()).send().await;
    assert_eq!(code(refused), "KMSInvalidStateException");

    // Other material is refused; the same material, wrapped another way, is taken back.
    let other = import(
        &c,
        &key,
        AlgorithmSpec::RsaesOaepSha256,
        &[0x43u8; 32],
        None,
    )
    .await;
    assert_eq!(other.unwrap_err(), "IncorrectKeyMaterialException");
    import(
        &c,
        &key,
        AlgorithmSpec::RsaAesKeyWrapSha256,
        &material,
        None,
    )
    .await
    .unwrap();
    let opened = c
        .decrypt()
        .ciphertext_blob(sealed)
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    assert_eq!(opened.as_ref(), b"bring your own key");

    // Material of the wrong length is a validation error, before anything changes.
    let short = create_external(&c, KeySpec::SymmetricDefault).await;
    let bad = import(&c, &short, AlgorithmSpec::RsaesOaepSha1, &[1u8; 16], None).await;
    assert_eq!(bad.unwrap_err(), "ValidationException");
    assert_eq!(state(&c, &short).await, KeyState::PendingImport);

    // Every import call is audited as keys:import, and no row holds the token.
    let rows = audit(&gw).await;
    let imports: Vec<_> = rows.iter().filter(|r| r.action == "keys:import").collect();
    assert!(imports.len() >= 8, "{}", imports.len());
    assert!(imports.iter().any(|r| r.outcome == AuditOutcome::Failure));
}

#[tokio::test]
async fn a_token_for_another_key_is_refused_and_expired_material_waits_again() {
    let gw = TestGateway::start().await;
    let c = client(&gw, "ops", "admin").await;
    let a = create_external(&c, KeySpec::SymmetricDefault).await;
    let b = create_external(&c, KeySpec::SymmetricDefault).await;
    let params = c
        .get_parameters_for_import()
        .key_id(&a)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(WrappingKeySpec::Rsa3072)
        .send()
        .await
        .unwrap();
    let wrapped = wrap(
        params.public_key().unwrap().as_ref(),
        &AlgorithmSpec::RsaesOaepSha256,
        &[7u8; 32],
    );
    let foreign = c
        .import_key_material()
        .key_id(&b)
        .import_token(params.import_token().unwrap().clone())
        .encrypted_key_material(Blob::new(wrapped))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await;
    assert_eq!(code(foreign), "InvalidImportTokenException");

    // ValidTo is required by KEY_MATERIAL_EXPIRES (the default) and bounded to 365 days.
    let too_far = import(
        &c,
        &a,
        AlgorithmSpec::RsaesOaepSha256,
        &[7u8; 32],
        Some(400 * 86_400),
    )
    .await;
    assert_eq!(too_far.unwrap_err(), "ValidationException");
    import(
        &c,
        &a,
        AlgorithmSpec::RsaesOaepSha256,
        &[7u8; 32],
        Some(3600),
    )
    .await
    .unwrap();
    let meta = c
        .describe_key()
        .key_id(&a)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(
        meta.expiration_model(),
        Some(&ExpirationModelType::KeyMaterialExpires)
    );
    assert!(meta.valid_to().is_some());
    let sealed = c
        .encrypt()
        .key_id(&a)
        .plaintext(Blob::new(b"until it expires".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();

    // Two hours on, the maintenance pass deletes the material (audited before it acts).
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    gw.service.run_maintenance(later).await;
    assert_eq!(state(&c, &a).await, KeyState::PendingImport);
    let rows = audit(&gw).await;
    assert!(rows.iter().any(|r| r.action == "keys:import"
        && r.source == "scheduler"
        && r.outcome == AuditOutcome::Success));
    let refused = c.decrypt().ciphertext_blob(sealed.clone()).send().await;
    assert_eq!(code(refused), "KMSInvalidStateException");
    import(&c, &a, AlgorithmSpec::RsaesOaepSha256, &[7u8; 32], None)
        .await
        .unwrap();
    let opened = c.decrypt().ciphertext_blob(sealed).send().await.unwrap();
    assert_eq!(opened.plaintext.unwrap().as_ref(), b"until it expires");

    // A key keygate made takes no material.
    let made = super::create(&c, KeySpec::SymmetricDefault, None).await;
    let refused = c
        .get_parameters_for_import()
        .key_id(&made)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await;
    assert_eq!(code(refused), "UnsupportedOperationException");
}
