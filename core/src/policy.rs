//! The unified access-policy model shared by every provider.

use serde::{Deserialize, Serialize};

/// One grant: a principal gets a role, or a list of actions, on the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Binding {
    /// Who: `user:alice`, `arn:aws:iam::123:role/app`, `serviceAccount:x@p.iam...`, `*`.
    pub principal: String,
    /// A role name (provider-native or keygate's), when the grant is a role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Explicit actions, when the grant is a list of actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
}

impl Binding {
    /// A grant of `role` to `principal`.
    pub fn role(principal: impl Into<String>, role: impl Into<String>) -> Self {
        Self {
            principal: principal.into(),
            role: Some(role.into()),
            actions: Vec::new(),
        }
    }

    /// A grant of `actions` (in the provider's vocabulary) to `principal`.
    pub fn actions<I, S>(principal: impl Into<String>, actions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            principal: principal.into(),
            role: None,
            actions: actions.into_iter().map(Into::into).collect(),
        }
    }

    /// True when the principal is a wildcard (`*` or AWS `{"AWS":"*"}` style).
    pub fn is_wildcard(&self) -> bool {
        self.principal == "*" || self.principal == "allUsers"
    }
}

/// A provider's own policy document, kept verbatim so it can be read and edited as the
/// provider knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativePolicy {
    /// Which format: `aws-key-policy`, `gcp-iam`, `azure-rbac`, `keygate`.
    pub format: String,
    /// The document as JSON, as the provider returns and takes it (an AWS key policy, a GCP
    /// IAM policy, Azure role assignments).
    pub document: serde_json::Value,
}

/// A key's access policy: unified bindings plus, where the provider has one, its native
/// document.
///
/// When setting, a `native` document (if given and supported) is authoritative; otherwise the
/// bindings are translated into the provider's form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Grants, sorted.
    #[serde(default)]
    pub bindings: Vec<Binding>,
    /// The provider's native document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<NativePolicy>,
    /// Optimistic-concurrency tag, when the provider has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl Policy {
    /// A policy of just these bindings.
    pub fn from_bindings(mut bindings: Vec<Binding>) -> Self {
        bindings.sort();
        bindings.dedup();
        Self {
            bindings,
            native: None,
            etag: None,
        }
    }

    /// The bindings, sorted and de-duplicated, for comparing two policies.
    pub fn normalized_bindings(&self) -> Vec<Binding> {
        let mut b: Vec<Binding> = self
            .bindings
            .iter()
            .map(|b| {
                let mut b = b.clone();
                b.actions.sort();
                b.actions.dedup();
                b
            })
            .collect();
        b.sort();
        b.dedup();
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_ignores_order_and_duplicates() {
        let a = Policy::from_bindings(vec![
            Binding::role("user:b", "viewer"),
            Binding::actions("user:a", ["decrypt", "encrypt"]),
        ]);
        let b = Policy {
            bindings: vec![
                Binding::actions("user:a", ["encrypt", "decrypt", "encrypt"]),
                Binding::role("user:b", "viewer"),
                Binding::role("user:b", "viewer"),
            ],
            ..Policy::default()
        };
        assert_eq!(a.normalized_bindings(), b.normalized_bindings());
        assert!(Binding::role("*", "x").is_wildcard());
    }
}
