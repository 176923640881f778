//! Data-key cache tests: every limit, expiry, eviction, the disabled cache, separation by
//! key, context and wrapped key, and secrets kept out of `Debug`.

use std::sync::Arc;

use keygate_core::{ErrorKind, ManualClock};
use time::macros::datetime;
use zeroize::Zeroizing;

use super::*;

const URI: &str = "local://keys/orders";

fn config() -> CacheConfig {
    CacheConfig {
        enabled: true,
        max_age_secs: 60,
        max_messages: 5,
        max_bytes: 1000,
        capacity: 10,
    }
}

fn cache(config: CacheConfig) -> (DataKeyCache, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(datetime!(2030-01-01 00:00 UTC)));
    let cache = DataKeyCache::with_clock(&config, clock.clone()).unwrap();
    (cache, clock)
}

fn ctx(tenant: &str) -> EncryptionContext {
    EncryptionContext::new().with("tenant", tenant)
}

fn dk(tag: u8) -> CachedDataKey {
    CachedDataKey {
        provider: "local".into(),
        key_version: "1".into(),
        wrapped_key: vec![tag; 48],
        data_key: Zeroizing::new(vec![tag; 32]),
    }
}

fn hit(c: &DataKeyCache, tenant: &str, bytes: u64) -> Option<u8> {
    c.get_for_encrypt(URI, &ctx(tenant), bytes)
        .map(|k| k.data_key[0])
}

#[test]
fn the_default_is_disabled_and_always_misses() {
    let config = CacheConfig::default();
    assert!(!config.enabled);
    assert_eq!(
        (
            config.max_age_secs,
            config.max_messages,
            config.max_bytes,
            config.capacity
        ),
        (300, 1000, 1 << 30, 100)
    );
    let c = DataKeyCache::new(&config).unwrap();
    assert!(!c.is_enabled());
    c.put_for_encrypt(URI, &ctx("a"), dk(1), 10);
    c.put_for_decrypt(URI, b"wrapped", &ctx("a"), Zeroizing::new(vec![1; 32]));
    assert!(c.get_for_encrypt(URI, &ctx("a"), 10).is_none());
    assert!(c.get_for_decrypt(URI, b"wrapped", &ctx("a")).is_none());
    assert!(c.is_empty());
}

#[test]
fn config_parses_with_defaults_and_rejects_unknown_fields() {
    let c: CacheConfig = toml::from_str("enabled = true\nmax_age_secs = 30").unwrap();
    assert!(c.enabled);
    assert_eq!(c.max_age_secs, 30);
    assert_eq!(c.max_messages, 1000);
    assert!(toml::from_str::<CacheConfig>("enabled = true\nmax_agee = 1").is_err());
}

#[test]
fn config_limits_are_validated() {
    let bad = [
        CacheConfig {
            max_age_secs: 0,
            ..config()
        },
        CacheConfig {
            max_age_secs: MAX_AGE_LIMIT_SECS + 1,
            ..config()
        },
        CacheConfig {
            max_messages: 0,
            ..config()
        },
        CacheConfig {
            max_messages: MAX_MESSAGES_LIMIT + 1,
            ..config()
        },
        CacheConfig {
            max_bytes: 0,
            ..config()
        },
        CacheConfig {
            capacity: 0,
            ..config()
        },
        CacheConfig {
            capacity: CAPACITY_LIMIT + 1,
            ..config()
        },
        // Also when disabled: the mistake is reported before the cache is turned on.
        CacheConfig {
            enabled: false,
            max_age_secs: 0,
            ..config()
        },
    ];
    for c in bad {
        let err = DataKeyCache::new(&c).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{c:?}");
    }
    assert!(DataKeyCache::new(&config()).unwrap().is_enabled());
}

#[test]
fn max_messages_counts_the_first_use_and_drops_a_used_up_key() {
    let (c, _) = cache(config()); // 5 messages
    assert_eq!(hit(&c, "a", 1), None);
    c.put_for_encrypt(URI, &ctx("a"), dk(7), 1); // message 1
    for _ in 2..=5 {
        assert_eq!(hit(&c, "a", 1), Some(7));
    }
    // Used up: gone, so the next envelope needs a fresh key.
    assert!(c.is_empty());
    assert_eq!(hit(&c, "a", 1), None);
    // With a single message allowed, a key is never worth caching.
    let (one, _) = cache(CacheConfig {
        max_messages: 1,
        ..config()
    });
    one.put_for_encrypt(URI, &ctx("a"), dk(7), 1);
    assert!(one.is_empty());
}

#[test]
fn max_bytes_refuses_and_evicts_an_entry_that_would_exceed_it() {
    let (c, _) = cache(config()); // 1000 bytes
    c.put_for_encrypt(URI, &ctx("a"), dk(7), 400);
    assert_eq!(hit(&c, "a", 500), Some(7)); // 900
    assert_eq!(hit(&c, "a", 101), None); // would be 1001: refused
    assert_eq!(hit(&c, "a", 1), None); // and evicted
    // A first message that reaches the limit leaves nothing to cache.
    c.put_for_encrypt(URI, &ctx("a"), dk(8), 1000);
    assert!(c.is_empty());
    // Exactly at the limit is fine; overflowing u64 is refused, not wrapped.
    c.put_for_encrypt(URI, &ctx("a"), dk(9), 999);
    assert_eq!(hit(&c, "a", 1), Some(9));
    c.put_for_encrypt(URI, &ctx("b"), dk(9), 1);
    assert_eq!(hit(&c, "b", u64::MAX), None);
}

