//! AWS KMS key policies as keygate evaluates them, for the keys keygate is the enforcement
//! point of (keys whose provider keeps no policy format of its own: the local provider).
//!
//! One key policy is evaluated as AWS evaluates a key policy ([`evaluate`]):
//!
//! 1. Every statement whose `Principal`/`NotPrincipal`, `Action`/`NotAction`,
//!    `Resource`/`NotResource` and `Condition` all match the request applies.
//! 2. An applying `Deny` statement refuses the request (explicit deny wins).
//! 3. Otherwise an applying `Allow` statement allows it.
//! 4. Otherwise the request is refused (default deny).
//!
//! Principals: a keygate caller is `arn:aws:iam::<account>:user/<principal>` (and, in a
//! statement, also matches its own keygate name). AWS reads the account principal
//! (`arn:aws:iam::<account>:root` or the bare account id) as "every principal of the
//! account, as its IAM policies allow": keygate's gateway access policy is its IAM, checked
//! before the key policy, so a statement naming the account applies to every caller the
//! access policy already allowed. That is why AWS's default key policy ([`default_document`])
//! leaves every decision to the gateway access policy.
//!
//! The request's values ([`Request`]) are what the condition keys read; see
//! [`condition`] for the operators and keys.

pub mod condition;
mod document;
mod pattern;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use crate::EncryptionContext;
pub use document::{
    DEFAULT_ID, MAX_DOCUMENT_BYTES, compact, default_document, is_default, unsupported_operators,
    validate,
};

/// What one request asks of a key: the values its key policy is evaluated against.
///
/// Grants will add their tokens here; nothing else reads a request's grants today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The caller's keygate principal name (`alice`, `billing`).
    pub principal: &'a str,
    /// The account keygate's AWS door names (`[dialects.aws] account_id`).
    pub account: &'a str,
    /// The KMS action, as AWS names it: `kms:Decrypt`.
    pub action: &'a str,
    /// The key's ARN, when the caller knows it (a statement on another `Resource` than `*`
    /// needs it; without it such a statement does not apply).
    pub resource: Option<&'a str>,
    /// The request's encryption context (empty when the operation has none).
    pub context: Option<&'a EncryptionContext>,
    /// The AWS service the request came through (`kms:ViaService`): none for keygate's
    /// doors, which are not AWS services.
    pub via_service: Option<&'a str>,
    /// `kms:GrantIsForAWSResource`: only grant operations have it.
    pub grant_is_for_aws_resource: Option<bool>,
}

impl Request<'_> {
    /// The caller as an IAM user ARN: `arn:aws:iam::<account>:user/<principal>`, with
    /// characters IAM user names cannot hold replaced by `-`.
    pub fn principal_arn(&self) -> String {
        principal_arn(self.account, self.principal)
    }
}

/// The IAM user ARN keygate gives the caller `principal` in `account`.
pub fn principal_arn(account: &str, principal: &str) -> String {
    let name: String = principal
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("arn:aws:iam::{account}:user/{name}")
}

/// What a key policy decides for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An `Allow` statement applies and no `Deny` does.
    Allow {
        /// The deciding statement's `Sid`, if it has one.
        sid: Option<String>,
    },
    /// A `Deny` statement applies (it wins over any `Allow`).
    ExplicitDeny {
        /// The deciding statement's `Sid`, if it has one.
        sid: Option<String>,
    },
    /// No statement allows the request.
    ImplicitDeny,
}

impl Decision {
    /// Whether the request may go on.
    pub fn allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// Why the request was refused, in words a caller may read (no secrets: statement ids
    /// and the action only).
    pub fn reason(&self, action: &str) -> String {
        match self {
            Decision::Allow { .. } => format!("the key policy allows {action}"),
            Decision::ExplicitDeny { sid: Some(sid) } => {
                format!("{action} is denied by statement `{sid}` of the key policy")
            }
            Decision::ExplicitDeny { sid: None } => {
                format!("{action} is denied by an explicit deny in the key policy")
            }
            Decision::ImplicitDeny => format!("no statement of the key policy allows {action}"),
        }
    }
}

