//! The provider registry: the providers built from configuration, and how a [`KeyLocator`]
//! (a URI, `alias/<name>` or a name) finds its provider and key.
//!
//! A provider is opened when a call first needs it ([`Registry::lazy`]): `keys list
//! --provider local` opens the local provider only, and a cloud client is built only by a
//! command that uses that cloud. A gateway that serves opens all of them at start
//! ([`Registry::open_all`]), so a provider that cannot be opened stops it there.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::join_all;
use keygate_core::api::{CircuitHealth, CircuitState, Resolved};
use keygate_core::{
    DueMaintenance, DynProvider, Error, KeyLocator, KeyMetadata, KeyProvider, KeyProviderExt,
    KeyRef, ProviderKind, Result,
};
use time::OffsetDateTime;

use crate::isolation::{Guarded, Isolation, NameIndex};
use crate::store::Store;

mod slot;

pub use slot::{LazyProvider, OpenProvider};
use slot::{Slot, shared_prefix};

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
    slots: Arc<[Slot]>,
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
        let index = Arc::new(NameIndex::default());
        let slots = providers
            .into_iter()
            .map(|(p, isolation)| {
                let info = p.info().clone();
                let guarded = Arc::new(Guarded::new(p, &isolation, Arc::clone(&index)));
                Slot {
                    name: info.name,
                    kind: info.kind,
                    prefix: Some(info.uri_prefix),
                    isolation,
                    open: None,
                    cell: tokio::sync::OnceCell::new_with(Some(guarded)),
                }
            })
            .collect();
        Self::over(slots, store.into(), index)
    }

    /// A registry over providers opened the first time a call needs each (the CLI: a command
    /// opens only the providers it uses), each bounded by its own [`Isolation`] settings.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when two providers share a name or a configured URI
    /// prefix. Two providers whose default prefixes turn out equal are found when the second
    /// of them opens (see [`Registry::open_all`]).
    pub fn lazy(
        providers: Vec<(LazyProvider, Isolation)>,
        store: impl Into<Arc<dyn Store>>,
    ) -> Result<Self> {
        let slots = providers
            .into_iter()
            .map(|(p, isolation)| Slot {
                name: p.name,
                kind: p.kind,
                prefix: p.uri_prefix,
                isolation,
                open: Some(p.open),
                cell: tokio::sync::OnceCell::new(),
            })
            .collect();
        Self::over(slots, store.into(), Arc::new(NameIndex::default()))
    }

    fn over(slots: Vec<Slot>, store: Arc<dyn Store>, index: Arc<NameIndex>) -> Result<Self> {
        let mut names = BTreeSet::new();
        let mut prefixes = BTreeSet::new();
        for slot in &slots {
            if !names.insert(slot.name.clone()) {
                return Err(Error::invalid(format!(
                    "two providers are registered as `{}`",
                    slot.name
                )));
            }
            if let Some(prefix) = &slot.prefix
                && !prefixes.insert(prefix.clone())
            {
                return Err(shared_prefix(&slot.name, prefix));
            }
        }
        Ok(Self {
            slots: slots.into(),
            store,
            index,
            refresh: Arc::default(),
        })
    }

    /// Opens every provider not yet open, in registration order: what a serving gateway does
    /// at start.
    ///
    /// # Errors
    /// The first provider that cannot be opened, or that has the URI prefix of another.
    pub async fn open_all(&self) -> Result<()> {
        for slot in self.slots.iter() {
            self.open(slot).await?;
        }
        Ok(())
    }

    /// The provider in `slot`, opened now if it is not yet.
    async fn open(&self, slot: &Slot) -> Result<DynProvider> {
        let guarded = slot
            .cell
            .get_or_try_init(|| async {
                let Some(open) = &slot.open else {
                    return Err(Error::state(format!("provider `{}` is closed", slot.name)));
                };
                let provider = open().await?;
                let info = provider.info();
                if info.name != slot.name {
                    return Err(Error::invalid(format!(
                        "provider `{}` opened as `{}`",
                        slot.name, info.name
                    )));
                }
                let taken = self.slots.iter().filter(|s| s.name != slot.name).any(|s| {
                    s.cell.get().map(|g| &g.info().uri_prefix) == Some(&info.uri_prefix)
                        || s.prefix.as_ref() == Some(&info.uri_prefix)
                });
                if taken {
                    return Err(shared_prefix(&slot.name, &info.uri_prefix));
                }
                tracing::debug!(provider = %slot.name, "provider opened");
                Ok(Arc::new(Guarded::new(
                    provider,
                    &slot.isolation,
                    Arc::clone(&self.index),
                )))
            })
            .await?;
        Ok(Arc::clone(guarded) as DynProvider)
    }

    /// Opens each provider in `slots` (in order); each with its provider or why it could not
    /// be opened.
    async fn open_each<'a>(&self, slots: Vec<&'a Slot>) -> Vec<(&'a Slot, Result<DynProvider>)> {
        let mut opened = Vec::new();
        for slot in slots {
            opened.push((slot, self.open(slot).await));
        }
        opened
    }

    /// Each provider's circuit breaker now, by provider name, in registration order (a
    /// provider not yet open has made no call: its breaker is closed).
    pub fn circuits(&self) -> Vec<(String, CircuitHealth)> {
        self.slots
            .iter()
            .map(|s| {
                let health = s.cell.get().map_or(
                    CircuitHealth {
                        state: CircuitState::Closed,
                        consecutive_failures: 0,
                        trips: 0,
                        open_for_secs: None,
                    },
                    |g| g.circuit(),
                );
                (s.name.clone(), health)
            })
            .collect()
    }

    /// The name index plain key names resolve through.
    pub fn name_index(&self) -> &NameIndex {
        &self.index
    }

    /// The registered providers' names, in registration order (none is opened).
    pub fn names(&self) -> Vec<&str> {
        self.slots.iter().map(|s| s.name.as_str()).collect()
    }

    /// The registered providers' names and kinds, in registration order (none is opened).
    pub fn registered(&self) -> Vec<(&str, ProviderKind)> {
        self.slots
            .iter()
            .map(|s| (s.name.as_str(), s.kind))
            .collect()
    }

    /// How many of the registered providers are open now (a provider opens on first use).
    pub fn open_count(&self) -> usize {
        self.slots.iter().filter(|s| s.cell.initialized()).count()
    }

    /// Every registered provider, in registration order, opening those not yet open.
    ///
    /// # Errors
    /// The first provider that cannot be opened.
    pub async fn providers(&self) -> Result<Vec<DynProvider>> {
        let mut providers = Vec::with_capacity(self.slots.len());
        for slot in self.slots.iter() {
            providers.push(self.open(slot).await?);
        }
        Ok(providers)
    }

    /// Every registered provider by name, in registration order, each opened or with why it
    /// cannot be.
    pub async fn each_provider(&self) -> Vec<(String, Result<DynProvider>)> {
        self.open_each(self.slots.iter().collect())
            .await
            .into_iter()
            .map(|(s, p)| (s.name.clone(), p))
            .collect()
    }

    /// The gateway store: where aliases resolve, and the rest of the gateway's own state.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The provider registered as `name`, opened now if it is not yet.
    ///
    /// # Errors
    /// [`Error::NotFound`] naming the registered providers; what the provider reports when it
    /// cannot be opened.
    pub async fn provider(&self, name: &str) -> Result<DynProvider> {
        let slot = self.slot(name)?;
        self.open(slot).await
    }

    /// Whether a provider is registered as `name`, without opening it.
    ///
    /// # Errors
    /// [`Error::NotFound`] naming the registered providers.
    pub fn ensure_registered(&self, name: &str) -> Result<()> {
        self.slot(name).map(drop)
    }

    fn slot(&self, name: &str) -> Result<&Slot> {
        self.slots.iter().find(|s| s.name == name).ok_or_else(|| {
            Error::not_found(format!(
                "provider `{name}` (registered: {})",
                self.names().join(", ")
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
            // Only the providers that may own it are opened; one that cannot be opened
            // fails the call, since it might have been the owner.
            KeyLocator::Uri(uri) => {
                let candidates: Vec<&Slot> = self.slots.iter().filter(|s| s.may_own(uri)).collect();
                let mut owners = Vec::new();
                for (_, opened) in self.open_each(candidates).await {
                    let p = opened?;
                    if let Some(id) = p.info().id_from_uri(uri) {
                        let id = id.to_owned();
                        owners.push(ResolvedKey { provider: p, id });
                    }
                }
                owners
                    .into_iter()
                    .max_by_key(|k| k.provider.info().uri_prefix.len())
                    .map(|k| (k, None))
                    .ok_or_else(|| Error::not_found(format!("no registered provider owns {uri}")))
            }
            KeyLocator::Alias(alias) => {
                let target = self.store.resolve_alias(alias).await?;
                let key = ResolvedKey {
                    provider: self.provider(&target.provider).await?,
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
            let mut holders: Vec<(DynProvider, String)> = Vec::new();
            for (provider, id) in hits {
                if let Ok(p) = self.provider(&provider).await {
                    holders.push((p, id));
                }
            }
            let answers = join_all(holders.iter().map(|(p, id)| p.describe_key(id))).await;
            let providers: Vec<_> = holders.into_iter().map(|(p, _)| p).collect();
            match settle(name, &providers, answers, None) {
                // Every holder the index named has forgotten the key: ask the providers.
                Err(Error::NotFound(_)) => {}
                answer => return answer,
            }
        }
        // A local provider answers at once; a cloud only when asked (and only then opened),
        // and a cloud whose circuit is open fails fast.
        let (near, far): (Vec<&Slot>, Vec<&Slot>) = self
            .slots
            .iter()
            .partition(|s| s.kind == ProviderKind::Local);
        let near_failure = match self.ask(name, near).await {
            Err(Error::NotFound(_)) => None,
            Err(e) if !matches!(e, Error::InvalidArgument(_)) => Some(e),
            answer => return answer,
        };
        match self.ask(name, far).await {
            Err(e) => Err(near_failure.unwrap_or(e)),
            found => found,
        }
    }

    /// Asks each provider in `slots` (opening it) for the key `name`, concurrently.
    async fn ask(&self, name: &str, slots: Vec<&Slot>) -> Result<(ResolvedKey, KeyMetadata)> {
        let mut providers = Vec::new();
        let mut failure = None;
        for (_, opened) in self.open_each(slots).await {
            match opened {
                Ok(p) => providers.push(p),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        let answers = join_all(providers.iter().map(|p| p.describe_key(name))).await;
        settle(name, &providers, answers, failure)
    }

    /// Lists every key of every provider (or only `only`), concurrently; one provider's
    /// failure does not hide the others' keys.
    ///
    /// # Errors
    /// [`Error::NotFound`] when `only` names no registered provider.
    pub async fn list_keys(&self, only: Option<&str>) -> Result<Vec<ProviderListing>> {
        let selected: Vec<&Slot> = match only {
            Some(name) => vec![self.slot(name)?],
            None => self.slots.iter().collect(),
        };
        let opened = self.open_each(selected).await;
        let listings = join_all(opened.into_iter().map(|(slot, p)| async move {
            let keys = match p {
                Ok(p) => p.list_all_keys().await,
                Err(e) => Err(e),
            };
            if let Ok(keys) = &keys {
                self.index.replace(&slot.name, keys);
            }
            ProviderListing {
                provider: slot.name.clone(),
                keys,
            }
        }))
        .await;
        Ok(listings)
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
    /// action before it runs it (see `Service::run_maintenance`). A cloud provider not yet
    /// open is not opened to ask: every cloud kind runs its own schedule, nothing is ever
    /// due there (see [`KeyProvider::due`]). A provider that cannot be opened reports why.
    pub async fn due(&self, now: OffsetDateTime) -> Vec<(String, Result<DueMaintenance>)> {
        let asked: Vec<&Slot> = self
            .slots
            .iter()
            .filter(|s| s.kind == ProviderKind::Local || s.cell.initialized())
            .collect();
        let opened = self.open_each(asked).await;
        join_all(opened.into_iter().map(|(slot, p)| async move {
            let due = match p {
                Ok(p) => p.due(now).await,
                Err(e) => Err(e),
            };
            (slot.name.clone(), due)
        }))
        .await
    }
}

/// One answer from the providers asked about `name`: the only key found, an ambiguity error
/// when more than one holds it, else the first failure other than "not found" (`failure`
/// first: a provider that could not be opened to ask), or not found.
fn settle(
    name: &str,
    providers: &[DynProvider],
    answers: Vec<Result<KeyMetadata>>,
    failure: Option<Error>,
) -> Result<(ResolvedKey, KeyMetadata)> {
    let mut found = Vec::new();
    let mut failure = failure;
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
