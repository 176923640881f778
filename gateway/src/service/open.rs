//! Building a [`Service`] from configuration.

use std::sync::Arc;

use keygate_core::{DynProvider, Error, Result};
use keygate_providers::aws::AwsKmsBuilder;
use keygate_providers::local::LocalProvider;

use super::Service;
use crate::access::AccessStore;
use crate::audit::{AuditConfig, AuditLog};
use crate::cache::{CacheConfig, DataKeyCache};
use crate::config::{Backend, Config, LocalConfig, StoreLocation};
use crate::home::{Home, ROOT_KEY_ENV, decode_root_key};
use crate::registry::Registry;
use crate::store::GatewayStore;
use crate::tokens::TokenStore;

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
            };
            providers.push(provider);
        }
        let store = match config.store.location(home.dir())? {
            StoreLocation::SqliteFile(path) => GatewayStore::open(&path).await?,
            StoreLocation::SqliteMemory => GatewayStore::in_memory().await?,
        };
        let registry = Registry::new(providers, store)?;
        Self::new(registry, &config.audit, &config.cache).await
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
        let store = registry.store().clone();
        let audit = AuditLog::open(&store, audit).await?;
        let tokens = TokenStore::new(store.clone());
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
