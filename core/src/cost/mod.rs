//! The cost view: what a key estate costs on the providers that hold it, and what it would
//! cost on each of the others.
//!
//! Keys are charged per month (per key, per key version, or both, as each cloud bills);
//! requests are counted from the audit log over a window and charged per 10,000 by
//! [`RequestKind`]. Figures are list prices from a [`PriceList`]; free tiers and discounts are
//! not deducted. All arithmetic is in whole micro-dollars, so sums are exact; reports show
//! dollars.

mod format;
mod pricing;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{KeySpec, ProviderKind};

pub use format::dollars;
pub use pricing::{PriceList, PriceOverride, Prices, PricingConfig};

/// The start of a window written as `--since` and `?since=` take it: a span back from `now`
/// (`30d`, `12h`, `2w`; at most 3660 days) or an RFC 3339 time.
///
/// # Errors
/// [`crate::Error::InvalidArgument`] for anything else, or a time after `now`.
pub fn parse_since(text: &str, now: OffsetDateTime) -> crate::Result<OffsetDateTime> {
    let bad = || {
        crate::Error::invalid(format!(
            "since must be a span such as 30d, 12h or 2w, or an RFC 3339 time, not {text:?}"
        ))
    };
    let since = if let Ok(t) =
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        t
    } else {
        let split = text.len().checked_sub(1).ok_or_else(bad)?;
        let (n, unit) = text.split_at_checked(split).ok_or_else(bad)?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        let hours = match unit {
            "h" => u64::from(n),
            "d" => u64::from(n) * 24,
            "w" => u64::from(n) * 24 * 7,
            _ => return Err(bad()),
        };
        if hours > 3660 * 24 {
            return Err(bad());
        }
        now - time::Duration::hours(i64::try_from(hours).map_err(|_| bad())?)
    };
    if since > now {
        return Err(crate::Error::invalid("since must not be in the future"));
    }
    Ok(since)
}

/// What a request is billed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A cryptographic call on a symmetric (AES or HMAC) key.
    Symmetric,
    /// A cryptographic call on an RSA 2048 key.
    Rsa2048,
    /// A cryptographic call on another asymmetric key (RSA 3072/4096, elliptic curves).
    Asymmetric,
    /// Random bytes.
    Random,
    /// Key management (list, describe, create, update, enable, disable, delete, rotate, ...).
    Management,
}

impl RequestKind {
    /// How a call of audit action `action` on a key of spec `spec` is billed; `None` for
    /// calls the clouds do not see (tokens, aliases, policy, audit, status).
    pub fn classify(action: &str, spec: Option<KeySpec>) -> Option<Self> {
        if action.starts_with("crypto:") {
            return Some(match spec {
                Some(KeySpec::Rsa2048) => Self::Rsa2048,
                Some(s) if s.is_asymmetric() => Self::Asymmetric,
                _ => Self::Symmetric,
            });
        }
        if action == "random:generate" {
            return Some(Self::Random);
        }
        action.starts_with("keys:").then_some(Self::Management)
    }

    fn price(self, p: &Prices) -> f64 {
        match self {
            Self::Symmetric => p.symmetric_per_10k,
            Self::Rsa2048 => p.rsa_2048_per_10k,
            Self::Asymmetric => p.asymmetric_per_10k,
            Self::Random => p.random_per_10k,
            Self::Management => p.management_per_10k,
        }
    }
}

/// A provider of the estate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateProvider {
    /// Its registered name.
    pub name: String,
    /// Its kind.
    pub kind: ProviderKind,
}

/// A key of the estate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateKey {
    /// Its URI, as audit rows name it.
    pub uri: String,
    /// The registered provider holding it.
    pub provider: String,
    /// Its spec.
    pub spec: KeySpec,
    /// Its live versions (not destroyed, not pending destruction); 0 for a key pending
    /// deletion or destroyed, which no cloud bills.
    pub versions: u32,
}

