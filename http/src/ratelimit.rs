//! A token bucket per principal, applied after authentication so one noisy caller cannot
//! starve the others and unauthenticated traffic cannot fill anyone's bucket. Failed
//! authentications get a bucket per client address of their own (`unauthenticated:<ip>`),
//! which bounds the audit rows a flood of bad tokens can write.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keygate_server::config::RateLimitConfig;

/// Above this many tracked principals, buckets that have refilled completely are dropped:
/// a full bucket carries no state worth keeping.
const PRUNE_ABOVE: usize = 10_000;

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
}

impl RateLimiter {
    /// A limiter from the `[server.rate_limit]` settings; `None` when `per_second` is 0 (off).
    pub fn new(config: &RateLimitConfig) -> Option<Self> {
        (config.per_second > 0).then(|| Self {
            per_second: f64::from(config.per_second),
            burst: f64::from(config.burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
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
            Ok(())
        } else {
            let missing = 1.0 - bucket.tokens;
            Err(Duration::from_secs_f64(missing / self.per_second))
        }
    }
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
}
