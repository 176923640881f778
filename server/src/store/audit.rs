//! The audit log's rows as a backend keeps them: a hash chain, appended a batch at a time by
//! one writer per process and read back in `seq` order.
//!
//! The chaining, group commit and failing closed live in [`crate::audit`]; a backend only
//! stores rows, reads them back, and says when another writer took a `seq` first.

use async_trait::async_trait;
use keygate_core::audit::{AuditEvent, AuditQuery, GENESIS_HASH};
use keygate_core::{Error, Result};

use super::{ObjectWrite, ObjectWritten};

/// The last committed row: where the next batch continues the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// Its `seq` (0 for an empty log).
    pub seq: u64,
    /// Its hash ([`GENESIS_HASH`] for an empty log).
    pub hash: String,
}

impl AuditHead {
    /// The head of an empty log: the first row is `seq` 1 after [`GENESIS_HASH`].
    pub fn genesis() -> Self {
        Self {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// A row ready to append: the event in its chain place (`seq`, `prev_hash`, `hash` set) and
/// its time as [`canonical_time`](keygate_core::audit::canonical_time) spells it, formatted
/// once when the log accepted the event.
#[derive(Debug, Clone)]
pub struct ChainedAuditRow {
    /// The event with its place in the chain.
    pub event: AuditEvent,
    /// `canonical_time(event.time)`.
    pub time_text: String,
}

/// Why a batch was not appended. Either way nothing of the batch was kept.
#[derive(Debug)]
pub enum AuditAppendError {
    /// A row's `seq` already exists: another writer on the same store (another process on
    /// the same home) committed first. The writer re-reads the head and chains the batch
    /// again after it.
    SeqTaken(Error),
    /// Anything else; the batch's requests are refused.
    Failed(Error),
}

impl AuditAppendError {
    /// The error inside, whichever kind of failure it was.
    pub fn into_error(self) -> Error {
        match self {
            Self::SeqTaken(e) | Self::Failed(e) => e,
        }
    }
}

/// What [`AuditRows::append_with_write`] committed.
#[derive(Debug)]
pub struct WriteAppended {
    /// What the write did, or its own error (the object is then unchanged and the row
    /// records the failure).
    pub result: Result<ObjectWritten>,
    /// The outcome row committed with it; `None` only for
    /// [`ObjectWritten::TokenIdTaken`], when nothing was committed.
    pub row: Option<ChainedAuditRow>,
}

/// How the outcome row of an object write is built from what the write did, in its chain
/// place (the writer chains it after the head it holds).
pub type OutcomeRow<'a> = &'a (dyn Fn(&Result<ObjectWritten>) -> ChainedAuditRow + Send + Sync);

/// One row as stored, for the verifier: read back even when it is not what keygate writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedAuditRow {
    /// The row's `seq` as stored. Rows keygate wrote start at 1; a forged row may hold 0 or a
    /// negative number.
    pub seq: i64,
    /// The row, or the name of the first column that does not hold what keygate writes
    /// there (`column outcome is not a known outcome`).
    pub event: std::result::Result<AuditEvent, String>,
    /// Whether the stored time is spelled as `canonical_time` spells it. The hash covers
    /// the instant, not its spelling, so a respelled time is an edit only this shows.
    pub canonical_time: bool,
}

/// A signed checkpoint kept in the store (migration `0009_audit_checkpoints.sql`) with what a
/// verifier needs to take the log up after it instead of reading every row again.
///
/// Only `note` is signed. The rest is checked against it before use (the tree's subtree roots
/// must give the signed root) or only feeds counts the report gives (`unkeyed_rows`,
/// `open_intents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Rows the checkpoint covers.
    pub size: u64,
    /// The signed note (`keygate audit checkpoint`'s text).
    pub note: String,
    /// The roots of the perfect subtrees of the tree over those rows
    /// ([`CompactRange::hashes`](keygate_core::audit::merkle::CompactRange::hashes)).
    pub range: Vec<keygate_core::audit::merkle::Hash>,
    /// How many of those rows carry the unkeyed hash.
    pub unkeyed_rows: u64,
    /// The intent rows among them that no row among them names as its intent.
    pub open_intents: Vec<u64>,
}

/// A [`StoredCheckpoint`] as both backends keep it in `audit_checkpoints`: hashes as one hex
/// string, the open intents as comma-separated seqs, counts as `BIGINT`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckpointColumns {
    pub size: i64,
    pub note: String,
    pub range_hashes: String,
    pub unkeyed_rows: i64,
    pub open_intents: String,
}

impl CheckpointColumns {
    /// The columns of `checkpoint`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a count beyond `i64::MAX`.
    pub(crate) fn of(checkpoint: &StoredCheckpoint) -> Result<Self> {
        Ok(Self {
            size: i64::try_from(checkpoint.size)
                .map_err(|_| Error::invalid("checkpoint size out of range"))?,
            note: checkpoint.note.clone(),
            range_hashes: checkpoint
                .range
                .iter()
                .map(|h| keygate_core::audit::hex(h))
                .collect(),
            unkeyed_rows: i64::try_from(checkpoint.unkeyed_rows)
                .map_err(|_| Error::invalid("checkpoint unkeyed row count out of range"))?,
            open_intents: checkpoint
                .open_intents
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        })
    }

