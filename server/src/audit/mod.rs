//! The audit log: every audited call becomes one row of a hash chain in the gateway store.
//!
//! Durability without a disk flush per request comes from group commit: [`AuditLog::append`]
//! hands its event to one writer task and waits; the writer takes whatever events are queued
//! (up to [`AuditConfig::batch_max`]), chains them in memory, writes them in one transaction
//! and only then answers every waiter. One flush to disk (a commit is durable when the store
//! returns it; SQLite runs `synchronous = FULL`) thus covers a whole batch, and the busier the gateway the larger the batches.
//!
//! The log fails closed: when a batch cannot be written, every request in it gets
//! [`Error::Unavailable`], which the service layer turns into a refused call (503), so no
//! crypto operation is acknowledged without its audit row.
//!
//! Readers: [`AuditLog::query`] (filters and a cursor), [`AuditLog::follow`] (the backlog then
//! live rows, for `keygate audit tail --follow` and the console's SSE feed) and
//! [`AuditLog::verify`] (recomputes the whole chain).

mod follow;
mod proof;
mod publish;
mod query;
mod resume;
mod verify;
mod writer;

pub use publish::{CHECKPOINT_FILE, CheckpointPublisher, write_note};

#[cfg(test)]
mod backend_tests;
#[cfg(test)]
pub(crate) mod tests;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures::stream::BoxStream;
pub use keygate_core::audit::{
    AuditCheckpoint, AuditEvent, AuditKeys, AuditOutcome, AuditQuery, AuditVerification, BrokenRow,
    ConsistencyProof, GENESIS_HASH, InclusionProof, NewAuditEvent, action_matches, canonical_time,
    chain_hash,
};
use keygate_core::{Error, Page, Result};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::store::AuditRows;

/// The largest accepted [`AuditConfig::batch_max`]: bigger transactions gain nothing once the
/// flush is amortised and only delay the first waiter.
const MAX_BATCH: usize = 65_536;
/// The largest accepted [`AuditConfig::queue`]; the live feed preallocates that many slots.
const MAX_QUEUE: usize = 65_536;

/// Audit log tuning, from the `[audit]` table of the gateway configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// The most events written in one transaction (1..=65536).
    pub batch_max: usize,
    /// How many events may wait for the writer (1..=65536); `append` waits for room beyond
    /// that, which pushes back on callers instead of growing memory. Also the number of live
    /// events a slow [`AuditLog::follow`] reader may fall behind before it re-reads the store.
    pub queue: usize,
    /// A second file the gateway writes each checkpoint to, besides `<home>/audit.checkpoint`
    /// (an absolute path, ideally on another disk or host mount), so that someone who can
    /// delete the home's files still leaves a signed tree head behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_copy: Option<std::path::PathBuf>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            batch_max: 512,
            queue: 8192,
            checkpoint_copy: None,
        }
    }
}

impl AuditConfig {
    fn validate(&self) -> Result<()> {
        match self.problems().into_iter().next() {
            Some((_, message)) => Err(Error::invalid(message)),
            None => Ok(()),
        }
    }

    /// Every setting out of bounds, as (setting path, message), for `keygate config check`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !(1..=MAX_BATCH).contains(&self.batch_max) {
            problems.push((
                "audit.batch_max",
                format!(
                    "audit.batch_max must be between 1 and {MAX_BATCH}, not {}",
                    self.batch_max
                ),
            ));
        }
        if !(1..=MAX_QUEUE).contains(&self.queue) {
            problems.push((
                "audit.queue",
                format!(
                    "audit.queue must be between 1 and {MAX_QUEUE}, not {}",
                    self.queue
                ),
            ));
        }
        if let Some(copy) = &self.checkpoint_copy {
            let parent = copy.parent().filter(|p| !p.as_os_str().is_empty());
            if !copy.is_absolute() {
                problems.push((
                    "audit.checkpoint_copy",
                    format!(
                        "audit.checkpoint_copy must be an absolute path, not {}",
                        copy.display()
                    ),
                ));
            } else if copy.is_dir() {
                problems.push((
                    "audit.checkpoint_copy",
                    format!("audit.checkpoint_copy {} is a directory", copy.display()),
                ));
            } else if !parent.is_some_and(Path::is_dir) {
                problems.push((
                    "audit.checkpoint_copy",
                    format!(
                        "the folder of audit.checkpoint_copy {} does not exist",
                        copy.display()
                    ),
                ));
            }
        }
        problems
    }

    /// The files checkpoints are published to: `<home>/audit.checkpoint`, then the copy.
    pub fn checkpoint_paths(&self, home: &Path) -> Vec<std::path::PathBuf> {
        let mut paths = vec![home.join(CHECKPOINT_FILE)];
        paths.extend(self.checkpoint_copy.clone());
        paths
    }
}

