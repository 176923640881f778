//! IAM policies of crypto keys ⇄ keygate's unified [`Policy`].
//!
//! A Cloud KMS binding `{role, members[]}` without a condition is one keygate binding
//! `Binding::role(member, role)` per member. Conditional bindings and audit configs have no
//! unified form: they stay in the native document (format [`FORMAT`], the policy's JSON as the
//! REST API writes it), which is always returned and can be edited and set back verbatim. The
//! policy's etag travels in [`Policy::etag`] (base64, as in the JSON); setting a policy with a
//! stale etag is Cloud KMS's ABORTED, which keygate reports as `InvalidState`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use google_cloud_iam_v1::model::{Binding as IamBinding, GetPolicyOptions, Policy as IamPolicy};
use keygate_core::{Binding, Error, NativePolicy, Policy, Result};

use super::GcpKmsProvider;
use super::client::check_id;

/// The native format name of a Cloud KMS IAM policy.
pub(crate) use keygate_core::native::gcp::FORMAT;
/// The policy version that can hold conditional bindings.
const CONDITIONS_VERSION: i32 = 3;

/// The unified view of an IAM policy.
pub(crate) fn from_iam(iam: &IamPolicy) -> Result<Policy> {
    let mut bindings = Vec::new();
    for b in iam.bindings.iter().filter(|b| b.condition.is_none()) {
        for member in &b.members {
            bindings.push(Binding::role(member.clone(), b.role.clone()));
        }
    }
    let mut policy = Policy::from_bindings(bindings);
    policy.native = Some(NativePolicy {
        format: FORMAT.to_owned(),
        document: serde_json::to_value(iam)
            .map_err(|e| Error::invalid(format!("cannot serialize the IAM policy: {e}")))?,
    });
    policy.etag = (!iam.etag.is_empty()).then(|| STANDARD.encode(&iam.etag));
    Ok(policy)
}

/// The IAM policy to set for `policy`: its native document when it has one, else one
/// binding per role from the unified bindings. A `Policy::etag` is sent unless the native
/// document carries its own.
///
/// # Errors
/// [`Error::InvalidArgument`] for a native document of another format or that does not parse,
/// a binding of actions (Cloud KMS grants roles), an empty principal or role, or an etag that
/// is not base64.
pub(crate) fn to_iam(policy: &Policy) -> Result<IamPolicy> {
    let mut iam = match &policy.native {
        Some(native) => {
            if native.format != FORMAT {
                return Err(Error::invalid(format!(
                    "a Cloud KMS IAM policy has format `{FORMAT}`, not `{}`",
                    native.format
                )));
            }
            serde_json::from_value::<IamPolicy>(native.document.clone()).map_err(|e| {
                Error::invalid(format!("the `{FORMAT}` document is not an IAM policy: {e}"))
            })?
        }
        None => {
            let mut roles: Vec<(String, Vec<String>)> = Vec::new();
            for b in policy.normalized_bindings() {
                let Some(role) = b.role.clone().filter(|r| !r.trim().is_empty()) else {
                    return Err(Error::invalid(format!(
                        "Cloud KMS IAM grants roles, not actions: the binding of `{}` has no role",
                        b.principal
                    )));
                };
                if b.principal.trim().is_empty() {
                    return Err(Error::invalid("a binding has an empty principal"));
                }
                match roles.iter_mut().find(|(r, _)| *r == role) {
                    Some((_, members)) => members.push(b.principal.clone()),
                    None => roles.push((role, vec![b.principal.clone()])),
                }
            }
            IamPolicy::new().set_version(1).set_bindings(
                roles
                    .into_iter()
                    .map(|(role, members)| IamBinding::new().set_role(role).set_members(members)),
            )
        }
    };
    if iam.bindings.iter().any(|b| b.condition.is_some()) {
        iam.version = CONDITIONS_VERSION;
    }
    if iam.etag.is_empty()
        && let Some(tag) = &policy.etag
    {
        let bytes = STANDARD
            .decode(tag)
            .map_err(|_| Error::invalid("the policy etag is not base64"))?;
        iam = iam.set_etag(bytes);
    }
    Ok(iam)
}

