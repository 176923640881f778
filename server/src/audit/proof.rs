//! Checkpoints and proofs of the audit log: computed from the rows as stored, and signed or
//! handed out only when every row up to the tree size verifies.

use std::sync::Arc;

use keygate_core::audit::checkpoint::{Checkpoint, NoteVerifier};
use keygate_core::audit::merkle::{self, Hash};
use keygate_core::audit::{
    AuditCheckpoint, AuditKeys, AuditQuery, AuditVerification, BrokenRow, CheckpointCheck,
    ConsistencyProof, InclusionProof, hex,
};
use keygate_core::{Error, Result};

use super::AuditLog;
use super::verify::Checker;

/// Signs the tree head (`size`, `root`) as a checkpoint.
pub(super) fn sign(keys: &AuditKeys, size: u64, root: Hash) -> Result<AuditCheckpoint> {
    let checkpoint = Checkpoint {
        origin: keys.signer.name().to_owned(),
        size,
        root,
    };
    Ok(AuditCheckpoint {
        note: keys.signer.sign_checkpoint(&checkpoint)?,
        origin: checkpoint.origin,
        size,
        root: hex(&root),
        public_key: keys.signer.verifier().to_string(),
    })
}

fn refuse_broken(broken: &BrokenRow) -> Error {
    Error::state(format!(
        "the audit log does not verify at seq {}: {}; keygate signs no checkpoint and gives no \
         proof over it (run `keygate audit verify`)",
        broken.seq, broken.reason
    ))
}

impl AuditLog {
    pub(super) fn keys(&self) -> Result<&Arc<AuditKeys>> {
        self.inner.keys.as_ref().ok_or_else(|| {
            Error::unsupported(
                "audit checkpoints need the gateway root key, and this gateway has none",
            )
        })
    }

    /// The key checkpoints are signed with, as a note verifier.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the log was opened without the root key.
    pub fn public_key(&self) -> Result<NoteVerifier> {
        Ok(self.keys()?.signer.verifier())
    }

    /// Checks the whole log, keeping its leaves when `keep_leaves`; refuses a broken log.
    async fn checked(&self, keep_leaves: bool) -> Result<Checker> {
        let mut checker = Checker::new(self.inner.keys.clone(), keep_leaves, None);
        if let Some(broken) = checker.catch_up(&self.inner.store).await? {
            return Err(refuse_broken(&broken));
        }
        Ok(checker)
    }

    /// A checkpoint of the whole log, signed now, after checking every row.
    ///
    /// # Errors
    /// [`Error::Unsupported`] without the root key; [`Error::InvalidState`] when the log does
    /// not verify (naming the first bad row); [`Error::Unavailable`] when the store cannot be
    /// read.
    pub async fn checkpoint(&self) -> Result<AuditCheckpoint> {
        let keys = self.keys()?;
        let checker = self.checked(false).await?;
        super::resume::remember(&*self.inner.store, keys, &checker).await;
        sign(keys, checker.rows(), checker.range().root())
    }

    /// The tree over the first `size` rows (all rows when `None`): its leaves, checked.
    async fn leaves(&self, size: Option<u64>) -> Result<(Vec<Hash>, u64)> {
        let checker = self.checked(true).await?;
        let rows = checker.rows();
        let size = size.unwrap_or(rows);
        if size > rows {
            return Err(Error::invalid(format!(
                "tree size {size} is beyond the log's {rows} rows"
            )));
        }
        let mut leaves = checker.leaves().unwrap_or_default().to_vec();
        leaves.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        Ok((leaves, size))
    }

