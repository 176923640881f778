//! The bounded data-key cache of envelope encryption (off by default).
//!
//! Every envelope normally costs one provider round-trip: `generate_data_key` to seal,
//! `decrypt` of the wrapped data key to open. Like the AWS Encryption SDK's caching
//! materials manager, this cache lets one data key seal several messages, and remembers
//! unwrapped data keys for a while, within limits:
//!
//! - **max age**: an entry older than `max_age_secs` is never returned (and is dropped);
//! - **max messages**: an encryption entry seals at most `max_messages` envelopes;
//! - **max bytes**: an encryption entry seals at most `max_bytes` plaintext bytes in all;
//! - **capacity**: at most `capacity` entries (encryption and decryption together); the least
//!   recently used goes first.
//!
//! Reusing a data key is safe for the envelope format: each envelope derives its own AES key
//! from the data key and a random 256-bit message id (see `keygate_core::envelope`).
//!
//! # What the cache does not skip
//! The cache saves only the provider round-trip. The service layer still checks the access
//! policy and writes an audit event for every call, hit or miss, before it looks here; a
//! cached data key is never handed to a caller who could not have had it from the provider.
//! Entries are keyed by key URI *and* encryption context (and, for decryption, the wrapped
//! key), so a different context always misses and goes to the provider, which enforces it.
//!
//! Cached data keys are plaintext secrets in memory: they are [`SecretBytes`] (wiped when
//! dropped), never printed by `Debug`, and dropped on expiry, exhaustion or eviction.
//! Streams whose length is not known up front cannot be counted against `max_bytes`, so the
//! service should not use the cache for them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_lc_rs::digest;
use keygate_core::{Clock, EncryptionContext, Error, Result, SecretBytes, SystemClock};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The longest `max_age_secs` accepted (one day): a cached data key is a plaintext key held
/// in memory, and keeping one longer would also outlive most rotation schedules.
pub const MAX_AGE_LIMIT_SECS: u64 = 86_400;
/// The most messages one cached data key may seal (2^32, the AWS Encryption SDK's bound).
pub const MAX_MESSAGES_LIMIT: u64 = 1 << 32;
/// The largest `capacity` accepted.
pub const CAPACITY_LIMIT: usize = 1_000_000;

/// `[cache]`: the data-key cache settings. The default is disabled.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Whether to cache at all (default `false`).
    pub enabled: bool,
    /// How long an entry may be used after the provider produced it, in seconds (default 300,
    /// 1..=86400).
    pub max_age_secs: u64,
    /// Envelopes one cached data key may seal (default 1000, 1..=2^32).
    pub max_messages: u64,
    /// Plaintext bytes one cached data key may seal in all (default 1 GiB, at least 1).
    pub max_bytes: u64,
    /// Entries kept at most, encryption and decryption together (default 100,
    /// 1..=1000000).
    pub capacity: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            max_age_secs: 300,
            max_messages: 1000,
            max_bytes: 1 << 30,
            capacity: 100,
        }
    }
}

impl CacheConfig {
    /// Checks every limit is within bounds (also when the cache is disabled, so that a
    /// mistake in the file is reported before someone turns it on).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the setting out of bounds.
    pub fn validate(&self) -> Result<()> {
        match self.problems().into_iter().next() {
            Some((_, message)) => Err(Error::invalid(message)),
            None => Ok(()),
        }
    }

    /// Every limit out of bounds, as (setting path, message), for `keygate config check`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !(1..=MAX_AGE_LIMIT_SECS).contains(&self.max_age_secs) {
            problems.push((
                "cache.max_age_secs",
                format!(
                    "cache.max_age_secs must be between 1 and {MAX_AGE_LIMIT_SECS}, not {}",
                    self.max_age_secs
                ),
            ));
        }
        if !(1..=MAX_MESSAGES_LIMIT).contains(&self.max_messages) {
            problems.push((
                "cache.max_messages",
                format!(
                    "cache.max_messages must be between 1 and {MAX_MESSAGES_LIMIT}, not {}",
                    self.max_messages
                ),
            ));
        }
        if self.max_bytes == 0 {
            problems.push((
                "cache.max_bytes",
                "cache.max_bytes must be at least 1".to_owned(),
            ));
        }
        if !(1..=CAPACITY_LIMIT).contains(&self.capacity) {
            problems.push((
                "cache.capacity",
                format!(
                    "cache.capacity must be between 1 and {CAPACITY_LIMIT}, not {}",
                    self.capacity
                ),
            ));
        }
        problems
    }
}

/// A data key cached for encryption: what a fresh `generate_data_key` gave, and the provider
/// and key version to write into envelope headers.
#[derive(Clone)]
pub struct CachedDataKey {
    /// The registered provider that generated the key.
    pub provider: String,
    /// The key version that wrapped it.
    pub key_version: String,
    /// The data key wrapped under the key (goes into every envelope header).
    pub wrapped_key: Vec<u8>,
    /// The data key in plaintext. Secret.
    pub data_key: SecretBytes,
}

