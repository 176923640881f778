//! The records every request needs, served from memory: tokens and AWS access keys, aliases,
//! the AWS dialect's key ids and the GCP dialect's key rings and key records.
//!
//! [`HotStore`] wraps the gateway store (any backend: it sits above the store traits) and
//! is the store every part of the service uses. A read of one of those records is answered
//! from memory when it was read before; only records that exist are kept, so a token, alias
//! or key created later is found as soon as it exists. It also counts every store call by
//! request kind (see [`StoreCalls`]).
//!
//! # Invalidation
//! - A change made through this process (a token issued or revoked, an alias written, the
//!   policy set, a GCP ring or key record written) empties the memory once the store
//!   committed it, and the change generation it moved is read at once (so the watch below
//!   does not empty the memory a second time for it).
//! - A change made by another process on the same store (the CLI beside `keygate serve`,
//!   another replica) moves the store's change generation
//!   ([`Store::change_generation`]); a task reads it every [`POLL_EVERY`] and empties the
//!   memory (and reloads the access policy) when it moved. Remembered records are used only
//!   while the last successful read of the generation began less than [`MAX_STALENESS`] ago,
//!   so a change made elsewhere (a revoked token, a removed policy grant) takes effect within
//!   [`MAX_STALENESS`] even when that task is late or the store cannot be read.
//! - A read that started before an invalidation never stores its (maybe older) answer.
//! - A backend that cannot report its change generation gets no memory at all: every read
//!   goes to the store.

mod delegate;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use keygate_core::{Error, KeyRef};
use time::OffsetDateTime;

use crate::access::AccessStore;
use crate::store::{Access, KeyRecord, RequestKind, Store, StoreCalls, TokenRecord};

/// How often the store's change generation is read.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// The longest a change made by another process can go unseen: remembered records are used
/// only while the last successful read of the change generation began less than this ago.
pub const MAX_STALENESS: Duration = Duration::from_secs(1);

/// Records kept per kind at most; a full table is emptied (it refills on the next calls).
const CAPACITY: usize = 10_000;

/// The gateway store with the hot records in memory and its calls counted.
pub(crate) struct HotStore {
    inner: Arc<dyn Store>,
    calls: StoreCalls,
    memo: Mutex<Memo>,
}

impl std::fmt::Debug for HotStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the records: token records hold secret hashes and sealed secrets.
        f.debug_struct("HotStore")
            .field("backend", &self.inner.backend())
            .finish_non_exhaustive()
    }
}

/// What is remembered, and how fresh it is.
#[derive(Default)]
struct Memo {
    /// Moves on every invalidation; a read stores its answer only if it has not moved since
    /// the read began.
    epoch: u64,
    /// The change generation last read; `None` before the first read.
    generation: Option<u64>,
    /// When the last successful read of the generation began.
    checked: Option<Instant>,
    /// The backend reports no change generation: nothing is ever served from memory.
    disabled: bool,
    tokens: HashMap<String, TokenRecord>,
    aliases: HashMap<String, KeyRef>,
    aws_id_by_uri: HashMap<String, String>,
    aws_uri_by_id: HashMap<String, String>,
    gcp_keys: HashMap<(String, String, String), KeyRecord>,
    gcp_rings: HashMap<(String, String, String), OffsetDateTime>,
}

impl Memo {
    fn fresh(&self) -> bool {
        !self.disabled && self.checked.is_some_and(|at| at.elapsed() < MAX_STALENESS)
    }

    fn forget(&mut self) {
        self.epoch += 1;
        self.tokens.clear();
        self.aliases.clear();
        self.aws_id_by_uri.clear();
        self.aws_uri_by_id.clear();
        self.gcp_keys.clear();
        self.gcp_rings.clear();
    }
}

/// Inserts into a bounded table.
fn remember<K: Eq + Hash, V>(table: &mut HashMap<K, V>, key: K, value: V) {
    if table.len() >= CAPACITY {
        table.clear();
    }
    table.insert(key, value);
}

impl HotStore {
    /// Wraps `inner`; nothing is served from memory until [`HotStore::poll`] first read the
    /// change generation.
    pub(crate) fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            calls: StoreCalls::default(),
            memo: Mutex::new(Memo::default()),
        }
    }

    /// The store calls made so far, by request kind.
    pub(crate) fn calls(&self) -> &StoreCalls {
        &self.calls
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, Memo> {
        self.memo.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one call of the current request kind.
    fn count(&self, access: Access) {
        self.calls.record(access);
    }

    /// `pick` of the memory, when it is fresh enough to be used.
    fn serve<T>(&self, pick: impl FnOnce(&Memo) -> Option<T>) -> Option<T> {
        let memo = self.memo();
        if memo.fresh() { pick(&memo) } else { None }
    }

    /// The epoch a read begins in (see [`HotStore::keep`]).
    fn epoch(&self) -> u64 {
        self.memo().epoch
    }

    /// Stores what a read that began in `epoch` found, unless the memory was emptied since.
    fn keep(&self, epoch: u64, store: impl FnOnce(&mut Memo)) {
        let mut memo = self.memo();
        if memo.epoch == epoch && !memo.disabled {
            store(&mut memo);
        }
    }

    /// Empties the memory: after a change went through this process (once committed).
    pub(crate) fn forget(&self) {
        self.memo().forget();
    }

    /// After a change went through this process: empties the memory and reads the change
    /// generation the change moved, so that the watch does not take this process's own
    /// change for another's and empty the memory a second time. A failed read is left to
    /// the watch (which says so); the memory is empty either way.
    pub(crate) async fn changed(&self) {
        self.forget();
        let _ = self.poll().await;
    }

    /// Reads the change generation and empties the memory when it moved; true when it
    /// moved (the caller reloads what it keeps itself, the access policy).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store cannot be read: what is remembered goes out of
    /// use [`MAX_STALENESS`] after the last successful read.
    pub(crate) async fn poll(&self) -> keygate_core::Result<bool> {
        let began = Instant::now();
        let read = RequestKind::FRESHNESS
            .scope(async {
                self.count(Access::Read);
                self.inner.change_generation().await
            })
            .await;
        let mut memo = self.memo();
        match read {
            // A read that began after this one has answered already (the watch and a change
            // made here can poll at once): this older answer would only empty the memory a
            // second time.
            Ok(_) if memo.checked.is_some_and(|at| at > began) => Ok(false),
            Ok(generation) => {
                let moved = memo.generation.is_some_and(|seen| seen != generation);
                if memo.generation != Some(generation) {
                    memo.forget();
                    memo.generation = Some(generation);
                }
                memo.checked = Some(began);
                Ok(moved)
            }
            Err(Error::Unsupported(_)) => {
                memo.disabled = true;
                memo.forget();
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Keeps the memory fresh for as long as `this` lives: reads the change generation every
    /// [`POLL_EVERY`], and reloads `access` when another process changed the store.
    pub(crate) fn watch(this: &Arc<Self>, access: AccessStore) {
        let weak: Weak<Self> = Arc::downgrade(this);
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                tokio::time::sleep(POLL_EVERY).await;
                let Some(store) = weak.upgrade() else { break };
                match store.poll().await {
                    Ok(moved) => {
                        failing = false;
                        if moved && let Err(e) = access.get().await {
                            tracing::warn!(error = %e, "cannot re-read the access policy; keeping the one in force");
                        }
                    }
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "cannot read the store's change generation; reading tokens and aliases from the store until it answers");
                    }
                    Err(_) => {}
                }
                if store.memo().disabled {
                    break;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests;
