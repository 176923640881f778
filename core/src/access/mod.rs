//! The gateway's access policy: who may do what to which keys, for every provider alike.
//!
//! Callers carry one role (from their token). Roles and top-level statements allow or deny
//! actions on keys matched by pattern. Deny by default; an explicit deny wins.
//!
//! # The document
//!
//! Users edit the policy as TOML (the HTTP API carries the same structure as JSON). The
//! built-in roles `admin`, `operator`, `app` and `auditor` are always there (see
//! [`builtin_role`]); the document adds custom roles and top-level statements:
//!
//! ```
//! use keygate_core::access::{AccessPolicy, Action, Identity, KeyAttrs};
//! use keygate_core::Labels;
//!
//! let policy = AccessPolicy::from_toml(r#"
//!     ## A role that may only rotate production keys.
//!     [roles.rotator]
//!     description = "rotates prod keys"
//!     [[roles.rotator.statements]]
//!     effect = "allow"
//!     actions = ["keys:rotate", "keys:describe"]
//!     keys = { name = "prod-*" }
//!
//!     ## CI may encrypt (if its role allows) but never decrypt, whatever its role.
//!     [[statements]]
//!     effect = "deny"
//!     actions = ["crypto:decrypt"]
//!     principals = ["ci-*"]
//! "#)?;
//!
//! let labels = Labels::new();
//! let prod = KeyAttrs { provider: "local", name: "prod-db", labels: &labels };
//! let rotator = Identity { principal: "ops-bot".into(), role: "rotator".into() };
//! assert!(policy.evaluate(&rotator, Action::KeysRotate, Some(&prod)).allowed);
//! assert!(!policy.evaluate(&rotator, Action::KeysDelete, Some(&prod)).allowed);
//!
//! let ci = Identity { principal: "ci-build".into(), role: "admin".into() };
//! let decision = policy.evaluate(&ci, Action::CryptoDecrypt, Some(&prod));
//! assert!(!decision.allowed);
//! assert_eq!(decision.reason, "denied by statements[0]");
//! # Ok::<(), keygate_core::Error>(())
//! ```
//!
//! # Evaluation
//!
//! See [`AccessPolicy::evaluate`]. In short: the statements that apply to a caller are its
//! role's plus the top-level statements naming its principal or role (or naming nobody);
//! any matching deny refuses, else any matching allow grants, else the call is refused.

mod builtin;
mod eval;
mod glob;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, KeyMetadata, Labels, Result};

pub use builtin::{ADMIN, APP, AUDITOR, BUILTIN_ROLES, OPERATOR, builtin_role, is_builtin_role};

/// Who is calling: a principal and the role its token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The principal name (`billing`, `alice`, `local:root`).
    pub principal: String,
    /// The role: a built-in (`admin`, `operator`, `app`, `auditor`) or a policy-defined one.
    pub role: String,
}

