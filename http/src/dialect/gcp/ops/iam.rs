//! IAM methods. A CryptoKey's IAM policy is the keygate key's own policy (`get_key_policy`/
//! `set_key_policy`): a Cloud KMS binding `{role, members[]}` is one keygate binding per
//! member. Key rings have no keygate policy: reading one gives an empty policy, setting one is
//! FAILED_PRECONDITION. `testIamPermissions` answers from the gateway access policy.

use aws_lc_rs::digest::{SHA256, digest};
use keygate_core::access::{Action, KeyAttrs};
use keygate_core::api::Gateway as _;
use keygate_core::{Binding, Error, KeyUsage, Labels, Policy};
use serde_json::{Value, json};

use super::super::error::{GcpError, GcpResult};
use super::super::path::{KeyName, RingName};
use super::super::wire::{Body, b64, decode_b64};
use super::{Ctx, check_ring};

/// How a keygate binding of explicit actions is written as a Cloud KMS role.
const ACTIONS_ROLE: &str = "keygate.actions/";

/// The etag of a policy: keygate's own when the provider has one, else a digest of its
/// normalized bindings.
fn etag(policy: &Policy) -> String {
    match &policy.etag {
        Some(tag) => b64(tag.as_bytes()),
        None => {
            let canon = serde_json::to_vec(&policy.normalized_bindings()).unwrap_or_default();
            b64(&digest(&SHA256, &canon).as_ref()[..12])
        }
    }
}

/// The Cloud KMS Policy JSON of a keygate policy.
fn policy_json(policy: &Policy) -> Value {
    let mut roles: Vec<(String, Vec<String>)> = Vec::new();
    for b in policy.normalized_bindings() {
        let role = match &b.role {
            Some(r) => r.clone(),
            None => format!("{ACTIONS_ROLE}{}", b.actions.join(",")),
        };
        match roles.iter_mut().find(|(r, _)| *r == role) {
            Some((_, members)) => members.push(b.principal.clone()),
            None => roles.push((role, vec![b.principal.clone()])),
        }
    }
    let bindings: Vec<Value> = roles
        .into_iter()
        .map(|(role, members)| json!({"role": role, "members": members}))
        .collect();
    let mut out = json!({"version": 1, "etag": etag(policy)});
    if !bindings.is_empty() {
        out["bindings"] = json!(bindings);
    }
    out
}

/// The keygate bindings of a Cloud KMS Policy message.
fn bindings_of(policy: &Body) -> GcpResult<Vec<Binding>> {
    if !policy.list("auditConfigs")?.is_empty() {
        return Err(GcpError::invalid(
            "audit_configs are not supported by keygate.",
        ));
    }
    let mut out = Vec::new();
    for b in policy.list("bindings")? {
        let b = Body::element(b, "policy.bindings", &["role", "members", "condition"])?;
        if b.has("condition") {
            return Err(GcpError::invalid(
                "Conditional role bindings are not supported by keygate.",
            ));
        }
        let role = b
            .string("role")?
            .filter(|r| !r.is_empty())
            .ok_or_else(|| GcpError::invalid("Every binding needs a role."))?;
        for member in b.strings("members")? {
            out.push(match role.strip_prefix(ACTIONS_ROLE) {
                Some(actions) => {
                    Binding::actions(member, actions.split(',').filter(|a| !a.is_empty()))
                }
                None => Binding::role(member, role),
            });
        }
    }
    Ok(out)
}

/// `:getIamPolicy` on a key: one `get_key_policy`.
pub async fn key_get(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let _ = ctx.body(&["resource", "options"])?;
    let key = ctx.key(name).await?;
    let policy = ctx.session.get_key_policy(&key.locator()).await?.value;
    Ok(policy_json(&policy))
}

