//! Evaluating the policy for one call. Pure and allocation-light: it runs on every request.

use std::fmt;

use super::builtin_role;
use super::glob::{Vars, glob_matches};
use super::validate::is_empty_pattern;
use super::{AccessPolicy, Action, Decision, Effect, Identity, KeyAttrs, KeyPattern, Statement};

/// Where a statement comes from, as named in a [`Decision`]'s reason.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    /// A built-in role (its statements are not indexed: users never see them).
    Builtin(&'a str),
    /// `roles.<name>.statements[i]`.
    Role(&'a str, usize),
    /// `statements[i]`.
    TopLevel(usize),
}

impl fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builtin(role) => write!(f, "built-in role {role}"),
            Self::Role(role, i) => write!(f, "role {role} statements[{i}]"),
            Self::TopLevel(i) => write!(f, "statements[{i}]"),
        }
    }
}

impl AccessPolicy {
    /// Decides whether `who` may perform `action` (on `key`, for key-scoped actions).
    ///
    /// The statements that apply are the caller's role's (built-in or custom) plus every
    /// top-level statement whose `principals` and `roles` match the caller (each list that is
    /// set must match; both empty means everyone). A statement matches when one of its action
    /// globs matches `action` and either it has no key pattern (an empty pattern counts as
    /// none), or a key is given and the pattern matches it: provider and name globs, and
    /// every listed label present with a matching value, `${principal}` standing for the
    /// caller's principal. A key pattern never matches a key-less check.
    ///
    /// Any matching deny refuses; otherwise any matching allow grants; otherwise the call is
    /// refused. A role that is neither built in nor defined refuses everything. For actions
    /// that are not [key-scoped](Action::is_key_scoped) `key` is ignored.
    ///
    /// A policy that was never [validated](AccessPolicy::validate) can hold malformed globs;
    /// they fail closed: a broken deny matches, a broken allow does not.
    pub fn evaluate(&self, who: &Identity, action: Action, key: Option<&KeyAttrs<'_>>) -> Decision {
        let key = if action.is_key_scoped() { key } else { None };
        let Some(role_src) = self.role_source(&who.role) else {
            return Decision {
                allowed: false,
                reason: format!(
                    "unknown role `{}` (principal {}): nothing is allowed",
                    who.role, who.principal
                ),
            };
        };
        let mut allowed_by = None;
        for (src, st) in self.applicable(who, role_src) {
            let deny = st.effect == Effect::Deny;
            if !(deny || allowed_by.is_none()) {
                continue;
            }
            if actions_match(st, action, deny) && keys_match(st, who, key, deny) {
                if deny {
                    return Decision {
                        allowed: false,
                        reason: format!("denied by {src}"),
                    };
                }
                allowed_by = Some(src);
            }
        }
        match (allowed_by, key) {
            (Some(src), _) => Decision {
                allowed: true,
                reason: format!("allowed by {src}"),
            },
            (None, Some(key)) => Decision {
                allowed: false,
                reason: format!(
                    "no statement allows {action} for role {} on {key}",
                    who.role
                ),
            },
            (None, None) => Decision {
                allowed: false,
                reason: format!("no statement allows {action} for role {}", who.role),
            },
        }
    }

    /// Whether some key could satisfy an allow for `action` (for a gateway-wide action:
    /// whether it is allowed at all).
    ///
    /// Used to tell "you may list keys, there just are none you can see" from "you may not
    /// list keys": an empty filtered listing becomes a 403 only when this is false. It errs
    /// towards `true`: a deny with a key pattern is assumed to leave some key uncovered,
    /// while a deny without one rules the action out entirely.
    pub fn may_ever(&self, who: &Identity, action: Action) -> bool {
        let Some(role_src) = self.role_source(&who.role) else {
            return false;
        };
        let mut any_allow = false;
        for (_, st) in self.applicable(who, role_src) {
            let deny = st.effect == Effect::Deny;
            if !actions_match(st, action, deny) {
                continue;
            }
            let unconditional = key_pattern(st).is_none();
            if deny && unconditional {
                return false;
            }
            if !deny && (unconditional || action.is_key_scoped()) {
                any_allow = true;
            }
        }
        any_allow
    }

