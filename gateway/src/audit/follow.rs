//! The backlog-then-live stream behind `keygate audit tail --follow` and the console feed.
//!
//! The live feed is subscribed before the backlog is read, so a row committed meanwhile is
//! in the feed, the store, or both; remembering the last delivered `seq` drops the
//! duplicates. This is sound because one writer commits rows in `seq` order: once the store
//! showed row N, every row before N was already committed and so was in that read.

use std::collections::VecDeque;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use keygate_core::Result;
use keygate_core::audit::{AuditEvent, AuditQuery};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::{AuditLog, query};

struct Follow {
    log: AuditLog,
    query: AuditQuery,
    live: broadcast::Receiver<AuditEvent>,
    /// The last delivered `seq` (or the caller's cursor): nothing at or below it is sent.
    last: u64,
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
                match query::page(&self.log.inner.pool, &q).await {
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
            match self.live.recv().await {
                Ok(event) => {
                    if event.seq > self.last && self.query.matches(&event) {
                        self.last = event.seq;
                        return Some(Ok(event));
                    }
                }
                // The feed overwrote rows we had not read: read them from the store, then
                // go on with the feed (what it still holds is deduplicated by `last`).
                Err(RecvError::Lagged(_)) => self.catching_up = true,
                // Only when the log itself is gone, which this stream prevents; end cleanly.
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