/// `:setIamPolicy` on a key: one `set_key_policy` (after a `get_key_policy` when the request
/// carries an etag to check: a stale one is ABORTED, as in Cloud KMS).
pub async fn key_set(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let body = ctx.body(&["resource", "policy", "updateMask"])?;
    let policy = body
        .message("policy", &["version", "etag", "bindings", "auditConfigs"])?
        .ok_or_else(|| GcpError::invalid("The field 'policy' is required."))?;
    let bindings = bindings_of(&policy)?;
    let key = ctx.key(name).await?;
    let mut keep_etag = None;
    if let Some(given) = policy.string("etag")?.filter(|e| !e.is_empty()) {
        if decode_b64(given).is_none() {
            return Err(GcpError::bad_json(
                "Invalid value at 'policy.etag' (TYPE_BYTES).",
            ));
        }
        let current = ctx.session.get_key_policy(&key.locator()).await?.value;
        if etag(&current) != given {
            return Err(GcpError::aborted(
                "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
            ));
        }
        keep_etag = current.etag;
    }
    let mut new = Policy::from_bindings(bindings);
    new.etag = keep_etag;
    let stored = ctx.session.set_key_policy(&key.locator(), new).await?.value;
    Ok(policy_json(&stored))
}

/// The keygate actions a Cloud KMS permission needs on a key of `usage` (`None`: keygate
/// never grants it).
fn actions_for(permission: &str, usage: Option<KeyUsage>) -> Option<Vec<Action>> {
    let mac = usage == Some(KeyUsage::Mac);
    Some(match permission {
        "cloudkms.cryptoKeys.get" | "cloudkms.cryptoKeyVersions.get" => vec![Action::KeysDescribe],
        "cloudkms.cryptoKeyVersions.list" => vec![Action::KeysDescribe],
        "cloudkms.cryptoKeys.list" | "cloudkms.keyRings.get" | "cloudkms.keyRings.list" => {
            vec![Action::KeysList]
        }
        "cloudkms.cryptoKeys.create" | "cloudkms.keyRings.create" => vec![Action::KeysCreate],
        "cloudkms.cryptoKeys.update" => vec![Action::KeysUpdate, Action::KeysRotate],
        "cloudkms.cryptoKeys.getIamPolicy" | "cloudkms.keyRings.getIamPolicy" => {
            vec![Action::KeysPolicyGet]
        }
        "cloudkms.cryptoKeys.setIamPolicy" => vec![Action::KeysPolicySet],
        "cloudkms.cryptoKeyVersions.create" => vec![Action::KeysRotate],
        "cloudkms.cryptoKeyVersions.update" => vec![Action::KeysEnable, Action::KeysDisable],
        "cloudkms.cryptoKeyVersions.destroy" => vec![Action::KeysDelete],
        "cloudkms.cryptoKeyVersions.restore" => vec![Action::KeysUndelete],
        "cloudkms.cryptoKeyVersions.useToEncrypt" => vec![Action::CryptoEncrypt],
        "cloudkms.cryptoKeyVersions.useToDecrypt" => vec![Action::CryptoDecrypt],
        "cloudkms.cryptoKeyVersions.useToSign" if mac => vec![Action::CryptoMac],
        "cloudkms.cryptoKeyVersions.useToSign" => vec![Action::CryptoSign],
        "cloudkms.cryptoKeyVersions.useToVerify" if mac => vec![Action::CryptoMac],
        "cloudkms.cryptoKeyVersions.useToVerify" => vec![Action::CryptoVerify],
        "cloudkms.cryptoKeyVersions.viewPublicKey" => vec![Action::KeysPublicKey],
        _ => return None,
    })
}

/// The permissions of the request that the caller has on `key` (or, without one, on some
/// key).
fn granted(
    ctx: &Ctx<'_>,
    body: &Body,
    key: Option<&KeyAttrs<'_>>,
    usage: Option<KeyUsage>,
) -> GcpResult<Value> {
    let mut out = Vec::new();
    for p in body.strings("permissions")? {
        if !p.starts_with("cloudkms.") {
            return Err(GcpError::invalid(format!(
                "Permission {p} is not valid for this resource."
            )));
        }
        if actions_for(&p, usage)
            .is_some_and(|actions| actions.iter().all(|a| ctx.session.allows(*a, key)))
        {
            out.push(p);
        }
    }
    Ok(if out.is_empty() {
        json!({})
    } else {
        json!({ "permissions": out })
    })
}