    fn role_source<'a>(&'a self, role: &'a str) -> Option<(Source<'a>, &'a [Statement])> {
        if let Some(builtin) = builtin_role(role) {
            return Some((Source::Builtin(role), &builtin.statements));
        }
        self.roles
            .get(role)
            .map(|r| (Source::Role(role, 0), r.statements.as_slice()))
    }

    /// The caller's role's statements, then the top-level ones that apply to the caller.
    fn applicable<'a>(
        &'a self,
        who: &'a Identity,
        (role_src, role_statements): (Source<'a>, &'a [Statement]),
    ) -> impl Iterator<Item = (Source<'a>, &'a Statement)> + 'a {
        let from_role = role_statements.iter().enumerate().map(move |(i, st)| {
            let src = match role_src {
                Source::Role(name, _) => Source::Role(name, i),
                other => other,
            };
            (src, st)
        });
        let top_level = self
            .statements
            .iter()
            .enumerate()
            .filter(move |(_, st)| applies_to(st, who))
            .map(|(i, st)| (Source::TopLevel(i), st));
        from_role.chain(top_level)
    }
}

/// Whether a top-level statement names the caller. Broken globs fail closed: a deny applies,
/// an allow does not.
fn applies_to(st: &Statement, who: &Identity) -> bool {
    let deny = st.effect == Effect::Deny;
    let principal_ok = st.principals.is_empty()
        || st
            .principals
            .iter()
            .any(|p| glob_matches(p, &who.principal, Vars::None, deny));
    let role_ok = st.roles.is_empty()
        || st
            .roles
            .iter()
            .any(|r| glob_matches(r, &who.role, Vars::None, deny));
    principal_ok && role_ok
}

fn actions_match(st: &Statement, action: Action, deny: bool) -> bool {
    st.actions
        .iter()
        .any(|a| glob_matches(a, action.as_str(), Vars::None, deny))
}

fn key_pattern(st: &Statement) -> Option<&KeyPattern> {
    st.keys.as_ref().filter(|k| !is_empty_pattern(k))
}

