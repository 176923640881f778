//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies (policy name `default` only).
//!
//! A key policy document is kept as written (whitespace aside: its text, elements in their
//! order) wherever a key can hold one: a key in an AWS provider passes it through to AWS,
//! which enforces it; a key of a provider keygate enforces policies for (the local provider)
//! keeps it, and keygate's service layer evaluates it for every door
//! (`keygate_core::keypolicy`). A key without a document reads AWS's default key policy for
//! the configured account. A key in another cloud (Cloud KMS, Key Vault) has that cloud's
//! policy: a document put there becomes keygate bindings, one `Allow` statement per binding
//! (`Principal: {"AWS": <principal>}`, `Resource: "*"`); an actions binding lists its
//! actions, a role binding reads `Action: "kms:*"` with `Sid: "keygate:role:<role>"`, which
//! is how it is recognised when the document comes back.

use keygate_core::KeyLocator;
use keygate_core::api::Gateway as _;
use keygate_core::keypolicy::{self, Request};
use keygate_core::{Binding, Error, NativePolicy, Policy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Ctx;
use super::keys::{Empty, ListRequest};
use crate::dialect::aws::error::AwsError;
use crate::dialect::aws::wire::required;

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
    /// The document as written, whitespace removed.
    text: String,
    document: Value,
    bindings: Vec<Binding>,
    denies: bool,
}

fn malformed(message: impl Into<String>) -> AwsError {
    AwsError::bad("MalformedPolicyDocumentException", message)
}

/// Reads an AWS key policy document, checked as AWS checks one, and the keygate bindings
/// its statements give.
///
/// # Errors
/// `MalformedPolicyDocumentException` for anything that is not a key policy (see
/// [`keypolicy::validate`]).
pub fn parse_document(text: &str) -> Result<Document, AwsError> {
    if text.is_empty() {
        return Err(malformed("The key policy is empty."));
    }
    let document = keypolicy::validate(text).map_err(|e| match e {
        Error::InvalidArgument(m) => malformed(m),
        other => AwsError::from(other),
    })?;
    let mut bindings = Vec::new();
    let mut denies = false;
    for statement in keygate_core::native::aws::statements(&document) {
        if statement.get("Effect").and_then(Value::as_str) == Some("Deny") {
            denies = true;
            continue;
        }
        let principals = match statement.get("Principal") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Object(map)) => map
                .iter()
                .filter(|(kind, _)| matches!(kind.as_str(), "AWS" | "Service"))
                .filter_map(|(_, v)| keygate_core::native::aws::strings(v))
                .flatten()
                .collect(),
            _ => Vec::new(),
        };
        let actions = statement
            .get("Action")
            .and_then(keygate_core::native::aws::strings)
            .unwrap_or_default();
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
        text: keypolicy::compact(text),
        document,
        bindings,
        denies,
    })
}

/// The keygate policy to set from a document: for a key that keeps documents (`native`),
/// the document as written with the bindings of its plain grants; for any other key, the
/// bindings only.
pub fn to_keygate(doc: Document, native: bool) -> Policy {
    if native {
        let mut policy = Policy::from_bindings(keygate_core::native::aws::bindings(&doc.document));
        policy.native = Some(NativePolicy {
            format: AWS_FORMAT.to_owned(),
            document: Value::String(doc.text),
        });
        return policy;
    }
    Policy::from_bindings(doc.bindings)
}