/// How many successful audited calls of one action the log holds for one provider and key
/// in the window: one row of [`crate::api::Gateway::cost`]'s audit count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionCount {
    /// The provider the rows name, if any.
    pub provider: Option<String>,
    /// The key the rows name, if any.
    pub key_uri: Option<String>,
    /// The audit action (`crypto:encrypt`).
    pub action: String,
    /// How many rows.
    pub count: u64,
}

/// Requests by [`RequestKind`].
pub type RequestTally = BTreeMap<RequestKind, u64>;

/// What an estate would cost on each kind of provider, in dollars.
pub type Elsewhere = BTreeMap<ProviderKind, f64>;

/// One key's cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyCost {
    /// The key's URI.
    pub uri: String,
    /// Its provider.
    pub provider: String,
    /// Its provider's kind.
    pub kind: ProviderKind,
    /// Its spec.
    pub spec: KeySpec,
    /// Its live versions.
    pub versions: u32,
    /// Its monthly charge.
    pub monthly_usd: f64,
    /// Requests on it in the window, by kind.
    pub requests: RequestTally,
    /// What those requests cost.
    pub requests_usd: f64,
}

/// One provider's cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderCost {
    /// Its registered name.
    pub provider: String,
    /// Its kind.
    pub kind: ProviderKind,
    /// Keys it holds that are billed (not pending deletion or destroyed).
    pub keys: u32,
    /// Their live versions.
    pub key_versions: u32,
    /// The keys' monthly charge.
    pub monthly_usd: f64,
    /// Requests to it in the window, by kind (its keys' and its own, such as random bytes).
    pub requests: RequestTally,
    /// What those requests cost.
    pub requests_usd: f64,
    /// `monthly_usd + requests_usd`.
    pub total_usd: f64,
    /// The same keys and requests priced on each kind of provider.
    pub elsewhere: Elsewhere,
}

/// The cost report: `keygate cost`, `GET /v1/cost` and the console's cost screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// The start of the request window.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// When the report was made (the end of the window).
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// Per provider, in registration order.
    pub providers: Vec<ProviderCost>,
    /// Per key, by provider then URI.
    pub keys: Vec<KeyCost>,
    /// The keys' monthly charge, all providers.
    pub monthly_usd: f64,
    /// The window's requests, all providers.
    pub requests_usd: f64,
    /// `monthly_usd + requests_usd`.
    pub total_usd: f64,
    /// The whole estate priced on each kind of provider.
    pub elsewhere: Elsewhere,
    /// Keys whose versions could not be listed (counted as one version) and other caveats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The prices used.
    pub prices: PriceList,
}

/// What [`price_estate`] prices.
#[derive(Debug, Clone)]
pub struct Estate {
    /// The providers, in registration order.
    pub providers: Vec<EstateProvider>,
    /// Their keys.
    pub keys: Vec<EstateKey>,
    /// The audit log's successful calls in the window.
    pub counts: Vec<ActionCount>,
    /// The window.
    pub since: OffsetDateTime,
    /// Its end.
    pub until: OffsetDateTime,
    /// Caveats to carry into the report.
    pub notes: Vec<String>,
}

const KINDS: [ProviderKind; 4] = [
    ProviderKind::Aws,
    ProviderKind::Gcp,
    ProviderKind::Azure,
    ProviderKind::Local,
];

/// A key's monthly charge in micro-dollars under `p`.
fn key_micros(p: &Prices, versions: u32) -> u64 {
    if versions == 0 {
        return 0;
    }
    let billed = p.max_billed_versions.map_or(versions, |m| versions.min(m));
    let extra = u64::from(billed.saturating_sub(p.included_versions));
    pricing::micros(p.key_month) + pricing::micros(p.version_month) * extra
}

/// Requests' charge in micro-dollars under `p`, rounded half up once per kind.
fn requests_micros(p: &Prices, tally: &RequestTally) -> u64 {
    tally
        .iter()
        .map(|(kind, n)| (n * pricing::micros(kind.price(p)) + 5_000) / 10_000)
        .sum()
}

