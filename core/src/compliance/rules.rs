//! The rules, one function each: pure functions of the inventory and `now`.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::{Finding, GATEWAY, Inventory, Options, Rule, Severity};
use crate::access::Effect;
use crate::api::ProviderSummary;
use crate::{KeyMetadata, KeyRef, KeyState, KeyUsage};

/// Every rule's findings, unsorted.
pub(super) fn all(inv: &Inventory, options: Options, now: OffsetDateTime) -> Vec<Finding> {
    let aliases = aliases_by_key(inv);
    let mut out = Vec::new();
    for key in &inv.keys.keys {
        let provider = inv.providers.iter().find(|p| p.name == key.provider);
        out.extend(rotation_off(key, provider));
        out.extend(rotation_overdue(
            key,
            inv.versions.get(&key.uri).map(Vec::as_slice),
            options,
            now,
        ));
        let key_aliases = aliases
            .as_ref()
            .map(|a| a.get(&key.key_ref()).cloned().unwrap_or_default());
        out.extend(pending_deletion(key, key_aliases.as_deref(), now));
        out.extend(disabled_with_alias(key, key_aliases.as_deref()));
        if let Some(policy) = inv.key_policies.get(&key.uri) {
            out.extend(wildcard_key_policy(key, policy));
        }
        if let Some(last_use) = &inv.last_use {
            out.extend(unused(key, last_use.get(&key.uri).copied(), options, now));
        }
    }
    if let Some(policy) = &inv.access_policy {
        out.extend(wildcard_access_policy(policy));
    }
    out
}

/// Alias names (`alias/x`) by the key they point at; `None` when aliases were not readable.
fn aliases_by_key(inv: &Inventory) -> Option<BTreeMap<KeyRef, Vec<String>>> {
    let aliases = inv.aliases.as_ref()?;
    let mut map: BTreeMap<KeyRef, Vec<String>> = BTreeMap::new();
    for a in aliases {
        map.entry(a.target.clone())
            .or_default()
            .push(format!("alias/{}", a.name));
    }
    Some(map)
}

fn finding(key: &KeyMetadata, rule: Rule, severity: Severity, message: String) -> Finding {
    Finding {
        severity,
        rule,
        provider: key.provider.clone(),
        key: Some(key.uri.clone()),
        name: key.name.clone(),
        message,
    }
}

