//! Building a [`Service`] from configuration.

use std::sync::Arc;

use keygate_core::{DynProvider, Error, Result};
use keygate_providers::aws::AwsKmsBuilder;
use keygate_providers::azure::AzureKeyVaultProvider;
use keygate_providers::gcp::GcpKmsProvider;
use keygate_providers::local::LocalProvider;

use super::Service;
use crate::access::AccessStore;
use crate::audit::{AuditConfig, AuditLog};
use crate::cache::{CacheConfig, DataKeyCache};
use crate::config::{Backend, Config, LocalConfig, StoreLocation};
use crate::home::{Home, ROOT_KEY_ENV, decode_root_key};
use crate::registry::Registry;
use crate::store::GatewayStore;
use crate::tokens::{AccessKeySealer, TokenStore};

impl Service {
    /// Builds the service `config` describes: its providers (in order), the gateway store,
    /// the audit log, tokens, the access policy and the data-key cache.
    ///
    /// # Errors
    /// Whatever a provider or the store reports when it cannot be opened, naming it.
    pub async fn open(config: &Config, home: &Home) -> Result<Arc<Self>> {
        let mut providers: Vec<DynProvider> = Vec::with_capacity(config.providers.len());
        for p in &config.providers {
            let provider: DynProvider = match &p.backend {
                Backend::Local(local) => Arc::new(open_local(&p.name, local, home).await?),
                Backend::Aws(aws) => Arc::new(
                    AwsKmsBuilder::new()
                        .with_name(&p.name)
                        .with_config(aws)
                        .build()
                        .await?,
                ),
                Backend::Gcp(gcp) => Arc::new(
                    GcpKmsProvider::builder()
                        .with_name(&p.name)
                        .with_config(gcp)
                        .build()
                        .await?,
                ),
                Backend::Azure(azure) => {
                    // Like the other files the configuration names, a relative CA file is
                    // under the home.
                    let mut azure = azure.clone();
                    azure.ca_file = azure.ca_file.map(|f| home.dir().join(f));
                    Arc::new(
                        AzureKeyVaultProvider::builder()
                            .with_name(&p.name)
                            .with_config(&azure)
                            .build()
                            .await?,
                    )
                }
            };
            providers.push(provider);
        }
        let store = match config.store.location(home.dir())? {
            StoreLocation::SqliteFile(path) => GatewayStore::open(&path).await?,
            StoreLocation::SqliteMemory => GatewayStore::in_memory().await?,
        };
        let registry = Registry::new(providers, store)?;
        let sealer = access_key_sealer(config, home).await;
        Self::build(registry, &config.audit, &config.cache, sealer).await
    }

    /// A service over an existing registry (tests, embedding).
    ///
    /// # Errors
    /// When the audit log, token store or access policy cannot be opened.
    pub async fn new(
        registry: Registry,
        audit: &AuditConfig,
        cache: &CacheConfig,
    ) -> Result<Arc<Self>> {
        Self::build(registry, audit, cache, None).await
    }

    /// A service over an existing registry that issues and checks AWS access keys, their
    /// secrets sealed under a key derived from `root_key` (the gateway root key).
    ///
    /// # Errors
    /// As [`Service::new`], and for an empty root key.
    pub async fn with_root_key(
        registry: Registry,
        audit: &AuditConfig,
        cache: &CacheConfig,
        root_key: &[u8],
    ) -> Result<Arc<Self>> {
        let sealer = AccessKeySealer::from_root_key(root_key)?;
        Self::build(registry, audit, cache, Some(sealer)).await
    }

    async fn build(
        registry: Registry,
        audit: &AuditConfig,
        cache: &CacheConfig,
        sealer: Option<AccessKeySealer>,
    ) -> Result<Arc<Self>> {
        let store = registry.store().clone();
        let audit = AuditLog::open(&store, audit).await?;
        let mut tokens = TokenStore::new(store.clone());
        if let Some(sealer) = sealer {
            tokens = tokens.with_sealer(sealer);
        }
        let access = AccessStore::load(store).await?;
        let cache = DataKeyCache::new(cache)?;
        Ok(Arc::new(Self {
            registry,
            audit,
            tokens,
            access,
            cache,
            keys: super::keycache::KeyCache::default(),
        }))
    }
}

