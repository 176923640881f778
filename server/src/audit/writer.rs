//! The writer task: group commit of audit rows.
//!
//! One task owns the chain head, so rows get their `seq` and `prev_hash` in exactly the order
//! they are committed and no lock is needed. It takes one event, drains what else is queued
//! (up to `batch_max`), chains the batch in memory, writes it in one transaction and answers
//! every waiter only after the commit returned.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use keygate_core::audit::{AuditEvent, GENESIS_HASH, NewAuditEvent, canonical_time};
use keygate_core::{Error, Result};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use time::UtcOffset;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::Counters;
use super::row::db_err;

/// An event waiting for the writer, already checked so that it cannot fail a batch.
pub(super) struct Pending {
    event: NewAuditEvent,
    /// The `time` column: [`canonical_time`] of `event.time`.
    time_text: String,
    /// The `duration_us` column, checked to fit SQLite's signed 64-bit integer.
    duration_us: i64,
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
        let duration_us = i64::try_from(event.duration_us)
            .map_err(|_| Error::invalid("audit duration_us is out of range"))?;
        let (reply, rx) = oneshot::channel();
        Ok((
            Self {
                event,
                time_text,
                duration_us,
                reply,
            },
            rx,
        ))
    }
}

/// The last committed row: where the next batch continues the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) seq: u64,
    pub(super) hash: String,
}

/// Reads the chain head from the store ([`GENESIS_HASH`] at `seq` 0 when empty).
///
/// # Errors
/// [`Error::Unavailable`] when the store cannot be read or holds a negative `seq`.
pub(super) async fn load_head(pool: &SqlitePool) -> Result<Head> {
    let row = sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(Head {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        });
    };
    let seq: i64 = row.try_get(0).map_err(db_err)?;
    Ok(Head {
        seq: u64::try_from(seq)
            .map_err(|_| Error::Unavailable(format!("audit store: negative seq {seq}")))?,
        hash: row.try_get(1).map_err(db_err)?,
    })
}

/// Everything the writer task owns.
pub(super) struct Writer {
    pub(super) pool: SqlitePool,
    pub(super) pending: mpsc::Receiver<Pending>,
    pub(super) live: broadcast::Sender<AuditEvent>,
    pub(super) batch_max: usize,
    pub(super) counters: Arc<Counters>,
    /// `None` after a failed batch: the store decides where the chain continues, since a
    /// commit that reported failure may still have landed.
    pub(super) head: Option<Head>,
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
            None => load_head(&w.pool).await,
        };
        let (mut rows, replies) = chain(head.as_ref().ok(), &mut batch);
        let mut written = match head {
            Ok(_) => write(&w.pool, &rows).await,
            Err(e) => Err(WriteFailure::Failed(e)),
        };
        // Another writer on the same database (a second process: the CLI in a pipe, or
        // beside `keygate serve`) took the next seq. Nothing of ours was inserted (the
        // insert failed, not the commit), so re-read the head and chain the batch after it.
        let mut attempts = 1;
        while let Err(WriteFailure::SeqTaken(_)) = &written {
            if attempts >= SEQ_TAKEN_ATTEMPTS {
                break;
            }
            attempts += 1;
            written = match load_head(&w.pool).await {
                Ok(head) => {
                    rechain(&head, &mut rows);
                    write(&w.pool, &rows).await
                }
                Err(e) => Err(WriteFailure::Failed(e)),
            };
        }
        let written = written.map_err(WriteFailure::into_error);
        match written {
            Ok(()) => {
                if let Some(last) = rows.last() {
                    w.head = Some(Head {
                        seq: last.event.seq,
                        hash: last.event.hash.clone(),
                    });
                }
                w.counters.batches.fetch_add(1, Ordering::Relaxed);
                w.counters
                    .rows
                    .fetch_add(rows.len() as u64, Ordering::Relaxed);
                for (Chained { event, .. }, reply) in rows.into_iter().zip(replies) {
                    // A waiter that gave up (request cancelled) still has its row: the
                    // operation may have happened.
                    let _ = reply.send(Ok(event.clone()));
                    // No live subscriber is not an error.
                    let _ = w.live.send(event);
                }
            }
            Err(e) => {
                w.counters.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, rows = replies.len(),
                    "audit batch not written; refusing its requests");
                for reply in replies {
                    let _ = reply.send(Err(Error::Unavailable(
                        "audit store cannot write".to_owned(),
                    )));
                }
            }
        }
    }
}

type Reply = oneshot::Sender<Result<AuditEvent>>;