#[test]
fn entries_expire_at_max_age_on_both_sides() {
    let (c, clock) = cache(config()); // 60 s
    c.put_for_encrypt(URI, &ctx("a"), dk(7), 1);
    c.put_for_decrypt(URI, b"w", &ctx("a"), Zeroizing::new(vec![3; 32]));
    clock.advance(time::Duration::seconds(59));
    assert_eq!(hit(&c, "a", 1), Some(7));
    assert!(c.get_for_decrypt(URI, b"w", &ctx("a")).is_some());
    // Use does not extend the age: it counts from when the provider made the key.
    clock.advance(time::Duration::seconds(1));
    assert_eq!(hit(&c, "a", 1), None);
    assert!(c.get_for_decrypt(URI, b"w", &ctx("a")).is_none());
    assert!(c.is_empty());
}

#[test]
fn a_clock_going_backwards_is_a_miss() {
    let (c, clock) = cache(config());
    c.put_for_encrypt(URI, &ctx("a"), dk(7), 1);
    clock.set(datetime!(2029-12-31 23:59 UTC));
    assert_eq!(hit(&c, "a", 1), None);
}

#[test]
fn purge_drops_expired_keys_without_a_lookup() {
    let (c, clock) = cache(config());
    c.put_for_encrypt(URI, &ctx("old"), dk(1), 1);
    clock.advance(time::Duration::seconds(30));
    c.put_for_decrypt(URI, b"w", &ctx("new"), Zeroizing::new(vec![2; 32]));
    clock.advance(time::Duration::seconds(30));
    assert_eq!(c.len(), 2);
    c.purge_expired();
    assert_eq!(c.len(), 1);
    assert!(c.get_for_decrypt(URI, b"w", &ctx("new")).is_some());
    // A put purges too.
    clock.advance(time::Duration::seconds(30));
    c.put_for_encrypt(URI, &ctx("x"), dk(3), 1);
    assert_eq!(c.len(), 1);
}

#[test]
fn capacity_evicts_the_least_recently_used() {
    let (c, _) = cache(CacheConfig {
        capacity: 2,
        ..config()
    });
    c.put_for_encrypt(URI, &ctx("a"), dk(1), 1);
    c.put_for_encrypt(URI, &ctx("b"), dk(2), 1);
    assert_eq!(hit(&c, "a", 1), Some(1)); // a is now more recent than b
    c.put_for_decrypt(URI, b"w", &ctx("c"), Zeroizing::new(vec![3; 32]));
    assert_eq!(c.len(), 2);
    assert_eq!(hit(&c, "b", 1), None);
    assert_eq!(hit(&c, "a", 1), Some(1));
    assert!(c.get_for_decrypt(URI, b"w", &ctx("c")).is_some());
    c.clear();
    assert!(c.is_empty());
}

#[test]
fn key_context_and_wrapped_key_are_all_part_of_the_entry() {
    let (c, _) = cache(config());
    c.put_for_encrypt(URI, &ctx("a"), dk(1), 1);
    assert_eq!(hit(&c, "b", 1), None);
    assert!(
        c.get_for_encrypt(URI, &EncryptionContext::new(), 1)
            .is_none()
    );
    assert!(
        c.get_for_encrypt("local://keys/other", &ctx("a"), 1)
            .is_none()
    );
    // Context pairs whose concatenations coincide stay apart.
    let ab = EncryptionContext::new().with("a", "bc");
    c.put_for_encrypt(URI, &ab, dk(2), 1);
    assert!(
        c.get_for_encrypt(URI, &EncryptionContext::new().with("ab", "c"), 1)
            .is_none()
    );

    c.put_for_decrypt(URI, b"wrapped-1", &ctx("a"), Zeroizing::new(vec![9; 32]));
    assert_eq!(
        c.get_for_decrypt(URI, b"wrapped-1", &ctx("a")).unwrap()[0],
        9
    );
    assert!(c.get_for_decrypt(URI, b"wrapped-1", &ctx("b")).is_none());
    assert!(c.get_for_decrypt(URI, b"wrapped-2", &ctx("a")).is_none());
    assert!(
        c.get_for_decrypt("local://keys/other", b"wrapped-1", &ctx("a"))
            .is_none()
    );
    // The two sides never answer for each other.
    assert!(
        c.get_for_decrypt(URI, &dk(1).wrapped_key, &ctx("a"))
            .is_none()
    );
    assert_eq!(hit(&c, "a", 1), Some(1));
}

#[test]
fn clones_share_entries_and_limits_hold_across_threads() {
    let (c, _) = cache(CacheConfig {
        max_messages: 50,
        ..config()
    });
    c.put_for_encrypt(URI, &ctx("a"), dk(7), 0);
    let hits: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                s.spawn(move || (0..100).filter(|_| hit(&c, "a", 0).is_some()).count())
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    // 50 messages in all, the first of them counted at put.
    assert_eq!(hits, 49);
}

#[test]
fn debug_output_never_shows_data_keys() {
    let secret = Zeroizing::new(b"0123456789-super-secret-data-key".to_vec());
    let key = CachedDataKey {
        data_key: secret.clone(),
        ..dk(1)
    };
    let dbg = format!("{key:?}");
    assert!(dbg.contains("redacted 32 bytes"), "{dbg}");
    assert!(
        !dbg.contains("super-secret") && !dbg.contains("48, 49, 50"),
        "{dbg}"
    );
    let (c, _) = cache(config());
    c.put_for_encrypt(URI, &ctx("a"), key, 1);
    c.put_for_decrypt(URI, b"w", &ctx("a"), secret);
    let dbg = format!("{c:?}");
    assert!(dbg.contains("entries: Some(2)"), "{dbg}");
    assert!(
        !dbg.contains("super-secret") && !dbg.contains("48, 49, 50"),
        "{dbg}"
    );
    assert!(!dbg.contains(URI), "{dbg}");
}