    /// The checkpoint these columns hold.
    ///
    /// # Errors
    /// [`Error::Unavailable`] naming the column that does not decode.
    pub(crate) fn decode(self) -> Result<StoredCheckpoint> {
        use keygate_core::audit::merkle;
        let bad = |what: &str| Error::unavailable(format!("audit store: kept checkpoint: {what}"));
        let range = self
            .range_hashes
            .as_bytes()
            .chunks(64)
            .map(|chunk| {
                std::str::from_utf8(chunk)
                    .ok()
                    .and_then(merkle::parse_hex)
                    .ok_or_else(|| bad("range_hashes is not hex hashes"))
            })
            .collect::<Result<Vec<merkle::Hash>>>()?;
        let open_intents = self
            .open_intents
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| bad("open_intents is not seqs"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(StoredCheckpoint {
            size: u64::try_from(self.size).map_err(|_| bad("negative size"))?,
            note: self.note,
            range,
            unkeyed_rows: u64::try_from(self.unkeyed_rows)
                .map_err(|_| bad("negative unkeyed_rows"))?,
            open_intents,
        })
    }
}

/// The audit log's rows (migration `0002_audit.sql`).
///
/// # Contract
/// - Rows are only ever appended, never changed or deleted.
/// - [`append_audit_rows`](Self::append_audit_rows) keeps all of a batch or none of it, and
///   returns `Ok` only once the rows are durable: the log acknowledges a row only then.
/// - Several writers may share one store (processes on the same home). A `seq` is written
///   at most once: a batch reaching a `seq` that exists fails with
///   [`AuditAppendError::SeqTaken`], never overwrites it or lands elsewhere.
/// - Reads return rows in `seq` order.
///
/// Every method fails with [`Error::Unavailable`] when the store cannot be reached.
#[async_trait]
pub trait AuditRows: Send + Sync + std::fmt::Debug {
    /// The last committed row ([`AuditHead::genesis`] when there is none).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store cannot be read or its last `seq` is negative.
    async fn audit_head(&self) -> Result<AuditHead>;

    /// How many rows the log holds.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store cannot be read.
    async fn audit_row_count(&self) -> Result<u64>;

    /// Appends `rows` (consecutive `seq`s, chained after the head the writer read) in one
    /// transaction. Times are in years 0000..=9999 and durations at most `i64::MAX`
    /// microseconds: the log refuses other events before they reach a batch, so a batch
    /// fails only for the store's own reasons.
    ///
    /// # Errors
    /// [`AuditAppendError::SeqTaken`] when a row's `seq` exists; [`AuditAppendError::Failed`] for
    /// anything else. Nothing of the batch is kept either way.
    async fn append_audit_rows(&self, rows: &[ChainedAuditRow]) -> Result<(), AuditAppendError>;

    /// Applies `write` and appends the row `row(&what_it_did)` in ONE transaction: the
    /// object changes exactly when its outcome row is committed.
    ///
    /// A write that fails for its own reason (an alias that exists, a token id that is
    /// unknown) changes nothing, and its failure row is committed alone. A write reporting
    /// [`ObjectWritten::TokenIdTaken`] commits nothing at all (no row either). Any failure of
    /// the transaction itself keeps nothing of it, the object write included.
    ///
    /// # Errors
    /// [`AuditAppendError::SeqTaken`] when the row's `seq` exists (another writer committed
    /// first; the writer re-chains and tries the whole transaction again);
    /// [`AuditAppendError::Failed`] for anything else.
    async fn append_with_write(
        &self,
        write: &ObjectWrite,
        row: OutcomeRow<'_>,
    ) -> Result<WriteAppended, AuditAppendError>;

    /// Up to `limit` rows matching `q`, oldest first: rows with a `seq` above `q.after` (above
    /// 0 without a cursor), filtered as
    /// [`AuditQuery::matches`] filters (the live feed uses that, so a row is found here
    /// exactly when the feed would deliver it). `q.limit` is the caller's business.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a time filter outside years 0000..=9999;
    /// [`Error::Unavailable`] when the store cannot be read or holds a row that does not
    /// decode (naming the row and column).
    async fn query_audit_rows(&self, q: &AuditQuery, limit: u32) -> Result<Vec<AuditEvent>>;

    /// Up to `limit` rows with a `seq` above `after` (every row when `None`, forged rows at
    /// or below 0 included), oldest first, each as stored: a row that does not decode is
    /// returned as such, for the verifier to report.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store cannot be read.
    async fn scan_audit_rows(&self, after: Option<i64>, limit: u32)
    -> Result<Vec<ScannedAuditRow>>;

    /// How many successful calls the log holds per provider, key and action since `since`,
    /// counted by the store (one row per group, never every event): the cost view's
    /// requests. Intent rows are left out (only outcome rows, and the single rows of reads,
    /// have outcome `success`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a time outside years 0000..=9999;
    /// [`Error::Unavailable`] when the store cannot be read.
    async fn count_successes_since(
        &self,
        since: time::OffsetDateTime,
    ) -> Result<Vec<keygate_core::cost::ActionCount>>;

    /// How many intent rows (outcome `unknown`) no row names in its `intent_seq`: calls
    /// whose outcome was never recorded, or is not yet.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store cannot be read.
    async fn count_unresolved_intents(&self) -> Result<u64>;

    /// Keeps `checkpoint` (the newest few are kept; a size already kept is left as it is).
    ///
    /// A store without checkpoints answers [`Error::Unsupported`]; its verifications always
    /// read the whole log.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the store keeps no checkpoints; [`Error::Unavailable`]
    /// when it cannot write.
    async fn save_audit_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()>;

    /// The kept checkpoint of the most rows, if any (`None` from a store that keeps none).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the store cannot be read or holds a checkpoint that does
    /// not decode.
    async fn latest_audit_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;
}