impl fmt::Debug for CachedDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedDataKey")
            .field("provider", &self.provider)
            .field("key_version", &self.key_version)
            .field("wrapped_key_len", &self.wrapped_key.len())
            .field(
                "data_key",
                &format_args!("<redacted {} bytes>", self.data_key.len()),
            )
            .finish()
    }
}

/// The data-key cache. See the [module docs](self) for the limits and what is not skipped.
///
/// Cloning is cheap and shares the entries, so one cache built from the configuration can be
/// handed to every part of the service. A disabled cache misses every lookup and keeps
/// nothing.
#[derive(Clone)]
pub struct DataKeyCache {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    config: CacheConfig,
    max_age: time::Duration,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl DataKeyCache {
    /// A cache as configured, on the system clock.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the configuration does not validate.
    pub fn new(config: &CacheConfig) -> Result<Self> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A cache as configured, on `clock` (tests use a `ManualClock`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the configuration does not validate.
    pub fn with_clock(config: &CacheConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        config.validate()?;
        if !config.enabled {
            return Ok(Self::disabled());
        }
        // Validated: at most a day, so it fits an i64 of seconds.
        let max_age = time::Duration::seconds(i64::try_from(config.max_age_secs).unwrap_or(1));
        Ok(Self {
            shared: Some(Arc::new(Shared {
                config: config.clone(),
                max_age,
                clock,
                state: Mutex::new(State::default()),
            })),
        })
    }

    /// A cache that is off: every lookup misses.
    pub fn disabled() -> Self {
        Self { shared: None }
    }

    /// Whether the cache is on.
    pub fn is_enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// Entries held now (expired ones included until they are looked up or purged).
    pub fn len(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.lock().entries.len())
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every entry (e.g. after a key was disabled or its policy changed).
    pub fn clear(&self) {
        if let Some(s) = &self.shared {
            s.lock().clear();
        }
    }

    /// Drops every expired entry now, so their data keys leave memory without waiting for a
    /// lookup. Each put does this too.
    pub fn purge_expired(&self) {
        if let Some(s) = &self.shared {
            let now = s.clock.now();
            s.lock().purge(|e| s.expired(e, now));
        }
    }

    /// A cached data key to seal one more envelope of `bytes` plaintext bytes under
    /// `key_uri` and `context`, counting that use. `None` (a miss) when there is none, when
    /// it has expired, or when this use would take it past `max_messages` or `max_bytes`;
    /// an entry refused for a limit is dropped, so the next call generates a new key.
    pub fn get_for_encrypt(
        &self,
        key_uri: &str,
        context: &EncryptionContext,
        bytes: u64,
    ) -> Option<CachedDataKey> {
        let shared = self.shared.as_ref()?;
        let id = encrypt_id(key_uri, context);
        let now = shared.clock.now();
        let mut state = shared.lock();
        let entry = state.entries.get_mut(&id)?;
        let expired = shared.expired(entry, now);
        let Value::Encrypt {
            key,
            messages,
            bytes: used,
        } = &mut entry.value
        else {
            return None;
        };
        let next_messages = messages.saturating_add(1);
        let next_bytes = used.checked_add(bytes);
        let within = next_messages <= shared.config.max_messages
            && next_bytes.is_some_and(|b| b <= shared.config.max_bytes);
        if expired || !within {
            state.remove(&id);
            return None;
        }
        *messages = next_messages;
        *used = next_bytes.unwrap_or(u64::MAX);
        let out = key.clone();
        // A key with no message left is of no further use: let it go now.
        if next_messages >= shared.config.max_messages {
            state.remove(&id);
        } else {
            state.touch(&id);
        }
        Some(out)
    }

    /// Caches a data key the provider just generated for `key_uri` and `context`, counting
    /// the envelope of `bytes` plaintext bytes it is about to seal as its first use.
    ///
    /// Nothing is cached when the cache is off or when that first envelope already reaches
    /// `max_bytes` or `max_messages` (the key has no use left). An entry already cached for
    /// the same key and context (another request raced this one) is replaced.
    pub fn put_for_encrypt(
        &self,
        key_uri: &str,
        context: &EncryptionContext,
        key: CachedDataKey,
        bytes: u64,
    ) {
        let Some(shared) = &self.shared else { return };
        let id = encrypt_id(key_uri, context);
        if shared.config.max_messages <= 1 || bytes >= shared.config.max_bytes {
            return;
        }
        shared.insert(
            id,
            Value::Encrypt {
                key,
                messages: 1,
                bytes,
            },
        );
    }

    /// The unwrapped data key of `wrapped_key` under `key_uri` and `context`, when the
    /// provider unwrapped it within `max_age`.
    pub fn get_for_decrypt(
        &self,
        key_uri: &str,
        wrapped_key: &[u8],
        context: &EncryptionContext,
    ) -> Option<SecretBytes> {
        let shared = self.shared.as_ref()?;
        let id = decrypt_id(key_uri, wrapped_key, context);
        let now = shared.clock.now();
        let mut state = shared.lock();
        let entry = state.entries.get(&id)?;
        let expired = shared.expired(entry, now);
        let Value::Decrypt { data_key } = &entry.value else {
            return None;
        };
        if expired {
            state.remove(&id);
            return None;
        }
        let out = data_key.clone();
        state.touch(&id);
        Some(out)
    }

    /// Caches the data key the provider unwrapped from `wrapped_key` under `key_uri` and
    /// `context`.
    pub fn put_for_decrypt(
        &self,
        key_uri: &str,
        wrapped_key: &[u8],
        context: &EncryptionContext,
        data_key: SecretBytes,
    ) {
        if let Some(shared) = &self.shared {
            let id = decrypt_id(key_uri, wrapped_key, context);
            shared.insert(id, Value::Decrypt { data_key });
        }
    }
}

impl fmt::Debug for DataKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shared {
            None => f
                .debug_struct("DataKeyCache")
                .field("enabled", &false)
                .finish(),
            Some(s) => {
                // try_lock: formatting must never wait on (or deadlock with) a lookup.
                let entries = s.state.try_lock().map(|st| st.entries.len()).ok();
                f.debug_struct("DataKeyCache")
                    .field("enabled", &true)
                    .field("config", &s.config)
                    .field("entries", &entries)
                    .finish()
            }
        }
    }
}

