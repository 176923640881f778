//! The keys filter: free text and qualifiers, all ANDed.
//!
//! `provider:aws state:disabled label:team=pay spec:rsa usage:sign orders` keeps the keys
//! of provider `aws` (or a provider whose name starts with `aws`) that are disabled, carry the
//! label `team=pay`, have an RSA spec, sign, and mention `orders` in their name, aliases, URI
//! or description. `label:team` alone asks for the label whatever its value.

use keygate_core::KeySpec;

use super::table::Row;

/// A parsed filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    terms: Vec<String>,
    providers: Vec<String>,
    states: Vec<&'static str>,
    labels: Vec<(String, Option<String>)>,
    specs: Vec<String>,
    usages: Vec<&'static str>,
}

const STATES: [&str; 4] = ["enabled", "disabled", "pending_deletion", "destroyed"];
const USAGES: [&str; 3] = ["encrypt", "sign", "mac"];

/// Parses what was typed after `/`.
///
/// # Errors
/// A message naming the bad qualifier or value (the caller keeps the typed text).
pub fn parse(input: &str) -> Result<Filter, String> {
    let mut f = Filter::default();
    for word in input.split_whitespace() {
        // A URI (`local://x`) is free text, not a qualifier.
        let qualified = word.split_once(':').filter(|_| !word.contains("://"));
        let Some((q, v)) = qualified else {
            f.terms.push(word.to_lowercase());
            continue;
        };
        let v_low = v.to_lowercase();
        if v.is_empty() {
            return Err(format!("`{q}:` needs a value"));
        }
        match q.to_lowercase().as_str() {
            "provider" | "p" => f.providers.push(v_low),
            "state" => {
                let state = STATES
                    .into_iter()
                    .find(|s| s.starts_with(&v_low))
                    .ok_or_else(|| format!("state `{v}`: expected one of {}", STATES.join(", ")))?;
                f.states.push(state);
            }
            "label" | "l" => match v.split_once('=') {
                Some((k, val)) => f.labels.push((k.to_owned(), Some(val.to_owned()))),
                None => f.labels.push((v.to_owned(), None)),
            },
            "spec" => {
                let norm = v_low.replace('-', "_");
                if !KeySpec::ALL
                    .iter()
                    .any(|s| s.as_str().to_lowercase().contains(&norm))
                {
                    return Err(format!(
                        "spec `{v}` matches no key spec (aes, rsa, ec, hmac…)"
                    ));
                }
                f.specs.push(norm);
            }
            "usage" => {
                let usage = USAGES
                    .into_iter()
                    .find(|u| *u == v_low)
                    .ok_or_else(|| format!("usage `{v}`: expected encrypt, sign or mac"))?;
                f.usages.push(usage);
            }
            other => {
                return Err(format!(
                    "unknown qualifier `{other}:` (use provider:, state:, label:, spec:, usage:)"
                ));
            }
        }
    }
    Ok(f)
}

impl Filter {
    /// True when it keeps every key.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `row` passes. Allocation-free: this runs once per key per keystroke.
    pub fn matches(&self, row: &Row) -> bool {
        let k = &row.meta;
        self.providers.iter().all(|p| {
            k.provider.eq_ignore_ascii_case(p)
                || k.provider
                    .get(..p.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(p))
        }) && self.states.iter().all(|s| k.state.as_str() == *s)
            && self.usages.iter().all(|u| k.usage.as_str() == *u)
            && self.specs.iter().all(|s| spec_matches(k.spec, s))
            && self.labels.iter().all(|(key, val)| match val {
                Some(v) => k.labels.get(key).is_some_and(|x| x == v),
                None => k.labels.contains_key(key),
            })
            && self
                .terms
                .iter()
                .all(|t| row.haystack().contains(t.as_str()))
    }
}

fn spec_matches(spec: KeySpec, needle: &str) -> bool {
    // Spec names are ASCII upper case; compare without allocating.
    let name = spec.as_str().as_bytes();
    let n = needle.as_bytes();
    n.len() <= name.len() && name.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::fixtures;

    fn rows() -> Vec<Row> {
        let mut all = fixtures::keys("local");
        all.extend(fixtures::keys("aws"));
        all.into_iter().map(|k| Row::new(k, Vec::new())).collect()
    }

    fn names(filter: &str) -> Vec<String> {
        let f = parse(filter).unwrap();
        rows()
            .into_iter()
            .filter(|r| f.matches(r))
            .map(|r| r.meta.name)
            .collect()
    }

    #[test]
    fn qualifiers_and_text_are_anded() {
        assert_eq!(names("provider:aws"), ["orders", "legacy"]);
        assert_eq!(names("provider:aws state:disabled"), ["legacy"]);
        assert_eq!(names("label:team=pay"), ["payments", "orders"]);
        assert_eq!(names("label:env"), ["payments"]);
        assert_eq!(names("spec:rsa"), ["legacy"]);
        assert_eq!(names("usage:sign"), ["signing"]);
        assert_eq!(names("state:pending"), ["old-reports"]);
        assert_eq!(names("PAY"), ["payments"]);
        assert_eq!(names("card"), ["payments"]);
        assert_eq!(names("local://sign"), ["signing"]);
        assert_eq!(names("label:team=pay provider:aws"), ["orders"]);
        assert!(names("provider:gcp").is_empty());
        assert_eq!(names("").len(), 5);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_qualifiers_say_what_is_wrong() {
        assert!(
            parse("colour:red")
                .unwrap_err()
                .contains("unknown qualifier `colour:`")
        );
        assert!(
            parse("state:sleepy")
                .unwrap_err()
                .contains("expected one of")
        );
        assert!(
            parse("usage:wrap")
                .unwrap_err()
                .contains("encrypt, sign or mac")
        );
        assert!(
            parse("spec:dsa")
                .unwrap_err()
                .contains("matches no key spec")
        );
        assert!(parse("provider:").unwrap_err().contains("needs a value"));
    }
}
