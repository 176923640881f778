//! A circuit breaker: after `failures` calls in a row that failed because the provider could
//! not be reached (or did not answer in time), its calls fail fast for `open_for`; then one
//! trial call goes through, and its outcome closes the breaker or opens it again.
//!
//! The state machine takes the time as an argument, so tests drive it with any clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use keygate_core::api::{CircuitHealth, CircuitState};

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Failures in a row that open the breaker (at least 1).
    pub failures: u32,
    /// How long an open breaker refuses calls before it lets a trial through.
    pub open_for: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// A trial call went through at `since`; until it ends others fail fast. A trial whose
    /// caller gave up (a dropped future reports nothing) is replaced after `open_for`.
    HalfOpen {
        since: Instant,
    },
}

/// Why a call was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Open for this much longer.
    Open(Duration),
    /// Half-open, and the one trial call is still running.
    TrialRunning,
}

/// One provider's breaker.
#[derive(Debug)]
pub struct Breaker {
    policy: BreakerPolicy,
    state: Mutex<State>,
    trips: AtomicU64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy: BreakerPolicy {
                failures: policy.failures.max(1),
                ..policy
            },
            state: Mutex::new(State::Closed { failures: 0 }),
            trips: AtomicU64::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a call may go through at `now`. An open breaker whose period is over turns
    /// half-open and lets this one call through as the trial.
    ///
    /// # Errors
    /// [`Refusal`] when the call must fail fast.
    pub fn admit(&self, now: Instant) -> Result<(), Refusal> {
        let mut state = self.state();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now < until => Err(Refusal::Open(until - now)),
            State::HalfOpen { since }
                if now.saturating_duration_since(since) < self.policy.open_for =>
            {
                Err(Refusal::TrialRunning)
            }
            State::Open { .. } | State::HalfOpen { .. } => {
                *state = State::HalfOpen { since: now };
                Ok(())
            }
        }
    }

    /// The provider answered (an answer that is an error, such as not found, counts: the
    /// provider is reachable).
    pub fn succeeded(&self) {
        *self.state() = State::Closed { failures: 0 };
    }

    /// The provider could not be reached or did not answer in time, at `now`.
    pub fn failed(&self, now: Instant) {
        let mut state = self.state();
        let next = match *state {
            State::Closed { failures } if failures + 1 < self.policy.failures => State::Closed {
                failures: failures + 1,
            },
            // A trial that failed, or the last failure allowed: open (again).
            State::Closed { .. } | State::HalfOpen { .. } => {
                self.trips.fetch_add(1, Ordering::Relaxed);
                State::Open {
                    until: now + self.policy.open_for,
                }
            }
            // Calls admitted before the breaker opened end later; they do not extend it.
            open @ State::Open { .. } => open,
        };
        *state = next;
    }

    /// The breaker as status and metrics report it, at `now`.
    pub fn health(&self, now: Instant) -> CircuitHealth {
        let state = *self.state();
        let trips = self.trips.load(Ordering::Relaxed);
        match state {
            State::Closed { failures } => CircuitHealth {
                state: CircuitState::Closed,
                consecutive_failures: failures,
                trips,
                open_for_secs: None,
            },
            State::Open { until } if now < until => CircuitHealth {
                state: CircuitState::Open,
                consecutive_failures: self.policy.failures,
                trips,
                open_for_secs: Some(ceil_secs(until - now)),
            },
            // Open with its period over: the next call is the trial.
            State::Open { .. } | State::HalfOpen { .. } => CircuitHealth {
                state: CircuitState::HalfOpen,
                consecutive_failures: self.policy.failures,
                trips,
                open_for_secs: None,
            },
        }
    }
}

/// Whole seconds, rounded up (an open breaker never says "0 more s").
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(30);

    fn breaker() -> Breaker {
        Breaker::new(BreakerPolicy {
            failures: 3,
            open_for: OPEN_FOR,
        })
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn opens_after_n_failures_in_a_row() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..2 {
            assert_eq!(b.admit(t0), Ok(()));
            b.failed(t0);
        }
        assert_eq!(b.health(t0).state, CircuitState::Closed);
        assert_eq!(b.health(t0).consecutive_failures, 2);
        b.failed(t0);
        let h = b.health(t0);
        assert_eq!(h.state, CircuitState::Open);
        assert_eq!((h.trips, h.open_for_secs), (1, Some(30)));
        assert_eq!(b.admit(t0 + secs(10)), Err(Refusal::Open(secs(20))));
        assert_eq!(b.health(t0 + secs(10)).open_for_secs, Some(20));
    }

    #[test]
    fn a_success_resets_the_count() {
        let b = breaker();
        let t0 = Instant::now();
        b.failed(t0);
        b.failed(t0);
        b.succeeded();
        b.failed(t0);
        b.failed(t0);
        assert_eq!(b.health(t0).state, CircuitState::Closed);
        assert_eq!(b.admit(t0), Ok(()));
    }

    #[test]
    fn half_open_lets_one_trial_through_and_its_outcome_decides() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.failed(t0);
        }
        let later = t0 + OPEN_FOR;
        assert_eq!(b.health(later).state, CircuitState::HalfOpen);
        assert_eq!(b.admit(later), Ok(()), "the trial");
        assert_eq!(b.admit(later + secs(1)), Err(Refusal::TrialRunning));
        // The trial fails: open again for a full period, one more trip.
        b.failed(later + secs(2));
        let h = b.health(later + secs(2));
        assert_eq!(
            (h.state, h.trips, h.open_for_secs),
            (CircuitState::Open, 2, Some(30))
        );
        assert!(b.admit(later + secs(31)).is_err());
        // The next trial succeeds: closed.
        let again = later + secs(32);
        assert_eq!(b.admit(again), Ok(()));
        b.succeeded();
        assert_eq!(b.health(again).state, CircuitState::Closed);
        assert_eq!(b.admit(again), Ok(()));
        assert_eq!(b.health(again).trips, 2);
    }

    #[test]
    fn an_abandoned_trial_is_replaced_after_a_period() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.failed(t0);
        }
        assert_eq!(b.admit(t0 + OPEN_FOR), Ok(()));
        // Its caller gave up: nothing is reported.
        assert_eq!(
            b.admit(t0 + OPEN_FOR + secs(29)),
            Err(Refusal::TrialRunning)
        );
        assert_eq!(b.admit(t0 + OPEN_FOR + OPEN_FOR), Ok(()));
    }

    #[test]
    fn late_failures_do_not_extend_an_open_breaker() {
        let b = breaker();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.failed(t0);
        }
        b.failed(t0 + secs(20));
        assert_eq!(b.admit(t0 + OPEN_FOR), Ok(()));
        assert_eq!(b.health(t0).trips, 1);
    }

    #[test]
    fn open_seconds_round_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(secs(2)), 2);
        assert_eq!(ceil_secs(Duration::from_millis(2001)), 3);
    }
}
