//! The writer task: group commit of audit rows.
//!
//! One task owns the chain head, so rows get their `seq` and `prev_hash` in exactly the order
//! they are committed and no lock is needed. It takes one event, drains what else is queued
//! (up to `batch_max`), chains the batch in memory, writes it in one transaction and answers
//! every waiter only after the commit returned.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use keygate_core::audit::{AuditEvent, AuditKeys, ChainKey, NewAuditEvent, canonical_time};
use keygate_core::{Error, Result};
use time::UtcOffset;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Counters;
use crate::store::{AuditAppendError, AuditHead, AuditRows, ChainedAuditRow};

/// An event waiting for the writer, already checked so that it cannot fail a batch.
pub(super) struct Pending {
    event: NewAuditEvent,
    /// [`canonical_time`] of `event.time`, as the store keeps it.
    time_text: String,
    reply: oneshot::Sender<Result<AuditEvent>>,
}

impl Pending {
    /// Checks `event` and pairs it with the channel its outcome comes back on.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a value the store cannot hold.
    pub(super) fn new(
        mut event: NewAuditEvent,
    ) -> Result<(Self, oneshot::Receiver<Result<AuditEvent>>)> {
        // Stored and returned in UTC, so the row read back equals the row acknowledged.
        event.time = event.time.to_offset(UtcOffset::UTC);
        let time_text = canonical_time(event.time)?;
        // The store keeps durations as signed 64-bit integers (SQLite's, PostgreSQL's BIGINT).
        if i64::try_from(event.duration_us).is_err() {
            return Err(Error::invalid("audit duration_us is out of range"));
        }
        let (reply, rx) = oneshot::channel();
        Ok((
            Self {
                event,
                time_text,
                reply,
            },
            rx,
        ))
    }
}

/// Everything the writer task owns.
pub(super) struct Writer {
    pub(super) store: Arc<dyn AuditRows>,
    pub(super) pending: mpsc::Receiver<Pending>,
    pub(super) live: broadcast::Sender<AuditEvent>,
    pub(super) batch_max: usize,
    pub(super) counters: Arc<Counters>,
    /// The chain key rows are hashed under (unkeyed without a root key).
    pub(super) keys: Option<Arc<AuditKeys>>,
    /// `None` after a failed batch: the store decides where the chain continues, since a
    /// commit that reported failure may still have landed.
    pub(super) head: Option<AuditHead>,
}

/// Runs until every sender is gone (every `AuditLog` clone dropped).
pub(super) async fn run(mut w: Writer) {
    let mut batch = Vec::with_capacity(w.batch_max.min(1024));
    while let Some(first) = w.pending.recv().await {
        batch.push(first);
        while batch.len() < w.batch_max {
            match w.pending.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let head = match w.head.take() {
            Some(head) => Ok(head),
            None => w.store.audit_head().await,
        };
        let key = w.keys.as_deref().map(|k| &k.chain);
        let (mut rows, replies) = chain(head.as_ref().ok(), &mut batch, key);
        let mut written = match head {
            Ok(_) => w.store.append_audit_rows(&rows).await,
            Err(e) => Err(AuditAppendError::Failed(e)),
        };
        // Another writer on the same database (a second process: the CLI in a pipe, or
        // beside `keygate serve`) took the next seq. Nothing of ours was kept (the store
        // promises it for SeqTaken), so re-read the head and chain the batch after it.
        let mut attempts = 1;
        while let Err(AuditAppendError::SeqTaken(_)) = &written {
            if attempts >= SEQ_TAKEN_ATTEMPTS {
                break;
            }
            attempts += 1;
            // The other writer commits in bursts too: let it finish instead of racing it
            // again at once (a few milliseconds, more with every collision).
            tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempts) * 2)).await;
            written = match w.store.audit_head().await {
                Ok(head) => {
                    rechain(&head, &mut rows, key);
                    w.store.append_audit_rows(&rows).await
                }
                Err(e) => Err(AuditAppendError::Failed(e)),
            };
        }
        let written = written.map_err(AuditAppendError::into_error);
        match written {
            Ok(()) => {
                if let Some(last) = rows.last() {
                    w.head = Some(AuditHead {
                        seq: last.event.seq,
                        hash: last.event.hash.clone(),
                    });
                }
                w.counters.batches.fetch_add(1, Ordering::Relaxed);
                w.counters.failing.store(false, Ordering::Release);
                w.counters
                    .rows
                    .fetch_add(rows.len() as u64, Ordering::Relaxed);
                for (ChainedAuditRow { event, .. }, reply) in rows.into_iter().zip(replies) {
                    // A waiter that gave up (request cancelled) still has its row: the
                    // operation may have happened.
                    let _ = reply.send(Ok(event.clone()));
                    // No live subscriber is not an error.
                    let _ = w.live.send(event);
                }
            }
            Err(e) => {
                w.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                w.counters.failing.store(true, Ordering::Release);
                tracing::error!(error = %e, rows = replies.len(),
                    "audit batch not written; refusing its requests");
                for reply in replies {
                    let _ = reply.send(Err(Error::unavailable(
                        "audit store cannot write".to_owned(),
                    )));
                }
            }
        }
    }
}

type Reply = oneshot::Sender<Result<AuditEvent>>;

/// Takes the batch apart: the chained rows (with their canonical time) when the head is
/// known, and the waiters in the same order.
fn chain(
    head: Option<&AuditHead>,
    batch: &mut Vec<Pending>,
    key: Option<&ChainKey>,
) -> (Vec<ChainedAuditRow>, Vec<Reply>) {
    let mut rows = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    let mut prev = head.map(|h| (h.seq, h.hash.clone()));
    for p in batch.drain(..) {
        replies.push(p.reply);
        if let Some((seq, hash)) = prev.take() {
            let event = p.event.into_chained(seq + 1, hash, key);
            prev = Some((event.seq, event.hash.clone()));
            rows.push(ChainedAuditRow {
                event,
                time_text: p.time_text,
            });
        }
    }
    (rows, replies)
}

/// How often a batch is re-chained after another writer took its `seq` before it is
/// refused.
const SEQ_TAKEN_ATTEMPTS: u32 = 50;

/// Chains `rows` again after `head` (same events, same order, new `seq` and hashes).
fn rechain(head: &AuditHead, rows: &mut [ChainedAuditRow], key: Option<&ChainKey>) {
    let mut prev = (head.seq, head.hash.clone());
    for row in rows.iter_mut() {
        row.event = row.event.event().into_chained(prev.0 + 1, prev.1, key);
        prev = (row.event.seq, row.event.hash.clone());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::super::tests::event;
    use super::super::{AuditConfig, AuditLog};
    use crate::store::GatewayStore;

    /// Two processes on one home (the CLI in a pipe, the CLI beside `keygate serve`): each
    /// writer's head goes stale whenever the other writes, and neither may refuse for it.
    #[tokio::test]
    async fn two_writers_on_one_database_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.db");
        let a = GatewayStore::open(&path).await.unwrap();
        let b = GatewayStore::open(&path).await.unwrap();
        let la = AuditLog::open(Arc::new(a), &AuditConfig::default())
            .await
            .unwrap();
        let lb = AuditLog::open(Arc::new(b), &AuditConfig::default())
            .await
            .unwrap();
        for i in 0..6usize {
            let log = if i % 2 == 0 { &la } else { &lb };
            let row = log.append(event(i)).await.unwrap();
            assert_eq!(row.seq, i as u64 + 1);
        }
        let v = lb.verify().await.unwrap();
        assert_eq!(v.rows, 6);
        assert!(v.first_broken.is_none(), "{v:?}");
    }
}
