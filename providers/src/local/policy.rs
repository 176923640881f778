//! How the local provider keeps a key's policy: keygate bindings, or an AWS key policy
//! document as written (which keygate's service layer enforces for local keys).
//!
//! The stored text is either a JSON list of bindings (a policy of bindings only, as every
//! earlier release stored it) or a JSON object `{"bindings": [...], "native": {...}}` for a
//! policy with a document. The document is kept as its text, whitespace removed, so it reads
//! back with its elements in the order they were written.

use keygate_core::keypolicy;
use keygate_core::native::aws as aws_key_policy;
use keygate_core::{Binding, Error, NativePolicy, Policy, Result};
use serde_json::Value;

/// The policy to store for `native`: the document checked as AWS checks a key policy, kept
/// as written, with the bindings its plain grants give.
///
/// # Errors
/// [`Error::Unsupported`] for a native format other than an AWS key policy, or a document
/// with condition operators keygate does not evaluate; [`Error::InvalidArgument`] for a
/// document AWS would refuse.
pub(super) fn with_document(native: &NativePolicy) -> Result<Policy> {
    if native.format != aws_key_policy::FORMAT {
        return Err(Error::unsupported(format!(
            "the local provider keeps AWS key policies (`{}`) or bindings, not `{}` documents",
            aws_key_policy::FORMAT,
            native.format
        )));
    }
    let text = match &native.document {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let document = keypolicy::validate(&text)?;
    let unsupported = keypolicy::unsupported_operators(&document);
    if !unsupported.is_empty() {
        return Err(Error::unsupported(format!(
            "keygate enforces this key's policy and does not evaluate the condition operators {}",
            unsupported.join(", ")
        )));
    }
    let mut policy = Policy::from_bindings(aws_key_policy::bindings(&document));
    policy.native = Some(NativePolicy {
        format: aws_key_policy::FORMAT.to_owned(),
        document: Value::String(keypolicy::compact(&text)),
    });
    Ok(policy)
}

/// The stored text of `policy`.
pub(super) fn encode(policy: &Policy) -> serde_json::Result<String> {
    match &policy.native {
        None => serde_json::to_string(&policy.bindings),
        Some(_) => serde_json::to_string(policy),
    }
}

/// The policy of a stored text (either form).
pub(super) fn decode(text: &str) -> serde_json::Result<Policy> {
    if text.trim_start().starts_with('[') {
        let bindings: Vec<Binding> = serde_json::from_str(text)?;
        Ok(Policy::from_bindings(bindings))
    } else {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use keygate_core::ErrorKind;

    #[test]
    fn documents_are_kept_as_written_and_both_forms_read_back() {
        let text = r#"{ "Version": "2012-10-17", "Id": "p1",
            "Statement": [{"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": "alice"},
              "Action": ["kms:Encrypt"], "Resource": "*"},
             {"Sid": "Ctx", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt",
              "Resource": "*", "Condition": {"Null": {"kms:EncryptionContext:t": "true"}}}]}"#;
        let native = NativePolicy {
            format: aws_key_policy::FORMAT.into(),
            document: Value::String(text.into()),
        };
        let policy = with_document(&native).unwrap();
        assert_eq!(
            policy.bindings,
            vec![Binding::actions("alice", ["kms:Encrypt"])]
        );
        let stored = encode(&policy).unwrap();
        let back = decode(&stored).unwrap();
        assert_eq!(back, policy);
        let Value::String(kept) = &back.native.unwrap().document else {
            panic!("the document is kept as text");
        };
        assert!(kept.starts_with(r#"{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"Use""#));
        // Bindings only: the earlier stored form.
        let old = r#"[{"principal":"bob","role":"viewer"}]"#;
        assert_eq!(
            decode(old).unwrap().bindings,
            vec![Binding::role("bob", "viewer")]
        );
        assert_eq!(encode(&decode(old).unwrap()).unwrap(), old);
    }

    #[test]
    fn other_formats_and_unevaluated_operators_are_refused() {
        let gcp = NativePolicy {
            format: "gcp-iam".into(),
            document: serde_json::json!({}),
        };
        assert_eq!(
            with_document(&gcp).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let ip = NativePolicy {
            format: aws_key_policy::FORMAT.into(),
            document: serde_json::json!({"Statement": {"Effect": "Allow", "Principal": "*",
                "Action": "kms:*", "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}}),
        };
        let e = with_document(&ip).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("IpAddress"));
        let bad = NativePolicy {
            format: aws_key_policy::FORMAT.into(),
            document: Value::String("{".into()),
        };
        assert_eq!(
            with_document(&bad).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}
