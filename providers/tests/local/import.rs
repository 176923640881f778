//! Imported key material in the local provider: the token is bound to its key and its
//! validity (a manual clock moves past it), material is checked against the key's spec, a
//! signing key of imported material signs what its owner's public key verifies, material
//! expires at the maintenance tick, and a second provider on the same store and root key
//! takes a token the first issued.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};
use keygate_core::import::wrap_material;
use keygate_core::{
    Clock as _, CreateKeyRequest, Error, ErrorKind, ImportFault, ImportedMaterial, KeyOrigin,
    KeyProvider, KeySpec, KeyState, KeyUsage, ManualClock, SignInput, SigningAlgorithm,
    WrappingAlgorithm, WrappingKeySpec,
};
use keygate_providers::local::{LocalBuilder, LocalProvider};
use time::Duration;
use time::macros::datetime;

use super::root_key;

fn external(name: &str, spec: KeySpec) -> CreateKeyRequest {
    CreateKeyRequest {
        origin: KeyOrigin::External,
        ..CreateKeyRequest::new(name, spec)
    }
}

async fn material_for(
    p: &LocalProvider,
    key: &str,
    material: &[u8],
    valid_to: Option<time::OffsetDateTime>,
) -> ImportedMaterial {
    let alg = WrappingAlgorithm::RsaAesKeyWrapSha1;
    let params = p
        .import_parameters(key, alg, WrappingKeySpec::Rsa2048)
        .await
        .unwrap();
    ImportedMaterial {
        encrypted_material: wrap_material(&params.public_key, alg, material).unwrap(),
        import_token: params.import_token,
        valid_to,
    }
}

#[tokio::test]
async fn tokens_expire_bind_their_key_and_work_across_providers_on_one_store() {
    let start = datetime!(2030-01-01 00:00 UTC);
    let clock = Arc::new(ManualClock::new(start));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keys.db");
    let open = |clock: Arc<ManualClock>| {
        LocalBuilder::new()
            .with_path(&db)
            .with_root_key(root_key(9))
            .with_clock(clock)
            .build()
    };
    let p = open(clock.clone()).await.unwrap();
    assert!(p.capabilities().import_material);
    let meta = p
        .create_key(external("byok", KeySpec::Aes256))
        .await
        .unwrap();
    assert_eq!(meta.state, KeyState::PendingImport);
    assert_eq!(meta.origin(), KeyOrigin::External);
    p.create_key(external("other", KeySpec::Aes256))
        .await
        .unwrap();

    // A token of another key is foreign.
    let foreign = material_for(&p, "other", &[1; 32], None).await;
    match p.import_material("byok", foreign).await {
        Err(Error::ImportRejected { fault, .. }) => assert_eq!(fault, ImportFault::InvalidToken),
        other => panic!("{other:?}"),
    }
    // A token past its 24 hours is expired.
    let late = material_for(&p, "byok", &[1; 32], None).await;
    clock.advance(Duration::hours(25));
    match p.import_material("byok", late).await {
        Err(Error::ImportRejected { fault, .. }) => assert_eq!(fault, ImportFault::ExpiredToken),
        other => panic!("{other:?}"),
    }
    // Another provider on the same store and root key takes this one's token.
    let m = material_for(&p, "byok", &[1; 32], Some(clock.now() + Duration::days(30))).await;
    let second = open(clock.clone()).await.unwrap();
    let imported = second.import_material("byok", m).await.unwrap();
    assert_eq!(imported.state, KeyState::Enabled);
    let described = p.describe_key("byok").await.unwrap();
    assert_eq!(
        described.import.unwrap().valid_to,
        Some(clock.now() + Duration::days(30))
    );
    // Keys of imported material are not rotated by keygate.
    assert_eq!(
        p.rotate_key("byok").await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );

    // The material expires at the tick after its valid_to.
    assert!(
        p.due(clock.now())
            .await
            .unwrap()
            .material_expirations
            .is_empty()
    );
    clock.advance(Duration::days(31));
    let done = p.tick(clock.now()).await.unwrap();
    assert_eq!(done.expired_material, ["byok"]);
    assert_eq!(
        p.describe_key("byok").await.unwrap().state,
        KeyState::PendingImport
    );
    assert!(
        p.tick(clock.now())
            .await
            .unwrap()
            .expired_material
            .is_empty()
    );

    // A key keygate made takes no material; a key pending import can still be deleted.
    p.create_key(CreateKeyRequest::new("made", KeySpec::Aes256))
        .await
        .unwrap();
    let refused = p
        .import_parameters(
            "made",
            WrappingAlgorithm::RsaesOaepSha256,
            WrappingKeySpec::Rsa2048,
        )
        .await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Unsupported);
    let deleting = p.schedule_deletion("other", 7).await.unwrap();
    assert!(matches!(deleting.state, KeyState::PendingDeletion { .. }));
    let back = p.cancel_deletion("other").await.unwrap();
    assert_eq!(back.state, KeyState::PendingImport);
}

#[tokio::test]
async fn an_imported_signing_key_signs_for_its_owners_public_key() {
    let p = LocalBuilder::new().build().await.unwrap();
    let spec = CreateKeyRequest {
        usage: Some(KeyUsage::Sign),
        ..external("signer", KeySpec::EcP256)
    };
    p.create_key(spec).await.unwrap();
    // Wrong material for the spec is refused before anything changes.
    for bad in [&[7u8; 32][..], b"not a key"] {
        let m = material_for(&p, "signer", bad, None).await;
        assert_eq!(
            p.import_material("signer", m).await.unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    let m = material_for(&p, "signer", pkcs8.as_ref(), None).await;
    p.import_material("signer", m).await.unwrap();
    let sig = p
        .sign(
            "signer",
            None,
            SignInput::Message(b"signed with my own key"),
            SigningAlgorithm::EcdsaSha256,
        )
        .await
        .unwrap();
    let public = pair.public_key().as_der().unwrap();
    let served = p.get_public_key("signer", None).await.unwrap();
    assert_eq!(served.der, public.as_ref());
    UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_ASN1,
        pair.public_key().as_ref(),
    )
    .verify(b"signed with my own key", &sig.bytes)
    .unwrap();

    // Deleting the material and importing other material is refused; the same is taken.
    p.delete_imported_material("signer").await.unwrap();
    let other = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let m = material_for(&p, "signer", other.to_pkcs8v1().unwrap().as_ref(), None).await;
    match p.import_material("signer", m).await {
        Err(Error::ImportRejected { fault, .. }) => {
            assert_eq!(fault, ImportFault::IncorrectMaterial)
        }
        other => panic!("{other:?}"),
    }
    let m = material_for(&p, "signer", pkcs8.as_ref(), None).await;
    assert_eq!(
        p.import_material("signer", m).await.unwrap().state,
        KeyState::Enabled
    );
}
