//! Key policies keygate enforces: after the gateway access policy allowed a call on a key,
//! and before its provider is asked, the key's own AWS key policy must allow it too.
//!
//! keygate is the enforcement point of a key whose provider keeps key policies but has no
//! policy format of its own to enforce them ([`enforces_key_policy`]: the local provider).
//! A key in a cloud provider keeps its cloud as the enforcer (AWS evaluates an AWS key's
//! policy, Cloud IAM and Azure RBAC theirs): keygate does not evaluate their policies.
//!
//! A key without an AWS key policy document (no policy, or keygate bindings only) has AWS's
//! default key policy, which leaves every caller to the gateway access policy: only a key
//! given a document changes who may use it. The gateway's actions map onto KMS actions in
//! one table ([`kms_action`]); a call that is more precise than its gateway action (verify
//! a MAC, set a rotation schedule) names its KMS action itself ([`CallFacts`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use keygate_core::access::Action;
use keygate_core::keypolicy::{self, Request};
use keygate_core::{Capabilities, EncryptionContext, KeyMetadata, Result};
use serde_json::Value;

use super::Session;
use super::keycache::TTL;
use super::run::Audit;
use crate::registry::ResolvedKey;

/// Whether keygate enforces the key policies of keys in a provider with `capabilities`: it
/// keeps key policies and has no native format (whose cloud would enforce them).
pub fn enforces_key_policy(capabilities: &Capabilities) -> bool {
    capabilities.key_policy && capabilities.native_policy_format.is_none()
}

/// The KMS action a gateway action is evaluated as in a key policy.
///
/// | gateway action | KMS action |
/// |---|---|
/// | `keys:list` | `kms:ListKeys` |
/// | `keys:describe` | `kms:DescribeKey` |
/// | `keys:create` | `kms:CreateKey` |
/// | `keys:update` | `kms:UpdateKeyDescription` |
/// | `keys:enable` / `keys:disable` | `kms:EnableKey` / `kms:DisableKey` |
/// | `keys:delete` / `keys:undelete` | `kms:ScheduleKeyDeletion` / `kms:CancelKeyDeletion` |
/// | `keys:rotate` | `kms:RotateKeyOnDemand` (`kms:EnableKeyRotation` for a schedule) |
/// | `keys:public-key` | `kms:GetPublicKey` |
/// | `keys:policy:get` / `keys:policy:set` | `kms:GetKeyPolicy` / `kms:PutKeyPolicy` |
/// | `crypto:encrypt` / `crypto:decrypt` | `kms:Encrypt` / `kms:Decrypt` |
/// | `crypto:generate-data-key` | `kms:GenerateDataKey` |
/// | `crypto:sign` / `crypto:verify` | `kms:Sign` / `kms:Verify` |
/// | `crypto:mac` | `kms:GenerateMac` (`kms:VerifyMac` to verify) |
/// | `aliases:write` | `kms:CreateAlias` |
///
/// Actions about no key (tokens, audit, the access policy, random bytes) have no key policy
/// and map to `None`.
pub fn kms_action(action: Action) -> Option<&'static str> {
    Some(match action {
        Action::KeysList => "kms:ListKeys",
        Action::KeysDescribe => "kms:DescribeKey",
        Action::KeysCreate => "kms:CreateKey",
        Action::KeysUpdate => "kms:UpdateKeyDescription",
        Action::KeysEnable => "kms:EnableKey",
        Action::KeysDisable => "kms:DisableKey",
        Action::KeysDelete => "kms:ScheduleKeyDeletion",
        Action::KeysUndelete => "kms:CancelKeyDeletion",
        Action::KeysRotate => "kms:RotateKeyOnDemand",
        Action::KeysPublicKey => "kms:GetPublicKey",
        Action::KeysPolicyGet => "kms:GetKeyPolicy",
        Action::KeysPolicySet => "kms:PutKeyPolicy",
        Action::CryptoEncrypt => "kms:Encrypt",
        Action::CryptoDecrypt => "kms:Decrypt",
        Action::CryptoGenerateDataKey => "kms:GenerateDataKey",
        Action::CryptoSign => "kms:Sign",
        Action::CryptoVerify => "kms:Verify",
        Action::CryptoMac => "kms:GenerateMac",
        Action::AliasesWrite => "kms:CreateAlias",
        _ => return None,
    })
}

/// What a call tells the key policy beyond its gateway action: the request values the
/// policy's conditions read. Grant tokens will join them.
#[derive(Debug, Clone, Default)]
pub(super) struct CallFacts {
    /// The KMS action, when more precise than [`kms_action`] of the gateway action.
    pub(super) kms_action: Option<&'static str>,
    /// The call's encryption context.
    pub(super) context: Option<EncryptionContext>,
}

