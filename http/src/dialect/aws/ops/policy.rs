//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies (policy name `default` only).
//!
//! A key in an AWS provider has a real key policy: it is passed through as it is. Any other
//! key's policy is keygate's bindings, shown as an AWS key policy with one `Allow` statement
//! per binding (`Principal: {"AWS": <principal>}`, `Resource: "*"`). An actions binding lists
//! its actions; a role binding reads `Action: "kms:*"` with `Sid: "keygate:role:<role>"`,
//! which is how it is recognised when the document comes back. Reading a document back gives
//! the same bindings, so get → put → get is stable.

use keygate_core::KeyLocator;
use keygate_core::api::Gateway as _;
use keygate_core::{Binding, NativePolicy, Policy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Ctx;
use super::keys::{Empty, ListRequest};
use crate::dialect::aws::error::AwsError;
use crate::dialect::aws::wire::{check_len, required};

/// The native format name of an AWS key policy document.
use keygate_core::native::aws::FORMAT as AWS_FORMAT;
/// The Sid prefix that marks a role binding.
const ROLE_SID: &str = "keygate:role:";

/// `GetKeyPolicy`, `PutKeyPolicy`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyRequest {
    key_id: Option<String>,
    policy_name: Option<String>,
    policy: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
}

/// A parsed key policy document.
#[derive(Debug, Clone)]
pub struct Document {
    document: Value,
    bindings: Vec<Binding>,
    denies: bool,
}

fn malformed(message: impl Into<String>) -> AwsError {
    AwsError::bad("MalformedPolicyDocumentException", message)
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, AwsError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| malformed(format!("{what} must be strings")))
            })
            .collect(),
        _ => Err(malformed(format!(
            "{what} must be a string or a list of strings"
        ))),
    }
}

/// Reads an AWS key policy document into keygate bindings.
///
/// # Errors
/// `MalformedPolicyDocumentException` for anything that is not a key policy.
pub fn parse_document(text: &str) -> Result<Document, AwsError> {
    check_len("policy", text.len(), 1, 131_072)?;
    let document: Value =
        serde_json::from_str(text).map_err(|_| malformed("The policy is not valid JSON."))?;
    let statements = match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => return Err(malformed("The policy has no Statement.")),
    };
    let mut bindings = Vec::new();
    let mut denies = false;
    for statement in &statements {
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Allow") => {}
            Some("Deny") => {
                denies = true;
                continue;
            }
            _ => return Err(malformed("Every statement needs Effect Allow or Deny.")),
        }
        let principals = match statement.get("Principal") {
            Some(Value::String(s)) if s == "*" => vec!["*".to_owned()],
            Some(Value::Object(map)) => {
                let mut out = Vec::new();
                for (kind, value) in map {
                    if !matches!(kind.as_str(), "AWS" | "Service") {
                        return Err(malformed(format!("Principal type {kind} is not supported")));
                    }
                    out.extend(strings(value, "Principal values")?);
                }
                out
            }
            _ => return Err(malformed("Every statement needs a Principal.")),
        };
        let actions = strings(
            statement
                .get("Action")
                .ok_or_else(|| malformed("Every statement needs an Action."))?,
            "Action",
        )?;
        let role = statement
            .get("Sid")
            .and_then(Value::as_str)
            .and_then(|sid| sid.strip_prefix(ROLE_SID));
        for principal in principals {
            bindings.push(match role {
                Some(role) => Binding::role(principal, role),
                None => Binding::actions(principal, actions.clone()),
            });
        }
    }
    Ok(Document {
        document,
        bindings,
        denies,
    })
}

/// The keygate policy to set from a document: bindings, plus the document itself for a key
/// whose provider keeps AWS key policies natively.
pub fn to_keygate(doc: Document, native: bool) -> Policy {
    let mut policy = Policy::from_bindings(doc.bindings);
    if native {
        policy.native = Some(NativePolicy {
            format: AWS_FORMAT.to_owned(),
            document: doc.document,
        });
    }
    policy
}

