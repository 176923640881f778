//! A statement's `Condition` element: every operator block must match, every key in a block
//! must match, and a key matches when the request's value matches one of the listed values
//! (for a negated operator: none of them).
//!
//! Operators: `StringEquals`, `StringNotEquals`, `StringEqualsIgnoreCase`,
//! `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`, `ArnEquals`, `ArnLike`,
//! `ArnNotEquals`, `ArnNotLike`, `Bool`, `Null`; each (but `Null`) with the `IfExists`
//! suffix, and the `ForAnyValue:`/`ForAllValues:` qualifiers for multi-valued keys.
//!
//! Keys: `kms:EncryptionContext:<key>` (the key name case-insensitive, the value not),
//! `kms:EncryptionContextKeys` (multi-valued), `kms:ViaService`, `kms:CallerAccount`,
//! `kms:GrantIsForAWSResource`, `aws:PrincipalArn`. A key keygate does not supply is absent
//! from the request, as a key the request does not carry is in AWS: a positive operator on
//! it does not match, a negated one does, `Null: true` does (and `…IfExists` matches).
//! Operators keygate does not evaluate (numeric, date, IP address, binary) are refused when
//! the policy is set ([`unsupported_operators`](super::unsupported_operators)); met at
//! evaluation anyway, they never match.

use serde_json::Value;

use super::Request;
use super::pattern;

/// How a condition operator compares one request value with one policy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Exact, case-sensitive.
    Equals,
    /// Exact, ASCII case-insensitive.
    EqualsIgnoreCase,
    /// With `*` and `?` wildcards, case-sensitive.
    Like,
    /// `true`/`false`, case-insensitive.
    Bool,
}

/// A parsed condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// How values compare.
    pub compare: Compare,
    /// A `Not` operator: matches when no listed value matches.
    pub negated: bool,
    /// The `IfExists` suffix: an absent key matches.
    pub if_exists: bool,
    /// `ForAnyValue:` (`Some(false)`) or `ForAllValues:` (`Some(true)`).
    pub for_all: Option<bool>,
}

/// The operator named `name`, or `None` for one keygate does not evaluate. `Null` is not an
/// [`Operator`]: it is handled on its own.
pub fn operator(name: &str) -> Option<Operator> {
    let (for_all, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (Some(false), rest)
    } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (Some(true), rest)
    } else {
        (None, name)
    };
    let (if_exists, base) = match rest.strip_suffix("IfExists") {
        Some(base) => (true, base),
        None => (false, rest),
    };
    let (compare, negated) = match base {
        "StringEquals" | "ArnEquals" => (Compare::Equals, false),
        "StringNotEquals" | "ArnNotEquals" => (Compare::Equals, true),
        "StringEqualsIgnoreCase" => (Compare::EqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Compare::EqualsIgnoreCase, true),
        "StringLike" | "ArnLike" => (Compare::Like, false),
        "StringNotLike" | "ArnNotLike" => (Compare::Like, true),
        "Bool" => (Compare::Bool, false),
        _ => return None,
    };
    Some(Operator {
        compare,
        negated,
        if_exists,
        for_all,
    })
}

/// Whether the condition operator `name` is one keygate evaluates.
pub fn is_supported(name: &str) -> bool {
    name == "Null" || operator(name).is_some()
}

/// Whether a `Condition` element matches `request`.
pub fn matches(condition: &Value, request: &Request<'_>) -> bool {
    let Some(blocks) = condition.as_object() else {
        return false;
    };
    blocks.iter().all(|(name, block)| {
        let Some(keys) = block.as_object() else {
            return false;
        };
        keys.iter().all(|(key, expected)| {
            let expected = values(expected);
            let actual = request_values(key, request);
            if name == "Null" {
                return null_matches(&expected, actual.is_none());
            }
            match operator(name) {
                Some(op) => key_matches(op, actual.as_deref(), &expected),
                None => false,
            }
        })
    })
}

/// A condition's values: a string, a boolean, a number, or a list of them, as text.
fn values(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().flat_map(values).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

/// `Null`: `true` matches an absent key, `false` a present one.
fn null_matches(expected: &[String], absent: bool) -> bool {
    expected
        .iter()
        .any(|v| v.eq_ignore_ascii_case("true") == absent)
}

/// The request's values for the condition key `key` (case-insensitive), `None` when the
/// request does not carry it.
fn request_values(key: &str, request: &Request<'_>) -> Option<Vec<String>> {
    let lower = key.to_ascii_lowercase();
    if let Some(name) = lower.strip_prefix("kms:encryptioncontext:") {
        let context = request.context?;
        return context
            .0
            .iter()
            .find(|(k, _)| k.to_ascii_lowercase() == name)
            .map(|(_, v)| vec![v.clone()]);
    }
    match lower.as_str() {
        "kms:encryptioncontextkeys" => {
            let context = request.context?;
            (!context.is_empty()).then(|| context.0.keys().cloned().collect())
        }
        "kms:viaservice" => request.via_service.map(|s| vec![s.to_owned()]),
        "kms:calleraccount" => Some(vec![request.account.to_owned()]),
        "kms:grantisforawsresource" => request
            .grant_is_for_aws_resource
            .map(|b| vec![b.to_string()]),
        "aws:principalarn" => Some(vec![request.principal_arn()]),
        _ => None,
    }
}

/// One key of one operator block.
fn key_matches(op: Operator, actual: Option<&[String]>, expected: &[String]) -> bool {
    let one = |value: &str| {
        let hit = expected.iter().any(|e| compare(op.compare, value, e));
        hit != op.negated
    };
    let actual = actual.filter(|values| !values.is_empty());
    match (op.for_all, actual) {
        // ForAllValues: every value matches; true when the request has none.
        (Some(true), None) => true,
        (Some(true), Some(values)) => values.iter().all(|v| one(v)),
        // ForAnyValue: some value matches; false when the request has none.
        (Some(false), None) => op.if_exists,
        (Some(false), Some(values)) => values.iter().any(|v| one(v)),
        // A single-valued operator: an absent key matches only a negated or IfExists
        // operator.
        (None, None) => op.negated || op.if_exists,
        (None, Some(values)) => values.iter().any(|v| one(v)),
    }
}

fn compare(how: Compare, actual: &str, expected: &str) -> bool {
    match how {
        Compare::Equals => actual == expected,
        Compare::EqualsIgnoreCase | Compare::Bool => actual.eq_ignore_ascii_case(expected),
        Compare::Like => pattern::matches(expected, actual, false),
    }
}
