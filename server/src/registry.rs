//! The provider registry: the providers built from configuration, and how a [`KeyLocator`]
//! (a URI, `alias/<name>` or a name) finds its provider and key.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::join_all;
use keygate_core::api::{CircuitHealth, Resolved};
use keygate_core::{
    DueMaintenance, DynProvider, Error, KeyLocator, KeyMetadata, KeyProvider, KeyProviderExt,
    KeyRef, ProviderKind, Result,
};
use time::OffsetDateTime;

use crate::isolation::{Guarded, Isolation, NameIndex};
use crate::store::Store;

/// How often a running gateway lists every provider again to refresh its name index (keys
/// created or deleted outside keygate show up within this).
pub const INDEX_REFRESH_EVERY: Duration = Duration::from_secs(60);

/// A key reference resolved to its provider.
#[derive(Debug, Clone)]
pub struct ResolvedKey {
    /// The provider holding the key.
    pub provider: DynProvider,
    /// The provider-native id.
    pub id: String,
}

impl ResolvedKey {
    /// The key as a [`KeyRef`]: its provider's registered name and its id.
    pub fn key_ref(&self) -> KeyRef {
        KeyRef::new(self.provider.info().name.clone(), self.id.clone())
    }

    /// The key's URI: its provider's URI prefix followed by its id.
    pub fn uri(&self) -> String {
        self.provider.info().key_uri(&self.id)
    }

    /// `value`, with this key as the one the call resolved to.
    pub fn answer<T>(&self, value: T) -> Resolved<T> {
        Resolved {
            key: self.key_ref(),
            uri: self.uri(),
            value,
        }
    }
}

/// One provider's answer while listing across providers.
#[derive(Debug)]
pub struct ProviderListing {
    /// The provider's registered name.
    pub provider: String,
    /// Its keys, or why they could not be listed.
    pub keys: Result<Vec<KeyMetadata>>,
}

/// When the name index was last refreshed, and whether a refresh is running.
#[derive(Debug, Default)]
struct Refresh {
    last: Mutex<Option<Instant>>,
    running: AtomicBool,
}

/// Registered providers plus the gateway store that holds cross-provider aliases.
///
/// Every provider is held behind its call timeout and circuit breaker (see
/// [`crate::isolation`]), so every caller of the registry gets the same bounds.
#[derive(Debug, Clone)]
pub struct Registry {
    providers: Vec<DynProvider>,
    guards: Vec<Arc<Guarded>>,
    store: Arc<dyn Store>,
    index: Arc<NameIndex>,
    refresh: Arc<Refresh>,
}

impl Registry {
    /// A registry over `providers` with the default [`Isolation`], with `store` (a
    /// [`GatewayStore`](crate::GatewayStore), or any `Arc<dyn Store>`) for aliases and the
    /// rest of the gateway's own state.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when two providers share a name or a URI prefix (a key URI
    /// must lead to exactly one provider).
    pub fn new(providers: Vec<DynProvider>, store: impl Into<Arc<dyn Store>>) -> Result<Self> {
        let providers = providers
            .into_iter()
            .map(|p| (p, Isolation::default()))
            .collect();
        Self::with_isolation(providers, store)
    }

    /// A registry over `providers`, each bounded by its own [`Isolation`] settings.
    ///
    /// # Errors
    /// As [`Registry::new`].
    pub fn with_isolation(
        providers: Vec<(DynProvider, Isolation)>,
        store: impl Into<Arc<dyn Store>>,
    ) -> Result<Self> {
        let store = store.into();
        let mut names = BTreeSet::new();
        let mut prefixes = BTreeSet::new();
        for (p, _) in &providers {
            let info = p.info();
            if !names.insert(info.name.clone()) {
                return Err(Error::invalid(format!(
                    "two providers are registered as `{}`",
                    info.name
                )));
            }
            if !prefixes.insert(info.uri_prefix.clone()) {
                return Err(Error::invalid(format!(
                    "provider `{}` has the URI prefix `{}` of another provider; give it its own `uri_prefix`",
                    info.name, info.uri_prefix
                )));
            }
        }
        let index = Arc::new(NameIndex::default());
        let guards: Vec<Arc<Guarded>> = providers
            .into_iter()
            .map(|(p, isolation)| Arc::new(Guarded::new(p, &isolation, Arc::clone(&index))))
            .collect();
        Ok(Self {
            providers: guards
                .iter()
                .map(|g| Arc::clone(g) as DynProvider)
                .collect(),
            guards,
            store,
            index,
            refresh: Arc::default(),
        })
    }

