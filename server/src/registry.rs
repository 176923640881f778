//! The provider registry: the providers built from configuration, and how a [`KeyLocator`]
//! (a URI, `alias/<name>` or a name) finds its provider and key.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::future::join_all;
use keygate_core::api::Resolved;
use keygate_core::{
    DynProvider, Error, KeyLocator, KeyMetadata, KeyProviderExt, KeyRef, Maintenance, Result,
};
use time::OffsetDateTime;

use crate::store::Store;

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

/// Registered providers plus the gateway store that holds cross-provider aliases.
#[derive(Debug, Clone)]
pub struct Registry {
    providers: Vec<DynProvider>,
    store: Arc<dyn Store>,
}

impl Registry {
    /// A registry over `providers`, with `store` (a [`GatewayStore`](crate::GatewayStore), or
    /// any `Arc<dyn Store>`) for aliases and the rest of the gateway's own state.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when two providers share a name or a URI prefix (a key URI
    /// must lead to exactly one provider).
    pub fn new(providers: Vec<DynProvider>, store: impl Into<Arc<dyn Store>>) -> Result<Self> {
        let store = store.into();
        let mut names = BTreeSet::new();
        let mut prefixes = BTreeSet::new();
        for p in &providers {
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
        Ok(Self { providers, store })
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

    async fn resolve_name(&self, name: &str) -> Result<(ResolvedKey, KeyMetadata)> {
        let answers = join_all(self.providers.iter().map(|p| p.describe_key(name))).await;
        let mut found = Vec::new();
        let mut failure = None;
        for (p, answer) in self.providers.iter().zip(answers) {
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
        let listings = join_all(selected.iter().map(|p| p.list_all_keys())).await;
        Ok(selected
            .into_iter()
            .zip(listings)
            .map(|(p, keys)| ProviderListing {
                provider: p.info().name.clone(),
                keys,
            })
            .collect())
    }

    /// Runs every provider's due maintenance at `now` (scheduled rotations, expired
    /// deletions).
    pub async fn tick(&self, now: OffsetDateTime) -> Vec<(String, Result<Maintenance>)> {
        let results = join_all(self.providers.iter().map(|p| p.tick(now))).await;
        self.providers
            .iter()
            .map(|p| p.info().name.clone())
            .zip(results)
            .collect()
    }
}