fn day(t: OffsetDateTime) -> String {
    let d = t.date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// An enabled encryption key without a schedule, where its provider could schedule one.
/// Keys whose provider cannot rotate them automatically are not findings: nothing in
/// keygate could turn it on.
pub(super) fn rotation_off(
    key: &KeyMetadata,
    provider: Option<&ProviderSummary>,
) -> Option<Finding> {
    let caps = &provider?.capabilities;
    let schedulable =
        caps.rotation_period.is_some() && caps.scheduled_rotation_specs.contains(&key.spec);
    if key.state != KeyState::Enabled
        || key.usage != KeyUsage::Encrypt
        || key.rotation.is_some()
        || !schedulable
    {
        return None;
    }
    let bounds = caps
        .rotation_period
        .map(|r| format!(" ({}–{} days)", r.min, r.max))
        .unwrap_or_default();
    Some(finding(
        key,
        Rule::RotationOff,
        Severity::Medium,
        format!(
            "automatic rotation is off for this {} encryption key; {} can rotate it on a schedule{bounds}",
            key.spec, key.provider
        ),
    ))
}

/// A schedule whose next rotation is past, or whose newest version is older than the period
/// (both beyond the grace).
pub(super) fn rotation_overdue(
    key: &KeyMetadata,
    versions: Option<&[crate::KeyVersion]>,
    options: Options,
    now: OffsetDateTime,
) -> Option<Finding> {
    let schedule = key.rotation?;
    if key.state != KeyState::Enabled {
        return None;
    }
    let grace = Duration::days(i64::from(options.rotation_grace_days));
    if let Some(next) = schedule.next_rotation
        && next + grace < now
    {
        let late = (now - next).whole_days();
        return Some(finding(
            key,
            Rule::RotationOverdue,
            Severity::High,
            format!(
                "rotation was due on {} ({late} days ago; every {} days)",
                day(next),
                schedule.period_days
            ),
        ));
    }
    let newest = versions?.iter().map(|v| v.created).max()?;
    let period = Duration::days(i64::from(schedule.period_days));
    if newest + period + grace < now {
        return Some(finding(
            key,
            Rule::RotationOverdue,
            Severity::High,
            format!(
                "the newest version is {} days old (created {}), older than the {}-day rotation period",
                (now - newest).whole_days(),
                day(newest),
                schedule.period_days
            ),
        ));
    }
    None
}

/// A key scheduled for deletion; worse while aliases still point at it (whatever uses the
/// alias breaks on the deletion date).
pub(super) fn pending_deletion(
    key: &KeyMetadata,
    aliases: Option<&[String]>,
    now: OffsetDateTime,
) -> Option<Finding> {
    let KeyState::PendingDeletion { deletion_date } = key.state else {
        return None;
    };
    let days = (deletion_date - now).whole_days().max(0);
    let aliases = aliases.unwrap_or_default();
    if aliases.is_empty() {
        return Some(finding(
            key,
            Rule::PendingDeletion,
            Severity::Medium,
            format!(
                "scheduled for deletion on {} (in {days} days)",
                day(deletion_date)
            ),
        ));
    }
    Some(finding(
        key,
        Rule::PendingDeletion,
        Severity::High,
        format!(
            "scheduled for deletion on {} (in {days} days) while {} still point at it",
            day(deletion_date),
            aliases.join(", ")
        ),
    ))
}

/// A disabled key that aliases still point at: callers of the alias get errors.
pub(super) fn disabled_with_alias(
    key: &KeyMetadata,
    aliases: Option<&[String]>,
) -> Option<Finding> {
    let aliases = aliases?;
    if key.state != KeyState::Disabled || aliases.is_empty() {
        return None;
    }
    Some(finding(
        key,
        Rule::DisabledWithAlias,
        Severity::Medium,
        format!(
            "disabled, but {} still point{} at it",
            aliases.join(", "),
            if aliases.len() == 1 { "s" } else { "" }
        ),
    ))
}

/// Each wildcard binding of a key's own policy.
pub(super) fn wildcard_key_policy(key: &KeyMetadata, policy: &crate::Policy) -> Vec<Finding> {
    policy
        .bindings
        .iter()
        .filter(|b| b.is_wildcard())
        .map(|b| {
            let grant = match (&b.role, b.actions.is_empty()) {
                (Some(role), _) => format!("role {role}"),
                (None, false) => b.actions.join(", "),
                (None, true) => "access".to_owned(),
            };
            finding(
                key,
                Rule::WildcardPrincipal,
                Severity::High,
                format!(
                    "the key policy grants {grant} to every principal ({})",
                    b.principal
                ),
            )
        })
        .collect()
}

/// Each top-level allow statement of the gateway access policy that applies to every
/// principal: one naming `*`, or one naming neither principals nor roles (the policy applies
/// those to everyone). Denies to everyone restrict, so they are not findings.
pub(super) fn wildcard_access_policy(policy: &crate::access::AccessPolicy) -> Vec<Finding> {
    policy
        .statements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.effect == Effect::Allow)
        .filter_map(|(i, s)| {
            let why = if s.principals.iter().any(|p| p == "*") {
                "names the principal \"*\""
            } else if s.principals.is_empty() && s.roles.is_empty() {
                "names no principal or role, so it applies to everyone"
            } else {
                return None;
            };
            Some(Finding {
                severity: Severity::High,
                rule: Rule::WildcardPrincipal,
                provider: GATEWAY.to_owned(),
                key: None,
                name: format!("access policy statements[{i}]"),
                message: format!("allows {} and {why}", s.actions.join(", ")),
            })
        })
        .collect()
}

/// An enabled key, older than the window, without a successful crypto call in it.
pub(super) fn unused(
    key: &KeyMetadata,
    last_use: Option<OffsetDateTime>,
    options: Options,
    now: OffsetDateTime,
) -> Option<Finding> {
    let window = Duration::days(i64::from(options.unused_days));
    let since = now - window;
    // A key younger than the window has not had the chance to be unused for that long.
    if key.state != KeyState::Enabled || key.created > since {
        return None;
    }
    let message = match last_use {
        Some(t) if t >= since => return None,
        Some(t) => format!(
            "no successful crypto use in the last {} days (last used {})",
            options.unused_days,
            day(t)
        ),
        None => format!(
            "no successful crypto use in the last {} days",
            options.unused_days
        ),
    };
    Some(finding(key, Rule::UnusedKey, Severity::Low, message))
}
