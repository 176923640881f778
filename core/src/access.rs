//! The gateway's access policy: who may do what to which keys, for every provider alike.
//!
//! Callers carry one role (from their token). Roles and top-level statements allow or deny
//! actions on keys matched by pattern. Deny by default; an explicit deny wins.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    /// `keys:list`
    #[serde(rename = "keys:list")]
    KeysList,
    /// `keys:describe` (metadata, versions, rotation schedule)
    #[serde(rename = "keys:describe")]
    KeysDescribe,
    /// `keys:create`
    #[serde(rename = "keys:create")]
    KeysCreate,
    /// `keys:update` (description, labels)
    #[serde(rename = "keys:update")]
    KeysUpdate,
    /// `keys:enable`
    #[serde(rename = "keys:enable")]
    KeysEnable,
    /// `keys:disable`
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
    /// `keys:public-key`
    #[serde(rename = "keys:public-key")]
    KeysPublicKey,
    /// `keys:policy:get`
    #[serde(rename = "keys:policy:get")]
    KeysPolicyGet,
    /// `keys:policy:set`
    #[serde(rename = "keys:policy:set")]
    KeysPolicySet,
    /// `crypto:encrypt`
    #[serde(rename = "crypto:encrypt")]
    CryptoEncrypt,
    /// `crypto:decrypt`
    #[serde(rename = "crypto:decrypt")]
    CryptoDecrypt,
    /// `crypto:generate-data-key`
    #[serde(rename = "crypto:generate-data-key")]
    CryptoGenerateDataKey,
    /// `crypto:sign`
    #[serde(rename = "crypto:sign")]
    CryptoSign,
    /// `crypto:verify`
    #[serde(rename = "crypto:verify")]
    CryptoVerify,
    /// `crypto:mac` (generate and verify)
    #[serde(rename = "crypto:mac")]
    CryptoMac,
    /// `aliases:list`
    #[serde(rename = "aliases:list")]
    AliasesList,
    /// `aliases:write` (create, update, delete; also needs `keys:describe` on the target)
    #[serde(rename = "aliases:write")]
    AliasesWrite,
    /// `audit:read` (query, follow, export, verify)
    #[serde(rename = "audit:read")]
    AuditRead,
    /// `tokens:list`
    #[serde(rename = "tokens:list")]
    TokensList,
    /// `tokens:create`
    #[serde(rename = "tokens:create")]
    TokensCreate,
    /// `tokens:revoke`
    #[serde(rename = "tokens:revoke")]
    TokensRevoke,
    /// `policy:get` (the gateway access policy)
    #[serde(rename = "policy:get")]
    PolicyGet,
    /// `policy:set`
    #[serde(rename = "policy:set")]
    PolicySet,
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

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Allow or deny.
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
pub struct Role {
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// What it may do.
    pub statements: Vec<Statement>,
}

/// The gateway access policy document (built-in roles are implicit and cannot be redefined).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPolicy {
    /// Custom roles by name.
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
    /// Statements applied to principals or roles directly (typically denies).
    #[serde(default)]
    pub statements: Vec<Statement>,
}
