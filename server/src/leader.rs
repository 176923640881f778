//! Which gateway process runs the maintenance scheduler (scheduled rotations, deletions and
//! version destruction).
//!
//! On a store with a lease ([`Store::scheduler_lease`]: PostgreSQL, shared by replicas) the
//! lease decides: [`Leadership::run`] takes it when free and renews it every third of the
//! lease time, and this process leads only while a renewal sent less than two thirds of the
//! lease time ago succeeded — the database ends an unrenewed lease only after the whole
//! lease time, so a replica never believes it leads once another can have taken over. On a
//! store without one (SQLite) the serving process leads alone, as it always has.
//!
//! Leading is necessary, not sufficient: each due action is checked again by its provider
//! in the transaction that runs it, so even a pass that outlives its lease cannot rotate or
//! destroy anything twice.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::SchedulerConfig;
use crate::store::Store;

/// This process's part in the scheduler's leadership.
#[derive(Debug)]
pub struct Leadership {
    replica: String,
    lease: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not leading (not started, a follower, or the lease was lost).
    Following,
    /// Leading on a lease, until this instant unless renewed.
    Until(Instant),
    /// Leading alone: the store has no lease (SQLite).
    Alone,
}

impl Leadership {
    /// The leadership of the process named by `config` (`replica`, `lease_secs`); it leads
    /// nothing until [`Leadership::run`] runs.
    pub fn new(config: &SchedulerConfig) -> Self {
        Self {
            replica: config.replica_name(),
            lease: config.lease().max(Duration::from_secs(1)),
            state: Mutex::new(State::Following),
        }
    }

    /// This process's name among replicas.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// The lease time.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Whether this process may run maintenance now.
    pub fn leads(&self) -> bool {
        match self.state() {
            State::Following => false,
            State::Until(until) => Instant::now() < until,
            State::Alone => true,
        }
    }

    fn state(&self) -> State {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the state; returns whether this process led before.
    fn set(&self, state: State) -> bool {
        let mut current = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let led = match *current {
            State::Following => false,
            State::Until(until) => Instant::now() < until,
            State::Alone => true,
        };
        *current = state;
        led
    }

    /// Takes and keeps the lease on `store` until `stop` turns true, then gives it up. On a
    /// store without a lease this process leads alone until `stop`.
    pub async fn run(&self, store: &dyn Store, mut stop: watch::Receiver<bool>) {
        let Some(mut lease) = store.scheduler_lease(&self.replica, self.lease) else {
            self.set(State::Alone);
            let _ = stop.wait_for(|s| *s).await;
            self.set(State::Following);
            return;
        };
        let every = self.lease / 3;
        loop {
            let sent = Instant::now();
            match lease.acquire_or_renew().await {
                Ok(true) => {
                    // The database keeps the lease at least `lease` after this renewal was
                    // sent; leading ends a third earlier, which is when the next renewal is
                    // due anyway.
                    if !self.set(State::Until(sent + self.lease - every)) {
                        tracing::info!(replica = %self.replica, "this replica now leads the scheduler");
                    }
                }
                Ok(false) => {
                    if self.set(State::Following) {
                        tracing::warn!(replica = %self.replica, "the scheduler's lease is held elsewhere: this replica no longer leads");
                    }
                }
                Err(e) => {
                    if self.set(State::Following) {
                        tracing::warn!(replica = %self.replica, error = %e, "cannot renew the scheduler's lease: this replica no longer leads");
                    } else {
                        tracing::debug!(error = %e, "cannot try the scheduler's lease");
                    }
                }
            }
            let stopped = async { stop.wait_for(|s| *s).await.is_ok() };
            tokio::select! {
                _ = stopped => break,
                () = tokio::time::sleep(every.saturating_sub(sent.elapsed())) => {}
            }
        }
        self.set(State::Following);
        lease.release().await;
    }
}

#[cfg(test)]
mod tests;
