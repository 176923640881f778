//! Compliance findings across providers: what a reviewer asks of a key estate, computed from
//! what the gateway API returns.
//!
//! The work is split so that the rules are pure and testable without a gateway:
//! - [`gather`] reads an [`Inventory`] through any [`Gateway`](crate::api::Gateway) (keys,
//!   aliases, key policies, versions, the gateway access policy, recent audit use), reading
//!   concurrently and recording what could not be read instead of failing;
//! - [`evaluate`] turns an inventory into a [`Report`] at a given `now`;
//! - [`Report::to_markdown`], [`Report::to_csv`] and [`Report::to_json`] render it.
//!
//! # Rules
//!
//! | id | severity | fires when |
//! |----|----------|------------|
//! | `rotation-off` | medium | an enabled encryption key whose provider can schedule rotation for its spec has no schedule |
//! | `rotation-overdue` | high | a schedule's next rotation is past (beyond the grace), or the newest version is older than the period plus the grace |
//! | `pending-deletion` | medium (high while an alias still points at it) | a key is scheduled for deletion |
//! | `disabled-with-alias` | medium | a disabled key is still the target of an alias |
//! | `wildcard-principal` | high | a key policy binds `*`/`allUsers`, or a gateway access-policy allow statement applies to every principal |
//! | `unused-key` | low | an enabled key older than N days had no successful `crypto:*` call in the last N days |
//!
//! # JSON shape (stable)
//!
//! ```json
//! {
//!   "generated": "2026-11-23T12:00:00Z",
//!   "options": {"unused_days": 90, "rotation_grace_days": 0},
//!   "summary": {
//!     "keys": 12, "findings": 4,
//!     "by_severity": {"high": 1, "medium": 2, "low": 1},
//!     "by_rule": {"rotation-off": 2, ...},
//!     "by_provider": {"aws": {"rotation-off": 1, ...}, "gateway": {...}}
//!   },
//!   "findings": [{"severity": "high", "rule": "rotation-overdue", "provider": "aws",
//!                 "key": "aws-kms://...", "name": "orders", "message": "..."}],
//!   "errors": [{"source": "azure", "key": null, "message": "..."}]
//! }
//! ```
//!
//! `by_rule` and every `by_provider` entry list every rule (zero included); `by_provider`
//! lists every provider that was checked, and `gateway` for the access policy. A finding about
//! the gateway access policy has `provider: "gateway"` and `key: null`.

mod gather;
mod render;
mod rules;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::access::AccessPolicy;
use crate::api::{Alias, KeyListing, ProviderSummary};
use crate::{Error, KeyVersion, Policy, Result};

pub use gather::{gather, read};

/// How bad a finding is. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Should be fixed.
    Medium,
    /// Fix first.
    High,
}

impl Severity {
    /// Every severity, highest first.
    pub const ALL: [Severity; 3] = [Self::High, Self::Medium, Self::Low];

    /// The lowercase name (`high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = Error;

    /// Parses `low`, `medium` or `high`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            other => Err(Error::invalid(format!(
                "unknown severity {other:?}: expected low, medium or high"
            ))),
        }
    }
}

/// A compliance rule. See the module docs for what each checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rule {
    /// `rotation-off`: an enabled encryption key that could rotate on a schedule has none.
    #[serde(rename = "rotation-off")]
    RotationOff,
    /// `rotation-overdue`: a scheduled rotation is past due, beyond the grace.
    #[serde(rename = "rotation-overdue")]
    RotationOverdue,
    /// `pending-deletion`: a key is scheduled for deletion.
    #[serde(rename = "pending-deletion")]
    PendingDeletion,
    /// `disabled-with-alias`: an alias still points at a disabled key.
    #[serde(rename = "disabled-with-alias")]
    DisabledWithAlias,
    /// `wildcard-principal`: a key policy or an access-policy allow applies to everyone.
    #[serde(rename = "wildcard-principal")]
    WildcardPrincipal,
    /// `unused-key`: an enabled key older than N days had no successful crypto call in the last
    /// N days.
    #[serde(rename = "unused-key")]
    UnusedKey,
}

impl Rule {
    /// Every rule, in report order.
    pub const ALL: [Rule; 6] = [
        Self::RotationOff,
        Self::RotationOverdue,
        Self::PendingDeletion,
        Self::DisabledWithAlias,
        Self::WildcardPrincipal,
        Self::UnusedKey,
    ];

