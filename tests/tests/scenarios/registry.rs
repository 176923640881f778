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
    let p = reg.provider("local").await.unwrap();
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
    for p in reg.providers().await.unwrap() {
        p.create_key(CreateKeyRequest::new("shared", KeySpec::Aes256))
            .await
            .unwrap();
    }
    reg.provider("west")
        .await
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

/// A provider the registry opens on first use: a fresh in-memory local provider (or, with
/// `fails`, an error), counting every opening in `opened`.
fn on_demand(
    name: &str,
    kind: keygate_core::ProviderKind,
    uri_prefix: Option<&str>,
    fails: bool,
    opened: &Arc<std::sync::atomic::AtomicUsize>,
) -> keygate_server::registry::LazyProvider {
    let counter = Arc::clone(opened);
    let owned = name.to_owned();
    keygate_server::registry::LazyProvider {
        name: name.to_owned(),
        kind,
        uri_prefix: uri_prefix.map(str::to_owned),
        open: Box::new(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let name = owned.clone();
            Box::pin(async move {
                if fails {
                    return Err(keygate_core::Error::unavailable(format!("{name} is down")));
                }
                Ok(local(&name).await)
            })
        }),
    }
}

#[tokio::test]
async fn a_lazy_registry_opens_each_provider_on_first_use_only() {
    use keygate_core::{KeyLocator, ProviderKind};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    let (east, west, cloud) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let reg = Registry::lazy(
        vec![
            (
                on_demand(
                    "east",
                    ProviderKind::Local,
                    Some("local://east/"),
                    false,
                    &east,
                ),
                Default::default(),
            ),
            (
                on_demand(
                    "west",
                    ProviderKind::Local,
                    Some("local://west/"),
                    false,
                    &west,
                ),
                Default::default(),
            ),
            // A cloud whose prefix is its region's: known only once open.
            (
                on_demand("cloud", ProviderKind::Aws, None, true, &cloud),
                Default::default(),
            ),
        ],
        GatewayStore::in_memory().await.unwrap(),
    )
    .unwrap();
    let counts = || (east.load(SeqCst), west.load(SeqCst), cloud.load(SeqCst));
    assert_eq!(reg.open_count(), 0);
    assert_eq!(reg.names(), ["east", "west", "cloud"]);

    let key = reg
        .provider("east")
        .await
        .unwrap()
        .create_key(CreateKeyRequest::new("orders", KeySpec::Aes256))
        .await
        .unwrap();
    assert_eq!(counts(), (1, 0, 0));
    // A URI opens only the providers that may own it.
    let by_uri = reg
        .resolve(&KeyLocator::parse(&key.uri).unwrap())
        .await
        .unwrap();
    assert_eq!(by_uri.id, key.id);
    assert_eq!(reg.list_keys(Some("east")).await.unwrap().len(), 1);
    assert_eq!(counts(), (1, 0, 0));
    // A name the index knows opens only its holder.
    let by_name = reg.resolve(&crate::support::kl("orders")).await.unwrap();
    assert_eq!(by_name.key_ref(), by_uri.key_ref());
    assert_eq!(counts(), (1, 0, 0));
    // Maintenance asks the local providers; a cloud runs its own schedule.
    let due = reg.due(time::OffsetDateTime::now_utc()).await;
    let asked: Vec<_> = due.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(asked, ["east", "west"]);
    assert_eq!(counts(), (1, 1, 0));

    // A URI of the cloud's scheme opens it; its failure is the call's, and is retried.
    let err = reg
        .resolve(&KeyLocator::parse("aws-kms://us-east-1/k").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(counts(), (1, 1, 1));
    // A name no local provider holds asks the cloud, which cannot be opened: that is the
    // answer, not "not found".
    let err = reg
        .resolve(&crate::support::kl("nowhere"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert_eq!(counts(), (1, 1, 2));
    let listings = reg.list_keys(None).await.unwrap();
    let failed: Vec<_> = listings
        .iter()
        .filter(|l| l.keys.is_err())
        .map(|l| l.provider.as_str())
        .collect();
    assert_eq!(failed, ["cloud"]);
    assert_eq!(counts(), (1, 1, 3));
    assert_eq!(reg.open_count(), 2);
}