impl CallFacts {
    /// Facts of a call with `context`.
    pub(super) fn context(context: &EncryptionContext) -> Self {
        Self {
            kms_action: None,
            context: Some(context.clone()),
        }
    }

    /// Facts of a call evaluated as `kms_action`.
    pub(super) fn action(kms_action: &'static str) -> Self {
        Self {
            kms_action: Some(kms_action),
            context: None,
        }
    }
}

/// Recently read key policy documents of keys keygate enforces, for the cryptographic hot
/// path (as [`KeyCache`](super::keycache) keeps resolved keys): `None` is a key with no
/// document. Emptied by every policy change made through this gateway; another gateway's
/// change is seen within the cache's time to live.
#[derive(Debug, Default)]
pub(super) struct PolicyCache {
    entries: Mutex<HashMap<String, Cached>>,
}

/// When a key's document was read, and the document (`None`: the key has none).
type Cached = (Instant, Option<Arc<Value>>);

impl PolicyCache {
    fn get(&self, uri: &str) -> Option<Option<Arc<Value>>> {
        let entries = self.entries.lock().ok()?;
        let (at, document) = entries.get(uri)?;
        (at.elapsed() < TTL).then(|| document.clone())
    }

    fn put(&self, uri: &str, document: Option<Arc<Value>>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= 10_000 {
                entries.clear();
            }
            entries.insert(uri.to_owned(), (Instant::now(), document));
        }
    }

    /// Forgets every document (after a policy change).
    pub(super) fn clear(&self) {
        match self.entries.lock() {
            Ok(mut entries) => entries.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
    }
}

impl Session {
    /// The key policy check of `action` on the key `key` resolved to: nothing for a key
    /// keygate does not enforce or that has no document; otherwise the document must allow
    /// the call, or it is refused ([`Error::PermissionDenied`](keygate_core::Error), audited
    /// `denied`) before any provider call.
    pub(super) async fn check_key_policy(
        &self,
        audit: &mut Audit<'_>,
        action: Action,
        key: &ResolvedKey,
        meta: &KeyMetadata,
    ) -> Result<()> {
        if !enforces_key_policy(key.provider.capabilities()) {
            return Ok(());
        }
        let Some(kms) = audit.facts.kms_action.or_else(|| kms_action(action)) else {
            return Ok(());
        };
        let Some(document) = self.key_policy_document(action, key, &meta.uri).await? else {
            return Ok(());
        };
        let account = self.service.aws_arns.0.account_id.clone();
        // The key's ARN only when a statement names a resource other than `*`.
        let resource = if names_resources(&document) {
            Some(self.service.aws_key_arn(&meta.uri).await?)
        } else {
            None
        };
        let request = Request {
            principal: &self.identity.principal,
            account: &account,
            action: kms,
            resource: resource.as_deref(),
            context: audit.facts.context.as_ref(),
            via_service: None,
            grant_is_for_aws_resource: None,
        };
        let decision = keypolicy::evaluate(&document, &request);
        if decision.allowed() {
            Ok(())
        } else {
            Err(audit.deny(format!("{}: {}", meta.uri, decision.reason(kms))))
        }
    }

    /// The AWS key policy document of `key`, from the cache on the hot path.
    async fn key_policy_document(
        &self,
        action: Action,
        key: &ResolvedKey,
        uri: &str,
    ) -> Result<Option<Arc<Value>>> {
        let hot = action.as_str().starts_with("crypto:");
        let cache = &self.service.key_policies;
        if hot && let Some(document) = cache.get(uri) {
            return Ok(document);
        }
        let policy = key.provider.get_key_policy(&key.id).await?;
        let document = policy
            .native
            .as_ref()
            .and_then(keypolicy::document_of)
            .map(Arc::new);
        if hot {
            cache.put(uri, document.clone());
        }
        Ok(document)
    }
}

/// Whether a statement of `document` names a `Resource`/`NotResource` other than `*`.
fn names_resources(document: &Value) -> bool {
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    statements.into_iter().any(|s| {
        ["Resource", "NotResource"].iter().any(|k| match s.get(*k) {
            Some(Value::String(r)) => r != "*",
            Some(Value::Array(items)) => items.iter().any(|r| r.as_str() != Some("*")),
            _ => false,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_key_action_has_its_kms_action_and_resources_are_noticed() {
        assert_eq!(kms_action(Action::CryptoDecrypt), Some("kms:Decrypt"));
        assert_eq!(kms_action(Action::KeysPolicySet), Some("kms:PutKeyPolicy"));
        assert_eq!(kms_action(Action::TokensCreate), None);
        assert!(!names_resources(&json!({"Statement": {"Resource": "*"}})));
        assert!(names_resources(
            &json!({"Statement": [{"Resource": "*"}, {"NotResource": ["*", "arn:x"]}]})
        ));
    }
}
