//! Start-up probes are bounded: a GCP provider that makes its key ring at start and an Azure
//! provider that reads its vault's retention at start, pointed at an endpoint that accepts
//! connections and never answers, are built within their probe wait (configured, or the
//! default), and the registry reports only them down while a local key keeps working.

use std::sync::Arc;
use std::time::{Duration, Instant};

use google_cloud_auth::credentials::Credentials;
use keygate_core::{CreateKeyRequest, DynProvider, ErrorKind, KeyProvider, KeySpec};
use keygate_providers::azure::{AzureConfig, AzureKeyVaultProvider, StaticToken};
use keygate_providers::gcp::{GcpConfig, GcpKmsProvider};
use keygate_providers::local::LocalProvider;
use keygate_server::isolation::Isolation;
use keygate_server::{GatewayStore, Registry};

use crate::gcp_provider::KeygateToken;

/// An endpoint that accepts every connection and never answers (held until the test ends).
async fn hung_endpoint() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    (addr, task)
}

fn gcp_config(addr: std::net::SocketAddr) -> GcpConfig {
    GcpConfig {
        project: "demo".into(),
        key_ring: Some("hung".into()),
        create_key_ring: Some(true),
        endpoint: Some(format!("http://{addr}")),
        ..GcpConfig::default()
    }
}

async fn build_gcp(config: &GcpConfig, wait: Option<Duration>) -> (GcpKmsProvider, Duration) {
    let mut builder = GcpKmsProvider::builder()
        .with_name("gcp")
        .with_config(config)
        .with_credentials(Credentials::from(KeygateToken("kgt_unused.token".into())));
    if let Some(wait) = wait {
        builder = builder.with_probe_wait(wait);
    }
    let started = Instant::now();
    let provider = builder.build().await.unwrap();
    (provider, started.elapsed())
}

fn azure_config(addr: std::net::SocketAddr) -> AzureConfig {
    AzureConfig {
        vault_url: format!("https://{addr}"),
        vault_name: Some("hung".into()),
        ..AzureConfig::default()
    }
}

async fn build_azure(
    config: &AzureConfig,
    wait: Option<Duration>,
) -> (AzureKeyVaultProvider, Duration) {
    let mut builder = AzureKeyVaultProvider::builder()
        .with_name("azure")
        .with_config(config)
        .with_credential(Arc::new(StaticToken::new("kgt_unused.token".into())));
    if let Some(wait) = wait {
        builder = builder.with_probe_wait(wait);
    }
    let started = Instant::now();
    let provider = builder.build().await.unwrap();
    (provider, started.elapsed())
}

/// A registry of a local provider holding `demo`, and `cloud`, with one-second call
/// timeouts.
async fn registry_with(cloud: DynProvider) -> Registry {
    let local = LocalProvider::builder()
        .with_name("local")
        .build()
        .await
        .unwrap();
    local
        .create_key(CreateKeyRequest::new("demo", KeySpec::Aes256))
        .await
        .unwrap();
    let isolation = Isolation {
        call_timeout_secs: 1,
        ..Isolation::default()
    };
    let local: DynProvider = Arc::new(local);
    Registry::with_isolation(
        vec![(local, isolation), (cloud, isolation)],
        GatewayStore::in_memory().await.unwrap(),
    )
    .unwrap()
}

/// The registry lists the local key and reports `cloud` unavailable, within the call
/// timeout.
async fn only_the_cloud_is_down(registry: &Registry, cloud: &str) {
    let started = Instant::now();
    let listings = registry.list_keys(None).await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "listing took {took:?}");
    for listing in listings {
        match listing.provider.as_str() {
            "local" => {
                let keys = listing.keys.unwrap();
                assert!(keys.iter().any(|k| k.name == "demo"), "{keys:?}");
            }
            name => {
                assert_eq!(name, cloud);
                let err = listing.keys.unwrap_err();
                assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_gcp_endpoint_does_not_hold_up_making_the_key_ring() {
    let (addr, _held) = hung_endpoint().await;
    let config = gcp_config(addr);
    let (provider, took) = build_gcp(&config, Some(Duration::from_millis(300))).await;
    eprintln!("GCP provider with a hung endpoint, 300 ms probe wait: built in {took:?}");
    assert!(took < Duration::from_secs(3), "built in {took:?}");
    only_the_cloud_is_down(&registry_with(Arc::new(provider)).await, "gcp").await;
    // The default wait (2 s) bounds it too.
    let (_, took) = build_gcp(&config, None).await;
    eprintln!("GCP provider with a hung endpoint, default probe wait: built in {took:?}");
    assert!(took < Duration::from_secs(6), "built in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_azure_endpoint_does_not_hold_up_reading_the_retention() {
    let (addr, _held) = hung_endpoint().await;
    let config = azure_config(addr);
    let (provider, took) = build_azure(&config, Some(Duration::from_millis(300))).await;
    eprintln!("Azure provider with a hung endpoint, 300 ms probe wait: built in {took:?}");
    assert!(took < Duration::from_secs(3), "built in {took:?}");
    // Not read in time: the vault is taken to keep deleted keys 90 days.
    assert_eq!(provider.retention_days(), 90);
    only_the_cloud_is_down(&registry_with(Arc::new(provider)).await, "azure").await;
    // The default wait (5 s) bounds it too.
    let (_, took) = build_azure(&config, None).await;
    eprintln!("Azure provider with a hung endpoint, default probe wait: built in {took:?}");
    assert!(took < Duration::from_secs(9), "built in {took:?}");
}
