//! The built-in roles. They are implicit in every policy and cannot be redefined, so a
//! token issued for `operator` means the same thing on every gateway.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::{Effect, KeyPattern, Role, Statement};

/// `admin`: every action on every key.
pub const ADMIN: &str = "admin";
/// `operator`: manages keys, aliases, reads the audit log and the gateway's status, but never
/// uses keys on data, issues tokens or changes the gateway policy (separation of duties).
pub const OPERATOR: &str = "operator";
/// `app`: cryptography, describe, list and public-key on keys labelled `app = <principal>`.
pub const APP: &str = "app";
/// `auditor`: read-only over keys, aliases, the audit log, the gateway policy and the
/// gateway's status.
pub const AUDITOR: &str = "auditor";

/// The names of the built-in roles.
pub const BUILTIN_ROLES: [&str; 4] = [ADMIN, OPERATOR, APP, AUDITOR];

fn allow(actions: &[&str], keys: Option<KeyPattern>) -> Statement {
    Statement {
        effect: Effect::Allow,
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        keys,
        principals: Vec::new(),
        roles: Vec::new(),
    }
}

fn role(description: &str, statements: Vec<Statement>) -> Role {
    Role {
        description: description.to_owned(),
        statements,
    }
}

// A constant table built once; nothing ever writes to it.
static BUILTINS: LazyLock<BTreeMap<&'static str, Role>> = LazyLock::new(|| {
    let own_keys = KeyPattern {
        labels: BTreeMap::from([("app".to_owned(), "${principal}".to_owned())]),
        ..KeyPattern::default()
    };
    BTreeMap::from([
        (
            ADMIN,
            role("Every action on every key.", vec![allow(&["*"], None)]),
        ),
        (
            OPERATOR,
            role(
                "Manages keys and aliases and reads the audit log and the gateway's status; \
                 cannot use keys on data, issue tokens or change the gateway policy.",
                vec![allow(
                    &[
                        "keys:*",
                        "aliases:*",
                        "audit:read",
                        "policy:get",
                        "status:read",
                    ],
                    None,
                )],
            ),
        ),
        (
            APP,
            role(
                "Cryptography, describe, list and public-key on keys labelled \
                 app = <its principal>; random bytes.",
                vec![
                    allow(
                        &["crypto:*", "keys:describe", "keys:list", "keys:public-key"],
                        Some(own_keys),
                    ),
                    allow(&["random:generate"], None),
                ],
            ),
        ),
        (
            AUDITOR,
            role(
                "Read-only: keys, aliases, the audit log, the gateway policy and the gateway's \
                 status.",
                vec![allow(
                    &[
                        "keys:list",
                        "keys:describe",
                        "keys:public-key",
                        "keys:policy:get",
                        "aliases:list",
                        "audit:read",
                        "policy:get",
                        "status:read",
                    ],
                    None,
                )],
            ),
        ),
    ])
});

/// The built-in role called `name`, if there is one.
pub fn builtin_role(name: &str) -> Option<&'static Role> {
    BUILTINS.get(name)
}

