//! KMS key policies ⇄ keygate's unified [`Policy`].
//!
//! A key policy is a JSON document of statements. Each `Allow` statement whose `Principal` is
//! plain (`"*"`, `{"AWS": ...}` or `{"Service": ...}`), whose `Action` is a list of actions
//! (`kms:Encrypt`, `kms:*`) on `Resource: "*"` and which has no `Condition` becomes one
//! binding per principal, with the actions as written. Anything else (denies, conditions,
//! `NotAction`, ...) has no unified form: it stays in the native document, which is always
//! returned (format [`FORMAT`]) and can be edited and set back verbatim.

use keygate_core::native::aws as aws_key_policy;
use keygate_core::{Error, NativePolicy, Policy, Result};
use serde_json::{Value, json};

/// The native format name of a KMS key policy.
pub(crate) const FORMAT: &str = aws_key_policy::FORMAT;

/// KMS keys have exactly one key policy, called `default`.
pub(crate) const POLICY_NAME: &str = "default";

/// The unified view of a key policy document (a JSON string, as KMS returns it).
///
/// # Errors
/// [`Error::InvalidArgument`] when the document is not JSON (KMS never returns such).
pub(crate) fn from_document(document: &str) -> Result<Policy> {
    let doc: Value = serde_json::from_str(document)
        .map_err(|e| Error::invalid(format!("the key policy is not JSON: {e}")))?;
    let mut bindings = Vec::new();
    for statement in aws_key_policy::statements(&doc) {
        bindings.extend(aws_key_policy::statement_bindings(statement));
    }
    let mut policy = Policy::from_bindings(bindings);
    policy.native = Some(NativePolicy {
        format: FORMAT.to_owned(),
        document: doc,
    });
    Ok(policy)
}

/// The document to put for `policy`: its native document verbatim when it has one (as an
/// object, or as its text), else a document with one statement per binding.
///
/// # Errors
/// [`Error::InvalidArgument`] for a native document of another format or that is not a JSON
/// object, for a role binding (key policies grant actions, not roles), for a binding without
/// actions and for an empty principal.
pub(crate) fn to_document(policy: &Policy) -> Result<String> {
    if let Some(native) = &policy.native {
        if native.format != FORMAT {
            return Err(Error::invalid(format!(
                "an AWS key policy has format `{FORMAT}`, not `{}`",
                native.format
            )));
        }
        // The document as written (its text) goes to AWS verbatim.
        if let Value::String(text) = &native.document {
            return match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(_)) => Ok(text.clone()),
                _ => Err(Error::invalid(
                    "an AWS key policy document must be a JSON object",
                )),
            };
        }
        if !native.document.is_object() {
            return Err(Error::invalid(
                "an AWS key policy document must be a JSON object",
            ));
        }
        return serde_json::to_string(&native.document)
            .map_err(|e| Error::invalid(format!("cannot serialize the key policy: {e}")));
    }
    let mut statements = Vec::new();
    for (i, binding) in policy.normalized_bindings().iter().enumerate() {
        if let Some(role) = &binding.role {
            return Err(Error::invalid(format!(
                "AWS key policies grant actions, not roles: the binding of `{}` to role `{role}` has no AWS form",
                binding.principal
            )));
        }
        if binding.actions.is_empty() {
            return Err(Error::invalid(format!(
                "the binding of `{}` lists no actions",
                binding.principal
            )));
        }
        if binding.principal.trim().is_empty() {
            return Err(Error::invalid("a binding has an empty principal"));
        }
        statements.push(json!({
            "Sid": format!("keygate-{i}"),
            "Effect": "Allow",
            "Principal": aws_key_policy::principal(&binding.principal),
            "Action": binding.actions,
            "Resource": "*",
        }));
    }
    let doc = json!({
        "Version": "2012-10-17",
        "Id": "keygate",
        "Statement": statements,
    });
    serde_json::to_string(&doc)
        .map_err(|e| Error::invalid(format!("cannot serialize the key policy: {e}")))
}