/// Evaluates the key policy `document` for `request` (see the module documentation).
///
/// A document that is not a key policy (no statements) allows nothing.
pub fn evaluate(document: &Value, request: &Request<'_>) -> Decision {
    let mut allow = None;
    for statement in statements(document) {
        if !applies(statement, request) {
            continue;
        }
        let sid = statement
            .get("Sid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return Decision::ExplicitDeny { sid },
            Some("Allow") if allow.is_none() => allow = Some(sid),
            _ => {}
        }
    }
    match allow {
        Some(sid) => Decision::Allow { sid },
        None => Decision::ImplicitDeny,
    }
}

/// The statements of a document: `Statement` is one object or a list of them.
fn statements(document: &Value) -> Vec<&Map<String, Value>> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(one)) => vec![one],
        _ => Vec::new(),
    }
}

/// A string or a list of strings; anything else is no value.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether every element of `statement` matches `request`.
fn applies(statement: &Map<String, Value>, request: &Request<'_>) -> bool {
    let principal = match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(p), None) => principal_matches(p, request),
        (None, Some(p)) => !principal_matches(p, request),
        _ => false,
    };
    let action = match (statement.get("Action"), statement.get("NotAction")) {
        (Some(a), None) => action_matches(a, request.action),
        (None, Some(a)) => !action_matches(a, request.action),
        _ => false,
    };
    let resource = match (statement.get("Resource"), statement.get("NotResource")) {
        (Some(r), None) => resource_matches(r, request.resource) == Some(true),
        (None, Some(r)) => resource_matches(r, request.resource) == Some(false),
        // A key policy's statement always names its resource; without one it is the key.
        (None, None) => true,
        _ => false,
    };
    principal
        && action
        && resource
        && statement
            .get("Condition")
            .is_none_or(|c| condition::matches(c, request))
}

/// Whether a `Principal` element names the caller: `"*"`, `{"AWS": "*"}`, the account
/// (`arn:aws:iam::<account>:root` or the bare id), the caller's IAM user ARN, or its keygate
/// name. `Service`, `Federated` and `CanonicalUser` principals never name a keygate caller.
fn principal_matches(element: &Value, request: &Request<'_>) -> bool {
    let names: Vec<&str> = match element {
        Value::String(s) => vec![s.as_str()],
        Value::Object(map) => map.get("AWS").map(strings).unwrap_or_default(),
        _ => Vec::new(),
    };
    let arn = request.principal_arn();
    let root = format!("arn:aws:iam::{}:root", request.account);
    names.into_iter().any(|name| {
        name == "*"
            || name == request.account
            || name == root
            || name == arn
            || name == request.principal
    })
}

/// Whether an `Action` element names `action` (`kms:*`, `kms:Describe*`; case-insensitive).
fn action_matches(element: &Value, action: &str) -> bool {
    strings(element)
        .into_iter()
        .any(|pattern| pattern::matches(pattern, action, true))
}

/// Whether a `Resource` element names the key: `Some(true)` or `Some(false)`, or `None`
/// when it names something other than `*` and the key's ARN is not known (such a
/// statement applies neither as `Resource` nor as `NotResource`).
fn resource_matches(element: &Value, resource: Option<&str>) -> Option<bool> {
    let patterns = strings(element);
    if patterns.contains(&"*") {
        return Some(true);
    }
    let arn = resource?;
    Some(
        patterns
            .into_iter()
            .any(|pattern| pattern::matches(pattern, arn, false)),
    )
}

/// The document of an AWS key policy kept as `native`: the stored text (the document as
/// written) parsed, or the object itself; `None` for another format or text that is not
/// JSON.
pub fn document_of(native: &crate::NativePolicy) -> Option<Value> {
    if native.format != crate::native::aws::FORMAT {
        return None;
    }
    match &native.document {
        Value::String(text) => serde_json::from_str(text).ok(),
        other @ Value::Object(_) => Some(other.clone()),
        _ => None,
    }
}

/// `policy` with a document kept as its text ([`document_of`]) given as the parsed JSON
/// object, as keygate's JSON shapes (`keys policy`, the REST policy routes) carry it.
pub fn with_parsed_document(mut policy: crate::Policy) -> crate::Policy {
    if let Some(native) = policy.native.as_mut()
        && native.document.is_string()
        && let Some(document) = document_of(native)
    {
        native.document = document;
    }
    policy
}