    /// The rule id as reports print it (`rotation-off`).
    pub fn id(self) -> &'static str {
        match self {
            Self::RotationOff => "rotation-off",
            Self::RotationOverdue => "rotation-overdue",
            Self::PendingDeletion => "pending-deletion",
            Self::DisabledWithAlias => "disabled-with-alias",
            Self::WildcardPrincipal => "wildcard-principal",
            Self::UnusedKey => "unused-key",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One finding: a rule that fired on a key, or on the gateway access policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// Which rule found it.
    pub rule: Rule,
    /// The provider holding the key, or `gateway` for the access policy.
    pub provider: String,
    /// The key's URI; `None` for a finding about the gateway access policy.
    pub key: Option<String>,
    /// The key's name (or what the finding is about, for the access policy).
    pub name: String,
    /// What is wrong, for people.
    pub message: String,
}

/// Something that could not be read; the rules that needed it did not run on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceError {
    /// A provider name, or `aliases`, `audit`, `access-policy`.
    pub source: String,
    /// The key, when the failure was about one key (its policy or versions).
    pub key: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// Thresholds of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// A key with no successful crypto use for this many days is unused.
    pub unused_days: u32,
    /// Days past a due rotation before it counts as overdue (providers rotate on a timer,
    /// so a rotation due an hour ago is not yet a finding when this is 1).
    pub rotation_grace_days: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            unused_days: 90,
            rotation_grace_days: 0,
        }
    }
}

/// Everything the rules look at, as read from a gateway (or built by hand in tests).
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// The registered providers and their capabilities.
    pub providers: Vec<ProviderSummary>,
    /// Keys across providers, with providers that failed.
    pub keys: KeyListing,
    /// Every alias; `None` when they could not be read (the alias rules then do not run).
    pub aliases: Option<Vec<Alias>>,
    /// Key policies by key URI, for keys whose provider has them.
    pub key_policies: BTreeMap<String, Policy>,
    /// Versions by key URI, for keys with a rotation schedule.
    pub versions: BTreeMap<String, Vec<KeyVersion>>,
    /// The gateway access policy, when it could be read.
    pub access_policy: Option<AccessPolicy>,
    /// The last successful `crypto:*` call per key URI within the window; `None` when the
    /// audit log could not be read (the unused rule then does not run).
    pub last_use: Option<BTreeMap<String, OffsetDateTime>>,
    /// What could not be read besides whole providers (those are in `keys.errors`).
    pub errors: Vec<SourceError>,
}

/// Counts of findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Keys checked.
    pub keys: usize,
    /// Findings in all.
    pub findings: usize,
    /// Findings per severity (`high`, `medium`, `low`; zeros included).
    pub by_severity: BTreeMap<Severity, usize>,
    /// Findings per rule id (every rule, zeros included).
    pub by_rule: BTreeMap<Rule, usize>,
    /// Findings per provider and rule (every checked provider, every rule).
    pub by_provider: BTreeMap<String, BTreeMap<Rule, usize>>,
}

/// A compliance report. See the module docs for its JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// When it was computed.
    #[serde(with = "time::serde::rfc3339")]
    pub generated: OffsetDateTime,
    /// The thresholds used.
    pub options: Options,
    /// Counts of the findings: by severity, by rule and by provider.
    pub summary: Summary,
    /// Findings, highest severity first, then by provider, key and rule.
    pub findings: Vec<Finding>,
    /// What could not be read (providers, aliases, policies, the audit log).
    pub errors: Vec<SourceError>,
}

/// The provider name findings about the gateway access policy carry.
pub const GATEWAY: &str = "gateway";

/// Applies every rule to `inventory` at `now`.
pub fn evaluate(inventory: &Inventory, options: Options, now: OffsetDateTime) -> Report {
    let mut findings = rules::all(inventory, options, now);
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.provider.cmp(&b.provider))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.message.cmp(&b.message))
    });
    let mut errors: Vec<SourceError> = inventory
        .keys
        .errors
        .iter()
        .map(|f| SourceError {
            source: f.provider.clone(),
            key: None,
            message: format!("{}: {}", f.kind, f.message),
        })
        .collect();
    errors.extend(inventory.errors.iter().cloned());
    let summary = summarize(inventory, &findings);
    Report {
        generated: now,
        options,
        summary,
        findings,
        errors,
    }
}

fn summarize(inventory: &Inventory, findings: &[Finding]) -> Summary {
    let zeros = || {
        Rule::ALL
            .iter()
            .map(|r| (*r, 0))
            .collect::<BTreeMap<_, _>>()
    };
    let mut by_provider: BTreeMap<String, BTreeMap<Rule, usize>> = inventory
        .providers
        .iter()
        .filter(|p| !inventory.keys.errors.iter().any(|e| e.provider == p.name))
        .map(|p| (p.name.clone(), zeros()))
        .collect();
    if inventory.access_policy.is_some() {
        by_provider.insert(GATEWAY.to_owned(), zeros());
    }
    let mut by_rule = zeros();
    let mut by_severity: BTreeMap<Severity, usize> =
        Severity::ALL.iter().map(|s| (*s, 0)).collect();
    for f in findings {
        *by_rule.entry(f.rule).or_default() += 1;
        *by_severity.entry(f.severity).or_default() += 1;
        *by_provider
            .entry(f.provider.clone())
            .or_insert_with(zeros)
            .entry(f.rule)
            .or_default() += 1;
    }
    Summary {
        keys: inventory.keys.keys.len(),
        findings: findings.len(),
        by_severity,
        by_rule,
        by_provider,
    }
}

impl Report {
    /// The findings at or above `severity`.
    pub fn at_least(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= severity)
            .count()
    }
}

#[cfg(test)]
mod tests;