/// Validates a document about to be put verbatim: JSON with a `Statement`.
///
/// # Errors
/// [`Error::InvalidArgument`] when it is not a JSON object with a `Statement`.
pub(crate) fn validate_document(document: &str) -> Result<()> {
    let doc: Value = serde_json::from_str(document)
        .map_err(|e| Error::invalid(format!("the key policy is not JSON: {e}")))?;
    if doc.get("Statement").is_none() {
        return Err(Error::invalid("the key policy has no `Statement`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate_core::Binding;

    const DEFAULT: &str = r#"{
      "Version": "2012-10-17",
      "Id": "key-default-1",
      "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Use", "Effect": "Allow",
         "Principal": {"AWS": ["arn:aws:iam::111122223333:role/app", "arn:aws:iam::111122223333:role/ci"]},
         "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"},
        {"Sid": "Conditional", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:role/other"},
         "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
        {"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
      ]
    }"#;

    #[test]
    fn plain_allow_statements_become_bindings() {
        let policy = from_document(DEFAULT).unwrap();
        assert_eq!(
            policy.normalized_bindings(),
            Policy::from_bindings(vec![
                Binding::actions("arn:aws:iam::111122223333:root", ["kms:*"]),
                Binding::actions(
                    "arn:aws:iam::111122223333:role/app",
                    ["kms:Decrypt", "kms:Encrypt"]
                ),
                Binding::actions(
                    "arn:aws:iam::111122223333:role/ci",
                    ["kms:Decrypt", "kms:Encrypt"]
                ),
            ])
            .normalized_bindings()
        );
        // Conditions and denies have no unified form but stay in the native document.
        let native = policy.native.unwrap();
        assert_eq!(native.format, FORMAT);
        assert_eq!(native.document["Statement"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn bindings_roundtrip_through_a_document() {
        let want = Policy::from_bindings(vec![
            Binding::actions("arn:aws:iam::000000000000:root", ["kms:*"]),
            Binding::actions("arn:aws:iam::000000000000:role/app", ["kms:Encrypt"]),
            Binding::actions("logs.amazonaws.com", ["kms:GenerateDataKey"]),
        ]);
        let doc = to_document(&want).unwrap();
        validate_document(&doc).unwrap();
        let back = from_document(&doc).unwrap();
        assert_eq!(back.normalized_bindings(), want.normalized_bindings());
        let native = back.native.unwrap().document;
        assert_eq!(
            native["Statement"][2]["Principal"]["Service"],
            "logs.amazonaws.com"
        );
    }

    #[test]
    fn native_document_is_put_verbatim_and_checked() {
        let doc: Value = serde_json::from_str(DEFAULT).unwrap();
        let policy = Policy {
            native: Some(NativePolicy {
                format: FORMAT.into(),
                document: doc.clone(),
            }),
            ..Policy::default()
        };
        let put: Value = serde_json::from_str(&to_document(&policy).unwrap()).unwrap();
        assert_eq!(put, doc);

        let wrong = Policy {
            native: Some(NativePolicy {
                format: "gcp-iam".into(),
                document: doc,
            }),
            ..Policy::default()
        };
        assert_eq!(
            to_document(&wrong).unwrap_err().kind(),
            keygate_core::ErrorKind::InvalidArgument
        );
        assert!(validate_document("not json").is_err());
        assert!(validate_document("{\"Version\":\"2012-10-17\"}").is_err());
    }

    #[test]
    fn roles_and_empty_grants_have_no_aws_form() {
        for bindings in [
            vec![Binding::role("arn:aws:iam::1:root", "viewer")],
            vec![Binding::actions(
                "arn:aws:iam::1:root",
                Vec::<String>::new(),
            )],
            vec![Binding::actions(" ", ["kms:*"])],
        ] {
            let err = to_document(&Policy::from_bindings(bindings)).unwrap_err();
            assert_eq!(err.kind(), keygate_core::ErrorKind::InvalidArgument);
        }
    }
}
