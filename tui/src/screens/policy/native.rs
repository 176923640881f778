//! Native key-policy documents the editor understands well enough to edit through the
//! bindings table: AWS key policies and GCP IAM policies.
//!
//! Bindings are extracted exactly as the providers do (`keygate_core::native::aws`):
//! only plain grants have a unified form; everything else (denies, conditions, `NotAction`,
//! ...) stays in the document untouched. Each binding remembers where it came from, so
//! removing one edits the document surgically instead of regenerating it.

use keygate_core::Binding;
use keygate_core::native::aws as aws_key_policy;
use serde_json::{Value, json};

/// The native format name of a KMS key policy (as the AWS provider reports it).
pub const AWS: &str = aws_key_policy::FORMAT;
/// The native format name of a GCP IAM policy.
pub const GCP: &str = keygate_core::native::gcp::FORMAT;
/// The native format name of Azure role assignments. Each assignment is exactly one unified
/// binding (principal, role) and the Azure provider turns bindings back into assignments, so
/// the table edits the bindings and the document is dropped from what is applied.
pub const AZURE: &str = keygate_core::native::azure::FORMAT;

/// A binding and where it lives in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The unified binding.
    pub binding: Binding,
    /// Index of its statement (AWS) or IAM binding (GCP).
    pub index: usize,
}

/// The bindings of an AWS key policy, with their statement index.
pub fn aws_bindings(doc: &Value) -> Vec<Located> {
    let mut out = Vec::new();
    for (index, statement) in aws_statements(doc).into_iter().enumerate() {
        let Some(statement) = statement.as_object() else {
            continue;
        };
        for binding in aws_key_policy::statement_bindings(statement) {
            out.push(Located { binding, index });
        }
    }
    out
}

/// Checks what the AWS provider checks before it puts a document: a JSON object with a
/// `Statement`.
pub fn aws_check(doc: &Value) -> Result<(), String> {
    if !doc.is_object() {
        return Err("an AWS key policy document must be a JSON object".into());
    }
    if doc.get("Statement").is_none() {
        return Err("the key policy has no `Statement`".into());
    }
    Ok(())
}

/// Appends an `Allow` statement granting `actions` to `principal` on the key.
pub fn aws_add(doc: &mut Value, principal: &str, actions: &[String]) -> Result<(), String> {
    aws_check(doc)?;
    let statements = aws_statement_list(doc)?;
    let sid = format!("keygate-console-{}", statements.len());
    statements.push(json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": aws_key_policy::principal(principal),
        "Action": actions,
        "Resource": "*",
    }));
    Ok(())
}

/// Removes `principal` from statement `index`; the statement goes when no principal is left.
pub fn aws_remove(doc: &mut Value, index: usize, principal: &str) -> Result<(), String> {
    let statements = aws_statement_list(doc)?;
    let Some(statement) = statements.get_mut(index) else {
        return Err(format!("the document has no statement {index}"));
    };
    let now_empty = match statement.get_mut("Principal") {
        Some(Value::String(_)) => true,
        Some(Value::Object(map)) => {
            for value in map.values_mut() {
                match value {
                    Value::String(s) if s == principal => *value = Value::Array(Vec::new()),
                    Value::Array(items) => items.retain(|v| v.as_str() != Some(principal)),
                    _ => {}
                }
            }
            // A kind left with one principal keeps the simpler string form; an empty kind goes.
            map.retain(|_, v| !matches!(v, Value::Array(a) if a.is_empty()));
            for value in map.values_mut() {
                if let Value::Array(items) = value
                    && items.len() == 1
                {
                    *value = items.remove(0);
                }
            }
            map.is_empty()
        }
        _ => return Err(format!("statement {index} has no principal to remove")),
    };
    if now_empty {
        statements.remove(index);
    }
    Ok(())
}

/// The bindings of a GCP IAM policy (`{"bindings": [{"role", "members"}]}`): one role
/// binding per member; conditional bindings have no unified form.
pub fn gcp_bindings(doc: &Value) -> Vec<Located> {
    let mut out = Vec::new();
    let Some(list) = doc.get("bindings").and_then(Value::as_array) else {
        return out;
    };
    for (index, b) in list.iter().enumerate() {
        if b.get("condition").is_some() {
            continue;
        }
        let Some(role) = b.get("role").and_then(Value::as_str) else {
            continue;
        };
        for member in b
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            out.push(Located {
                binding: Binding::role(member, role),
                index,
            });
        }
    }
    out
}

/// Checks the shape of an IAM policy: an object whose `bindings` (if any) each have a role
/// and a list of member strings.
pub fn gcp_check(doc: &Value) -> Result<(), String> {
    let Some(obj) = doc.as_object() else {
        return Err("a GCP IAM policy must be a JSON object".into());
    };
    let Some(bindings) = obj.get("bindings") else {
        return Ok(());
    };
    let Some(list) = bindings.as_array() else {
        return Err("`bindings` must be a list".into());
    };
    for (i, b) in list.iter().enumerate() {
        if b.get("role")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(format!("bindings[{i}] needs a `role`"));
        }
        let members_ok = b
            .get("members")
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().all(Value::is_string));
        if !members_ok {
            return Err(format!("bindings[{i}].members must be a list of strings"));
        }
    }
    Ok(())
}