/// A keygate policy as an AWS key policy document.
pub fn render(policy: &Policy) -> String {
    if let Some(native) = policy.native.as_ref().filter(|n| n.format == AWS_FORMAT) {
        return match &native.document {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
    }
    let statements: Vec<Value> = policy
        .normalized_bindings()
        .into_iter()
        .map(|b| {
            let mut statement = serde_json::Map::new();
            if let Some(role) = &b.role {
                statement.insert("Sid".into(), json!(format!("{ROLE_SID}{role}")));
            }
            statement.insert("Effect".into(), json!("Allow"));
            statement.insert("Principal".into(), json!({ "AWS": b.principal }));
            let actions = if b.role.is_some() {
                vec!["kms:*".to_owned()]
            } else {
                b.actions.clone()
            };
            statement.insert("Action".into(), json!(actions));
            statement.insert("Resource".into(), json!("*"));
            Value::Object(statement)
        })
        .collect();
    json!({
        "Version": "2012-10-17",
        "Id": "keygate-key-policy",
        "Statement": statements,
    })
    .to_string()
}

fn policy_name(name: Option<String>) -> Result<(), AwsError> {
    match name.as_deref() {
        None | Some("default") => Ok(()),
        Some(other) => Err(AwsError::not_found(format!(
            "No such policy exists: {other} (keys have one policy, named default)"
        ))),
    }
}

/// `GetKeyPolicy` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPolicyResponse {
    policy: String,
    policy_name: &'static str,
}

/// `GetKeyPolicy`.
pub async fn get(cx: &Ctx<'_>, req: PolicyRequest) -> Result<GetPolicyResponse, AwsError> {
    policy_name(req.policy_name)?;
    let target = cx.key_only(req.key_id).await?;
    let policy = cx
        .session
        .get_key_policy(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(GetPolicyResponse {
        policy: render(&policy.value),
        policy_name: "default",
    })
}

/// `PutKeyPolicy`.
pub async fn put(cx: &Ctx<'_>, req: PolicyRequest) -> Result<Empty, AwsError> {
    policy_name(req.policy_name)?;
    let _ = req.bypass_policy_lockout_safety_check;
    let doc = parse_document(&required(req.policy, "policy")?)?;
    let target = cx.key_only(req.key_id).await?;
    // How the document maps to keygate's bindings depends on where the key lives: find the
    // key first (its URI), then write to exactly that key.
    let uri = cx.uri_of(&target).await?;
    let native = uri.starts_with("aws-kms://");
    let target = KeyLocator::Uri(uri);
    if doc.denies && !native {
        return Err(malformed(
            "keygate key policies only grant: Deny statements are supported for keys in an AWS provider only",
        ));
    }
    cx.session
        .set_key_policy(&target, to_keygate(doc, native))
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(Empty {})
}

/// `ListKeyPolicies` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesResponse {
    policy_names: Vec<&'static str>,
    truncated: bool,
}

/// `ListKeyPolicies`: always `default` (the key is read, so an unknown key is an error).
pub async fn list(cx: &Ctx<'_>, req: ListRequest) -> Result<ListPoliciesResponse, AwsError> {
    let target = cx.key_only(req.key_id).await?;
    cx.session
        .describe_key(&target)
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(ListPoliciesResponse {
        policy_names: vec!["default"],
        truncated: false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bindings_round_trip_through_a_document() {
        let policy = Policy::from_bindings(vec![
            Binding::role("billing", "app"),
            Binding::actions("arn:aws:iam::1:role/x", ["kms:Decrypt", "kms:Encrypt"]),
            Binding::role("*", "viewer"),
        ]);
        let text = render(&policy);
        let back = to_keygate(parse_document(&text).unwrap(), false);
        assert_eq!(back.normalized_bindings(), policy.normalized_bindings());
        assert_eq!(render(&back), text, "get → put → get is stable");
    }

    #[test]
    fn documents_are_checked() {
        for bad in [
            "not json",
            "{}",
            r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"kms:*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"kms:*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"x"},"Action":"kms:*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":5}]}"#,
        ] {
            let e = parse_document(bad).unwrap_err();
            assert_eq!(e.code, "MalformedPolicyDocumentException", "{bad}");
        }
        let doc = parse_document(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["a","b"],"Service":"s"},"Action":"kms:Encrypt"}}"#,
        )
        .unwrap();
        assert_eq!(doc.bindings.len(), 3);
        let native = to_keygate(doc, true);
        assert_eq!(native.native.as_ref().unwrap().format, AWS_FORMAT);
        assert!(render(&native).contains("\"Service\":\"s\""));
        assert_eq!(
            policy_name(Some("x".into())).unwrap_err().code,
            "NotFoundException"
        );
    }
}
