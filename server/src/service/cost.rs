//! The cost view behind [`Gateway::cost`](keygate_core::api::Gateway::cost): the estate (keys
//! and live versions of every provider) and the audit log's successful calls since a time,
//! priced by [`keygate_core::cost::price_estate`].

use futures::StreamExt as _;
use keygate_core::cost::{CostReport, Estate, EstateKey, EstateProvider, price_estate};
use keygate_core::{KeyMetadata, KeyState, Result, VersionState};
use time::OffsetDateTime;

use super::Session;
use crate::registry::ProviderListing;

/// Version listings in flight at once.
const VERSION_LISTS_IN_FLIGHT: usize = 8;

impl Session {
    /// Gathers and prices the estate; the caller authorizes and audits.
    pub(super) async fn cost_report(&self, since: OffsetDateTime) -> Result<CostReport> {
        let until = OffsetDateTime::now_utc();
        let registry = &self.service.registry;
        let providers = registry
            .registered()
            .into_iter()
            .map(|(name, kind)| EstateProvider {
                name: name.to_owned(),
                kind,
            })
            .collect();
        let mut notes = Vec::new();
        let mut listed: Vec<KeyMetadata> = Vec::new();
        for ProviderListing { provider, keys } in registry.list_keys(None).await? {
            match keys {
                Ok(keys) => listed.extend(keys),
                Err(e) => notes.push(format!(
                    "provider {provider}: keys not listed ({}); its keys are not counted",
                    e.kind().as_str()
                )),
            }
        }
        let keys: Vec<(EstateKey, Option<String>)> = futures::stream::iter(listed)
            .map(|meta| self.estate_key(meta))
            .buffered(VERSION_LISTS_IN_FLIGHT)
            .collect()
            .await;
        let (keys, more_notes): (Vec<_>, Vec<_>) = keys.into_iter().unzip();
        notes.extend(more_notes.into_iter().flatten());
        let counts = self
            .service
            .registry
            .store()
            .count_successes_since(since)
            .await?;
        let estate = Estate {
            providers,
            keys,
            counts,
            since,
            until,
            notes,
        };
        Ok(price_estate(&estate, &self.service.pricing))
    }

    /// One key with its live versions (one version, and a note, when they cannot be listed).
    async fn estate_key(&self, meta: KeyMetadata) -> (EstateKey, Option<String>) {
        let mut note = None;
        let versions = match meta.state {
            KeyState::PendingDeletion { .. } | KeyState::Destroyed => 0,
            _ => match self.service.registry.provider(&meta.provider).await {
                Ok(p) => match p.list_versions(&meta.id).await {
                    Ok(versions) => versions
                        .iter()
                        .filter(|v| {
                            matches!(v.state, VersionState::Enabled | VersionState::Disabled)
                        })
                        .count()
                        .try_into()
                        .unwrap_or(u32::MAX),
                    Err(e) => {
                        note = Some(format!(
                            "key {}: versions not listed ({}); counted as one",
                            meta.uri,
                            e.kind().as_str()
                        ));
                        1
                    }
                },
                Err(_) => 0,
            },
        };
        (
            EstateKey {
                uri: meta.uri,
                provider: meta.provider,
                spec: meta.spec,
                versions,
            },
            note,
        )
    }
}
