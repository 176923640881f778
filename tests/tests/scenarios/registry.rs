//! The gateway's registry over real providers.

use std::sync::Arc;

use keygate_core::{CreateKeyRequest, DynProvider, EncryptionContext, ErrorKind, KeySpec};
use keygate_providers::local::LocalProvider;
use keygate_server::store::AliasesExt as _;
use keygate_server::{GatewayStore, Registry};

async fn local(name: &str) -> DynProvider {
    Arc::new(
        LocalProvider::builder()
            .with_name(name)
            .build()
            .await
            .unwrap(),
    )
}

async fn registry(providers: Vec<DynProvider>) -> Registry {
    Registry::new(providers, GatewayStore::in_memory().await.unwrap()).unwrap()
}

#[tokio::test]
async fn names_uris_and_aliases_resolve_to_the_same_key() {
    let reg = registry(vec![local("local").await]).await;
    let p = reg.provider("local").unwrap().clone();
    p.create_key(CreateKeyRequest::new("orders", KeySpec::Aes256))
        .await
        .unwrap();
    let by_name = reg.resolve(&crate::support::kl("orders")).await.unwrap();
    let by_uri = reg
        .resolve(&crate::support::kl("local://orders"))
        .await
        .unwrap();
    assert_eq!(by_name.key_ref(), by_uri.key_ref());

    reg.store()
        .create_alias("billing", &by_name.key_ref())
        .await
        .unwrap();
    let by_alias = reg
        .resolve(&crate::support::kl("alias/billing"))
        .await
        .unwrap();
    assert_eq!(by_alias.key_ref(), by_name.key_ref());

    // A ciphertext made through one spelling decrypts through another.
    let ctx = EncryptionContext::new().with("order", "42");
    let ct = by_alias
        .provider
        .encrypt(&by_alias.id, b"total=10", &ctx)
        .await
        .unwrap();
    let pt = by_uri
        .provider
        .decrypt(Some(&by_uri.id), None, &ct.bytes, &ctx)
        .await
        .unwrap();
    assert_eq!(pt.as_slice(), b"total=10");

    for missing in ["nope", "alias/nope"] {
        let err = reg.resolve(&crate::support::kl(missing)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{missing}: {err}");
    }
    // A URI routes without a round-trip; the call itself reports the missing key.
    let routed = reg
        .resolve(&crate::support::kl("local://nope"))
        .await
        .unwrap();
    let err = routed.provider.describe_key(&routed.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // A reference is parsed before anything resolves it.
    assert_eq!(
        keygate_core::KeyLocator::parse("s3://bucket/x")
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidArgument
    );
}

#[tokio::test]
async fn a_name_held_by_two_providers_is_ambiguous_and_listing_covers_both() {
    let reg = registry(vec![local("east").await, local("west").await]).await;
    for p in reg.providers() {
        p.create_key(CreateKeyRequest::new("shared", KeySpec::Aes256))
            .await
            .unwrap();
    }
    reg.provider("west")
        .unwrap()
        .create_key(CreateKeyRequest::new("only-west", KeySpec::HmacSha256))
        .await
        .unwrap();
    let err = reg
        .resolve(&crate::support::kl("shared"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("ambiguous"), "{err}");
    assert_eq!(
        reg.resolve(&crate::support::kl("only-west"))
            .await
            .unwrap()
            .key_ref()
            .provider,
        "west"
    );

    let listings = reg.list_keys(None).await.unwrap();
    let counts: Vec<(String, usize)> = listings
        .into_iter()
        .map(|l| (l.provider, l.keys.unwrap().len()))
        .collect();
    assert_eq!(counts, vec![("east".into(), 1), ("west".into(), 2)]);
    assert_eq!(
        reg.list_keys(Some("north")).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn duplicate_provider_names_are_refused() {
    let err = Registry::new(
        vec![local("dup").await, local("dup").await],
        GatewayStore::in_memory().await.unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}