/// Counters of the writer since [`AuditLog::open`], for metrics and the throughput example.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AuditStats {
    /// Transactions committed.
    pub batches: u64,
    /// Rows committed.
    pub rows: u64,
    /// Transactions that failed (their requests were refused).
    pub failed_batches: u64,
    /// Committed transactions by how many rows they held: slot `i` counts those with at
    /// most [`BATCH_ROW_BOUNDS`]`[i]` rows (and more than the bound before it); the last
    /// slot those with more than the largest bound. Not cumulative.
    pub batch_rows: [u64; BATCH_ROW_BOUNDS.len() + 1],
}

/// Upper bounds of the rows-per-commit histogram ([`AuditStats::batch_rows`]).
pub const BATCH_ROW_BOUNDS: [u64; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

impl AuditStats {
    /// Rows per committed transaction (0 before the first).
    pub fn average_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            // Precision loss only past 2^53 rows.
            self.rows as f64 / self.batches as f64
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    rows: AtomicU64,
    failed_batches: AtomicU64,
    /// The last batch failed: the store cannot write (until a batch succeeds again).
    failing: AtomicBool,
    /// See [`AuditStats::batch_rows`].
    batch_rows: [AtomicU64; BATCH_ROW_BOUNDS.len() + 1],
}

impl Counters {
    /// Counts one committed transaction of `rows` rows.
    fn committed(&self, rows: usize) {
        let rows = rows as u64;
        let slot = BATCH_ROW_BOUNDS
            .iter()
            .position(|bound| rows <= *bound)
            .unwrap_or(BATCH_ROW_BOUNDS.len());
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.batch_rows[slot].fetch_add(1, Ordering::Relaxed);
        self.failing.store(false, Ordering::Release);
    }
}

/// The principal of the row [`AuditLog::check_writable`] writes.
const PROBE_PRINCIPAL: &str = "keygate:readiness";
/// The action of that row.
const PROBE_ACTION: &str = "audit:probe";

/// The gateway's audit log. Cheap to clone: clones share one writer task, which stops when
/// the last clone (and the last [`AuditLog::follow`] stream) is dropped.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn AuditRows>,
    /// The chain key and checkpoint signer; `None` for a log opened without the root key.
    keys: Option<Arc<AuditKeys>>,
    queue: mpsc::Sender<writer::Job>,
    live: broadcast::Sender<AuditEvent>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("queue_capacity", &self.inner.queue.max_capacity())
            .field("writer_running", &!self.inner.queue.is_closed())
            .field("stats", &self.stats())
            .finish()
    }
}

impl AuditLog {
    /// Opens the audit log of `store`: loads the chain head (last `seq` and `hash`) and
    /// starts the writer task on the current Tokio runtime.
    ///
    /// Within a process, open one log per store and share clones. The writer keeps the
    /// chain head in memory; when another writer on the same database (another process on
    /// the same home) took the next `seq`, the store says so
    /// ([`AuditAppendError::SeqTaken`](crate::store::AuditAppendError::SeqTaken)), nothing is kept,
    /// and the batch is chained again after the head re-read from the store (a few times
    /// before it is refused), so rows are never lost, duplicated or misplaced.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad `config`; [`Error::Unavailable`] when the head
    /// cannot be read.
    pub async fn open(store: Arc<dyn AuditRows>, config: &AuditConfig) -> Result<Self> {
        Self::open_keyed(store, config, None).await
    }