/// A keygate policy as an AWS key policy document: its document as written, AWS's default
/// key policy for `account` when it has neither a document nor bindings, or one statement
/// per binding.
pub fn render(policy: &Policy, account: &str) -> String {
    if let Some(native) = policy.native.as_ref().filter(|n| n.format == AWS_FORMAT) {
        return match &native.document {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
    }
    if policy.bindings.is_empty() {
        return keypolicy::default_document(account).to_string();
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

/// Whether keygate enforces the policies of keys in `provider` (by name; `None`: the
/// first registered provider, where keys are created by default).
pub async fn enforced_in(cx: &Ctx<'_>, provider: Option<&str>) -> bool {
    let registry = cx.session.service().registry();
    let Some(name) = provider.or_else(|| registry.names().first().copied()) else {
        return false;
    };
    registry
        .provider(name)
        .await
        .ok()
        .is_some_and(|p| keygate_server::service::enforces_key_policy(p.capabilities()))
}

/// AWS's lockout safety check: `doc` must let the caller put the key's policy again.
///
/// # Errors
/// `MalformedPolicyDocumentException` with AWS's text when it would not.
pub fn check_lockout(cx: &Ctx<'_>, doc: &Document, arn: Option<&str>) -> Result<(), AwsError> {
    let request = Request {
        principal: &cx.session.identity().principal,
        account: &cx.config.account_id,
        action: "kms:PutKeyPolicy",
        resource: arn,
        context: None,
        via_service: None,
        grant_is_for_aws_resource: None,
    };
    if keypolicy::evaluate(&doc.document, &request).allowed() {
        Ok(())
    } else {
        Err(malformed(
            "The new key policy will not allow you to update the key policy in the future.",
        ))
    }
}

/// Sets `doc` as the policy of the key at `uri`, as `PutKeyPolicy` and `CreateKey` do:
/// verbatim for a key in an AWS provider or one keygate enforces policies for (after
/// AWS's lockout safety check unless `bypass`), as bindings elsewhere.
///
/// # Errors
/// `MalformedPolicyDocumentException` for a document that would lock the caller out of the
/// key's policy, or with `Deny` statements on a key whose policy is keygate bindings; the
/// errors of setting a key's policy.
pub async fn set_document(
    cx: &Ctx<'_>,
    uri: &str,
    doc: Document,
    bypass: bool,
) -> Result<(), AwsError> {
    let target = KeyLocator::Uri(uri.to_owned());
    let enforced = cx
        .session
        .service()
        .registry()
        .resolve(&target)
        .await
        .is_ok_and(|k| keygate_server::service::enforces_key_policy(k.provider.capabilities()));
    let native = enforced || uri.starts_with("aws-kms://");
    if enforced && !bypass {
        let arn = cx
            .session
            .service()
            .aws_key_arn(uri)
            .await
            .map_err(|e| cx.fail(e, &target))?;
        check_lockout(cx, &doc, Some(&arn))?;
    }
    if doc.denies && !native {
        return Err(malformed(
            "keygate key policies only grant here: Deny statements are kept for keys in an AWS provider and keys keygate enforces policies for",
        ));
    }
    cx.session
        .set_key_policy(&target, to_keygate(doc, native))
        .await
        .map_err(|e| cx.fail(e, &target))?;
    Ok(())
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
        policy: render(&policy.value, &cx.config.account_id),
        policy_name: "default",
    })
}

/// `PutKeyPolicy`.
pub async fn put(cx: &Ctx<'_>, req: PolicyRequest) -> Result<Empty, AwsError> {
    policy_name(req.policy_name)?;
    let doc = parse_document(&required(req.policy, "policy")?)?;
    let target = cx.key_only(req.key_id).await?;
    // Where the key lives decides how the document is kept: find the key first (its URI),
    // then write to exactly that key.
    let uri = cx.uri_of(&target).await?;
    let bypass = req.bypass_policy_lockout_safety_check.unwrap_or(false);
    set_document(cx, &uri, doc, bypass).await?;
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
        let text = render(&policy, "1");
        let back = to_keygate(parse_document(&text).unwrap(), false);
        assert_eq!(back.normalized_bindings(), policy.normalized_bindings());
        assert_eq!(render(&back, "1"), text, "get → put → get is stable");
    }

    #[test]
    fn documents_are_kept_as_written_and_a_key_without_one_reads_the_default() {
        let text = r#"{ "Version": "2012-10-17", "Id": "mine",
          "Statement": [{"Sid": "Z", "Effect": "Deny", "NotPrincipal": {"AWS": "a"},
            "NotAction": "kms:Encrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "x"}}}]}"#;
        let doc = parse_document(text).unwrap();
        let kept = to_keygate(doc, true);
        assert_eq!(render(&kept, "1"), keypolicy::compact(text));
        assert!(render(&kept, "1").starts_with(r#"{"Version":"2012-10-17","Id":"mine""#));
        let default: Value =
            serde_json::from_str(&render(&Policy::default(), "111122223333")).unwrap();
        assert!(keypolicy::is_default(&default, "111122223333"));
        assert_eq!(
            default["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::111122223333:root"
        );
    }

    #[test]
    fn documents_are_checked() {
        for bad in [
            "",
            "not json",
            "{}",
            r#"{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"kms:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Group":"x"},"Action":"kms:*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":5,"Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Extra":1}]}"#,
        ] {
            let e = parse_document(bad).unwrap_err();
            assert_eq!(e.code, "MalformedPolicyDocumentException", "{bad}");
        }
        let doc = parse_document(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["a","b"],"Service":"s"},"Action":"kms:Encrypt","Resource":"*"}}"#,
        )
        .unwrap();
        assert_eq!(doc.bindings.len(), 3);
        let native = to_keygate(doc, true);
        assert_eq!(native.native.as_ref().unwrap().format, AWS_FORMAT);
        assert_eq!(native.bindings.len(), 3);
        assert!(render(&native, "1").contains("\"Service\":\"s\""));
        assert_eq!(
            policy_name(Some("x".into())).unwrap_err().code,
            "NotFoundException"
        );
    }
}