impl Shared {
    /// The state, recovered empty if a panic poisoned the lock: dropping cached keys only
    /// costs provider calls, while trusting half-updated counters could overuse a key.
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.clear();
                self.state.clear_poison();
                guard
            }
        }
    }

    /// Expired at `max_age`, or when the clock went backwards past its creation (whatever
    /// happened, a miss is the safe answer).
    fn expired(&self, entry: &Entry, now: OffsetDateTime) -> bool {
        now < entry.created || now - entry.created >= self.max_age
    }

    fn insert(&self, id: Id, value: Value) {
        let now = self.clock.now();
        let mut state = self.lock();
        state.purge(|e| self.expired(e, now));
        state.insert(id, value, now);
        state.evict_to(self.config.capacity);
    }
}

/// An entry's id: SHA-256 over a domain tag and the length-prefixed fields, so the id is
/// fixed-size (no key URI or context kept in clear) and encryption and decryption entries
/// can never collide.
type Id = [u8; 32];

fn hash_id(tag: &[u8], fields: &[&[u8]]) -> Id {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(tag);
    for field in fields {
        ctx.update(&(field.len() as u64).to_be_bytes());
        ctx.update(field);
    }
    let mut id = [0u8; 32];
    id.copy_from_slice(ctx.finish().as_ref());
    id
}

fn encrypt_id(key_uri: &str, context: &EncryptionContext) -> Id {
    hash_id(
        b"keygate data-key cache: encrypt\0",
        &[key_uri.as_bytes(), &context.canonical_bytes()],
    )
}

fn decrypt_id(key_uri: &str, wrapped_key: &[u8], context: &EncryptionContext) -> Id {
    hash_id(
        b"keygate data-key cache: decrypt\0",
        &[key_uri.as_bytes(), wrapped_key, &context.canonical_bytes()],
    )
}

enum Value {
    Encrypt {
        key: CachedDataKey,
        messages: u64,
        bytes: u64,
    },
    Decrypt {
        data_key: SecretBytes,
    },
}

struct Entry {
    value: Value,
    created: OffsetDateTime,
    /// Its key in `State::recency`.
    last_used: u64,
}

/// The entries and their use order: `recency` maps a strictly increasing use tick to the
/// entry used then, so its first element is the least recently used entry.
#[derive(Default)]
struct State {
    entries: HashMap<Id, Entry>,
    recency: BTreeMap<u64, Id>,
    tick: u64,
}

impl State {
    fn next_tick(&mut self) -> u64 {
        self.tick = self.tick.wrapping_add(1);
        self.tick
    }

    fn insert(&mut self, id: Id, value: Value, now: OffsetDateTime) {
        self.remove(&id);
        let tick = self.next_tick();
        self.recency.insert(tick, id);
        self.entries.insert(
            id,
            Entry {
                value,
                created: now,
                last_used: tick,
            },
        );
    }

    fn touch(&mut self, id: &Id) {
        let tick = self.next_tick();
        if let Some(entry) = self.entries.get_mut(id) {
            self.recency.remove(&entry.last_used);
            entry.last_used = tick;
            self.recency.insert(tick, *id);
        }
    }

    fn remove(&mut self, id: &Id) {
        if let Some(entry) = self.entries.remove(id) {
            self.recency.remove(&entry.last_used);
        }
    }

    fn evict_to(&mut self, capacity: usize) {
        while self.entries.len() > capacity {
            let Some((_, id)) = self.recency.pop_first() else {
                break;
            };
            self.entries.remove(&id);
        }
    }

    fn purge(&mut self, expired: impl Fn(&Entry) -> bool) {
        let gone: Vec<Id> = self
            .entries
            .iter()
            .filter(|(_, e)| expired(e))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.remove(&id);
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.recency.clear();
    }
}

#[cfg(test)]
mod tests;