    /// Proves that row `seq` is in the tree of `size` rows (the whole log when `None`), with a
    /// checkpoint of that tree signed now.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `seq` is not within `size` rows or `size` exceeds the
    /// log; otherwise as [`AuditLog::checkpoint`].
    pub async fn inclusion_proof(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof> {
        let keys = self.keys()?;
        let (leaves, size) = self.leaves(size).await?;
        if seq == 0 || seq > size {
            return Err(Error::invalid(format!(
                "row {seq} is not in a tree of {size} rows"
            )));
        }
        let index = seq - 1;
        let proof = merkle::inclusion_proof(&leaves, index)?;
        let row = self
            .query(&AuditQuery {
                after: Some(index),
                limit: Some(1),
                ..AuditQuery::default()
            })
            .await?
            .items
            .into_iter()
            .next()
            .filter(|r| r.seq == seq)
            .ok_or_else(|| Error::not_found(format!("audit row {seq}")))?;
        let leaf = row.leaf_hash();
        if usize::try_from(index).ok().and_then(|i| leaves.get(i)) != Some(&leaf) {
            return Err(Error::state(
                "the audit log changed while the proof was computed",
            ));
        }
        Ok(InclusionProof {
            leaf_index: index,
            leaf_hash: hex(&leaf),
            proof: proof.iter().map(|h| hex(h)).collect(),
            checkpoint: sign(keys, size, merkle::root(&leaves))?,
            row,
        })
    }

    /// Proves that the tree of `size` rows (the whole log when `None`) extends the tree of
    /// `old_size` rows, with a checkpoint of the newer tree signed now.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `old_size` exceeds `size` or `size` the log; otherwise
    /// as [`AuditLog::checkpoint`].
    pub async fn consistency_proof(
        &self,
        old_size: u64,
        size: Option<u64>,
    ) -> Result<ConsistencyProof> {
        let keys = self.keys()?;
        let (leaves, size) = self.leaves(size).await?;
        let proof = merkle::consistency_proof(&leaves, old_size)?;
        let old = usize::try_from(old_size).unwrap_or(usize::MAX);
        Ok(ConsistencyProof {
            old_size,
            old_root: hex(&merkle::root(&leaves[..old.min(leaves.len())])),
            proof: proof.iter().map(|h| hex(h)).collect(),
            checkpoint: sign(keys, size, merkle::root(&leaves))?,
        })
    }

    /// Checks the whole log, as [`AuditLog::verify`], and that it extends the older signed
    /// checkpoint `note`: the tree over its first `size` rows must have its root. Rows cut off
    /// the end show as a checkpoint larger than the log (the first missing row is reported);
    /// a rewritten log as a root that differs.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `note` is not a checkpoint signed by this log's key;
    /// [`Error::Unsupported`] without the root key; [`Error::Unavailable`] when the store
    /// cannot be read.
    pub async fn verify_against(&self, note: &str) -> Result<AuditVerification> {
        let keys = self.keys()?;
        let old = keys.signer.verifier().open_checkpoint(note)?;
        let mut checker = Checker::new(Some(Arc::clone(keys)), false, Some(old.size));
        let broken = checker.catch_up(&self.inner.store).await?;
        let mut report = checker.report(broken);
        let (consistent, mismatch) = match checker.root_at() {
            Some(root) if root == old.root => (true, None),
            Some(_) => (
                false,
                Some(BrokenRow {
                    seq: old.size,
                    reason: format!(
                        "the log does not extend the checkpoint of {} rows: rows up to {} were \
                         changed, removed or rewritten since it was signed",
                        old.size, old.size
                    ),
                }),
            ),
            // The tree never reached the checkpoint's size: rows are missing.
            None if report.first_broken.is_none() => (
                false,
                Some(BrokenRow {
                    seq: report.rows + 1,
                    reason: format!(
                        "rows cut off the end: the checkpoint covers {} rows, the log holds {}",
                        old.size, report.rows
                    ),
                }),
            ),
            None => (false, None),
        };
        if report.first_broken.is_none() {
            report.first_broken = mismatch;
        }
        report.checkpoint = Some(CheckpointCheck {
            origin: old.origin,
            size: old.size,
            root: hex(&old.root),
            consistent,
        });
        Ok(report)
    }
}