/// Grants `role` to `member`: joins the role's unconditional binding, or adds one.
pub fn gcp_add(doc: &mut Value, member: &str, role: &str) -> Result<(), String> {
    gcp_check(doc)?;
    let Some(obj) = doc.as_object_mut() else {
        return Err("a GCP IAM policy must be a JSON object".into());
    };
    let list = obj
        .entry("bindings")
        .or_insert_with(|| Value::Array(Vec::new()));
    let Some(list) = list.as_array_mut() else {
        return Err("`bindings` must be a list".into());
    };
    let existing = list.iter_mut().find(|b| {
        b.get("condition").is_none() && b.get("role").and_then(Value::as_str) == Some(role)
    });
    match existing
        .and_then(|b| b.get_mut("members"))
        .and_then(Value::as_array_mut)
    {
        Some(members) => {
            if !members.iter().any(|m| m.as_str() == Some(member)) {
                members.push(Value::String(member.to_owned()));
            }
        }
        None => list.push(json!({ "role": role, "members": [member] })),
    }
    Ok(())
}

/// Removes `member` from IAM binding `index`; the binding goes when no member is left.
pub fn gcp_remove(doc: &mut Value, index: usize, member: &str) -> Result<(), String> {
    let list = doc
        .get_mut("bindings")
        .and_then(Value::as_array_mut)
        .ok_or("the policy has no `bindings`")?;
    let Some(binding) = list.get_mut(index) else {
        return Err(format!("the policy has no binding {index}"));
    };
    let members = binding
        .get_mut("members")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("bindings[{index}] has no members"))?;
    members.retain(|m| m.as_str() != Some(member));
    if members.is_empty() {
        list.remove(index);
    }
    Ok(())
}

/// The statements of a document: `Statement` may be one object or a list.
fn aws_statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// `Statement` as a mutable list, turning a single statement into a list of one (the same
/// document for AWS) so statements can be added and removed by index.
fn aws_statement_list(doc: &mut Value) -> Result<&mut Vec<Value>, String> {
    let Some(obj) = doc.as_object_mut() else {
        return Err("an AWS key policy document must be a JSON object".into());
    };
    let slot = obj
        .entry("Statement")
        .or_insert_with(|| Value::Array(Vec::new()));
    if slot.is_object() {
        let one = slot.take();
        *slot = Value::Array(vec![one]);
    }
    slot.as_array_mut()
        .ok_or_else(|| "`Statement` must be a statement or a list of them".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn aws_doc() -> Value {
        serde_json::from_str(
            r#"{"Version": "2012-10-17", "Statement": [
              {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
               "Action": "kms:*", "Resource": "*"},
              {"Sid": "Use", "Effect": "Allow",
               "Principal": {"AWS": ["arn:aws:iam::1:role/app", "arn:aws:iam::1:role/ci"]},
               "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"},
              {"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn aws_extraction_matches_the_provider_and_keeps_statement_indexes() {
        let got = aws_bindings(&aws_doc());
        let principals: Vec<(&str, usize)> = got
            .iter()
            .map(|l| (l.binding.principal.as_str(), l.index))
            .collect();
        assert_eq!(
            principals,
            [
                ("arn:aws:iam::1:root", 0),
                ("arn:aws:iam::1:role/app", 1),
                ("arn:aws:iam::1:role/ci", 1)
            ]
        );
        assert_eq!(got[1].binding.actions, ["kms:Encrypt", "kms:Decrypt"]);
    }

    #[test]
    fn aws_remove_takes_one_principal_then_the_statement() {
        let mut doc = aws_doc();
        aws_remove(&mut doc, 1, "arn:aws:iam::1:role/ci").unwrap();
        assert_eq!(
            doc["Statement"][1]["Principal"]["AWS"],
            "arn:aws:iam::1:role/app"
        );
        aws_remove(&mut doc, 1, "arn:aws:iam::1:role/app").unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(doc["Statement"][1]["Sid"], "Deny", "the deny is untouched");
        assert!(aws_remove(&mut doc, 9, "x").is_err());
    }

    #[test]
    fn aws_add_appends_a_plain_statement_and_wraps_a_single_one() {
        let mut doc = json!({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}});
        aws_add(&mut doc, "logs.amazonaws.com", &["kms:Encrypt".into()]).unwrap();
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(
            doc["Statement"][1]["Principal"]["Service"],
            "logs.amazonaws.com"
        );
        let got = aws_bindings(&doc);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].index, 1);
        assert!(aws_add(&mut json!([]), "p", &["kms:*".into()]).is_err());
    }

    #[test]
    fn gcp_members_become_role_bindings_and_can_be_added_and_removed() {
        let mut doc = json!({"version": 1, "bindings": [
            {"role": "roles/cloudkms.viewer", "members": ["user:a@x.com", "user:b@x.com"]},
            {"role": "roles/owner", "members": ["user:c@x.com"], "condition": {"expression": "x"}}
        ]});
        gcp_check(&doc).unwrap();
        let got = gcp_bindings(&doc);
        assert_eq!(got.len(), 2, "the conditional binding has no unified form");
        assert_eq!(
            got[0].binding,
            Binding::role("user:a@x.com", "roles/cloudkms.viewer")
        );
        gcp_add(&mut doc, "user:d@x.com", "roles/cloudkms.viewer").unwrap();
        gcp_add(&mut doc, "user:d@x.com", "roles/cloudkms.admin").unwrap();
        assert_eq!(doc["bindings"][0]["members"].as_array().unwrap().len(), 3);
        assert_eq!(doc["bindings"][2]["role"], "roles/cloudkms.admin");
        gcp_remove(&mut doc, 2, "user:d@x.com").unwrap();
        assert_eq!(doc["bindings"].as_array().unwrap().len(), 2);
        assert!(gcp_check(&json!({"bindings": [{"role": "r", "members": [1]}]})).is_err());
        assert!(gcp_check(&json!({"bindings": [{"members": []}]})).is_err());
    }
}
