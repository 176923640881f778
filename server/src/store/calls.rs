//! Which kind of request the gateway store is serving, and how many store calls each kind
//! made: what `/metrics` reports as `keygate_store_calls_total`, so a test (or an operator)
//! can see that a repeated crypto call reads nothing from the store.
//!
//! The kind is a task-local value: the service sets it around each call it serves
//! ([`RequestKind::scope`]), the audit writer around its task, and the store wrapper that
//! counts reads it back on every call ([`RequestKind::current`]). A call made outside any
//! scope is counted as [`RequestKind::UNATTRIBUTED`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

tokio::task_local! {
    static KIND: RequestKind;
}

/// The request a store call is made for: the door it came in by and the action it does.
/// Both are fixed names (`rest`, `crypto:encrypt`), so the metric's labels stay bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RequestKind {
    /// The door (`rest`, `aws`, `cli`…), or `gateway` for the gateway's own work.
    pub source: &'static str,
    /// The action (`crypto:encrypt`…), or what the gateway's own work is.
    pub action: &'static str,
}

impl RequestKind {
    /// A store call made outside any request.
    pub const UNATTRIBUTED: Self = Self::gateway("other");
    /// The audit writer's appends: one batch serves many requests.
    pub const AUDIT_WRITER: Self = Self::gateway("audit:append");
    /// The check of whether another process changed the store (see the service's hot-state
    /// cache): a few a second whatever the load, never per request.
    pub const FRESHNESS: Self = Self::gateway("store:freshness");
    /// Checking a bearer token, before a session exists.
    pub const BEARER_AUTH: Self = Self::gateway("auth:token");
    /// Looking up an AWS access key, before a session exists.
    pub const AWS_AUTH: Self = Self::gateway("auth:aws-access-key");

    const fn gateway(action: &'static str) -> Self {
        Self {
            source: "gateway",
            action,
        }
    }

    /// The kind of the request the current task is serving.
    pub fn current() -> Self {
        KIND.try_with(|kind| *kind).unwrap_or(Self::UNATTRIBUTED)
    }

    /// Runs `work` as a request of this kind: store calls it makes are counted under it.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        KIND.scope(self, work).await
    }
}

/// Whether a store call reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// One query that changes nothing.
    Read,
    /// One write: a statement or a transaction (an audit batch is one).
    Write,
}

impl Access {
    /// The label value (`read`, `write`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// How many store calls one kind of request made, reading or writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StoreCallCount {
    /// The kind of request.
    pub kind: RequestKind,
    /// Read or write.
    pub access: Access,
    /// Calls since the service started.
    pub calls: u64,
}

/// Store calls counted by request kind.
#[derive(Debug, Default)]
pub struct StoreCalls {
    counts: Mutex<HashMap<(RequestKind, Access), u64>>,
}

impl StoreCalls {
    /// Counts one call of the current request kind.
    pub fn record(&self, access: Access) {
        let kind = RequestKind::current();
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry((kind, access)).or_default() += 1;
    }

    /// Every count so far, by kind then access.
    pub fn snapshot(&self) -> Vec<StoreCallCount> {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<StoreCallCount> = counts
            .iter()
            .map(|(&(kind, access), &calls)| StoreCallCount {
                kind,
                access,
                calls,
            })
            .collect();
        all.sort_by_key(|c| (c.kind, c.access));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_are_counted_under_the_scope_they_run_in() {
        let calls = StoreCalls::default();
        calls.record(Access::Read);
        let kind = RequestKind {
            source: "rest",
            action: "crypto:encrypt",
        };
        kind.scope(async {
            calls.record(Access::Write);
            calls.record(Access::Write);
        })
        .await;
        assert_eq!(
            calls.snapshot(),
            vec![
                StoreCallCount {
                    kind: RequestKind::UNATTRIBUTED,
                    access: Access::Read,
                    calls: 1
                },
                StoreCallCount {
                    kind,
                    access: Access::Write,
                    calls: 2
                },
            ]
        );
    }
}