/// A row ready to insert: the event in its chain place, plus its prepared columns.
struct Chained {
    event: AuditEvent,
    time_text: String,
    duration_us: i64,
}

/// Takes the batch apart: the chained rows (with their `time` and `duration_us` columns)
/// when the head is known, and the waiters in the same order.
fn chain(head: Option<&Head>, batch: &mut Vec<Pending>) -> (Vec<Chained>, Vec<Reply>) {
    let mut rows = Vec::with_capacity(batch.len());
    let mut replies = Vec::with_capacity(batch.len());
    let mut prev = head.map(|h| (h.seq, h.hash.clone()));
    for p in batch.drain(..) {
        replies.push(p.reply);
        if let Some((seq, hash)) = prev.take() {
            let event = p.event.into_chained(seq + 1, hash);
            prev = Some((event.seq, event.hash.clone()));
            rows.push(Chained {
                event,
                time_text: p.time_text,
                duration_us: p.duration_us,
            });
        }
    }
    (rows, replies)
}

/// How often a batch is re-chained after another writer took its `seq` before it is
/// refused.
const SEQ_TAKEN_ATTEMPTS: u32 = 5;

/// Why a batch was not written.
enum WriteFailure {
    /// An insert hit an existing `seq`: another writer on the same database got there first.
    SeqTaken(Error),
    /// Anything else.
    Failed(Error),
}

impl WriteFailure {
    fn into_error(self) -> Error {
        match self {
            Self::SeqTaken(e) | Self::Failed(e) => e,
        }
    }
}

/// Chains `rows` again after `head` (same events, same order, new `seq` and hashes).
fn rechain(head: &Head, rows: &mut [Chained]) {
    let mut prev = (head.seq, head.hash.clone());
    for row in rows.iter_mut() {
        row.event = row.event.event().into_chained(prev.0 + 1, prev.1);
        prev = (row.event.seq, row.event.hash.clone());
    }
}

/// Inserts `rows` in one transaction.
///
/// # Errors
/// [`WriteFailure::SeqTaken`] when an insert hits an existing `seq`,
/// [`WriteFailure::Failed`] when anything else fails; nothing is kept then.
async fn write(pool: &SqlitePool, rows: &[Chained]) -> Result<(), WriteFailure> {
    let seqs = rows
        .iter()
        .map(|r| i64::try_from(r.event.seq))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            WriteFailure::Failed(Error::Unavailable("audit store: seq overflow".to_owned()))
        })?;
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| WriteFailure::Failed(db_err(e)))?;
    // Several rows per statement: each statement is a round trip to SQLite's worker
    // thread, which would otherwise dominate a large batch.
    for (chunk, seqs) in rows
        .chunks(ROWS_PER_INSERT)
        .zip(seqs.chunks(ROWS_PER_INSERT))
    {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO audit_events (seq, time, request_id, principal, source, action, \
             provider, key_uri, key_version, outcome, error_kind, duration_us, prev_hash, hash) ",
        );
        insert.push_values(chunk.iter().zip(seqs), |mut b, (row, seq)| {
            let Chained {
                event,
                time_text,
                duration_us,
            } = row;
            b.push_bind(*seq)
                .push_bind(time_text)
                .push_bind(&event.request_id)
                .push_bind(&event.principal)
                .push_bind(&event.source)
                .push_bind(&event.action)
                .push_bind(&event.provider)
                .push_bind(&event.key)
                .push_bind(&event.key_version)
                .push_bind(event.outcome.as_str())
                .push_bind(&event.error_kind)
                .push_bind(*duration_us)
                .push_bind(&event.prev_hash)
                .push_bind(&event.hash);
        });
        let inserted = insert.build().execute(&mut *tx).await;
        if let Err(e) = inserted {
            // Roll back now rather than when the connection is next used.
            let _ = tx.rollback().await;
            let taken = e
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation());
            let e = db_err(e);
            return Err(if taken {
                WriteFailure::SeqTaken(e)
            } else {
                WriteFailure::Failed(e)
            });
        }
    }
    tx.commit()
        .await
        .map_err(|e| WriteFailure::Failed(db_err(e)))
}

/// Rows per INSERT statement: 64 × 14 columns = 896 parameters, under the 999 that older
/// SQLite builds allow per statement.
const ROWS_PER_INSERT: usize = 64;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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
        let la = AuditLog::open(&a, &AuditConfig::default()).await.unwrap();
        let lb = AuditLog::open(&b, &AuditConfig::default()).await.unwrap();
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