fn usd(micros: u64) -> f64 {
    micros as f64 / 1_000_000.0
}

fn add(tally: &mut RequestTally, kind: RequestKind, n: u64) {
    *tally.entry(kind).or_default() += n;
}

/// Prices `estate` under `prices`.
pub fn price_estate(estate: &Estate, prices: &PriceList) -> CostReport {
    let kind_of = |provider: &str| {
        estate
            .providers
            .iter()
            .find(|p| p.name == provider)
            .map(|p| p.kind)
    };
    let mut key_tallies: BTreeMap<&str, RequestTally> = BTreeMap::new();
    let mut provider_tallies: BTreeMap<&str, RequestTally> = BTreeMap::new();
    for c in &estate.counts {
        let key = c
            .key_uri
            .as_deref()
            .and_then(|u| estate.keys.iter().find(|k| k.uri == u));
        let Some(kind) = RequestKind::classify(&c.action, key.map(|k| k.spec)) else {
            continue;
        };
        let provider = key
            .map(|k| k.provider.as_str())
            .or(c.provider.as_deref())
            .filter(|p| kind_of(p).is_some());
        if let Some(key) = key {
            add(key_tallies.entry(&key.uri).or_default(), kind, c.count);
        }
        if let Some(provider) = provider {
            add(provider_tallies.entry(provider).or_default(), kind, c.count);
        }
    }

    let mut keys: Vec<KeyCost> = Vec::new();
    for k in &estate.keys {
        let Some(kind) = kind_of(&k.provider) else {
            continue;
        };
        let p = prices.of(kind);
        let requests = key_tallies.get(k.uri.as_str()).cloned().unwrap_or_default();
        keys.push(KeyCost {
            uri: k.uri.clone(),
            provider: k.provider.clone(),
            kind,
            spec: k.spec,
            versions: k.versions,
            monthly_usd: usd(key_micros(p, k.versions)),
            requests_usd: usd(requests_micros(p, &requests)),
            requests,
        });
    }
    keys.sort_by(|a, b| (&a.provider, &a.uri).cmp(&(&b.provider, &b.uri)));

    let mut all_elsewhere = [0u64; 4];
    let (mut monthly, mut requests_total) = (0u64, 0u64);
    let mut providers = Vec::new();
    for ep in &estate.providers {
        let mine: Vec<&EstateKey> = estate
            .keys
            .iter()
            .filter(|k| k.provider == ep.name)
            .collect();
        let tally = provider_tallies
            .get(ep.name.as_str())
            .cloned()
            .unwrap_or_default();
        let on = |p: &Prices| {
            let m: u64 = mine.iter().map(|k| key_micros(p, k.versions)).sum();
            (m, requests_micros(p, &tally))
        };
        let (m, r) = on(prices.of(ep.kind));
        monthly += m;
        requests_total += r;
        let mut elsewhere = Elsewhere::new();
        for (i, kind) in KINDS.into_iter().enumerate() {
            let (m, r) = on(prices.of(kind));
            all_elsewhere[i] += m + r;
            elsewhere.insert(kind, usd(m + r));
        }
        providers.push(ProviderCost {
            provider: ep.name.clone(),
            kind: ep.kind,
            keys: u32::try_from(mine.iter().filter(|k| k.versions > 0).count()).unwrap_or(u32::MAX),
            key_versions: mine.iter().map(|k| k.versions).sum(),
            monthly_usd: usd(m),
            requests: tally,
            requests_usd: usd(r),
            total_usd: usd(m + r),
            elsewhere,
        });
    }
    CostReport {
        since: estate.since,
        until: estate.until,
        providers,
        keys,
        monthly_usd: usd(monthly),
        requests_usd: usd(requests_total),
        total_usd: usd(monthly + requests_total),
        elsewhere: KINDS
            .into_iter()
            .zip(all_elsewhere)
            .map(|(k, m)| (k, usd(m)))
            .collect(),
        notes: estate.notes.clone(),
        prices: prices.clone(),
    }
}
