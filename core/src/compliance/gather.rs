//! Reading an [`Inventory`] through the gateway API.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use time::{Duration, OffsetDateTime};

use super::{Inventory, Options, Report, SourceError, evaluate};
use crate::api::Gateway;
use crate::audit::{AuditOutcome, AuditQuery};
use crate::{KeyMetadata, KeyState, Result};

/// How many per-key reads (policies, versions) run at once: enough to hide latency to a
/// cloud, few enough not to trip its rate limits.
const PER_KEY_CONCURRENCY: usize = 8;

/// Reads everything the rules need from `gateway` and evaluates it at `now`.
///
/// Keys are listed first (one call across providers); aliases, the access policy, the audit
/// window, key policies and versions are then read concurrently. A provider, alias listing,
/// policy or audit read that fails is reported in the report's `errors` and the rules that
/// needed it skip what is missing.
///
/// # Errors
/// Only when the providers or the key listing cannot be read at all (the gateway is
/// unreachable or the caller may not list keys).
pub async fn gather(
    gateway: &dyn Gateway,
    options: Options,
    now: OffsetDateTime,
) -> Result<Report> {
    let inventory = read(gateway, options, now).await?;
    Ok(evaluate(&inventory, options, now))
}

/// The inventory alone (see [`gather`]).
///
/// # Errors
/// As [`gather`].
pub async fn read(
    gateway: &dyn Gateway,
    options: Options,
    now: OffsetDateTime,
) -> Result<Inventory> {
    let (providers, keys) = futures::try_join!(gateway.providers(), gateway.list_keys(None))?;
    let with_policy: Vec<&KeyMetadata> = keys
        .keys
        .iter()
        .filter(|k| k.state != KeyState::Destroyed)
        .filter(|k| {
            providers
                .iter()
                .any(|p| p.name == k.provider && p.capabilities.key_policy)
        })
        .collect();
    let with_schedule: Vec<&KeyMetadata> = keys
        .keys
        .iter()
        .filter(|k| k.rotation.is_some() && k.state == KeyState::Enabled)
        .filter(|k| {
            providers
                .iter()
                .any(|p| p.name == k.provider && p.capabilities.list_versions)
        })
        .collect();
    // The futures are built up front with owned URIs: a stream of closures returning
    // futures that borrow their argument is not `Send` for every lifetime, and the console
    // runs this on a spawned task.
    let policy_reads: Vec<_> = with_policy
        .iter()
        .map(|k| {
            let uri = k.uri.clone();
            let key = crate::KeyLocator::of(k);
            async move {
                let result = gateway.get_key_policy(&key).await.map(|r| r.value);
                (uri, result)
            }
        })
        .collect();
    let version_reads: Vec<_> = with_schedule
        .iter()
        .map(|k| {
            let uri = k.uri.clone();
            let key = crate::KeyLocator::of(k);
            async move {
                let result = gateway.list_versions(&key).await.map(|r| r.value);
                (uri, result)
            }
        })
        .collect();
    let policies = futures::stream::iter(policy_reads)
        .buffer_unordered(PER_KEY_CONCURRENCY)
        .collect::<Vec<_>>();
    let versions = futures::stream::iter(version_reads)
        .buffer_unordered(PER_KEY_CONCURRENCY)
        .collect::<Vec<_>>();
    let (aliases, access_policy, last_use, policies, versions) = futures::join!(
        gateway.list_aliases(),
        gateway.get_access_policy(),
        last_use(
            gateway,
            now - Duration::days(i64::from(options.unused_days))
        ),
        policies,
        versions,
    );
    let mut errors = Vec::new();
    let mut error = |source: &str, key: Option<&str>, e: &crate::Error| {
        errors.push(SourceError {
            source: source.to_owned(),
            key: key.map(str::to_owned),
            message: e.to_string(),
        });
    };
    let aliases = aliases.map_err(|e| error("aliases", None, &e)).ok();
    let access_policy = access_policy
        .map_err(|e| error("access-policy", None, &e))
        .ok();
    let last_use = last_use.map_err(|e| error("audit", None, &e)).ok();
    let provider_of = |uri: &str| {
        keys.keys
            .iter()
            .find(|k| k.uri == uri)
            .map(|k| k.provider.clone())
            .unwrap_or_default()
    };
    let mut key_policies = BTreeMap::new();
    for (uri, result) in policies {
        match result {
            Ok(p) => {
                key_policies.insert(uri, p);
            }
            Err(e) => error(&provider_of(&uri), Some(&uri), &e),
        }
    }
    let mut key_versions = BTreeMap::new();
    for (uri, result) in versions {
        match result {
            Ok(v) => {
                key_versions.insert(uri, v);
            }
            Err(e) => error(&provider_of(&uri), Some(&uri), &e),
        }
    }
    // Concurrent reads finish in any order; the report should not.
    errors.sort_by(|a, b| (&a.source, &a.key).cmp(&(&b.source, &b.key)));
    Ok(Inventory {
        providers,
        keys,
        aliases,
        key_policies,
        versions: key_versions,
        access_policy,
        last_use,
        errors,
    })
}

/// The last successful `crypto:*` call per key since `since`, a page at a time.
async fn last_use(
    gateway: &dyn Gateway,
    since: OffsetDateTime,
) -> Result<BTreeMap<String, OffsetDateTime>> {
    let mut query = AuditQuery {
        since: Some(since),
        action: Some("crypto:*".to_owned()),
        outcome: Some(AuditOutcome::Success),
        limit: Some(AuditQuery::MAX_LIMIT),
        ..AuditQuery::default()
    };
    let mut last: BTreeMap<String, OffsetDateTime> = BTreeMap::new();
    loop {
        let page = gateway.query_audit(&query).await?;
        for event in page.items {
            if let Some(key) = event.key {
                let t = last.entry(key).or_insert(event.time);
                *t = (*t).max(event.time);
            }
        }
        let Some(cursor) = page.next_cursor else {
            return Ok(last);
        };
        let after = cursor.parse::<u64>().map_err(|_| {
            crate::Error::unavailable(format!(
                "the gateway returned a bad audit cursor {cursor:?}"
            ))
        })?;
        query.after = Some(after);
    }
}