/// Every gateway action. Key-scoped actions are checked against the target key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Action {
    /// `keys:list` (list keys; a listing holds only the keys the caller may list)
    #[serde(rename = "keys:list")]
    KeysList,
    /// `keys:describe` (metadata, versions, rotation schedule)
    #[serde(rename = "keys:describe")]
    KeysDescribe,
    /// `keys:create` (checked against the new key's provider, name and labels)
    #[serde(rename = "keys:create")]
    KeysCreate,
    /// `keys:update` (description, labels)
    #[serde(rename = "keys:update")]
    KeysUpdate,
    /// `keys:enable` (make a disabled key usable again)
    #[serde(rename = "keys:enable")]
    KeysEnable,
    /// `keys:disable` (refuse a key's cryptographic use until it is enabled)
    #[serde(rename = "keys:disable")]
    KeysDisable,
    /// `keys:delete` (schedule deletion)
    #[serde(rename = "keys:delete")]
    KeysDelete,
    /// `keys:undelete` (cancel deletion)
    #[serde(rename = "keys:undelete")]
    KeysUndelete,
    /// `keys:rotate` (rotate now, set the rotation schedule)
    #[serde(rename = "keys:rotate")]
    KeysRotate,
    /// `keys:public-key` (read an asymmetric key's public key)
    #[serde(rename = "keys:public-key")]
    KeysPublicKey,
    /// `keys:policy:get` (read a key's policy in its provider)
    #[serde(rename = "keys:policy:get")]
    KeysPolicyGet,
    /// `keys:policy:set` (replace a key's policy in its provider)
    #[serde(rename = "keys:policy:set")]
    KeysPolicySet,
    /// `keys:import` (get import parameters, import key material, delete imported material)
    #[serde(rename = "keys:import")]
    KeysImport,
    /// `crypto:encrypt` (seal an envelope, whole or streamed, or encrypt natively)
    #[serde(rename = "crypto:encrypt")]
    CryptoEncrypt,
    /// `crypto:decrypt` (open an envelope, or decrypt a provider-native ciphertext)
    #[serde(rename = "crypto:decrypt")]
    CryptoDecrypt,
    /// `crypto:generate-data-key` (a data key in plaintext and wrapped under the key)
    #[serde(rename = "crypto:generate-data-key")]
    CryptoGenerateDataKey,
    /// `crypto:sign` (sign a message or a digest with an asymmetric key)
    #[serde(rename = "crypto:sign")]
    CryptoSign,
    /// `crypto:verify` (check a signature against the key)
    #[serde(rename = "crypto:verify")]
    CryptoVerify,
    /// `crypto:mac` (generate and verify)
    #[serde(rename = "crypto:mac")]
    CryptoMac,
    /// `random:generate` (random bytes from the gateway; no key involved)
    #[serde(rename = "random:generate")]
    RandomGenerate,
    /// `aliases:list` (the aliases and the keys they point at)
    #[serde(rename = "aliases:list")]
    AliasesList,
    /// `aliases:write` (create, update, delete; also needs `keys:describe` on the target)
    #[serde(rename = "aliases:write")]
    AliasesWrite,
    /// `audit:read` (query, follow, export, verify)
    #[serde(rename = "audit:read")]
    AuditRead,
    /// `tokens:list` (API tokens and AWS access keys, never their secrets)
    #[serde(rename = "tokens:list")]
    TokensList,
    /// `tokens:create` (issue an API token or AWS access key, with any role the policy knows)
    #[serde(rename = "tokens:create")]
    TokensCreate,
    /// `tokens:revoke` (stop a token or access key from working)
    #[serde(rename = "tokens:revoke")]
    TokensRevoke,
    /// `policy:get` (the gateway access policy)
    #[serde(rename = "policy:get")]
    PolicyGet,
    /// `policy:set` (replace the gateway access policy)
    #[serde(rename = "policy:set")]
    PolicySet,
    /// `status:read` (the gateway's health: providers probed, store, audit head, listeners;
    /// a refusal is audited, a successful read is not)
    #[serde(rename = "status:read")]
    StatusRead,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Grants the actions.
    Allow,
    /// Refuses them, whatever else allows them.
    Deny,
}

/// Which keys a statement covers. Every field that is set must match; an empty pattern
/// matches every key. Globs use `*` and `?`; `${principal}` in a value stands for the
/// caller's principal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPattern {
    /// Provider name glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Key name glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Labels the key must carry (value globs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// One rule of the policy: an effect on some actions over some keys, inside a role or, at
/// the top level, for the principals and roles it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Whether matching calls are allowed or refused (a matching deny always wins).
    pub effect: Effect,
    /// Action globs (`crypto:*`, `keys:rotate`, `*`).
    pub actions: Vec<String>,
    /// The keys it covers (absent: all keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<KeyPattern>,
    /// Top-level statements only: the principals it applies to (globs); empty with empty
    /// `roles` means everyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    /// Top-level statements only: the roles it applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// A policy-defined role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// What it may do.
    pub statements: Vec<Statement>,
}

/// The gateway access policy document (built-in roles are implicit and cannot be redefined).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    /// Custom roles by name.
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
    /// Statements applied to principals or roles directly (typically denies).
    #[serde(default)]
    pub statements: Vec<Statement>,
}