    /// Each provider's circuit breaker now, by provider name, in registration order.
    pub fn circuits(&self) -> Vec<(String, CircuitHealth)> {
        self.guards
            .iter()
            .map(|g| (g.info().name.clone(), g.circuit()))
            .collect()
    }

    /// The name index plain key names resolve through.
    pub fn name_index(&self) -> &NameIndex {
        &self.index
    }

    /// The registered providers, in registration order.
    pub fn providers(&self) -> &[DynProvider] {
        &self.providers
    }

    /// The gateway store: where aliases resolve, and the rest of the gateway's own state.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The provider registered as `name`.
    ///
    /// # Errors
    /// [`Error::NotFound`] naming the registered providers.
    pub fn provider(&self, name: &str) -> Result<&DynProvider> {
        self.providers
            .iter()
            .find(|p| p.info().name == name)
            .ok_or_else(|| {
                let names: Vec<_> = self
                    .providers
                    .iter()
                    .map(|p| p.info().name.as_str())
                    .collect();
                Error::not_found(format!(
                    "provider `{name}` (registered: {})",
                    names.join(", ")
                ))
            })
    }

    /// The same registry over `store` (the service wraps the store it was given).
    pub(crate) fn with_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// Finds the key `key` names: a URI by its provider's prefix, `alias/<name>` in the
    /// gateway store, a key name in every provider.
    ///
    /// # Errors
    /// [`Error::NotFound`] when nothing matches; [`Error::InvalidArgument`] for a name that
    /// more than one provider holds (use its URI then).
    pub async fn resolve(&self, key: &KeyLocator) -> Result<ResolvedKey> {
        Ok(self.resolve_described(key).await?.0)
    }

    /// [`Registry::resolve`], plus the key's metadata when resolving had to read it (a plain
    /// name is looked up in every provider), so callers that need it do not ask twice.
    ///
    /// # Errors
    /// As [`Registry::resolve`].
    pub async fn resolve_described(
        &self,
        key: &KeyLocator,
    ) -> Result<(ResolvedKey, Option<KeyMetadata>)> {
        match key {
            // The longest matching prefix wins: `local://billing/k` belongs to the provider
            // with prefix `local://billing/`, not to the one with `local://`.
            KeyLocator::Uri(uri) => self
                .providers
                .iter()
                .filter_map(|p| {
                    p.info().id_from_uri(uri).map(|id| ResolvedKey {
                        provider: p.clone(),
                        id: id.to_owned(),
                    })
                })
                .max_by_key(|k| k.provider.info().uri_prefix.len())
                .map(|k| (k, None))
                .ok_or_else(|| Error::not_found(format!("no registered provider owns {uri}"))),
            KeyLocator::Alias(alias) => {
                let target = self.store.resolve_alias(alias).await?;
                let key = ResolvedKey {
                    provider: self.provider(&target.provider)?.clone(),
                    id: target.id,
                };
                Ok((key, None))
            }
            KeyLocator::Name(name) => {
                let (key, meta) = self.resolve_name(name).await?;
                Ok((key, Some(meta)))
            }
        }
    }

    /// A plain name: from the name index when it knows the name (only the providers it
    /// names are asked), else from the local providers, and only when none of them holds it
    /// from the others (concurrently, each bounded by its call timeout; a provider whose
    /// circuit is open fails fast).
    async fn resolve_name(&self, name: &str) -> Result<(ResolvedKey, KeyMetadata)> {
        let hits = self.index.lookup(name);
        if !hits.is_empty() {
            let holders: Vec<(DynProvider, String)> = hits
                .into_iter()
                .filter_map(|(provider, id)| Some((self.provider(&provider).ok()?.clone(), id)))
                .collect();
            let answers = join_all(holders.iter().map(|(p, id)| p.describe_key(id))).await;
            let providers: Vec<_> = holders.into_iter().map(|(p, _)| p).collect();
            match settle(name, &providers, answers) {
                // Every holder the index named has forgotten the key: ask the providers.
                Err(Error::NotFound(_)) => {}
                answer => return answer,
            }
        }
        // A local provider answers at once; a cloud only when asked, and a cloud whose
        // circuit is open fails fast.
        let (near, far): (Vec<DynProvider>, Vec<DynProvider>) = self
            .providers
            .iter()
            .cloned()
            .partition(|p| p.info().kind == ProviderKind::Local);
        let answers = join_all(near.iter().map(|p| p.describe_key(name))).await;
        let near_failure = match settle(name, &near, answers) {
            Err(Error::NotFound(_)) => None,
            Err(e) if !matches!(e, Error::InvalidArgument(_)) => Some(e),
            answer => return answer,
        };
        let answers = join_all(far.iter().map(|p| p.describe_key(name))).await;
        match settle(name, &far, answers) {
            Err(e) => Err(near_failure.unwrap_or(e)),
            found => found,
        }
    }