async fn open_local(name: &str, config: &LocalConfig, home: &Home) -> Result<LocalProvider> {
    let default_db = if name == "local" {
        home.local_db()
    } else {
        home.dir().join(format!("{name}.db"))
    };
    let path = config
        .path
        .as_ref()
        .map_or(default_db, |p| home.dir().join(p));
    let mut builder = LocalProvider::builder().with_name(name).with_path(path);
    if let Some(prefix) = &config.uri_prefix {
        builder = builder.with_uri_prefix(prefix.clone());
    }
    builder = match std::env::var(ROOT_KEY_ENV) {
        Ok(value) => builder.with_root_key(decode_root_key(&value)?),
        Err(std::env::VarError::NotPresent) => builder.with_root_key_file(
            config
                .root_key_file
                .as_ref()
                .map_or_else(|| home.root_key_file(), |f| home.dir().join(f)),
        ),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(Error::invalid(format!("{ROOT_KEY_ENV} is not valid UTF-8")));
        }
    };
    builder.build().await.map_err(|e| match e {
        Error::InvalidArgument(m) => Error::invalid(format!("provider `{name}`: {m}")),
        Error::Unavailable(m) => Error::Unavailable(format!("provider `{name}`: {m}")),
        other => other,
    })
}

/// The sealer of AWS access key secrets, from the gateway root key: `KEYGATE_ROOT_KEY`, else
/// the root key file of the first local provider (or the home's `root.key`, created the way
/// the local provider creates it when there is none yet). Without a usable root key the
/// gateway still opens; only AWS access keys are unavailable, and the log says why.
async fn access_key_sealer(config: &Config, home: &Home) -> Option<AccessKeySealer> {
    let root = match std::env::var(ROOT_KEY_ENV) {
        Ok(value) => decode_root_key(&value),
        Err(_) => {
            let file = config
                .providers
                .iter()
                .find_map(|p| match &p.backend {
                    Backend::Local(local) => Some(
                        local
                            .root_key_file
                            .as_ref()
                            .map_or_else(|| home.root_key_file(), |f| home.dir().join(f)),
                    ),
                    Backend::Aws(_) | Backend::Azure(_) | Backend::Gcp(_) => None,
                })
                .unwrap_or_else(|| home.root_key_file());
            tokio::task::spawn_blocking(move || read_or_create_root_key(&file))
                .await
                .unwrap_or_else(|e| Err(Error::Unavailable(format!("reading the root key: {e}"))))
        }
    };
    match root.and_then(|key| AccessKeySealer::from_root_key(&key)) {
        Ok(sealer) => Some(sealer),
        Err(e) => {
            tracing::warn!(error = %e, "no gateway root key: AWS access keys are unavailable");
            None
        }
    }
}

/// Reads a 32-byte root key file, creating it (mode 0600, fresh random bytes) when missing.
fn read_or_create_root_key(path: &std::path::Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    use std::io::{Read as _, Write as _};
    let io_err =
        |e: std::io::Error| Error::Unavailable(format!("root key file {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let mut bytes = zeroize::Zeroizing::new(vec![0u8; 32]);
            aws_lc_rs::rand::fill(bytes.as_mut_slice())
                .map_err(|_| Error::Unavailable("random number generator failed".to_owned()))?;
            file.write_all(&bytes)
                .and_then(|()| file.sync_all())
                .map_err(io_err)?;
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(33));
            std::fs::File::open(path)
                .map_err(io_err)?
                .take(33)
                .read_to_end(&mut bytes)
                .map_err(io_err)?;
            if bytes.len() == 32 {
                Ok(bytes)
            } else {
                Err(Error::invalid(format!(
                    "the root key file {} must hold exactly 32 bytes",
                    path.display()
                )))
            }
        }
        Err(e) => Err(io_err(e)),
    }
}
