//! Building a [`Service`] from configuration.

use std::sync::Arc;

use keygate_core::{DynProvider, KeyProvider as _, Result};

use super::Service;
use crate::access::AccessStore;
use crate::audit::{AuditConfig, AuditKeys, AuditLog};
use crate::cache::{CacheConfig, DataKeyCache};
use crate::config::{Config, StoreLocation};
use crate::home::Home;
use crate::registry::{LazyProvider, Registry};
use crate::store::{GatewayStore, PostgresStore, Store};
use crate::tokens::{AccessKeySealer, TokenAuthority};

impl Service {
    /// Builds the service `config` describes over `providers` (opened by the caller from the
    /// configuration's provider sections, in order): the gateway store, the audit log,
    /// tokens, the access policy and the data-key cache. `root_key` (the gateway root key)
    /// seals AWS access key secrets and keys the audit chain and checkpoints; without it the
    /// service still opens, AWS access keys and audit checkpoints are unavailable and audit
    /// rows carry the unkeyed hash, which the log says.
    ///
    /// # Errors
    /// Whatever the store reports when it cannot be opened; [`keygate_core::Error::InvalidArgument`]
    /// when two providers share a name or URI prefix.
    pub async fn open(
        providers: Vec<DynProvider>,
        config: &Config,
        home: &Home,
        root_key: Option<&[u8]>,
    ) -> Result<Arc<Self>> {
        let store = open_store(config, home).await?;
        // A provider opened without a section (embedding) gets the defaults.
        let isolated = providers
            .into_iter()
            .map(|p| {
                let isolation = isolation_of(config, &p.info().name);
                (p, isolation)
            })
            .collect();
        let registry = Registry::with_isolation(isolated, store)?;
        Self::over(registry, config, root_key).await
    }

    /// [`Service::open`] over providers opened the first time a call needs each (see
    /// [`Registry::lazy`]): what a one-shot command uses, so it builds only the providers it
    /// touches. A provider that cannot be opened fails the calls that need it, not the
    /// service.
    ///
    /// # Errors
    /// Whatever the store reports when it cannot be opened; [`keygate_core::Error::InvalidArgument`]
    /// when two providers share a name or a configured URI prefix.
    pub async fn open_lazy(
        providers: Vec<LazyProvider>,
        config: &Config,
        home: &Home,
        root_key: Option<&[u8]>,
    ) -> Result<Arc<Self>> {
        let store = open_store(config, home).await?;
        let isolated = providers
            .into_iter()
            .map(|p| {
                let isolation = isolation_of(config, &p.name);
                (p, isolation)
            })
            .collect();
        let registry = Registry::lazy(isolated, store)?;
        Self::over(registry, config, root_key).await
    }

    async fn over(
        registry: Registry,
        config: &Config,
        root_key: Option<&[u8]>,
    ) -> Result<Arc<Self>> {
        let audit_keys = match root_key.map(AuditKeys::from_root_key) {
            Some(Ok(keys)) => Some(Arc::new(keys)),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "unusable gateway root key: audit rows are chained without a key and no checkpoint can be signed");
                None
            }
            None => {
                tracing::warn!(
                    "no gateway root key: audit rows are chained without a key and no checkpoint can be signed"
                );
                None
            }
        };
        let sealer = match root_key.map(AccessKeySealer::from_root_key) {
            Some(Ok(sealer)) => Some(sealer),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "unusable gateway root key: AWS access keys are unavailable");
                None
            }
            None => {
                tracing::warn!("no gateway root key: AWS access keys are unavailable");
                None
            }
        };
        let arns = super::AwsArnScope::of(&config.dialects.aws);
        let mut service = Self::build(
            registry,
            &config.audit,
            &config.cache,
            sealer,
            audit_keys,
            arns,
        )
        .await?;
        Self::configure_envelopes(&mut service, config.envelope.clone())?;
        Self::configure_pricing(&mut service, &config.pricing)?;
        Self::configure_scheduler(&mut service, &config.scheduler)?;
        Ok(service)
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
        Self::build(registry, audit, cache, None, None, default_arns()).await
    }

    /// A service over an existing registry that issues and checks AWS access keys, their
    /// secrets sealed under a key derived from `root_key` (the gateway root key), and keys
    /// its audit chain and checkpoints from it.
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
        let keys = Arc::new(AuditKeys::from_root_key(root_key)?);
        Self::build(
            registry,
            audit,
            cache,
            Some(sealer),
            Some(keys),
            default_arns(),
        )
        .await
    }

    async fn build(
        registry: Registry,
        audit: &AuditConfig,
        cache: &CacheConfig,
        sealer: Option<AccessKeySealer>,
        audit_keys: Option<Arc<AuditKeys>>,
        aws_arns: super::AwsArnScope,
    ) -> Result<Arc<Self>> {
        // Every part reads and writes the store through the hot-record memory, which also
        // counts store calls by request kind.
        let hot = Arc::new(super::hot::HotStore::new(Arc::clone(registry.store())));
        if let Err(e) = hot.poll().await {
            tracing::warn!(error = %e, "cannot read the store's change generation; reading tokens and aliases from the store until it answers");
        }
        let registry = registry.with_store(Arc::clone(&hot) as Arc<dyn crate::store::Store>);
        // Each part holds only the part of the store it needs.
        let store = Arc::clone(registry.store());
        let audit = AuditLog::open_keyed(store.clone(), audit, audit_keys).await?;
        let mut tokens = TokenAuthority::new(store.clone());
        if let Some(sealer) = sealer {
            tokens = tokens.with_sealer(sealer);
        }
        let access = AccessStore::load(store).await?;
        let cache = DataKeyCache::new(cache)?;
        super::hot::HotStore::watch(&hot, access.clone());
        Ok(Arc::new(Self {
            registry,
            audit,
            tokens,
            access,
            cache,
            envelope: crate::config::EnvelopeConfig::default(),
            keys: super::keycache::KeyCache::default(),
            key_policies: super::keypolicy::PolicyCache::default(),
            process: super::status::ProcessInfo::default(),
            aws_arns,
            pricing: keygate_core::cost::PriceList::default(),
            hot,
            leadership: Arc::new(crate::leader::Leadership::new(
                &crate::config::SchedulerConfig::default(),
            )),
        }))
    }
}

/// The gateway store the configuration names.
async fn open_store(config: &Config, home: &Home) -> Result<Arc<dyn Store>> {
    Ok(match config.store.location(home.dir())? {
        StoreLocation::SqliteFile(path) => GatewayStore::open(&path).await?.into(),
        StoreLocation::SqliteMemory => GatewayStore::in_memory().await?.into(),
        StoreLocation::Postgres { url, options } => {
            PostgresStore::open(&url, &options).await?.into()
        }
    })
}

/// The isolation settings of the provider `name`'s section (the defaults without one).
fn isolation_of(config: &Config, name: &str) -> crate::isolation::Isolation {
    config
        .providers
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.isolation)
        .unwrap_or_default()
}

/// The ARN region and account of the AWS door's default `[dialects.aws]`.
fn default_arns() -> super::AwsArnScope {
    super::AwsArnScope::of(&crate::config::AwsDialectConfig::default())
}