    /// Lists every key of every provider (or only `only`), concurrently; one provider's
    /// failure does not hide the others' keys.
    ///
    /// # Errors
    /// [`Error::NotFound`] when `only` names no registered provider.
    pub async fn list_keys(&self, only: Option<&str>) -> Result<Vec<ProviderListing>> {
        let selected: Vec<&DynProvider> = match only {
            Some(name) => vec![self.provider(name)?],
            None => self.providers.iter().collect(),
        };
        let listings = join_all(selected.iter().map(|p| async move {
            let keys = p.list_all_keys().await;
            if let Ok(keys) = &keys {
                self.index.replace(&p.info().name, keys);
            }
            keys
        }))
        .await;
        Ok(selected
            .into_iter()
            .zip(listings)
            .map(|(p, keys)| ProviderListing {
                provider: p.info().name.clone(),
                keys,
            })
            .collect())
    }

    /// Refreshes the name index in the background when the last refresh is older than
    /// [`INDEX_REFRESH_EVERY`] (or never ran) and none is running: every provider is listed
    /// again, each bounded by its call timeout, and a complete listing replaces what the
    /// index knew of its provider. Returns at once.
    pub fn refresh_index_if_due(&self) {
        let due = self
            .refresh
            .last
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none_or(|at| at.elapsed() >= INDEX_REFRESH_EVERY);
        if !due || self.refresh.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let registry = self.clone();
        tokio::spawn(async move {
            registry.refresh_index().await;
            *registry
                .refresh
                .last
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
            registry.refresh.running.store(false, Ordering::Release);
        });
    }

    /// Lists every provider to refresh the name index (a provider that cannot be listed keeps
    /// what the index knew of it).
    pub async fn refresh_index(&self) {
        if let Ok(listings) = self.list_keys(None).await {
            for l in listings {
                if let Err(e) = l.keys {
                    tracing::debug!(provider = %l.provider, error = %e, "name index not refreshed");
                }
            }
        }
    }

    /// What maintenance every provider has due at `now` (scheduled rotations, expired
    /// deletions), by provider name, without running any of it: the service audits each
    /// action before it runs it (see `Service::run_maintenance`).
    pub async fn due(&self, now: OffsetDateTime) -> Vec<(String, Result<DueMaintenance>)> {
        let results = join_all(self.providers.iter().map(|p| p.due(now))).await;
        self.providers
            .iter()
            .map(|p| p.info().name.clone())
            .zip(results)
            .collect()
    }
}

/// One answer from the providers asked about `name`: the only key found, an ambiguity error
/// when more than one holds it, else the first failure other than "not found" (or not
/// found).
fn settle(
    name: &str,
    providers: &[DynProvider],
    answers: Vec<Result<KeyMetadata>>,
) -> Result<(ResolvedKey, KeyMetadata)> {
    let mut found = Vec::new();
    let mut failure = None;
    for (p, answer) in providers.iter().zip(answers) {
        match answer {
            Ok(meta) => found.push((
                ResolvedKey {
                    provider: p.clone(),
                    id: meta.id.clone(),
                },
                meta,
            )),
            Err(Error::NotFound(_) | Error::InvalidArgument(_)) => {}
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(failure.unwrap_or_else(|| Error::not_found(format!("key `{name}`")))),
        _ => {
            let uris: Vec<_> = found.iter().map(|(_, meta)| meta.uri.clone()).collect();
            Err(Error::invalid(format!(
                "key name `{name}` is ambiguous; use one of {}",
                uris.join(", ")
            )))
        }
    }
}
