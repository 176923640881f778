//! AWS KMS key policy documents and keygate's unified bindings: the one reading of a key
//! policy that the AWS provider, the AWS dialect and the console's policy editor share.
//!
//! Only plain grants have a unified form: an `Allow` statement on `Resource: "*"` without
//! conditions or `Not*` keys, whose principals are `AWS` or `Service` names (or `"*"`). Each
//! such statement gives one binding per principal carrying the statement's actions; every
//! other statement stays in the native document and has no binding.

use serde_json::{Map, Value, json};

use crate::Binding;

/// The native format name of a KMS key policy, as the AWS provider reports it.
pub const FORMAT: &str = "aws-key-policy";

/// The statements of a document: `Statement` may be one object or a list.
pub fn statements(doc: &Value) -> Vec<&Map<String, Value>> {
    match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(one)) => vec![one],
        _ => Vec::new(),
    }
}

/// Every binding of a document, statement by statement.
pub fn bindings(doc: &Value) -> Vec<Binding> {
    statements(doc)
        .into_iter()
        .flat_map(statement_bindings)
        .collect()
}

/// A principal as key policies spell it: `"*"` for everyone, a service name
/// (`logs.amazonaws.com`) under `Service`, anything else (an ARN or account id) under `AWS`.
pub fn principal(principal: &str) -> Value {
    if principal == "*" {
        json!({ "AWS": "*" })
    } else if principal.ends_with(".amazonaws.com") {
        json!({ "Service": principal })
    } else {
        json!({ "AWS": principal })
    }
}

/// A string or a list of strings, as policies allow for `Action`, `Resource` and principals.
pub fn strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// The bindings of one statement; none when it has no unified form.
pub fn statement_bindings(statement: &Map<String, Value>) -> Vec<Binding> {
    let plain = statement.get("Effect").and_then(Value::as_str) == Some("Allow")
        && !statement.contains_key("Condition")
        && !statement.contains_key("NotAction")
        && !statement.contains_key("NotPrincipal")
        && !statement.contains_key("NotResource")
        && statement
            .get("Resource")
            .and_then(strings)
            .is_some_and(|r| r == ["*"]);
    if !plain {
        return Vec::new();
    }
    let Some(actions) = statement.get("Action").and_then(strings) else {
        return Vec::new();
    };
    let principals = match statement.get("Principal") {
        Some(Value::String(s)) if s == "*" => vec!["*".to_owned()],
        Some(Value::Object(map)) => {
            let mut out = Vec::new();
            for (kind, value) in map {
                if kind != "AWS" && kind != "Service" {
                    return Vec::new();
                }
                match strings(value) {
                    Some(list) => out.extend(list),
                    None => return Vec::new(),
                }
            }
            out
        }
        _ => return Vec::new(),
    };
    principals
        .into_iter()
        .map(|p| Binding::actions(p, actions.iter().cloned()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_plain_grants_have_bindings() {
        let doc: Value = serde_json::from_str(
            r#"{"Statement": [
              {"Effect": "Allow", "Principal": {"AWS": ["arn:a", "arn:b"]},
               "Action": "kms:Encrypt", "Resource": "*"},
              {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
               "Action": ["kms:Decrypt"], "Resource": "*"},
              {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"},
              {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",
               "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
              {"Effect": "Allow", "Principal": {"Federated": "x"}, "Action": "kms:*",
               "Resource": "*"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(
            bindings(&doc),
            vec![
                Binding::actions("arn:a", ["kms:Encrypt"]),
                Binding::actions("arn:b", ["kms:Encrypt"]),
                Binding::actions("logs.amazonaws.com", ["kms:Decrypt"]),
            ]
        );
        let one: Value = serde_json::from_str(
            r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "kms:*",
                "Resource": "*"}}"#,
        )
        .unwrap();
        assert_eq!(bindings(&one), vec![Binding::actions("*", ["kms:*"])]);
        assert_eq!(
            principal("s.amazonaws.com"),
            json!({"Service": "s.amazonaws.com"})
        );
        assert_eq!(principal("*"), json!({"AWS": "*"}));
    }
}
