//! Checking the log: the keyed hash chain and the Merkle tree over the whole store, one row at
//! a time, so memory does not grow with the log (unless the leaves are wanted for a proof).

use std::sync::Arc;

use keygate_core::Result;
use keygate_core::audit::merkle::{CompactRange, Hash};
use keygate_core::audit::{AuditKeys, AuditVerification, BrokenRow, ChainForm, GENESIS_HASH, hex};

use crate::store::{AuditRows, ScannedAuditRow};

/// Rows read per page: memory stays bounded however long the log is.
const PAGE: u32 = 1000;

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
    range: CompactRange,
    /// Every leaf hash, when a proof needs them.
    leaves: Option<Vec<Hash>>,
    /// The root at a size asked for (a checkpoint's), once the tree reached it.
    root_at: Option<(u64, Option<Hash>)>,
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
            range: CompactRange::new(),
            leaves: keep_leaves.then(Vec::new),
            root_at: root_at.map(|size| (size, None)),
        };
        checker.note_root();
        checker
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

    /// The leaf hashes of the accepted rows, when kept.
    pub(super) fn leaves(&self) -> Option<&[Hash]> {
        self.leaves.as_deref()
    }

    /// The root at the size passed to [`Checker::new`], once the tree reached it.
    pub(super) fn root_at(&self) -> Option<Hash> {
        self.root_at.and_then(|(_, root)| root)
    }

    /// Accepts `row` as the next row, or says why it is not.
    pub(super) fn push(&mut self, row: &ScannedAuditRow) -> Result<(), BrokenRow> {
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
        let event = match &row.event {
            Ok(event) => event,
            Err(reason) => return Err(broken(format!("edited: {reason}"))),
        };
        if event.prev_hash != self.prev_hash {
            return Err(broken(
                "prev_hash is not the previous row's hash (rows reordered, replaced or deleted)"
                    .to_owned(),
            ));
        }
        match event.chain_form(self.keys.as_deref().map(|k| &k.chain)) {
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
        let leaf = event.leaf_hash();
        self.range.push(leaf);
        if let Some(leaves) = &mut self.leaves {
            leaves.push(leaf);
        }
        self.rows = expected_seq;
        self.prev_hash.clone_from(&event.hash);
        self.note_root();
        Ok(())
    }

    /// Reads and checks every row after those already accepted, up to the end of the store
    /// or the first broken row (returned).
    ///
    /// # Errors
    /// [`keygate_core::Error::Unavailable`] when the store cannot be read.
    pub(super) async fn catch_up(&mut self, store: &dyn AuditRows) -> Result<Option<BrokenRow>> {
        // Without a cursor the store starts below any seq: a forged row with seq <= 0 is seen.
        let mut after = match self.rows {
            0 => None,
            n => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        };
        loop {
            let rows = store.scan_audit_rows(after, PAGE).await?;
            let Some(last) = rows.last() else {
                return Ok(None);
            };
            after = Some(last.seq);
            for row in &rows {
                if let Err(broken) = self.push(row) {
                    return Ok(Some(broken));
                }
            }
        }
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
            // Counted by the caller (`AuditLog::verify`).
            unresolved_intents: 0,
        }
    }
}

/// Checks every row in `seq` order; see [`super::AuditLog::verify`].
///
/// # Errors
/// [`keygate_core::Error::Unavailable`] when the store cannot be read.
pub(super) async fn verify(
    store: &dyn AuditRows,
    keys: Option<Arc<AuditKeys>>,
) -> Result<AuditVerification> {
    let mut checker = Checker::new(keys, false, None);
    let broken = checker.catch_up(store).await?;
    Ok(checker.report(broken))
}
