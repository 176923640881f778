//! The name index: which provider holds the key a plain name means, so resolving a name asks
//! only that provider instead of every one (a slow or unreachable cloud then delays only its
//! own keys).
//!
//! It is filled by what the gateway sees: listings (a full listing replaces what the index
//! knew of that provider), creations and descriptions; a key a provider no longer knows
//! (deleted, destroyed) leaves it. The index is a hint, never the authority: a hit is read
//! from its provider before it is used, and a miss falls back to asking the providers.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock};

use keygate_core::KeyMetadata;

/// Entries kept at most; past it new names are not added (resolution still works, by asking
/// the providers).
const CAPACITY: usize = 200_000;

/// Name → (provider → key id).
#[derive(Debug, Default)]
pub struct NameIndex {
    names: RwLock<HashMap<String, BTreeMap<String, String>>>,
}

impl NameIndex {
    /// The providers that hold a key called `name`, with its id there, by provider name.
    pub fn lookup(&self, name: &str) -> Vec<(String, String)> {
        self.names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|holders| {
                holders
                    .iter()
                    .map(|(p, id)| (p.clone(), id.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Records that `provider` holds `key` (under its name, and under its id when that
    /// differs, as an AWS key's).
    pub fn insert(&self, provider: &str, key: &KeyMetadata) {
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        insert(&mut names, provider, key);
    }

    /// Forgets the key `key` (a name or an id) of `provider`.
    pub fn remove(&self, provider: &str, key: &str) {
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        let id = names
            .get(key)
            .and_then(|holders| holders.get(provider))
            .cloned()
            .unwrap_or_else(|| key.to_owned());
        names.retain(|_, holders| {
            if holders.get(provider).is_some_and(|held| *held == id) {
                holders.remove(provider);
            }
            !holders.is_empty()
        });
    }

    /// Replaces everything known of `provider` with a complete listing of its keys.
    pub fn replace(&self, provider: &str, keys: &[KeyMetadata]) {
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        names.retain(|_, holders| {
            holders.remove(provider);
            !holders.is_empty()
        });
        for key in keys {
            insert(&mut names, provider, key);
        }
    }

    /// How many names the index holds.
    pub fn len(&self) -> usize {
        self.names
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the index holds no name.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn insert(
    names: &mut HashMap<String, BTreeMap<String, String>>,
    provider: &str,
    key: &KeyMetadata,
) {
    for name in [&key.name, &key.id] {
        if names.len() >= CAPACITY && !names.contains_key(name.as_str()) {
            continue;
        }
        names
            .entry(name.clone())
            .or_default()
            .insert(provider.to_owned(), key.id.clone());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use keygate_core::{KeySpec, KeyState, KeyUsage, Labels};
    use time::OffsetDateTime;

    use super::*;

    fn key(provider: &str, id: &str, name: &str) -> KeyMetadata {
        KeyMetadata {
            import: None,
            uri: format!("{provider}://{id}"),
            provider: provider.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
            spec: KeySpec::Aes256,
            usage: KeyUsage::Encrypt,
            state: KeyState::Enabled,
            primary_version: None,
            rotation: None,
            labels: Labels::default(),
            description: String::new(),
            created: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn holders(index: &NameIndex, name: &str) -> Vec<(String, String)> {
        index.lookup(name)
    }

    #[test]
    fn a_created_key_is_found_by_name_and_id() {
        let index = NameIndex::default();
        index.insert("aws", &key("aws", "1234-abcd", "billing"));
        index.insert("local", &key("local", "orders", "orders"));
        assert_eq!(
            holders(&index, "billing"),
            [("aws".to_owned(), "1234-abcd".to_owned())]
        );
        assert_eq!(
            holders(&index, "1234-abcd"),
            [("aws".to_owned(), "1234-abcd".to_owned())]
        );
        assert_eq!(
            holders(&index, "orders"),
            [("local".to_owned(), "orders".to_owned())]
        );
        assert!(holders(&index, "nothing").is_empty());
    }

    #[test]
    fn a_name_in_two_providers_has_two_holders() {
        let index = NameIndex::default();
        index.insert("local", &key("local", "shared", "shared"));
        index.insert("eu", &key("eu", "shared", "shared"));
        let found = holders(&index, "shared");
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn a_deleted_key_leaves_the_index() {
        let index = NameIndex::default();
        index.insert("aws", &key("aws", "1234-abcd", "billing"));
        index.insert("local", &key("local", "billing", "billing"));
        index.remove("aws", "billing");
        assert_eq!(
            holders(&index, "billing"),
            [("local".to_owned(), "billing".to_owned())]
        );
        assert!(holders(&index, "1234-abcd").is_empty());
        index.remove("local", "billing");
        assert!(index.is_empty());
        // Removing by id works as well.
        index.insert("aws", &key("aws", "1234-abcd", "billing"));
        index.remove("aws", "1234-abcd");
        assert!(index.is_empty());
    }

    #[test]
    fn a_listing_replaces_what_was_known_of_its_provider_only() {
        let index = NameIndex::default();
        index.insert("local", &key("local", "old", "old"));
        index.insert("local", &key("local", "kept", "kept"));
        index.insert("aws", &key("aws", "9", "old"));
        index.replace(
            "local",
            &[key("local", "kept", "kept"), key("local", "new", "new")],
        );
        assert_eq!(holders(&index, "old"), [("aws".to_owned(), "9".to_owned())]);
        assert_eq!(holders(&index, "new").len(), 1);
        assert_eq!(holders(&index, "kept").len(), 1);
        index.replace("local", &[]);
        assert!(holders(&index, "kept").is_empty());
        assert_eq!(holders(&index, "9").len(), 1);
    }
}