/// Whether `name` is a built-in role.
pub fn is_builtin_role(name: &str) -> bool {
    BUILTIN_ROLES.contains(&name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::{AccessPolicy, Action, Identity, KeyAttrs};
    use super::*;
    use crate::Labels;

    fn who(role: &str) -> Identity {
        Identity {
            principal: "billing".into(),
            role: role.into(),
        }
    }

    /// What each built-in role may do on a key labelled `app = billing` (its caller's own
    /// key), as a table over every action. Gateway-wide actions are checked without a key.
    fn expected(role: &str, action: Action) -> bool {
        use Action::*;
        let s = action.as_str();
        match role {
            ADMIN => true,
            OPERATOR => {
                s.starts_with("keys:")
                    || s.starts_with("aliases:")
                    || matches!(action, AuditRead | PolicyGet | StatusRead)
            }
            APP => {
                s.starts_with("crypto:")
                    || matches!(
                        action,
                        KeysDescribe | KeysList | KeysPublicKey | RandomGenerate
                    )
            }
            AUDITOR => matches!(
                action,
                KeysList
                    | KeysDescribe
                    | KeysPublicKey
                    | KeysPolicyGet
                    | AliasesList
                    | AuditRead
                    | PolicyGet
                    | StatusRead
            ),
            _ => false,
        }
    }

    #[test]
    fn every_builtin_role_against_every_action() {
        let policy = AccessPolicy::default();
        let labels = Labels::from([("app".to_owned(), "billing".to_owned())]);
        let own = KeyAttrs {
            provider: "local",
            name: "payments",
            labels: &labels,
        };
        for role in BUILTIN_ROLES {
            for &action in Action::ALL {
                let key = action.is_key_scoped().then_some(&own);
                let d = policy.evaluate(&who(role), action, key);
                assert_eq!(
                    d.allowed,
                    expected(role, action),
                    "{role} {action}: {}",
                    d.reason
                );
                if d.allowed {
                    assert_eq!(d.reason, format!("allowed by built-in role {role}"));
                }
                // may_ever agrees with the table: every built-in grant has a key that fits.
                assert_eq!(
                    policy.may_ever(&who(role), action),
                    expected(role, action),
                    "{role} {action}"
                );
            }
        }
    }

    #[test]
    fn separation_of_duties() {
        let policy = AccessPolicy::default();
        let labels = Labels::new();
        let key = KeyAttrs {
            provider: "local",
            name: "k",
            labels: &labels,
        };
        let op = who(OPERATOR);
        for action in [
            Action::CryptoDecrypt,
            Action::CryptoEncrypt,
            Action::CryptoSign,
        ] {
            assert!(!policy.evaluate(&op, action, Some(&key)).allowed);
        }
        for action in [Action::TokensCreate, Action::TokensList, Action::PolicySet] {
            assert!(!policy.evaluate(&op, action, None).allowed);
        }
        assert!(policy.evaluate(&op, Action::KeysRotate, Some(&key)).allowed);
        assert!(
            policy
                .evaluate(&op, Action::KeysPolicySet, Some(&key))
                .allowed
        );
    }

    #[test]
    fn app_only_reaches_keys_labelled_with_its_principal() {
        let policy = AccessPolicy::default();
        let other = Labels::from([("app".to_owned(), "shipping".to_owned())]);
        let none = Labels::new();
        let prefixed = Labels::from([("app".to_owned(), "billing-2".to_owned())]);
        let app = who(APP);
        for labels in [&other, &none, &prefixed] {
            let key = KeyAttrs {
                provider: "local",
                name: "payments",
                labels,
            };
            for &action in Action::ALL.iter().filter(|a| a.is_key_scoped()) {
                let d = policy.evaluate(&app, action, Some(&key));
                assert!(!d.allowed, "{action} on {labels:?}");
            }
        }
        let d = policy.evaluate(
            &app,
            Action::CryptoDecrypt,
            Some(&KeyAttrs {
                provider: "local",
                name: "payments",
                labels: &other,
            }),
        );
        assert_eq!(
            d.reason,
            "no statement allows crypto:decrypt for role app on local/payments"
        );
        // The same key, asked by the principal it is labelled for.
        let shipping = Identity {
            principal: "shipping".into(),
            role: APP.into(),
        };
        let key = KeyAttrs {
            provider: "local",
            name: "payments",
            labels: &other,
        };
        assert!(
            policy
                .evaluate(&shipping, Action::CryptoDecrypt, Some(&key))
                .allowed
        );
        // Crypto without a key is never allowed for app: its grant is key-patterned.
        assert!(!policy.evaluate(&app, Action::CryptoEncrypt, None).allowed);
    }

    #[test]
    fn builtins_are_listed_and_described() {
        for name in BUILTIN_ROLES {
            let role = builtin_role(name).unwrap();
            assert!(!role.description.is_empty());
            assert!(is_builtin_role(name));
        }
        assert!(builtin_role("rotator").is_none());
        assert!(!is_builtin_role("Admin"));
        // The built-in statements pass the same validation as user documents.
        let as_custom = AccessPolicy {
            roles: BUILTIN_ROLES
                .iter()
                .map(|n| (format!("copy-{n}"), builtin_role(n).unwrap().clone()))
                .collect(),
            statements: Vec::new(),
        };
        as_custom.validate().unwrap();
    }
}
