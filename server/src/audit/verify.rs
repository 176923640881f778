//! Checking the log: the keyed hash chain and the Merkle tree over the whole store (or over the
//! rows after a trusted checkpoint, see `resume.rs`).
//!
//! A row's own checks (decoding it, its keyed hash given the `prev_hash` it carries, its leaf
//! hash) need no other row, and they are most of the work: pages of rows are read, decoded and
//! hashed on several threads at once, several pages ahead. The chain itself (each `seq` follows
//! the last, each `prev_hash` is the previous row's hash, keyed rows are never followed by
//! unkeyed ones) and the tree are then followed in `seq` order: a compare and an append per row.
//! Memory stays bounded by the pages in flight, however long the log (unless the leaves are
//! wanted for a proof).

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::StreamExt as _;
use keygate_core::audit::merkle::{CompactRange, Hash};
use keygate_core::audit::{
    AuditKeys, AuditOutcome, AuditVerification, BrokenRow, ChainForm, GENESIS_HASH, hex,
};
use keygate_core::{Error, Result};

use crate::store::{AuditRows, ScannedAuditRow};

/// Rows read per page: memory stays bounded however long the log is. The tests' logs are
/// short: tiny pages make every one of them cross page boundaries with pages in flight.
const PAGE: u32 = if cfg!(test) { 3 } else { 4096 };

/// Pages read and hashed at once, besides the one being linked: one per core keeps every core
/// busy while the next page is read.
fn pages_in_flight() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()) + 1
}

/// What a row's own checks found: the form of its hash, and its leaf hash.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hashed {
    form: Option<ChainForm>,
    leaf: Hash,
}

impl Hashed {
    /// Checks `row` on its own (`None` when it does not decode: the chain reports it).
    pub(super) fn of(row: &ScannedAuditRow, keys: Option<&AuditKeys>) -> Option<Self> {
        let event = row.event.as_ref().ok()?;
        let (form, leaf) = event.check(keys.map(|k| &k.chain));
        Some(Self { form, leaf })
    }

    /// Whether the row carries the keyed hash.
    pub(super) fn keyed(self) -> bool {
        self.form == Some(ChainForm::Keyed)
    }
}

/// One page, read and hashed.
struct Page {
    rows: Vec<ScannedAuditRow>,
    hashed: Vec<Option<Hashed>>,
}

/// Reads the page after `cursor` and hashes its rows, on a blocking thread of its own (so
/// that several pages are decoded and hashed in parallel).
async fn read_page(
    store: Arc<dyn AuditRows>,
    keys: Option<Arc<AuditKeys>>,
    cursor: Option<i64>,
) -> Result<Page> {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let rows = runtime.block_on(store.scan_audit_rows(cursor, PAGE))?;
        let hashed = rows
            .iter()
            .map(|row| Hashed::of(row, keys.as_deref()))
            .collect();
        Ok(Page { rows, hashed })
    })
    .await
    .map_err(|e| Error::unavailable(format!("audit verifier stopped: {e}")))?
}

/// Follows the log row by row: checks each row's place, chain link and hash, and extends the
/// tree with its leaf.
#[derive(Debug, Clone)]
pub(super) struct Checker {
    keys: Option<Arc<AuditKeys>>,
    /// Rows accepted so far (the next row must be `rows + 1`).
    rows: u64,
    prev_hash: String,
    /// The first keyed row, once one was seen: every later row must be keyed too.
    first_keyed: Option<u64>,
    unkeyed: u64,
    /// Intent rows no accepted row has named as its intent yet.
    open_intents: BTreeSet<u64>,
    range: CompactRange,
    /// Every leaf hash, when a proof needs them.
    leaves: Option<Vec<Hash>>,
    /// The root at a size asked for (a checkpoint's), once the tree reached it.
    root_at: Option<(u64, Option<Hash>)>,
}