    /// [`AuditLog::open`] with the audit keys: rows are chained under `keys.chain` and
    /// checkpoints signed with `keys.signer`. Without keys (a gateway with no root key, tests)
    /// rows carry the unkeyed hash of older logs and no checkpoint can be signed.
    ///
    /// # Errors
    /// As [`AuditLog::open`].
    pub async fn open_keyed(
        store: Arc<dyn AuditRows>,
        config: &AuditConfig,
        keys: Option<Arc<AuditKeys>>,
    ) -> Result<Self> {
        config.validate()?;
        let head = store.audit_head().await?;
        let (queue, pending) = mpsc::channel(config.queue);
        let (live, _) = broadcast::channel(config.queue);
        let counters = Arc::new(Counters::default());
        // The writer's store calls count as its own kind: one batch serves many requests.
        tokio::spawn(
            crate::store::RequestKind::AUDIT_WRITER.scope(writer::run(writer::Writer {
                store: Arc::clone(&store),
                pending,
                live: live.clone(),
                batch_max: config.batch_max,
                counters: Arc::clone(&counters),
                keys: keys.clone(),
                head: Some(head),
            })),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                keys,
                queue,
                live,
                counters,
            }),
        })
    }

    /// Appends `event` to the chain and returns the stored row. Resolves only once the row is
    /// committed: when this returns `Ok`, the row is durable.
    ///
    /// The event's time is stored in UTC with nanosecond precision; the returned row carries
    /// it as stored.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a time outside years 0000..=9999 or a duration beyond
    /// `i64::MAX` microseconds; [`Error::Unavailable`] when the store could not write the
    /// batch holding the event, or the writer has stopped. The caller must then refuse the
    /// audited operation (fail closed).
    pub async fn append(&self, event: NewAuditEvent) -> Result<AuditEvent> {
        let (pending, reply) = writer::Pending::new(event)?;
        self.inner
            .queue
            .send(writer::Job::Row(pending))
            .await
            .map_err(|_| writer_gone())?;
        reply
            .await
            .map_err(|_: oneshot::error::RecvError| writer_gone())?
    }

    /// Applies the gateway object write `write` and appends `event`, its call's outcome
    /// row, in ONE store transaction ([`crate::store::AuditRows::append_with_write`]),
    /// chained in queue order like any row. The row is `event` with outcome `success` when
    /// the write succeeded, and `failure` with the error's kind when the write failed for its
    /// own reason (the object is then unchanged). Resolves once the transaction committed.
    ///
    /// The outer result is the transaction's, the inner one the write's: `Ok(Err(_))` is a
    /// failed write whose failure row is durable. A write reporting
    /// [`ObjectWritten::TokenIdTaken`](crate::store::ObjectWritten::TokenIdTaken) committed
    /// nothing, row included.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an event the store cannot hold;
    /// [`Error::Unavailable`] when the transaction could not commit (neither the object
    /// change nor the row was kept) or the writer has stopped. The caller must then refuse
    /// the call (fail closed).
    pub async fn append_with_write(
        &self,
        event: NewAuditEvent,
        write: crate::store::ObjectWrite,
    ) -> Result<Result<crate::store::ObjectWritten>> {
        let (pending, reply) = writer::PendingWrite::new(event, write)?;
        self.inner
            .queue
            .send(writer::Job::Write(pending))
            .await
            .map_err(|_| writer_gone())?;
        reply
            .await
            .map_err(|_: oneshot::error::RecvError| writer_gone())?
    }

    /// One page of rows matching `q`, oldest first. `q.after` is the cursor; `next_cursor`
    /// is the last returned `seq` (as text) when more rows may follow, `None` on the last
    /// page.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a limit of 0 or a time filter outside years
    /// 0000..=9999; [`Error::Unavailable`] when the store cannot be read.
    pub async fn query(&self, q: &AuditQuery) -> Result<Page<AuditEvent>> {
        query::page(&*self.inner.store, q).await
    }

    /// Rows matching `q` after its cursor, then live rows as they are committed, without a
    /// gap or a duplicate. Never ends on its own; drop it to stop. A store error is yielded
    /// once and ends the stream.
    ///
    /// The live feed is subscribed before this returns, so every row committed after the
    /// call is delivered even if the stream is first polled later.
    pub fn follow(&self, q: AuditQuery) -> BoxStream<'static, Result<AuditEvent>> {
        follow::stream(self.clone(), q)
    }

    /// Recomputes the whole chain and tree, oldest row first, a page at a time (memory does
    /// not grow with the log; pages are read and hashed on every core). Stops at the first broken row: a row whose contents were edited
    /// (its hash does not match), a row after deleted rows (a `seq` gap), a row whose
    /// `prev_hash` is not the previous row's hash (reordered or replaced rows), or an unkeyed
    /// row after a keyed one (a suffix re-hashed without the chain key). `rows`, `head` and
    /// `root` then describe the intact prefix before it.
    ///
    /// Rows cut off the end of the log cannot be seen from the log itself: check it against
    /// an older checkpoint ([`AuditLog::verify_against`]).
    ///
    /// An intact log with the root key keeps a signed checkpoint of what was checked in the
    /// store, for [`AuditLog::verify_from_checkpoint`] to start from.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store cannot be read.
    pub async fn verify(&self) -> Result<AuditVerification> {
        let (checker, mut verification) =
            verify::verify(&self.inner.store, self.inner.keys.clone()).await?;
        if verification.first_broken.is_some() {
            // Past a broken row the pass read no further; count every intent in the store.
            verification.unresolved_intents = self.inner.store.count_unresolved_intents().await?;
        } else if let Some(keys) = &self.inner.keys {
            resume::remember(&*self.inner.store, keys, &checker).await;
        }
        Ok(verification)
    }

    /// Whether the log can write, for readiness. While the last batch succeeded (or none
    /// was tried) that is taken as yes. After a failed batch no write is trusted until one
    /// succeeds, so this writes a row itself (action `audit:probe`, principal
    /// `keygate:readiness`): a gateway that receives no traffic while failing still notices
    /// when the store can write again, and the log records when it could.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the writer has stopped or the store still cannot write.
    pub async fn check_writable(&self) -> Result<()> {
        if !self.is_running() {
            return Err(writer_gone());
        }
        if !self.inner.counters.failing.load(Ordering::Acquire) {
            return Ok(());
        }
        let probe = NewAuditEvent {
            time: time::OffsetDateTime::now_utc(),
            request_id: uuid::Uuid::new_v4().to_string(),
            principal: PROBE_PRINCIPAL.to_owned(),
            source: "scheduler".to_owned(),
            action: PROBE_ACTION.to_owned(),
            provider: None,
            key: None,
            key_version: None,
            outcome: AuditOutcome::Success,
            error_kind: None,
            duration_us: 0,
            intent_seq: None,
        };
        self.append(probe)
            .await
            .map(drop)
            .map_err(|_| Error::unavailable("the audit store cannot write"))
    }

    /// Whether the writer task is still taking events (readiness).
    pub fn is_running(&self) -> bool {
        !self.inner.queue.is_closed()
    }

    /// The writer's counters so far.
    pub fn stats(&self) -> AuditStats {
        let c = &self.inner.counters;
        AuditStats {
            batches: c.batches.load(Ordering::Relaxed),
            rows: c.rows.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            batch_rows: std::array::from_fn(|i| c.batch_rows[i].load(Ordering::Relaxed)),
        }
    }
}

fn writer_gone() -> Error {
    Error::unavailable("audit log writer has stopped")
}