impl Action {
    /// Every action, in documentation order.
    pub const ALL: &'static [Action] = &[
        Self::KeysList,
        Self::KeysDescribe,
        Self::KeysCreate,
        Self::KeysUpdate,
        Self::KeysEnable,
        Self::KeysDisable,
        Self::KeysDelete,
        Self::KeysUndelete,
        Self::KeysRotate,
        Self::KeysPublicKey,
        Self::KeysPolicyGet,
        Self::KeysPolicySet,
        Self::KeysImport,
        Self::CryptoEncrypt,
        Self::CryptoDecrypt,
        Self::CryptoGenerateDataKey,
        Self::CryptoSign,
        Self::CryptoVerify,
        Self::CryptoMac,
        Self::RandomGenerate,
        Self::AliasesList,
        Self::AliasesWrite,
        Self::AuditRead,
        Self::TokensList,
        Self::TokensCreate,
        Self::TokensRevoke,
        Self::PolicyGet,
        Self::PolicySet,
        Self::StatusRead,
    ];

    /// The action's name as written in policies and audit rows (`crypto:decrypt`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeysList => "keys:list",
            Self::KeysDescribe => "keys:describe",
            Self::KeysCreate => "keys:create",
            Self::KeysUpdate => "keys:update",
            Self::KeysEnable => "keys:enable",
            Self::KeysDisable => "keys:disable",
            Self::KeysDelete => "keys:delete",
            Self::KeysUndelete => "keys:undelete",
            Self::KeysRotate => "keys:rotate",
            Self::KeysPublicKey => "keys:public-key",
            Self::KeysPolicyGet => "keys:policy:get",
            Self::KeysPolicySet => "keys:policy:set",
            Self::KeysImport => "keys:import",
            Self::CryptoEncrypt => "crypto:encrypt",
            Self::CryptoDecrypt => "crypto:decrypt",
            Self::CryptoGenerateDataKey => "crypto:generate-data-key",
            Self::CryptoSign => "crypto:sign",
            Self::CryptoVerify => "crypto:verify",
            Self::CryptoMac => "crypto:mac",
            Self::RandomGenerate => "random:generate",
            Self::AliasesList => "aliases:list",
            Self::AliasesWrite => "aliases:write",
            Self::AuditRead => "audit:read",
            Self::TokensList => "tokens:list",
            Self::TokensCreate => "tokens:create",
            Self::TokensRevoke => "tokens:revoke",
            Self::PolicyGet => "policy:get",
            Self::PolicySet => "policy:set",
            Self::StatusRead => "status:read",
        }
    }

    /// Whether the action is checked against a key, so that key patterns apply to it.
    ///
    /// Every `keys:*` and `crypto:*` action is key-scoped, `keys:list` and `keys:create`
    /// included: a listing is filtered by checking `keys:list` against each listed key, and
    /// `keys:create` is checked against the key about to be created (its provider, name and
    /// labels), so a role can be limited to creating `dev-*` keys. `aliases:*`, `audit:read`,
    /// `tokens:*`, `policy:*` and `status:read` are gateway-wide and always checked without a key (writing
    /// an alias additionally needs `keys:describe` on its target, a key-scoped check).
    pub fn is_key_scoped(self) -> bool {
        self.as_str().starts_with("keys:") || self.as_str().starts_with("crypto:")
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = Error;

    /// Parses an action name (`keys:rotate`); globs are not actions.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] listing the valid actions.
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                let valid: Vec<&str> = Self::ALL.iter().map(|a| a.as_str()).collect();
                Error::invalid(format!(
                    "unknown action `{s}`; valid actions: {}",
                    valid.join(", ")
                ))
            })
    }
}

/// The key an action is checked against: what key patterns look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttrs<'a> {
    /// The registered provider name.
    pub provider: &'a str,
    /// The key's human name ([`KeyMetadata::name`]).
    pub name: &'a str,
    /// The key's labels, matched against the pattern's label globs.
    pub labels: &'a Labels,
}

impl<'a> KeyAttrs<'a> {
    /// The attributes of an existing key.
    pub fn from_metadata(meta: &'a KeyMetadata) -> Self {
        Self {
            provider: &meta.provider,
            name: &meta.name,
            labels: &meta.labels,
        }
    }
}

impl fmt::Display for KeyAttrs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.name)
    }
}

/// The outcome of a check, with the reason an operator (or the audit log) can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Which statement decided (`denied by statements[1]`, `allowed by built-in role
    /// operator`), or why nothing did.
    pub reason: String,
}

impl Decision {
    /// `Ok(())` when allowed, else [`Error::PermissionDenied`] carrying the reason.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] when the decision is a denial.
    pub fn into_result(self) -> Result<()> {
        if self.allowed {
            Ok(())
        } else {
            Err(Error::PermissionDenied(self.reason))
        }
    }
}

impl AccessPolicy {
    /// The role called `name`: a built-in one, else a custom one from this document.
    pub fn role(&self, name: &str) -> Option<&Role> {
        builtin_role(name).or_else(|| self.roles.get(name))
    }

    /// Whether `name` is a role tokens can be issued for (built-in or defined here).
    pub fn has_role(&self, name: &str) -> bool {
        self.role(name).is_some()
    }

    /// Every role name: the built-in ones first, then the custom ones in order.
    pub fn role_names(&self) -> Vec<&str> {
        BUILTIN_ROLES
            .iter()
            .copied()
            .chain(self.roles.keys().map(String::as_str))
            .collect()
    }

    /// Parses and validates a TOML document (see the module docs for the format).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] with the parser's position, or the validation problems.
    pub fn from_toml(text: &str) -> Result<Self> {
        let policy: Self =
            toml::from_str(text).map_err(|e| Error::invalid(format!("access policy TOML: {e}")))?;
        policy.validate()?;
        Ok(policy)
    }

