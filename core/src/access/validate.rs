//! Checking a policy document before it is stored: every problem is reported at once, each
//! with its path in the document, so a user fixes a file in one pass.

use super::glob::{Glob, Vars};
use super::{AccessPolicy, Action, KeyPattern, Statement, is_builtin_role};
use crate::{Error, Result, validate_name};

impl AccessPolicy {
    /// Checks the document: custom roles do not reuse a built-in name and have valid names;
    /// every statement has actions, each action glob is well formed and matches at least one
    /// action; key-pattern globs are well formed (`${principal}` is the only variable);
    /// a key pattern is only given where some action is key-scoped (it would never match
    /// otherwise); `principals`/`roles` appear only on top-level statements, and a role named
    /// there without wildcards exists.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] listing every problem with its path
    /// (`roles.rotator.statements[0].actions[1]: ...`).
    pub fn validate(&self) -> Result<()> {
        let mut problems = Vec::new();
        for (name, role) in &self.roles {
            if is_builtin_role(name) {
                problems.push(format!(
                    "roles.{name}: `{name}` is a built-in role and cannot be redefined"
                ));
            } else if let Err(e) = validate_name("role", name) {
                problems.push(format!("roles.{name}: {}", detail(&e)));
            }
            for (i, st) in role.statements.iter().enumerate() {
                self.check_statement(
                    &format!("roles.{name}.statements[{i}]"),
                    st,
                    false,
                    &mut problems,
                );
            }
        }
        for (i, st) in self.statements.iter().enumerate() {
            self.check_statement(&format!("statements[{i}]"), st, true, &mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "invalid access policy: {}",
                problems.join("; ")
            )))
        }
    }

    fn check_statement(&self, path: &str, st: &Statement, top_level: bool, out: &mut Vec<String>) {
        if st.actions.is_empty() {
            out.push(format!("{path}.actions is empty"));
        }
        let mut key_scoped = false;
        for (j, pattern) in st.actions.iter().enumerate() {
            match Glob::parse(pattern, Vars::None) {
                Err(e) => out.push(format!("{path}.actions[{j}]: {e}")),
                Ok(glob) => {
                    let matched: Vec<Action> = Action::ALL
                        .iter()
                        .copied()
                        .filter(|a| glob.matches(a.as_str()))
                        .collect();
                    if matched.is_empty() {
                        out.push(format!(
                            "{path}.actions[{j}]: `{pattern}` matches no action (actions: {})",
                            Action::ALL
                                .iter()
                                .map(|a| a.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    key_scoped |= matched.iter().any(|a| a.is_key_scoped());
                }
            }
        }
        if let Some(keys) = st.keys.as_ref().filter(|k| !is_empty_pattern(k)) {
            check_key_pattern(&format!("{path}.keys"), keys, out);
            if !key_scoped && !st.actions.is_empty() {
                out.push(format!(
                    "{path}: has a key pattern but none of its actions is checked against a key \
                     (only keys:* and crypto:* are), so it would never apply"
                ));
            }
        }
        if !top_level {
            if !st.principals.is_empty() || !st.roles.is_empty() {
                out.push(format!(
                    "{path}: `principals` and `roles` only apply to top-level statements \
                     (a role's statements apply to whoever holds the role)"
                ));
            }
            return;
        }
        for (j, pattern) in st.principals.iter().enumerate() {
            if let Err(e) = Glob::parse(pattern, Vars::None) {
                out.push(format!("{path}.principals[{j}]: {e}"));
            }
        }
        for (j, pattern) in st.roles.iter().enumerate() {
            match Glob::parse(pattern, Vars::None) {
                Err(e) => out.push(format!("{path}.roles[{j}]: {e}")),
                Ok(glob) if glob.is_literal() && !self.has_role(pattern) => out.push(format!(
                    "{path}.roles[{j}]: unknown role `{pattern}` (roles: {})",
                    self.role_names().join(", ")
                )),
                Ok(_) => {}
            }
        }
    }
}

/// An empty pattern covers every key, exactly like an absent one (see `eval`).
pub(super) fn is_empty_pattern(p: &KeyPattern) -> bool {
    p.provider.is_none() && p.name.is_none() && p.labels.is_empty()
}

fn check_key_pattern(path: &str, keys: &KeyPattern, out: &mut Vec<String>) {
    // Any principal will do: only the pattern's shape is checked here.
    let vars = Vars::Principal("principal");
    if let Some(p) = &keys.provider
        && let Err(e) = Glob::parse(p, vars)
    {
        out.push(format!("{path}.provider: {e}"));
    }
    if let Some(n) = &keys.name
        && let Err(e) = Glob::parse(n, vars)
    {
        out.push(format!("{path}.name: {e}"));
    }
    for (label, value) in &keys.labels {
        if label.is_empty() {
            out.push(format!("{path}.labels: empty label name"));
        } else if label.contains(['*', '?', '$']) {
            out.push(format!(
                "{path}.labels: label name `{label}` must be exact (globs apply to values only)"
            ));
        }
        if let Err(e) = Glob::parse(value, vars) {
            out.push(format!("{path}.labels.{label}: {e}"));
        }
    }
}

/// The message of an [`Error::InvalidArgument`] without its `invalid argument:` prefix.
fn detail(e: &Error) -> String {
    match e {
        Error::InvalidArgument(m) => m.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ErrorKind;

    fn problems(toml: &str) -> String {
        let err = AccessPolicy::from_toml(toml).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        err.to_string()
    }

    #[test]
    fn a_sound_document_passes() {
        AccessPolicy::from_toml(
            r#"
            [roles.rotator]
            statements = [{ effect = "allow", actions = ["keys:rotate"], keys = { name = "prod-*" } }]
            [roles.team]
            statements = [{ effect = "allow", actions = ["crypto:*", "keys:list"],
                            keys = { labels = { team = "${principal}" } } }]
            [[statements]]
            effect = "deny"
            actions = ["*"]
            roles = ["rot*", "team"]
            principals = ["intern-*"]
            "#,
        )
        .unwrap();
        AccessPolicy::default().validate().unwrap();
    }

    #[test]
    fn builtin_names_cannot_be_redefined() {
        let msg = problems(
            r#"roles.admin.statements = [{ effect = "allow", actions = ["audit:read"] }]"#,
        );
        assert!(
            msg.contains("roles.admin: `admin` is a built-in role"),
            "{msg}"
        );
    }

    #[test]
    fn role_names_are_checked() {
        let msg = problems(r#"roles."two words".statements = []"#);
        assert!(msg.contains("roles.two words: role name"), "{msg}");
    }

    #[test]
    fn actions_must_exist_and_not_be_empty() {
        let msg = problems(r#"statements = [{ effect = "allow", actions = [] }]"#);
        assert!(msg.contains("statements[0].actions is empty"), "{msg}");
        let msg = problems(
            r#"statements = [{ effect = "allow", actions = ["keys:rotat", "crypto:*"] }]"#,
        );
        assert!(
            msg.contains("statements[0].actions[0]: `keys:rotat` matches no action"),
            "{msg}"
        );
        assert!(
            msg.contains("keys:rotate"),
            "the valid actions are listed: {msg}"
        );
        assert!(!msg.contains("actions[1]"), "{msg}");
        let msg = problems(r#"statements = [{ effect = "allow", actions = ["${principal}"] }]"#);
        assert!(msg.contains("only allowed in key patterns"), "{msg}");
    }

    #[test]
    fn key_patterns_are_checked() {
        let msg = problems(
            r#"statements = [{ effect = "deny", actions = ["crypto:*"],
                keys = { name = "", provider = "${region}", labels = { "te*m" = "${principal" } } }]"#,
        );
        assert!(
            msg.contains("statements[0].keys.name: empty pattern"),
            "{msg}"
        );
        assert!(
            msg.contains("statements[0].keys.provider: `${region}`: unknown variable"),
            "{msg}"
        );
        assert!(msg.contains("label name `te*m` must be exact"), "{msg}");
        assert!(
            msg.contains("statements[0].keys.labels.te*m: `${principal`"),
            "{msg}"
        );
    }

    #[test]
    fn key_patterns_need_a_key_scoped_action() {
        let msg = problems(
            r#"statements = [{ effect = "allow", actions = ["audit:read"], keys = { name = "x" } }]"#,
        );
        assert!(msg.contains("would never apply"), "{msg}");
        // `*` includes key-scoped actions, so the pattern is meaningful.
        AccessPolicy::from_toml(
            r#"statements = [{ effect = "deny", actions = ["*"], keys = { name = "x" } }]"#,
        )
        .unwrap();
    }

    #[test]
    fn principals_and_roles_only_at_top_level() {
        let msg = problems(
            r#"roles.r.statements = [{ effect = "allow", actions = ["keys:list"], principals = ["a"] }]"#,
        );
        assert!(
            msg.contains("roles.r.statements[0]: `principals` and `roles` only apply"),
            "{msg}"
        );
        let msg = problems(
            r#"statements = [{ effect = "deny", actions = ["*"], roles = ["opertor"], principals = [""] }]"#,
        );
        assert!(
            msg.contains("statements[0].roles[0]: unknown role `opertor`"),
            "{msg}"
        );
        assert!(
            msg.contains("statements[0].principals[0]: empty pattern"),
            "{msg}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let msg = problems(
            r#"
            roles.auditor.statements = []
            statements = [{ effect = "allow", actions = [] }, { effect = "allow", actions = ["nope"] }]
            "#,
        );
        assert!(msg.contains("roles.auditor"), "{msg}");
        assert!(msg.contains("statements[0].actions is empty"), "{msg}");
        assert!(msg.contains("statements[1].actions[0]"), "{msg}");
    }
}
