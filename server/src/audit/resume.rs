//! Verification from a kept checkpoint: every check of the log that found it intact (a full
//! `verify`, a checkpoint, the publisher's ticks) keeps a signed checkpoint in the store with
//! the tree's right edge; a later `verify_from_checkpoint` takes the log up after the newest
//! one that proves itself, reading only the rows since.
//!
//! What is trusted, and why: the note is signed with this log's key (someone who can write the
//! database cannot sign); the kept subtree roots must give the signed root (another set would
//! need a hash collision); and the last row the checkpoint covers must still carry its keyed
//! hash, which binds its `seq`, contents and `prev_hash` (so its `hash`, which the next row
//! must name, is the one the gateway wrote). When any of this fails, the whole log is checked
//! against the checkpoint's signed tree instead, which names what changed.

use std::collections::BTreeSet;
use std::sync::Arc;

use keygate_core::ErrorKind;
use keygate_core::Result;
use keygate_core::audit::merkle::CompactRange;
use keygate_core::audit::{AuditKeys, AuditVerification};

use super::AuditLog;
use super::proof::sign;
use super::verify::{Checker, Hashed, Resume};
use crate::store::{AuditRows, StoredCheckpoint};

/// Keeps a signed checkpoint of the rows `checker` accepted, for later verifications to start
/// from. A failure to keep it costs only speed later, so it is logged, not returned.
pub(super) async fn remember(store: &dyn AuditRows, keys: &AuditKeys, checker: &Checker) {
    if checker.rows() == 0 {
        return;
    }
    let kept = match sign(keys, checker.rows(), checker.range().root()) {
        Ok(signed) => {
            store
                .save_audit_checkpoint(&StoredCheckpoint {
                    size: checker.rows(),
                    note: signed.note,
                    range: checker.range().hashes(),
                    unkeyed_rows: checker.unkeyed(),
                    open_intents: checker.open_intents().iter().copied().collect(),
                })
                .await
        }
        Err(e) => Err(e),
    };
    match kept {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::Unsupported => {}
        Err(e) => tracing::warn!(error = %e, "cannot keep the audit checkpoint for later checks"),
    }
}

/// Where the newest kept checkpoint leaves verification.
enum Start {
    /// No usable checkpoint: check the whole log.
    Beginning,
    /// Take the log up after the checkpoint's rows.
    After(u64, Resume),
    /// The checkpoint is this log's, but its last row no longer proves itself: check the
    /// whole log against the signed note.
    Against(String),
}

impl AuditLog {
    /// The newest kept checkpoint, checked as the module documentation says.
    async fn start(&self, keys: &AuditKeys) -> Result<Start> {
        let store = &self.inner.store;
        let Some(kept) = store.latest_audit_checkpoint().await? else {
            return Ok(Start::Beginning);
        };
        let signed = match keys.signer.verifier().open_checkpoint(&kept.note) {
            Ok(cp) if cp.size == kept.size && cp.size > 0 => cp,
            _ => {
                tracing::warn!(
                    size = kept.size,
                    "the kept audit checkpoint is not signed by this log's key; checking every row"
                );
                return Ok(Start::Beginning);
            }
        };
        let range = match CompactRange::from_hashes(signed.size, &kept.range) {
            Ok(range) if range.root() == signed.root => range,
            _ => {
                tracing::warn!(
                    size = kept.size,
                    "the kept audit checkpoint's tree does not give its signed root; checking \
                     every row"
                );
                return Ok(Start::Beginning);
            }
        };
        let size = signed.size;
        let cursor = i64::try_from(size - 1).unwrap_or(i64::MAX);
        let last = store
            .scan_audit_rows(Some(cursor), 1)
            .await?
            .into_iter()
            .next();
        let last = last.filter(|row| {
            u64::try_from(row.seq).ok() == Some(size)
                && row.canonical_time
                && Hashed::of(row, Some(keys)).is_some_and(Hashed::keyed)
        });
        let Some(head) = last.and_then(|row| row.event.ok()).map(|event| event.hash) else {
            return Ok(Start::Against(kept.note));
        };
        Ok(Start::After(
            size,
            Resume {
                range,
                head,
                keyed: true,
                unkeyed: kept.unkeyed_rows.min(size),
                open_intents: kept.open_intents.into_iter().collect::<BTreeSet<_>>(),
            },
        ))
    }

    /// Checks the rows after the newest kept checkpoint that proves itself, as
    /// [`AuditLog::verify`] checks every row: reading only the rows since it. `from_checkpoint`
    /// in the report names its size. Without such a checkpoint (none kept yet, a gateway
    /// without the root key) the whole log is checked; when the checkpoint's last row no
    /// longer proves itself, the whole log is checked against the checkpoint
    /// ([`AuditLog::verify_against`]), which names the first changed row.
    ///
    /// Rows the checkpoint covers were checked when it was kept and are not read again: an
    /// edit among them made since then is found by a full [`AuditLog::verify`] (or any proof
    /// over them), not here. An intact check keeps a new checkpoint, so the next one starts
    /// there.
    ///
    /// # Errors
    /// [`keygate_core::Error::Unavailable`] when the store cannot be read.
    pub async fn verify_from_checkpoint(&self) -> Result<AuditVerification> {
        let Some(keys) = self.inner.keys.clone() else {
            return self.verify().await;
        };
        let (size, from) = match self.start(&keys).await? {
            Start::Beginning => return self.verify().await,
            Start::Against(note) => return self.verify_against(&note).await,
            Start::After(size, from) => (size, from),
        };
        let mut checker = Checker::resume(Some(Arc::clone(&keys)), from);
        let broken = checker.catch_up(&self.inner.store).await?;
        let mut report = checker.report(broken);
        report.from_checkpoint = Some(size);
        if report.first_broken.is_some() {
            // Past a broken row the pass read no further; count every intent in the store.
            report.unresolved_intents = self.inner.store.count_unresolved_intents().await?;
        } else if checker.rows() > size {
            remember(&*self.inner.store, &keys, &checker).await;
        }
        Ok(report)
    }
}