fn keys_match(st: &Statement, who: &Identity, key: Option<&KeyAttrs<'_>>, deny: bool) -> bool {
    let Some(pattern) = key_pattern(st) else {
        return true;
    };
    let Some(key) = key else {
        return false;
    };
    let vars = Vars::Principal(&who.principal);
    let field = |glob: &Option<String>, value: &str| {
        glob.as_ref()
            .is_none_or(|g| glob_matches(g, value, vars, deny))
    };
    field(&pattern.provider, key.provider)
        && field(&pattern.name, key.name)
        && pattern.labels.iter().all(|(label, glob)| {
            key.labels
                .get(label)
                .is_some_and(|value| glob_matches(glob, value, vars, deny))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::Role;
    use super::*;
    use crate::Labels;

    fn id(principal: &str, role: &str) -> Identity {
        Identity {
            principal: principal.into(),
            role: role.into(),
        }
    }

    fn st(effect: Effect, actions: &[&str]) -> Statement {
        Statement {
            effect,
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
            keys: None,
            principals: Vec::new(),
            roles: Vec::new(),
        }
    }

    fn with_role(name: &str, statements: Vec<Statement>) -> AccessPolicy {
        let mut p = AccessPolicy::default();
        p.roles.insert(
            name.to_owned(),
            Role {
                description: String::new(),
                statements,
            },
        );
        p
    }

    fn key<'a>(provider: &'a str, name: &'a str, labels: &'a Labels) -> KeyAttrs<'a> {
        KeyAttrs {
            provider,
            name,
            labels,
        }
    }

    #[test]
    fn default_deny_names_the_action_role_and_key() {
        let p = with_role("empty", Vec::new());
        let labels = Labels::new();
        let d = p.evaluate(
            &id("x", "empty"),
            Action::CryptoDecrypt,
            Some(&key("local", "payments", &labels)),
        );
        assert!(!d.allowed);
        assert_eq!(
            d.reason,
            "no statement allows crypto:decrypt for role empty on local/payments"
        );
        let d = p.evaluate(&id("x", "empty"), Action::AuditRead, None);
        assert_eq!(d.reason, "no statement allows audit:read for role empty");
        assert!(d.into_result().is_err());
    }

    #[test]
    fn unknown_role_is_denied_with_a_clear_reason() {
        let mut p = AccessPolicy::default();
        // Even a top-level allow for everyone does not rescue an unknown role.
        p.statements.push(st(Effect::Allow, &["*"]));
        let d = p.evaluate(&id("bob", "ghost"), Action::AuditRead, None);
        assert!(!d.allowed);
        assert!(d.reason.contains("unknown role `ghost`"), "{}", d.reason);
        assert!(!p.may_ever(&id("bob", "ghost"), Action::AuditRead));
    }

    #[test]
    fn explicit_deny_wins_over_any_allow() {
        let mut p = with_role("dev", vec![st(Effect::Allow, &["crypto:*"])]);
        let mut deny = st(Effect::Deny, &["crypto:decrypt"]);
        deny.principals = vec!["ci-*".into()];
        p.statements.push(deny);
        let labels = Labels::new();
        let k = key("local", "k", &labels);
        let d = p.evaluate(&id("ci-build", "dev"), Action::CryptoDecrypt, Some(&k));
        assert_eq!(
            (d.allowed, d.reason.as_str()),
            (false, "denied by statements[0]")
        );
        // Admin too: a deny applies whatever the role grants.
        assert!(
            !p.evaluate(&id("ci-build", "admin"), Action::CryptoDecrypt, Some(&k))
                .allowed
        );
        // Other actions and other principals are untouched.
        let d = p.evaluate(&id("ci-build", "dev"), Action::CryptoEncrypt, Some(&k));
        assert_eq!(
            (d.allowed, d.reason.as_str()),
            (true, "allowed by role dev statements[0]")
        );
        assert!(
            p.evaluate(&id("alice", "dev"), Action::CryptoDecrypt, Some(&k))
                .allowed
        );
    }

    #[test]
    fn deny_inside_a_role_wins_and_is_named() {
        let p = with_role(
            "almost-admin",
            vec![
                st(Effect::Allow, &["*"]),
                st(Effect::Deny, &["keys:delete", "policy:*"]),
            ],
        );
        let who = id("a", "almost-admin");
        let d = p.evaluate(&who, Action::PolicySet, None);
        assert_eq!(d.reason, "denied by role almost-admin statements[1]");
        assert!(p.evaluate(&who, Action::TokensCreate, None).allowed);
        assert!(!p.may_ever(&who, Action::PolicyGet));
        assert!(p.may_ever(&who, Action::KeysList));
    }

    #[test]
    fn top_level_statements_match_principals_and_roles() {
        let mut p = AccessPolicy::default();
        let mut by_role = st(Effect::Allow, &["tokens:list"]);
        by_role.roles = vec!["operator".into()];
        let mut by_both = st(Effect::Allow, &["tokens:create"]);
        by_both.roles = vec!["operator".into()];
        by_both.principals = vec!["lead-?".into()];
        let everyone = st(Effect::Allow, &["policy:get"]);
        p.statements = vec![by_role, by_both, everyone];
        let op = id("bob", "operator");
        let lead = id("lead-1", "operator");
        let lead_app = id("lead-1", "app");
        assert_eq!(
            p.evaluate(&op, Action::TokensList, None).reason,
            "allowed by statements[0]"
        );
        assert!(!p.evaluate(&lead_app, Action::TokensList, None).allowed);
        // Both lists set: both must match.
        assert!(!p.evaluate(&op, Action::TokensCreate, None).allowed);
        assert!(p.evaluate(&lead, Action::TokensCreate, None).allowed);
        assert!(!p.evaluate(&lead_app, Action::TokensCreate, None).allowed);
        // Neither set: everyone.
        assert!(p.evaluate(&lead_app, Action::PolicyGet, None).allowed);
    }

    #[test]
    fn key_patterns_match_provider_name_and_labels() {
        let mut rot = st(Effect::Allow, &["keys:rotate"]);
        rot.keys = Some(KeyPattern {
            provider: Some("aws-*".into()),
            name: Some("prod-*".into()),
            labels: [
                ("owner".to_owned(), "${principal}".to_owned()),
                ("tier".to_owned(), "*".to_owned()),
            ]
            .into(),
        });
        let p = with_role("rotator", vec![rot]);
        let who = id("payments", "rotator");
        let good = Labels::from([
            ("owner".to_owned(), "payments".to_owned()),
            ("tier".to_owned(), "".to_owned()),
        ]);
        let wrong_owner = Labels::from([
            ("owner".to_owned(), "search".to_owned()),
            ("tier".to_owned(), "1".to_owned()),
        ]);
        let no_tier = Labels::from([("owner".to_owned(), "payments".to_owned())]);
        assert!(
            p.evaluate(
                &who,
                Action::KeysRotate,
                Some(&key("aws-eu", "prod-db", &good))
            )
            .allowed
        );
        assert!(
            !p.evaluate(
                &who,
                Action::KeysRotate,
                Some(&key("local", "prod-db", &good))
            )
            .allowed
        );
        assert!(
            !p.evaluate(
                &who,
                Action::KeysRotate,
                Some(&key("aws-eu", "dev-db", &good))
            )
            .allowed
        );
        assert!(
            !p.evaluate(
                &who,
                Action::KeysRotate,
                Some(&key("aws-eu", "prod-db", &wrong_owner))
            )
            .allowed
        );
        assert!(
            !p.evaluate(
                &who,
                Action::KeysRotate,
                Some(&key("aws-eu", "prod-db", &no_tier))
            )
            .allowed
        );
        // A key-pattern statement never matches a key-less check...
        assert!(!p.evaluate(&who, Action::KeysRotate, None).allowed);
        // ...but some key could satisfy it.
        assert!(p.may_ever(&who, Action::KeysRotate));
        assert!(!p.may_ever(&who, Action::KeysDelete));
    }

    #[test]
    fn empty_key_pattern_means_every_key() {
        let mut s = st(Effect::Allow, &["keys:list"]);
        s.keys = Some(KeyPattern::default());
        let p = with_role("lister", vec![s]);
        assert!(
            p.evaluate(&id("a", "lister"), Action::KeysList, None)
                .allowed
        );
    }

    #[test]
    fn patterned_deny_only_covers_matching_keys() {
        let mut deny = st(Effect::Deny, &["crypto:*"]);
        deny.keys = Some(KeyPattern {
            name: Some("prod-*".into()),
            ..KeyPattern::default()
        });
        let mut p = AccessPolicy::default();
        p.statements.push(deny);
        let who = id("svc", "admin");
        let labels = Labels::new();
        assert!(
            !p.evaluate(
                &who,
                Action::CryptoSign,
                Some(&key("local", "prod-1", &labels))
            )
            .allowed
        );
        assert!(
            p.evaluate(
                &who,
                Action::CryptoSign,
                Some(&key("local", "dev-1", &labels))
            )
            .allowed
        );
        // Some key escapes the deny, so the action is still possible.
        assert!(p.may_ever(&who, Action::CryptoSign));
    }

    #[test]
    fn unconditional_deny_rules_out_may_ever() {
        let mut deny = st(Effect::Deny, &["keys:list"]);
        deny.roles = vec!["auditor".into()];
        let p = AccessPolicy {
            statements: vec![deny],
            ..AccessPolicy::default()
        };
        assert!(!p.may_ever(&id("x", "auditor"), Action::KeysList));
        assert!(p.may_ever(&id("x", "operator"), Action::KeysList));
    }

    #[test]
    fn gateway_wide_actions_ignore_the_key() {
        let p = AccessPolicy::default();
        let labels = Labels::new();
        let k = key("local", "k", &labels);
        let d = p.evaluate(&id("x", "auditor"), Action::AuditRead, Some(&k));
        assert!(d.allowed);
        // A key-patterned allow of a gateway-wide action (only possible unvalidated) never applies.
        let mut s = st(Effect::Allow, &["audit:read"]);
        s.keys = Some(KeyPattern {
            name: Some("*".into()),
            ..KeyPattern::default()
        });
        let p = with_role("odd", vec![s]);
        assert!(
            !p.evaluate(&id("x", "odd"), Action::AuditRead, Some(&k))
                .allowed
        );
        assert!(!p.may_ever(&id("x", "odd"), Action::AuditRead));
    }

    #[test]
    fn malformed_globs_fail_closed_in_unvalidated_policies() {
        let mut p = with_role("broken", vec![st(Effect::Allow, &["${nope}"])]);
        let who = id("x", "broken");
        assert!(!p.evaluate(&who, Action::AuditRead, None).allowed);
        let mut deny = st(Effect::Deny, &["${nope}"]);
        deny.principals = vec!["${also-bad}".into()];
        p.statements.push(deny);
        let admin = id("root", "admin");
        let d = p.evaluate(&admin, Action::AuditRead, None);
        assert_eq!(d.reason, "denied by statements[0]");
    }
}
