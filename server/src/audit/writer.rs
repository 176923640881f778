//! The writer task: group commit of audit rows.
//!
//! One task owns the chain head, so rows get their `seq` and `prev_hash` in exactly the order
//! they are committed and no lock is needed. It takes one event, drains what else is queued
//! (up to `batch_max`), chains the batch in memory, writes it in one transaction and answers
//! every waiter only after the commit returned.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use keygate_core::audit::{
    AuditEvent, AuditKeys, AuditOutcome, ChainKey, NewAuditEvent, canonical_time,
};
use keygate_core::{Error, Result};
use time::UtcOffset;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Counters;
use crate::store::{
    AuditAppendError, AuditHead, AuditRows, ChainedAuditRow, ObjectWrite, ObjectWritten,
    WriteAppended,
};

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
        event: NewAuditEvent,
    ) -> Result<(Self, oneshot::Receiver<Result<AuditEvent>>)> {
        let (event, time_text) = checked(event)?;
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

/// `event` in UTC with its canonical time text, once it is known the store can hold it.
///
/// # Errors
/// [`Error::InvalidArgument`] for a value the store cannot hold.
fn checked(mut event: NewAuditEvent) -> Result<(NewAuditEvent, String)> {
    // Stored and returned in UTC, so the row read back equals the row acknowledged.
    event.time = event.time.to_offset(UtcOffset::UTC);
    let time_text = canonical_time(event.time)?;
    // The store keeps durations as signed 64-bit integers (SQLite's, PostgreSQL's BIGINT).
    if i64::try_from(event.duration_us).is_err() {
        return Err(Error::invalid("audit duration_us is out of range"));
    }
    Ok((event, time_text))
}

/// What a caller of [`PendingWrite`] gets back: the write's own result once its outcome
/// row is committed with it, or [`Error::Unavailable`] when neither was kept.
pub(super) type WriteReply = Result<Result<ObjectWritten>>;

/// A gateway object write waiting for the writer, with the outcome row to commit with it.
pub(super) struct PendingWrite {
    /// The outcome row, as if the write succeeds; a failed write's row says `failure` and
    /// the error's kind.
    event: NewAuditEvent,
    time_text: String,
    write: ObjectWrite,
    reply: oneshot::Sender<WriteReply>,
}

impl PendingWrite {
    /// Checks `event` (as [`Pending::new`]) and pairs it with `write` and the reply channel.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a value the store cannot hold.
    pub(super) fn new(
        event: NewAuditEvent,
        write: ObjectWrite,
    ) -> Result<(Self, oneshot::Receiver<WriteReply>)> {
        let (event, time_text) = checked(event)?;
        let (reply, rx) = oneshot::channel();
        Ok((
            Self {
                event,
                time_text,
                write,
                reply,
            },
            rx,
        ))
    }

    /// The outcome row for what the write did, placed after `head`.
    fn row(
        &self,
        head: &AuditHead,
        result: &Result<ObjectWritten>,
        key: Option<&ChainKey>,
    ) -> ChainedAuditRow {
        let mut event = self.event.clone();
        match result {
            Ok(_) => {
                event.outcome = AuditOutcome::Success;
                event.error_kind = None;
            }
            Err(e) => {
                event.outcome = AuditOutcome::Failure;
                event.error_kind = Some(e.kind().as_str().to_owned());
            }
        }
        ChainedAuditRow {
            event: event.into_chained(head.seq + 1, head.hash.clone(), key),
            time_text: self.time_text.clone(),
        }
    }
}

/// One job of the writer.
pub(super) enum Job {
    /// A row to append in the next batch.
    Row(Pending),
    /// An object write to commit with its outcome row.
    Write(PendingWrite),
}

/// Everything the writer task owns.
pub(super) struct Writer {
    pub(super) store: Arc<dyn AuditRows>,
    pub(super) pending: mpsc::Receiver<Job>,
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
    let mut next: Option<Job> = None;
    loop {
        let first = match next.take() {
            Some(job) => job,
            None => match w.pending.recv().await {
                Some(job) => job,
                None => break,
            },
        };
        let first = match first {
            Job::Row(p) => p,
            Job::Write(write) => {
                commit_write(&mut w, write).await;
                continue;
            }
        };
        batch.push(first);
        while batch.len() < w.batch_max {
            match w.pending.try_recv() {
                Ok(Job::Row(p)) => batch.push(p),
                // Rows queued before the write are committed before it, in queue order.
                Ok(write @ Job::Write(_)) => {
                    next = Some(write);
                    break;
                }
                Err(_) => break,
            }
        }
        write_batch(&mut w, &mut batch).await;
    }
}

/// Chains and commits one batch of rows, then answers their waiters.
async fn write_batch(w: &mut Writer, batch: &mut Vec<Pending>) {
    let head = match w.head.take() {
        Some(head) => Ok(head),
        None => w.store.audit_head().await,
    };
    let key = w.keys.as_deref().map(|k| &k.chain);
    let (mut rows, replies) = chain(head.as_ref().ok(), batch, key);
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
            w.counters.committed(rows.len());
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

/// Commits one object write with its outcome row, chained after the head (re-read and
/// tried again when another writer took the `seq`, as for a batch), then answers its waiter.
async fn commit_write(w: &mut Writer, write: PendingWrite) {
    let key = w.keys.as_deref().map(|k| &k.chain);
    let mut head = match w.head.take() {
        Some(head) => Ok(head),
        None => w.store.audit_head().await,
    };
    let mut attempts = 0;
    let committed = loop {
        attempts += 1;
        let at = match head {
            Ok(at) => at,
            Err(e) => break Err(e),
        };
        let row = |result: &Result<ObjectWritten>| write.row(&at, result, key);
        match w.store.append_with_write(&write.write, &row).await {
            Ok(appended) => break Ok((appended, at)),
            Err(AuditAppendError::SeqTaken(_)) if attempts < SEQ_TAKEN_ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempts) * 2)).await;
                head = w.store.audit_head().await;
            }
            Err(e) => break Err(e.into_error()),
        }
    };
    match committed {
        Ok((WriteAppended { result, row }, at)) => {
            match row {
                Some(ChainedAuditRow { event, .. }) => {
                    w.head = Some(AuditHead {
                        seq: event.seq,
                        hash: event.hash.clone(),
                    });
                    w.counters.committed(1);
                    let _ = write.reply.send(Ok(result));
                    let _ = w.live.send(event);
                }
                // Nothing was committed: the head is where it was.
                None => {
                    w.head = Some(at);
                    let _ = write.reply.send(Ok(result));
                }
            }
        }
        Err(e) => {
            w.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
            w.counters.failing.store(true, Ordering::Release);
            tracing::error!(error = %e, "object write and its audit row not committed; refusing it");
            let _ = write.reply.send(Err(Error::unavailable(
                "audit store cannot write".to_owned(),
            )));
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

    /// Object writes from two processes on one home, between plain rows: each commits its
    /// row at the `seq` the chain reached (re-chained when the other process took it), and
    /// the chain stays whole.
    #[tokio::test]
    async fn object_writes_of_two_writers_take_turns_in_one_chain() {
        use crate::store::{Aliases as _, ObjectWrite, ObjectWritten};
        use keygate_core::KeyRef;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.db");
        let a = GatewayStore::open(&path).await.unwrap();
        let b = GatewayStore::open(&path).await.unwrap();
        let la = AuditLog::open(Arc::new(a.clone()), &AuditConfig::default())
            .await
            .unwrap();
        let lb = AuditLog::open(Arc::new(b), &AuditConfig::default())
            .await
            .unwrap();
        let mut seq = 0;
        for i in 0..8usize {
            let log = if i % 2 == 0 { &la } else { &lb };
            seq += 1;
            assert_eq!(log.append(event(i)).await.unwrap().seq, seq);
            let alias =
                crate::store::new_alias(&format!("a{i}"), &KeyRef::new("local", "k")).unwrap();
            let written = log
                .append_with_write(event(i), ObjectWrite::InsertAlias(alias.clone()))
                .await
                .unwrap()
                .unwrap();
            seq += 1;
            assert_eq!(written, ObjectWritten::Alias(alias));
        }
        // A write that fails for its own reason still commits its (failure) row.
        let again = crate::store::new_alias("a0", &KeyRef::new("local", "k")).unwrap();
        let taken = lb
            .append_with_write(event(99), ObjectWrite::InsertAlias(again))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(taken.kind(), keygate_core::ErrorKind::AlreadyExists);
        seq += 1;
        assert_eq!(a.list_aliases().await.unwrap().len(), 8);
        let v = la.verify().await.unwrap();
        assert_eq!(v.rows, seq);
        assert!(v.first_broken.is_none(), "{v:?}");
    }
}
