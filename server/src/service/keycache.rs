//! A short-lived cache of resolved keys for the cryptographic hot path.
//!
//! Authorizing a call needs the key's provider, name and labels: resolving a name asks every
//! provider, and reading labels is one more provider call. For `crypto:*` calls the service
//! reuses what it learned within the last few seconds, so an encrypt through a cloud provider
//! costs one provider round-trip, not three. Management calls always read fresh metadata,
//! and every change made through keygate (labels, state, aliases, rotation) empties the
//! cache, so the only staleness is a change made outside keygate, visible within [`TTL`].
//! Key state is still enforced by the provider on every call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keygate_core::{KeyLocator, KeyMetadata};

use crate::registry::ResolvedKey;

/// How long a resolved key is reused.
pub(super) const TTL: Duration = Duration::from_secs(5);

/// Entries kept at most; the cache empties itself when full (it refills on the next calls).
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub(super) struct KeyCache {
    entries: Mutex<HashMap<KeyLocator, (Instant, ResolvedKey, KeyMetadata)>>,
}

impl KeyCache {
    /// The key `reference` resolved to within the last [`TTL`].
    pub(super) fn get(&self, reference: &KeyLocator) -> Option<(ResolvedKey, KeyMetadata)> {
        let entries = self.entries.lock().ok()?;
        let (at, key, meta) = entries.get(reference)?;
        (at.elapsed() < TTL).then(|| (key.clone(), meta.clone()))
    }

    /// Remembers what `reference` resolved to.
    pub(super) fn put(&self, reference: &KeyLocator, key: &ResolvedKey, meta: &KeyMetadata) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(
                reference.clone(),
                (Instant::now(), key.clone(), meta.clone()),
            );
        }
    }

    /// Forgets everything (after any change made through keygate).
    pub(super) fn clear(&self) {
        match self.entries.lock() {
            Ok(mut entries) => entries.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }
}