    /// The document as TOML.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if it cannot be represented (not expected for any policy).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| Error::invalid(format!("access policy as TOML: {e}")))
    }

    /// Parses and validates a JSON document (the same structure as the TOML one).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] with the parser's position, or the validation problems.
    pub fn from_json(text: &str) -> Result<Self> {
        let policy: Self = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("access policy JSON: {e}")))?;
        policy.validate()?;
        Ok(policy)
    }

    /// The document as pretty-printed JSON.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if it cannot be represented (not expected for any policy).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::invalid(format!("access policy as JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn action_names_parse_display_and_serialize_alike() {
        assert_eq!(Action::ALL.len(), 29);
        for &a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
            assert_eq!(a.to_string(), a.as_str());
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.as_str()));
        }
        let all: std::collections::BTreeSet<_> = Action::ALL.iter().collect();
        assert_eq!(all.len(), Action::ALL.len(), "no duplicates");
    }

    #[test]
    fn unknown_action_lists_the_valid_ones() {
        let err = "crypto:decrpyt".parse::<Action>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let msg = err.to_string();
        assert!(msg.contains("`crypto:decrpyt`"), "{msg}");
        assert!(
            msg.contains("crypto:decrypt") && msg.contains("policy:set"),
            "{msg}"
        );
        assert!(
            "crypto:*".parse::<Action>().is_err(),
            "globs are not actions"
        );
    }

    #[test]
    fn key_scoped_actions_are_the_keys_and_crypto_families() {
        let scoped: Vec<&str> = Action::ALL
            .iter()
            .filter(|a| a.is_key_scoped())
            .map(|a| a.as_str())
            .collect();
        assert_eq!(scoped.len(), 19);
        assert!(scoped.contains(&"keys:list") && scoped.contains(&"keys:create"));
        for a in [
            Action::AliasesWrite,
            Action::AuditRead,
            Action::TokensCreate,
            Action::PolicySet,
            Action::StatusRead,
        ] {
            assert!(!a.is_key_scoped(), "{a}");
        }
    }

    fn sample() -> AccessPolicy {
        AccessPolicy::from_toml(
            r#"
            [roles.rotator]
            description = "rotates prod keys"
            [[roles.rotator.statements]]
            effect = "allow"
            actions = ["keys:rotate"]
            keys = { name = "prod-*", labels = { owner = "${principal}" } }

            [[statements]]
            effect = "deny"
            actions = ["crypto:decrypt"]
            principals = ["ci-*"]
            "#,
        )
        .unwrap()
    }

    #[test]
    fn toml_and_json_roundtrip() {
        let p = sample();
        assert_eq!(
            p.roles["rotator"].statements[0]
                .keys
                .as_ref()
                .unwrap()
                .labels["owner"],
            "${principal}"
        );
        assert_eq!(AccessPolicy::from_toml(&p.to_toml().unwrap()).unwrap(), p);
        assert_eq!(AccessPolicy::from_json(&p.to_json().unwrap()).unwrap(), p);
        let empty = AccessPolicy::default();
        assert_eq!(
            AccessPolicy::from_toml(&empty.to_toml().unwrap()).unwrap(),
            empty
        );
        assert_eq!(AccessPolicy::from_toml("").unwrap(), empty);
    }

    #[test]
    fn documents_with_typos_are_rejected() {
        let err = AccessPolicy::from_toml(r#"statements = [{ effect = "allow", action = ["*"] }]"#)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let err =
            AccessPolicy::from_toml(r#"statements = [{ effect = "permit", actions = ["*"] }]"#)
                .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let err = AccessPolicy::from_json(r#"{"roles": {"r": {"statements": [], "extra": 1}}}"#)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        // Parsing also validates.
        let err = AccessPolicy::from_json(
            r#"{"statements": [{"effect": "allow", "actions": ["nope"]}]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("matches no action"));
    }

    #[test]
    fn roles_are_looked_up_builtin_first() {
        let p = sample();
        assert!(p.has_role("admin") && p.has_role("rotator") && !p.has_role("ghost"));
        assert_eq!(
            p.role_names(),
            ["admin", "operator", "app", "auditor", "rotator"]
        );
        assert_eq!(p.role("rotator").unwrap().description, "rotates prod keys");
    }

    #[test]
    fn key_attrs_from_metadata_and_decision_result() {
        let meta = KeyMetadata {
            import: None,
            uri: "local://payments".into(),
            provider: "local".into(),
            id: "payments".into(),
            name: "payments".into(),
            spec: crate::KeySpec::Aes256,
            usage: crate::KeyUsage::Encrypt,
            state: crate::KeyState::Enabled,
            primary_version: Some("1".into()),
            rotation: None,
            labels: Labels::from([("app".to_owned(), "billing".to_owned())]),
            description: String::new(),
            created: time::macros::datetime!(2030-01-01 00:00:00 UTC),
        };
        let attrs = KeyAttrs::from_metadata(&meta);
        assert_eq!(attrs.to_string(), "local/payments");
        assert_eq!(attrs.labels["app"], "billing");
        let d = Decision {
            allowed: false,
            reason: "denied by statements[0]".into(),
        };
        let err = d.into_result().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("denied by statements[0]"));
        assert!(
            Decision {
                allowed: true,
                reason: String::new()
            }
            .into_result()
            .is_ok()
        );
    }
}
