//! A token bucket per principal, applied after authentication so one noisy caller cannot
//! starve the others and unauthenticated traffic cannot fill anyone's bucket. Failed
//! authentications get a bucket per client address of their own (`unauthenticated:<ip>`),
//! which bounds the audit rows a flood of bad tokens can write.
//!
//! The first refusal a principal gets is logged once (per principal, per process) at warn
//! level, naming the settings that size the limit: a benchmark or a busy application that
//! runs into it learns why at once, and the log does not grow with the refusals.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keygate_server::config::RateLimitConfig;

/// Above this many tracked principals, buckets that have refilled completely are dropped:
/// a full bucket carries no state worth keeping.
const PRUNE_ABOVE: usize = 10_000;

/// The most principals whose first refusal is remembered (and logged). Beyond it, one more
/// line says that later first refusals go unlogged: a flood from many client addresses
/// cannot grow the set, or the log, without bound.
const WARN_AT_MOST: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Per-principal token buckets: `per_second` sustained, `burst` at most at once.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// The principals already told about (their first refusal was logged).
    warned: Mutex<Warned>,
}

impl RateLimiter {
    /// A limiter from the `[server.rate_limit]` settings; `None` when `per_second` is 0 (off).
    pub fn new(config: &RateLimitConfig) -> Option<Self> {
        (config.per_second > 0).then(|| Self {
            per_second: f64::from(config.per_second),
            burst: f64::from(config.burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
            warned: Mutex::default(),
        })
    }

    /// Takes one token for `principal` at `now`; `Err(wait)` when the bucket is empty, with
    /// how long until the next token.
    pub fn check(&self, principal: &str, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another request panicked mid-update; the map of
        // numbers is still usable.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(principal.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - bucket.tokens;
        drop(buckets);
        self.warn_once(principal);
        Err(Duration::from_secs_f64(missing / self.per_second))
    }

    /// Logs the first refusal of `principal` (its name only: never a token), with the
    /// settings to change as `keygate.toml` spells them.
    fn warn_once(&self, principal: &str) {
        let mut warned = self
            .warned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if warned.full || warned.principals.contains(principal) {
            return;
        }
        if warned.principals.len() >= WARN_AT_MOST {
            warned.full = true;
            drop(warned);
            tracing::warn!(
                "rate limit: {WARN_AT_MOST} principals have been refused; the first refusal of \
                 any other principal is no longer logged"
            );
            return;
        }
        warned.principals.insert(principal.to_owned());
        drop(warned);
        tracing::warn!(
            principal,
            per_second = %self.per_second,
            burst = %self.burst,
            "rate limit: first 429 for this principal (later ones are counted in \
             keygate_rate_limited_total, not logged); if this load is expected, raise \
             per_second and burst under [server.rate_limit] in keygate.toml \
             (KEYGATE_SERVER__RATE_LIMIT__PER_SECOND, KEYGATE_SERVER__RATE_LIMIT__BURST; \
             per_second = 0 turns the limit off)"
        );
    }
}

/// The principals whose first refusal was logged.
#[derive(Debug, Default)]
struct Warned {
    principals: HashSet<String>,
    /// Set once [`WARN_AT_MOST`] principals were logged (and that was logged too).
    full: bool,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn limiter(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(&RateLimitConfig { per_second, burst }).unwrap()
    }

    #[test]
    fn zero_rate_is_off() {
        assert!(
            RateLimiter::new(&RateLimitConfig {
                per_second: 0,
                burst: 5
            })
            .is_none()
        );
    }

    #[test]
    fn burst_then_refill_per_principal() {
        let l = limiter(2, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            l.check("a", t0).unwrap();
        }
        let wait = l.check("a", t0).unwrap_err();
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        // Another principal has its own bucket.
        l.check("b", t0).unwrap();
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        l.check("a", t1).unwrap();
        assert!(l.check("a", t1).is_err());
    }

    /// A writer into a shared buffer, for capturing what the log says.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_first_refusal_of_each_principal_is_logged_once_with_the_settings() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .finish();
        let l = limiter(1, 2);
        let t0 = Instant::now();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..200u64 {
                let _ = l.check("app-billing", t0 + Duration::from_millis(i));
            }
            let _ = l.check("unauthenticated:10.0.0.7", t0);
            let _ = l.check("unauthenticated:10.0.0.7", t0);
            let _ = l.check("unauthenticated:10.0.0.7", t0);
            let _ = l.check("unauthenticated:10.0.0.7", t0);
        });
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(lines[0].contains("WARN"), "{log}");
        assert!(lines[0].contains("principal=\"app-billing\""), "{log}");
        assert!(lines[1].contains("unauthenticated:10.0.0.7"), "{log}");
        for line in lines {
            assert!(line.contains("first 429"), "{line}");
            assert!(line.contains("[server.rate_limit]"), "{line}");
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert!(fields.contains(&"per_second=1"), "{line}");
            assert!(fields.contains(&"burst=2"), "{line}");
            assert!(
                line.contains("KEYGATE_SERVER__RATE_LIMIT__PER_SECOND"),
                "{line}"
            );
        }
    }

    #[test]
    fn the_principals_logged_are_bounded() {
        let l = limiter(1, 1);
        let t0 = Instant::now();
        for i in 0..WARN_AT_MOST + 5 {
            let p = format!("p{i}");
            l.check(&p, t0).unwrap();
            assert!(l.check(&p, t0).is_err());
        }
        let warned = l.warned.lock().unwrap();
        assert_eq!(warned.principals.len(), WARN_AT_MOST);
        assert!(warned.full);
    }
}
