//! The backlog-then-live stream behind `keygate audit tail --follow` and the console feed.
//!
//! The live feed is subscribed before the backlog is read, so a row committed meanwhile is
//! in the feed, the store, or both; remembering the last delivered `seq` drops the
//! duplicates. This is sound because rows are committed in `seq` order (a second writer on
//! the same store re-reads the head before it can commit): once the store showed row N, every
//! row before N was already committed and so was in that read.
//!
//! The feed only carries this process's rows. Rows another process wrote to the same store
//! (the CLI beside `keygate serve`, a follower that is itself a CLI, or another replica on
//! the same PostgreSQL database) are found in the store by sequence: when a live row skips
//! `seq`s the stream reads the store before going on, and when the feed is quiet for
//! [`STORE_POLL`] it looks there too. So a follower on any replica shows every replica's
//! rows, in `seq` order, within [`STORE_POLL`] of their commit.

use std::collections::VecDeque;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use keygate_core::Result;
use keygate_core::audit::{AuditEvent, AuditQuery};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::{AuditLog, query};

/// How long the live feed may stay quiet before the store is checked for rows written by
/// other processes.
const STORE_POLL: std::time::Duration = std::time::Duration::from_secs(1);

struct Follow {
    log: AuditLog,
    query: AuditQuery,
    live: broadcast::Receiver<AuditEvent>,
    /// The last delivered `seq` (or the caller's cursor): nothing at or below it is sent.
    last: u64,
    /// The highest `seq` the live feed carried (matching or not): a later row skipping past
    /// it means rows from elsewhere are in the store.
    seen: u64,
    /// Backlog rows read but not yet delivered.
    buffer: VecDeque<AuditEvent>,
    /// Reading the store (at the start, and after the live feed dropped rows for us).
    catching_up: bool,
    /// A store error was delivered; the stream is over.
    done: bool,
}

/// Starts following `query` on `log`.
pub(super) fn stream(log: AuditLog, query: AuditQuery) -> BoxStream<'static, Result<AuditEvent>> {
    let live = log.inner.live.subscribe();
    let state = Follow {
        last: query.after.unwrap_or(0),
        seen: query.after.unwrap_or(0),
        log,
        query,
        live,
        buffer: VecDeque::new(),
        catching_up: true,
        done: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    })
    .boxed()
}

impl Follow {
    async fn next(&mut self) -> Option<Result<AuditEvent>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(event) = self.buffer.pop_front() {
                self.last = event.seq;
                return Some(Ok(event));
            }
            if self.catching_up {
                let q = AuditQuery {
                    after: Some(self.last),
                    ..self.query.clone()
                };
                match query::page(&*self.log.inner.store, &q).await {
                    Ok(page) => {
                        self.catching_up = page.next_cursor.is_some();
                        self.buffer.extend(page.items);
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            match tokio::time::timeout(STORE_POLL, self.live.recv()).await {
                Ok(Ok(event)) => {
                    let skipped = event.seq > self.seen.saturating_add(1);
                    self.seen = self.seen.max(event.seq);
                    if skipped {
                        // The rows in between were committed before this one by another
                        // process: read them (and this one) from the store, in order.
                        self.catching_up = true;
                    } else if event.seq > self.last && self.query.matches(&event) {
                        self.last = event.seq;
                        return Some(Ok(event));
                    }
                }
                // The feed overwrote rows we had not read: read them from the store, then
                // go on with the feed (what it still holds is deduplicated by `last`).
                Ok(Err(RecvError::Lagged(_))) => self.catching_up = true,
                // Only when the log itself is gone, which this stream prevents; end cleanly.
                Ok(Err(RecvError::Closed)) => return None,
                // Quiet here: another process may have written.
                Err(_) => self.catching_up = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;
    use std::time::Duration;

    use super::super::AuditConfig;
    use super::super::tests::event;
    use super::*;
    use crate::store::GatewayStore;

    /// A follower in one process sees what other processes write to the same store, in
    /// order, whether or not its own process writes meanwhile.
    #[tokio::test]
    async fn rows_from_another_writer_are_followed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.db");
        let ours = AuditLog::open(
            Arc::new(GatewayStore::open(&path).await.unwrap()),
            &AuditConfig::default(),
        )
        .await
        .unwrap();
        let theirs = AuditLog::open(
            Arc::new(GatewayStore::open(&path).await.unwrap()),
            &AuditConfig::default(),
        )
        .await
        .unwrap();
        let mut stream = ours.follow(AuditQuery::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let follower = tokio::spawn(async move {
            while let Some(row) = stream.next().await {
                if tx.send(row.unwrap().seq).is_err() {
                    break;
                }
            }
        });
        let mut next = async || {
            tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .expect("the follower saw nothing within 5s")
                .unwrap()
        };
        // The follower is waiting on the live feed when only the other process writes:
        // found by the quiet-feed poll.
        tokio::time::sleep(Duration::from_millis(100)).await;
        theirs.append(event(1)).await.unwrap();
        let mut seqs = vec![next().await];
        // Then both: our row 3 comes live and skips their row 2, which is read first.
        theirs.append(event(2)).await.unwrap();
        ours.append(event(3)).await.unwrap();
        seqs.push(next().await);
        seqs.push(next().await);
        follower.abort();
        assert_eq!(seqs, [1, 2, 3]);
    }

    /// Two replicas on one PostgreSQL database: a follower on one shows the rows appended
    /// through the other, interleaved with its own, in one order, without a gap or a
    /// duplicate.
    #[tokio::test]
    async fn a_follower_on_one_replica_shows_every_replicas_rows() {
        use crate::store::postgres::testing::{fresh_schema, open_on};
        let Some(schema) = fresh_schema("follow_across_replicas").await else {
            return;
        };
        let open = async || {
            AuditLog::open(Arc::new(open_on(&schema).await), &AuditConfig::default())
                .await
                .unwrap()
        };
        let (ours, theirs) = (open().await, open().await);
        let mut stream = ours.follow(AuditQuery::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let follower = tokio::spawn(async move {
            while let Some(row) = stream.next().await {
                let row = row.unwrap();
                if tx.send((row.seq, row.request_id)).is_err() {
                    break;
                }
            }
        });
        // Rows appended concurrently through both replicas; each gets its seq from the
        // shared chain head, so they interleave.
        let mut written = Vec::new();
        for round in 0..10usize {
            let (a, b) = tokio::join!(
                ours.append(event(round * 2 + 1)),
                theirs.append(event(round * 2 + 2))
            );
            written.push(a.unwrap());
            written.push(b.unwrap());
        }
        // The last rows only through the other replica, while ours is quiet.
        for n in 0..3usize {
            written.push(theirs.append(event(100 + n)).await.unwrap());
        }
        written.sort_by_key(|r| r.seq);
        let mut seen = Vec::new();
        while seen.len() < written.len() {
            let next = tokio::time::timeout(Duration::from_secs(15), rx.recv())
                .await
                .expect("the follower missed rows of the other replica")
                .unwrap();
            seen.push(next);
        }
        follower.abort();
        let expected: Vec<(u64, String)> = written
            .iter()
            .map(|r| (r.seq, r.request_id.clone()))
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(
            expected.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            (1..=23).collect::<Vec<_>>()
        );
        assert!(ours.verify().await.unwrap().first_broken.is_none());
    }
}
