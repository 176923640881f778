//! Key policy documents: AWS's default document, and the checks AWS makes when a policy is
//! put (`MalformedPolicyDocumentException` in AWS's words).

use serde_json::{Map, Value, json};

use super::condition;
use crate::{Error, Result};

/// The largest key policy document, in bytes (AWS KMS's `PutKeyPolicy` bound: 32 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 32_768;

/// The `Id` of AWS's default key policy.
pub const DEFAULT_ID: &str = "key-default-1";

/// AWS's default key policy for a key created without one through the API: the account
/// may use the key as its IAM policies allow (in keygate: as the gateway access policy
/// allows).
pub fn default_document(account: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Id": DEFAULT_ID,
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*",
        }],
    })
}

/// Whether `document` is [`default_document`] of `account`.
pub fn is_default(document: &Value, account: &str) -> bool {
    *document == default_document(account)
}

const TOP: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const PRINCIPAL_KINDS: [&str; 4] = ["AWS", "Service", "Federated", "CanonicalUser"];

fn malformed(message: impl Into<String>) -> Error {
    Error::invalid(message.into())
}

/// Checks `text` as AWS checks a key policy put with `PutKeyPolicy` or `CreateKey`, and
/// returns the parsed document.
///
/// # Errors
/// [`Error::InvalidArgument`] (the AWS door's `MalformedPolicyDocumentException`) for a
/// document over [`MAX_DOCUMENT_BYTES`], text that is not a JSON object, an element AWS does
/// not know, a `Version` other than `2012-10-17`/`2008-10-17`, a statement without `Effect`
/// `Allow`/`Deny`, without exactly one of `Principal`/`NotPrincipal`, `Action`/`NotAction`
/// and `Resource`/`NotResource`, or with a malformed `Condition`.
pub fn validate(text: &str) -> Result<Value> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(malformed(format!(
            "The key policy is {} bytes; the limit is {MAX_DOCUMENT_BYTES}.",
            text.len()
        )));
    }
    let document: Value = serde_json::from_str(text)
        .map_err(|_| malformed("The key policy is not a valid JSON document."))?;
    let Some(top) = document.as_object() else {
        return Err(malformed("The key policy must be a JSON object."));
    };
    known("policy", top, &TOP)?;
    match top.get("Version") {
        None => {}
        Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
        Some(_) => {
            return Err(malformed(
                "Version must be \"2012-10-17\" or \"2008-10-17\".",
            ));
        }
    }
    if top.get("Id").is_some_and(|id| !id.is_string()) {
        return Err(malformed("Id must be a string."));
    }
    let statements: Vec<&Value> = match top.get("Statement") {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err(malformed("The key policy needs a Statement.")),
    };
    for statement in statements {
        let Some(statement) = statement.as_object() else {
            return Err(malformed("Every statement must be a JSON object."));
        };
        check_statement(statement)?;
    }
    Ok(document)
}

fn known(what: &str, map: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(malformed(format!("Unknown element {k} in the {what}."))),
        None => Ok(()),
    }
}

fn check_statement(s: &Map<String, Value>) -> Result<()> {
    known("statement", s, &STATEMENT)?;
    if s.get("Sid").is_some_and(|sid| !sid.is_string()) {
        return Err(malformed("Sid must be a string."));
    }
    match s.get("Effect").and_then(Value::as_str) {
        Some("Allow" | "Deny") => {}
        _ => return Err(malformed("Every statement needs Effect Allow or Deny.")),
    }
    let principal = one_of(s, "Principal", "NotPrincipal")?;
    match principal {
        Value::String(p) if p == "*" => {}
        Value::Object(kinds) if !kinds.is_empty() => {
            known("principal", kinds, &PRINCIPAL_KINDS)?;
            for value in kinds.values() {
                string_list(value, "Principal values")?;
            }
        }
        _ => {
            return Err(malformed(
                "Principal must be \"*\" or an object of AWS, Service, Federated or CanonicalUser principals.",
            ));
        }
    }
    string_list(one_of(s, "Action", "NotAction")?, "Action")?;
    string_list(one_of(s, "Resource", "NotResource")?, "Resource")?;
    if let Some(condition) = s.get("Condition") {
        let Some(blocks) = condition.as_object() else {
            return Err(malformed("Condition must be an object of operators."));
        };
        for (operator, block) in blocks {
            let ok = block.as_object().is_some_and(|keys| {
                !keys.is_empty() && keys.values().all(|v| condition_value(v, true))
            });
            if !ok {
                return Err(malformed(format!(
                    "Condition operator {operator} must map condition keys to values."
                )));
            }
        }
    }
    Ok(())
}

/// The one of `a`/`b` a statement has.
fn one_of<'s>(s: &'s Map<String, Value>, a: &str, b: &str) -> Result<&'s Value> {
    match (s.get(a), s.get(b)) {
        (Some(v), None) | (None, Some(v)) => Ok(v),
        (Some(_), Some(_)) => Err(malformed(format!(
            "A statement has either {a} or {b}, not both."
        ))),
        (None, None) => Err(malformed(format!("Every statement needs {a} or {b}."))),
    }
}

fn string_list(value: &Value, what: &str) -> Result<()> {
    let ok = match value {
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(malformed(format!(
            "{what} must be a non-empty string or list of strings."
        )))
    }
}

fn condition_value(value: &Value, top: bool) -> bool {
    match value {
        Value::String(_) | Value::Bool(_) | Value::Number(_) => true,
        Value::Array(items) if top => items.iter().all(|v| condition_value(v, false)),
        _ => false,
    }
}

/// The condition operators of `document` keygate does not evaluate (numeric, date, IP
/// address, binary…), sorted: a key keygate enforces cannot take a policy with them.
pub fn unsupported_operators(document: &Value) -> Vec<String> {
    let mut out: Vec<String> = super::statements(document)
        .into_iter()
        .filter_map(|s| s.get("Condition").and_then(Value::as_object))
        .flat_map(|blocks| blocks.keys())
        .filter(|name| !condition::is_supported(name))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `text` without the whitespace between its tokens: the document as written, key order
/// kept, for storing and returning it verbatim. `text` must be valid JSON.
pub fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}