impl GcpKmsProvider {
    /// `getIamPolicy` of the key (asking for version 3, so conditions come back whole).
    pub(super) async fn policy(&self, key_id: &str) -> Result<Policy> {
        check_id("crypto key", key_id)?;
        let what = format!("get_iam_policy({key_id})");
        let iam = self
            .kms
            .client
            .get_iam_policy()
            .set_resource(self.kms.key_name(key_id))
            .set_options(GetPolicyOptions::new().set_requested_policy_version(CONDITIONS_VERSION))
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        from_iam(&iam)
    }

    /// `setIamPolicy` of the key.
    pub(super) async fn put_policy(&self, key_id: &str, policy: Policy) -> Result<Policy> {
        check_id("crypto key", key_id)?;
        let iam = to_iam(&policy)?;
        let what = format!("set_iam_policy({key_id})");
        let stored = self
            .kms
            .client
            .set_iam_policy()
            .set_resource(self.kms.key_name(key_id))
            .set_policy(iam)
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        tracing::info!(provider = %self.info.name, key = %key_id, "set the IAM policy");
        from_iam(&stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_group_by_role_and_come_back_one_per_member() {
        let policy = Policy::from_bindings(vec![
            Binding::role(
                "user:alice@example.com",
                "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            ),
            Binding::role(
                "user:bob@example.com",
                "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            ),
            Binding::role(
                "serviceAccount:app@p.iam.gserviceaccount.com",
                "roles/cloudkms.viewer",
            ),
        ]);
        let mut iam = to_iam(&policy).unwrap();
        assert_eq!(iam.bindings.len(), 2);
        iam.etag = vec![1, 2, 3].into();
        let back = from_iam(&iam).unwrap();
        assert_eq!(back.normalized_bindings(), policy.normalized_bindings());
        assert_eq!(back.etag.as_deref(), Some("AQID"));
        assert_eq!(back.native.as_ref().unwrap().format, FORMAT);
        // The native document sets back as it is, etag included.
        let again = to_iam(&back).unwrap();
        assert_eq!(again.etag.as_ref(), [1, 2, 3]);
        assert_eq!(again.bindings.len(), 2);
    }

    #[test]
    fn actions_other_formats_and_bad_etags_are_invalid() {
        let actions =
            Policy::from_bindings(vec![Binding::actions("user:a@example.com", ["encrypt"])]);
        assert!(matches!(to_iam(&actions), Err(Error::InvalidArgument(_))));
        let other = Policy {
            native: Some(NativePolicy {
                format: "aws-key-policy".into(),
                document: serde_json::json!({}),
            }),
            ..Policy::default()
        };
        assert!(matches!(to_iam(&other), Err(Error::InvalidArgument(_))));
        let etag = Policy {
            etag: Some("not base64!".into()),
            ..Policy::default()
        };
        assert!(matches!(to_iam(&etag), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn conditional_bindings_stay_native_only() {
        let doc = serde_json::json!({
            "version": 3,
            "bindings": [
                {"role": "roles/cloudkms.viewer", "members": ["user:a@example.com"]},
                {"role": "roles/cloudkms.admin", "members": ["user:b@example.com"],
                 "condition": {"expression": "request.time < timestamp('2030-01-01T00:00:00Z')", "title": "until 2030"}}
            ],
            "etag": "BwXz"
        });
        let iam: IamPolicy = serde_json::from_value(doc).unwrap();
        let policy = from_iam(&iam).unwrap();
        assert_eq!(
            policy.normalized_bindings(),
            vec![Binding::role("user:a@example.com", "roles/cloudkms.viewer")]
        );
        let back = to_iam(&policy).unwrap();
        assert_eq!(back.version, 3);
        assert!(back.bindings.iter().any(|b| b.condition.is_some()));
    }
}