/// Where a [`Checker`] takes the log up: after a row already trusted.
#[derive(Debug, Clone)]
pub(super) struct Resume {
    /// The trusted rows' tree.
    pub range: CompactRange,
    /// The hash of the last trusted row.
    pub head: String,
    /// Whether that row is keyed (every later row must then be).
    pub keyed: bool,
    /// How many trusted rows are unkeyed.
    pub unkeyed: u64,
    /// The trusted rows' intents without an outcome so far.
    pub open_intents: BTreeSet<u64>,
}

impl Checker {
    /// A checker at the start of the log; `keep_leaves` keeps every leaf hash for proofs,
    /// `root_at` records the root when the tree reaches that size.
    pub(super) fn new(
        keys: Option<Arc<AuditKeys>>,
        keep_leaves: bool,
        root_at: Option<u64>,
    ) -> Self {
        let mut checker = Self {
            keys,
            rows: 0,
            prev_hash: GENESIS_HASH.to_owned(),
            first_keyed: None,
            unkeyed: 0,
            open_intents: BTreeSet::new(),
            range: CompactRange::new(),
            leaves: keep_leaves.then(Vec::new),
            root_at: root_at.map(|size| (size, None)),
        };
        checker.note_root();
        checker
    }

    /// A checker that takes the log up after the trusted rows `from` describes.
    pub(super) fn resume(keys: Option<Arc<AuditKeys>>, from: Resume) -> Self {
        let rows = from.range.size();
        Self {
            keys,
            rows,
            prev_hash: from.head,
            // The exact first keyed row lies among the trusted ones; the last one stands for it.
            first_keyed: from.keyed.then_some(rows),
            unkeyed: from.unkeyed,
            open_intents: from.open_intents,
            range: from.range,
            leaves: None,
            root_at: None,
        }
    }

    fn note_root(&mut self) {
        if let Some((size, root @ None)) = &mut self.root_at
            && *size == self.range.size()
        {
            *root = Some(self.range.root());
        }
    }

    /// Rows accepted so far.
    pub(super) fn rows(&self) -> u64 {
        self.rows
    }

    /// The tree over the accepted rows.
    pub(super) fn range(&self) -> &CompactRange {
        &self.range
    }

    /// Unkeyed rows among the accepted ones.
    pub(super) fn unkeyed(&self) -> u64 {
        self.unkeyed
    }

    /// Accepted intent rows that no accepted row names as its intent.
    pub(super) fn open_intents(&self) -> &BTreeSet<u64> {
        &self.open_intents
    }

    /// The leaf hashes of the accepted rows, when kept.
    pub(super) fn leaves(&self) -> Option<&[Hash]> {
        self.leaves.as_deref()
    }

    /// The root at the size passed to [`Checker::new`], once the tree reached it.
    pub(super) fn root_at(&self) -> Option<Hash> {
        self.root_at.and_then(|(_, root)| root)
    }

