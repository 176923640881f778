//! The audit filter: qualifiers and free text, all ANDed.
//!
//! `provider:aws key:orders principal:alice action:keys:rotate outcome:denied since:1h`.
//! What [`AuditQuery`] can filter goes to the gateway (principal, action — `crypto:*`
//! prefixes included —, outcome, since, and `key:` when it is a whole URI); the rest is
//! checked here on each event (provider, a `key:` that is part of a name or URI, free text).

use keygate_core::audit::{AuditEvent, AuditOutcome, AuditQuery};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// How far back the stream starts when the filter has no `since:`.
pub const DEFAULT_SINCE: Duration = Duration::hours(1);

/// A parsed filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    providers: Vec<String>,
    key: Option<String>,
    principal: Option<String>,
    action: Option<String>,
    outcome: Option<AuditOutcome>,
    since: Option<Since>,
    terms: Vec<String>,
}

/// Where the stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// This long before now.
    Ago(Duration),
    /// At this time.
    At(OffsetDateTime),
}

/// Parses the filter line.
///
/// # Errors
/// A message naming the bad qualifier or value (the caller keeps the typed text).
pub fn parse(input: &str) -> Result<Filter, String> {
    let mut f = Filter::default();
    for word in input.split_whitespace() {
        // A bare URI (`local://x`) is free text; `key:local://x` is a qualifier.
        let qualified = word.split_once(':').filter(|(_, v)| !v.starts_with("//"));
        let Some((q, v)) = qualified else {
            f.terms.push(word.to_lowercase());
            continue;
        };
        if v.is_empty() {
            return Err(format!("`{q}:` needs a value"));
        }
        let once = |slot: &Option<String>| match slot {
            Some(_) => Err(format!("`{q}:` given twice")),
            None => Ok(Some(v.to_owned())),
        };
        match q.to_lowercase().as_str() {
            "provider" | "p" => f.providers.push(v.to_lowercase()),
            "key" | "k" => f.key = once(&f.key)?,
            "principal" | "who" => f.principal = once(&f.principal)?,
            "action" | "a" => f.action = once(&f.action)?,
            "outcome" | "o" => {
                let outcome = ["success", "denied", "failure"]
                    .into_iter()
                    .find(|o| o.starts_with(&v.to_lowercase()))
                    .and_then(|o| o.parse().ok())
                    .ok_or_else(|| format!("outcome `{v}`: expected success, denied or failure"))?;
                f.outcome = Some(outcome);
            }
            "since" => f.since = Some(parse_since(v)?),
            other => {
                return Err(format!(
                    "unknown qualifier `{other}:` (use provider:, key:, principal:, action:, outcome:, since:)"
                ));
            }
        }
    }
    Ok(f)
}

/// `30m`, `1h`, `7d`, `2w`, or an RFC 3339 time.
fn parse_since(v: &str) -> Result<Since, String> {
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(Since::At(t));
    }
    let bad = || format!("since `{v}`: use 30m, 1h, 7d, 2w or an RFC 3339 time");
    let (n, unit) = v.split_at(v.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    if n <= 0 {
        return Err(bad());
    }
    let d = match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        "w" => Duration::weeks(n),
        _ => return Err(bad()),
    };
    Ok(Since::Ago(d))
}

impl Filter {
    /// The query sent to the gateway at `now`: every filter it can apply.
    pub fn query(&self, now: OffsetDateTime) -> AuditQuery {
        let since = match self.since {
            Some(Since::At(t)) => t,
            Some(Since::Ago(d)) => now - d,
            None => now - DEFAULT_SINCE,
        };
        AuditQuery {
            since: Some(since),
            key: self.key.clone().filter(|k| k.contains("://")),
            principal: self.principal.clone(),
            action: self.action.clone(),
            outcome: self.outcome,
            ..AuditQuery::default()
        }
    }

    /// Whether `event` passes the filters the gateway does not apply.
    pub fn matches(&self, event: &AuditEvent) -> bool {
        let provider = event.provider.as_deref().unwrap_or("").to_lowercase();
        let key = event.key.as_deref().unwrap_or("").to_lowercase();
        (self.providers.is_empty() || self.providers.iter().any(|p| provider.starts_with(p)))
            && self
                .key
                .as_deref()
                .is_none_or(|k| key.contains(&k.to_lowercase()))
            && self.terms.iter().all(|t| {
                [
                    key.as_str(),
                    &event.principal.to_lowercase(),
                    &event.action,
                    &event.request_id,
                    event.error_kind.as_deref().unwrap_or(""),
                ]
                .iter()
                .any(|field| field.contains(t.as_str()))
            })
    }

    /// The start of the stream, as the header shows it (`1h`, `2026-11-20 10:00`).
    pub fn since_label(&self) -> String {
        match self.since {
            None => "1h".to_owned(),
            Some(Since::Ago(d)) => {
                let s = d.whole_seconds();
                match s {
                    s if s % 604_800 == 0 => format!("{}w", s / 604_800),
                    s if s % 86_400 == 0 => format!("{}d", s / 86_400),
                    s if s % 3600 == 0 => format!("{}h", s / 3600),
                    s if s % 60 == 0 => format!("{}m", s / 60),
                    s => format!("{s}s"),
                }
            }
            Some(Since::At(t)) => crate::fmt::when(t),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    #[test]
    fn qualifiers_split_between_the_gateway_and_the_client() {
        let f = parse(
            "provider:aws key:orders principal:alice action:keys:rotate outcome:denied since:1h",
        )
        .unwrap();
        let q = f.query(NOW);
        assert_eq!(q.principal.as_deref(), Some("alice"));
        assert_eq!(q.action.as_deref(), Some("keys:rotate"));
        assert_eq!(q.outcome, Some(AuditOutcome::Denied));
        assert_eq!(q.since, Some(NOW - Duration::hours(1)));
        // A partial key name is matched here, not by the gateway (which wants a URI).
        assert_eq!(q.key, None);
        let uri = parse("key:aws-kms://us-east-1/orders").unwrap().query(NOW);
        assert_eq!(uri.key.as_deref(), Some("aws-kms://us-east-1/orders"));
        assert_eq!(
            parse("").unwrap().query(NOW).since,
            Some(NOW - DEFAULT_SINCE)
        );
        let at = parse("since:2026-11-20T10:00:00Z").unwrap();
        assert_eq!(at.query(NOW).since, Some(datetime!(2026-11-20 10:00 UTC)));
        assert_eq!(at.since_label(), "2026-11-20 10:00");
        assert_eq!(parse("since:7d").unwrap().since_label(), "1w");
    }

    #[test]
    fn bad_input_is_an_error_naming_it() {
        assert!(parse("outcome:maybe").unwrap_err().contains("maybe"));
        assert!(parse("since:yesterday").unwrap_err().contains("yesterday"));
        assert!(parse("since:-1h").is_err());
        assert!(parse("colour:red").unwrap_err().contains("colour"));
        assert!(parse("key:").unwrap_err().contains("needs a value"));
        assert!(parse("key:a key:b").unwrap_err().contains("twice"));
    }
}