/// `:testIamPermissions` on a key: one `describe_key`, then the gateway access policy's
/// answer for this caller and key (a pure evaluation). A caller that may not describe the key
/// still gets an answer, as in Cloud KMS, evaluated on what its name tells (provider and
/// name; no labels).
pub async fn key_test(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let body = ctx.body(&["resource", "permissions"])?;
    let key = ctx.key(name).await?;
    match ctx.session.describe_key(&key.locator()).await {
        Ok(meta) => {
            check_ring(name, &meta)?;
            let attrs = KeyAttrs::from_metadata(&meta);
            granted(ctx, &body, Some(&attrs), Some(meta.usage))
        }
        Err(Error::PermissionDenied(_)) => {
            let labels = Labels::new();
            let attrs = KeyAttrs {
                provider: &key.provider,
                name: &name.key,
                labels: &labels,
            };
            granted(ctx, &body, Some(&attrs), None)
        }
        Err(e) => Err(e.into()),
    }
}

/// `:getIamPolicy` on a ring: rings have no keygate policy, so it is empty.
pub async fn ring_get(ctx: &Ctx<'_>, ring: &RingName) -> GcpResult<Value> {
    let _ = ctx.body(&["resource", "options"])?;
    let provider = ctx.provider(&ring.location).await?;
    ctx.require_ring(ring, &provider.name).await?;
    Ok(policy_json(&Policy::default()))
}

/// `:setIamPolicy` on a ring: refused, keygate keeps policies on keys.
pub async fn ring_set(ctx: &Ctx<'_>, ring: &RingName) -> GcpResult<Value> {
    let _ = ctx.body(&["resource", "policy", "updateMask"])?;
    Err(GcpError::precondition(format!(
        "KeyRing {ring} cannot have an IAM policy in keygate: set it on each CryptoKey, or use keygate's gateway access policy."
    )))
}

/// `:testIamPermissions` on a ring: the gateway access policy's answer for some key.
pub async fn ring_test(ctx: &Ctx<'_>, ring: &RingName) -> GcpResult<Value> {
    let body = ctx.body(&["resource", "permissions"])?;
    let provider = ctx.provider(&ring.location).await?;
    ctx.require_ring(ring, &provider.name).await?;
    granted(ctx, &body, None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_roundtrip_through_cloud_kms_bindings() {
        let policy = Policy::from_bindings(vec![
            Binding::role("user:a@x", "roles/cloudkms.viewer"),
            Binding::role("user:b@x", "roles/cloudkms.viewer"),
            Binding::actions("user:c@x", ["encrypt", "decrypt"]),
        ]);
        let json = policy_json(&policy);
        assert_eq!(json["version"], 1);
        let body = Body::parse(
            &serde_json::to_vec(&json).unwrap(),
            &["version", "etag", "bindings", "auditConfigs"],
        )
        .unwrap();
        let back = Policy::from_bindings(bindings_of(&body).unwrap());
        assert_eq!(back.normalized_bindings(), policy.normalized_bindings());
        assert_eq!(etag(&back), etag(&policy));
        assert_ne!(etag(&back), etag(&Policy::default()));
    }

    #[test]
    fn conditions_are_refused_and_permissions_map() {
        let body = Body::parse(
            br#"{"bindings":[{"role":"r","members":["m"],"condition":{"expression":"x"}}]}"#,
            &["bindings"],
        )
        .unwrap();
        assert!(bindings_of(&body).is_err());
        assert_eq!(
            actions_for("cloudkms.cryptoKeyVersions.useToSign", Some(KeyUsage::Mac)),
            Some(vec![Action::CryptoMac])
        );
        assert_eq!(
            actions_for("cloudkms.cryptoKeyVersions.useToDecryptViaDelegation", None),
            None
        );
    }
}