    /// Accepts `row`, whose own checks found `hashed`, as the next row, or says why it is not.
    fn link(&mut self, row: &ScannedAuditRow, hashed: Option<Hashed>) -> Result<(), BrokenRow> {
        let expected_seq = self.rows + 1;
        let seq = row.seq;
        let broken = |reason: String| BrokenRow {
            // A seq below 1 can only be forged; report it as 0.
            seq: u64::try_from(seq).unwrap_or(0),
            reason,
        };
        if u64::try_from(seq).ok() != Some(expected_seq) {
            let reason = if seq < 1 {
                format!("seq {seq} is not a valid position (chain starts at 1)")
            } else {
                format!(
                    "rows missing before it: expected seq {expected_seq}, found {seq} (rows deleted)"
                )
            };
            return Err(broken(reason));
        }
        let (event, hashed) = match (&row.event, hashed) {
            (Ok(event), Some(hashed)) => (event, hashed),
            (Err(reason), _) => return Err(broken(format!("edited: {reason}"))),
            (Ok(_), None) => return Err(broken("edited: the row was not hashed".to_owned())),
        };
        if event.prev_hash != self.prev_hash {
            return Err(broken(
                "prev_hash is not the previous row's hash (rows reordered, replaced or deleted)"
                    .to_owned(),
            ));
        }
        match hashed.form {
            None => {
                return Err(broken(
                    "edited: hash does not match the row's contents (or another key's)".to_owned(),
                ));
            }
            Some(ChainForm::Unkeyed) if self.first_keyed.is_some() => {
                return Err(broken(format!(
                    "re-hashed without the chain key: an unkeyed row after keyed row {}",
                    self.first_keyed.unwrap_or_default()
                )));
            }
            Some(ChainForm::Unkeyed) => self.unkeyed += 1,
            Some(ChainForm::Keyed) => {
                self.first_keyed.get_or_insert(expected_seq);
            }
        }
        // The hash covers the instant, not its spelling; a respelled time is still an edit.
        if !row.canonical_time {
            return Err(broken(
                "edited: time is not in the form keygate writes".to_owned(),
            ));
        }
        if event.outcome == AuditOutcome::Unknown {
            self.open_intents.insert(expected_seq);
        }
        if let Some(intent) = event.intent_seq {
            self.open_intents.remove(&intent);
        }
        self.range.push(hashed.leaf);
        if let Some(leaves) = &mut self.leaves {
            leaves.push(hashed.leaf);
        }
        self.rows = expected_seq;
        self.prev_hash.clone_from(&event.hash);
        self.note_root();
        Ok(())
    }

    /// Reads and checks every row after those already accepted, up to the end of the store
    /// or the first broken row (returned). Rows committed while this runs may or may not be
    /// included; the report says how many rows were checked.
    ///
    /// # Errors
    /// [`keygate_core::Error::Unavailable`] when the store cannot be read.
    pub(super) async fn catch_up(
        &mut self,
        store: &Arc<dyn AuditRows>,
    ) -> Result<Option<BrokenRow>> {
        let start = self.rows;
        let store = Arc::clone(store);
        let keys = self.keys.clone();
        // Page i holds the rows after `start + i * PAGE`. Up to the first broken row `seq`s
        // have no gaps, so the pages follow one another exactly; at a gap the page holding it
        // starts with the row after the gap, which is reported before any later page is used.
        let pages = futures::stream::iter(0u64..)
            .map(move |i| {
                let cursor = match start.saturating_add(i.saturating_mul(u64::from(PAGE))) {
                    // Without a cursor the store starts below any seq: a forged row with
                    // seq <= 0 is seen.
                    0 => None,
                    n => Some(i64::try_from(n).unwrap_or(i64::MAX)),
                };
                read_page(Arc::clone(&store), keys.clone(), cursor)
            })
            .buffered(pages_in_flight());
        futures::pin_mut!(pages);
        while let Some(page) = pages.next().await {
            let page = page?;
            for (row, hashed) in page.rows.iter().zip(page.hashed) {
                if let Err(broken) = self.link(row, hashed) {
                    return Ok(Some(broken));
                }
            }
            // A short page is the end of the log as it was read; a later page may hold rows
            // committed since, after a gap this run did not read.
            if page.rows.len() < PAGE as usize {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// The verification report of the rows accepted so far.
    pub(super) fn report(&self, first_broken: Option<BrokenRow>) -> AuditVerification {
        AuditVerification {
            rows: self.rows,
            head: (self.rows > 0).then(|| self.prev_hash.clone()),
            first_broken,
            root: Some(hex(&self.range.root())),
            unkeyed_rows: self.unkeyed,
            checkpoint: None,
            unresolved_intents: self.open_intents.len() as u64,
            from_checkpoint: None,
        }
    }
}

/// Checks every row in `seq` order; see [`super::AuditLog::verify`].
///
/// # Errors
/// [`keygate_core::Error::Unavailable`] when the store cannot be read.
pub(super) async fn verify(
    store: &Arc<dyn AuditRows>,
    keys: Option<Arc<AuditKeys>>,
) -> Result<(Checker, AuditVerification)> {
    let mut checker = Checker::new(keys, false, None);
    let broken = checker.catch_up(store).await?;
    let report = checker.report(broken);
    Ok((checker, report))
}
