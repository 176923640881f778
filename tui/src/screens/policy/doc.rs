//! The document the editor stages: the gateway access policy or a key's own policy, with
//! its table rows, its text forms and the edits the table makes.

use keygate_core::access::{AccessPolicy, Effect, Statement};
use keygate_core::{Binding, NativePolicy, Policy};
use serde_json::Value;

use super::native::{self, Located};

/// A policy as the editor holds it (loaded or staged).
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    /// The gateway access policy.
    Gateway(AccessPolicy),
    /// A key's own policy, as the provider returned it.
    Key(Policy),
}

/// How the gateway policy is shown and edited as text (core reads and writes both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TextFormat {
    /// TOML, the form users write (`keygate policy set`).
    #[default]
    Toml,
    /// JSON, the form the HTTP API carries.
    Json,
}

/// What kind of key policy document this is, which decides how the table edits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// No native document: keygate bindings (the local provider), edited as JSON.
    Bindings,
    /// An AWS key policy: actions granted to principals.
    Aws,
    /// A GCP IAM policy: roles granted to members.
    Gcp,
    /// Another native format: editable as JSON text only.
    Opaque,
}

/// One row of the bindings table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The principal (or member) the row grants to or denies.
    pub principal: String,
    /// The role granted (key policies) or the roles the statement applies to (gateway).
    pub role: String,
    /// The actions granted (or denied).
    pub actions: String,
    /// Where the row lives, for removing it; `None` when the table cannot remove it.
    pub source: Option<Source>,
}

/// Where a table row lives in its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `bindings[i]` of a keygate policy.
    Binding(usize),
    /// A principal of an AWS statement or a member of a GCP binding.
    Native {
        /// Statement or binding index.
        index: usize,
        /// The principal or member.
        principal: String,
    },
    /// `statements[i]` of the gateway policy.
    Statement(usize),
    /// `roles.<name>.statements[i]` of the gateway policy.
    RoleStatement(String, usize),
}

/// A grant typed into the add form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewGrant {
    /// The principal (gateway: a glob; empty means any).
    pub principal: String,
    /// The role, if any.
    pub role: String,
    /// The actions, if any.
    pub actions: Vec<String>,
    /// Gateway only: a deny statement.
    pub deny: bool,
}

/// A document that does not parse or validate, with the position when the parser gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// What is wrong.
    pub message: String,
    /// 1-based line and column.
    pub at: Option<(usize, usize)>,
}

impl Invalid {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            at: None,
        }
    }
}

impl Doc {
    /// The kind of key policy (`None` for the gateway policy).
    pub fn key_kind(&self) -> Option<KeyKind> {
        let Self::Key(p) = self else { return None };
        Some(kind_of(p))
    }

    /// The format name shown in the title.
    pub fn format_name(&self, fmt: TextFormat) -> String {
        match (self, fmt) {
            (Self::Gateway(_), TextFormat::Toml) => "gateway policy · TOML".into(),
            (Self::Gateway(_), TextFormat::Json) => "gateway policy · JSON".into(),
            (Self::Key(p), _) => match &p.native {
                Some(n) => format!("{} · JSON", n.format),
                None => "keygate bindings · JSON".into(),
            },
        }
    }

    /// The editor's file suffix, so `$EDITOR` picks a syntax.
    pub fn suffix(&self, fmt: TextFormat) -> &'static str {
        match (self, fmt) {
            (Self::Gateway(_), TextFormat::Toml) => ".toml",
            _ => ".json",
        }
    }

    /// The table rows.
    pub fn rows(&self) -> Vec<Row> {
        match self {
            Self::Gateway(p) => gateway_rows(p),
            Self::Key(p) => match self.key_kind() {
                Some(KeyKind::Aws | KeyKind::Gcp) => {
                    let doc = p.native.as_ref().map(|n| &n.document);
                    native_rows(doc.map(|d| {
                        if self.key_kind() == Some(KeyKind::Aws) {
                            native::aws_bindings(d)
                        } else {
                            native::gcp_bindings(d)
                        }
                    }))
                }
                Some(KeyKind::Opaque) => p.bindings.iter().map(|b| row(b, None)).collect(),
                _ => p
                    .bindings
                    .iter()
                    .enumerate()
                    .map(|(i, b)| row(b, Some(Source::Binding(i))))
                    .collect(),
            },
        }
    }

    /// The document as text, in its canonical pretty form (what the diff compares).
    pub fn text(&self, fmt: TextFormat) -> String {
        let text = match self {
            Self::Gateway(p) => match fmt {
                TextFormat::Toml => p.to_toml(),
                TextFormat::Json => p.to_json(),
            }
            .unwrap_or_else(|e| format!("# cannot show the policy: {e}")),
            Self::Key(p) => {
                let value = match &p.native {
                    Some(n) => n.document.clone(),
                    None => serde_json::json!({ "bindings": p.bindings }),
                };
                serde_json::to_string_pretty(&value)
                    .unwrap_or_else(|e| format!("cannot show the policy: {e}"))
            }
        };
        if text.ends_with('\n') {
            text
        } else {
            text + "\n"
        }
    }

    /// Parses an edited text into a document of the same kind, validated as the gateway or
    /// the provider would.
    ///
    /// # Errors
    /// [`Invalid`] with the position when the parser knows it; nothing is changed.
    pub fn parse(&self, text: &str, fmt: TextFormat) -> Result<Doc, Invalid> {
        match self {
            Self::Gateway(_) => parse_gateway(text, fmt).map(Doc::Gateway),
            Self::Key(p) => parse_key(p, text).map(Doc::Key),
        }
    }

    /// Adds a grant to the table.
    ///
    /// # Errors
    /// A message for the form when the grant has no form in this document or the result
    /// does not validate; the document is unchanged then.
    pub fn add(&mut self, grant: &NewGrant) -> Result<(), String> {
        let principal = grant.principal.trim();
        let role = grant.role.trim();
        match self {
            Self::Gateway(p) => {
                let mut next = p.clone();
                next.statements.push(Statement {
                    effect: if grant.deny {
                        Effect::Deny
                    } else {
                        Effect::Allow
                    },
                    actions: grant.actions.clone(),
                    keys: None,
                    principals: non_empty(principal),
                    roles: non_empty(role),
                });
                next.validate().map_err(|e| detail(&e))?;
                *p = next;
                Ok(())
            }
            Self::Key(p) => {
                if principal.is_empty() {
                    return Err("a binding needs a principal".into());
                }
                let kind = kind_of(p);
                let mut next = p.clone();
                match (kind, next.native.as_mut()) {
                    (KeyKind::Bindings, _) => {
                        if role.is_empty() && grant.actions.is_empty() {
                            return Err("a binding needs a role or at least one action".into());
                        }
                        next.bindings.push(Binding {
                            principal: principal.to_owned(),
                            role: (!role.is_empty()).then(|| role.to_owned()),
                            actions: grant.actions.clone(),
                        });
                        next = Policy {
                            etag: next.etag.clone(),
                            ..Policy::from_bindings(next.normalized_bindings())
                        };
                    }
                    (KeyKind::Aws, Some(n)) => {
                        if !role.is_empty() {
                            return Err("AWS key policies grant actions, not roles".into());
                        }
                        if grant.actions.is_empty() {
                            return Err("list the actions to grant (kms:Encrypt, ...)".into());
                        }
                        native::aws_add(&mut n.document, principal, &grant.actions)?;
                    }
                    (KeyKind::Gcp, Some(n)) => {
                        if role.is_empty() || !grant.actions.is_empty() {
                            return Err("GCP IAM grants a role (roles/...), not actions".into());
                        }
                        native::gcp_add(&mut n.document, principal, role)?;
                    }
                    _ => return Err(opaque_refusal(p)),
                }
                sync_bindings(&mut next);
                *p = next;
                Ok(())
            }
        }
    }

    /// Removes the row's grant.
    ///
    /// # Errors
    /// A message when the row cannot be removed from the table (edit the document instead).
    pub fn remove(&mut self, source: &Source) -> Result<(), String> {
        let gone = || "the row is no longer in the document".to_owned();
        match (self, source) {
            (Self::Gateway(p), Source::Statement(i)) => {
                if *i >= p.statements.len() {
                    return Err(gone());
                }
                p.statements.remove(*i);
            }
            (Self::Gateway(p), Source::RoleStatement(role, i)) => {
                let r = p.roles.get_mut(role).ok_or_else(gone)?;
                if *i >= r.statements.len() {
                    return Err(gone());
                }
                r.statements.remove(*i);
            }
            (Self::Key(p), Source::Binding(i)) => {
                if *i >= p.bindings.len() {
                    return Err(gone());
                }
                p.bindings.remove(*i);
                // The bindings are authoritative from now on (an Azure document is dropped).
                p.native = None;
            }
            (Self::Key(p), Source::Native { index, principal }) => {
                let is_aws = p.native.as_ref().is_some_and(|n| n.format == native::AWS);
                let n = p.native.as_mut().ok_or_else(gone)?;
                if is_aws {
                    native::aws_remove(&mut n.document, *index, principal)?;
                } else {
                    native::gcp_remove(&mut n.document, *index, principal)?;
                }
                sync_bindings(p);
            }
            _ => return Err(gone()),
        }
        Ok(())
    }

    /// Role names the gateway policy knows (built-in first), for the add form's hint.
    pub fn role_names(&self) -> Vec<String> {
        match self {
            Self::Gateway(p) => p.role_names().into_iter().map(str::to_owned).collect(),
            Self::Key(_) => Vec::new(),
        }
    }
}

/// How the table edits `p`'s document.
fn kind_of(p: &Policy) -> KeyKind {
    match p.native.as_ref().map(|n| n.format.as_str()) {
        None | Some(native::AZURE) => KeyKind::Bindings,
        Some(native::AWS) => KeyKind::Aws,
        Some(native::GCP) => KeyKind::Gcp,
        Some(_) => KeyKind::Opaque,
    }
}

/// The message for table edits of a native format the console does not know.
pub fn opaque_refusal(p: &Policy) -> String {
    let format = p.native.as_ref().map_or("native", |n| n.format.as_str());
    format!("a `{format}` policy is edited as its document: tab, then e or E")
}

fn non_empty(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        vec![s.to_owned()]
    }
}

fn row(b: &Binding, source: Option<Source>) -> Row {
    Row {
        principal: b.principal.clone(),
        role: b.role.clone().unwrap_or_default(),
        actions: b.actions.join(", "),
        source,
    }
}

fn native_rows(located: Option<Vec<Located>>) -> Vec<Row> {
    located
        .unwrap_or_default()
        .into_iter()
        .map(|l| {
            let source = Source::Native {
                index: l.index,
                principal: l.binding.principal.clone(),
            };
            row(&l.binding, Some(source))
        })
        .collect()
}

fn gateway_rows(p: &AccessPolicy) -> Vec<Row> {
    let describe = |st: &Statement| {
        let verb = match st.effect {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        };
        let mut s = format!("{verb} {}", st.actions.join(", "));
        if let Some(k) = &st.keys {
            let mut parts = Vec::new();
            if let Some(v) = &k.provider {
                parts.push(format!("provider={v}"));
            }
            if let Some(v) = &k.name {
                parts.push(format!("name={v}"));
            }
            parts.extend(k.labels.iter().map(|(l, v)| format!("label:{l}={v}")));
            if !parts.is_empty() {
                s.push_str(&format!(" on {}", parts.join(" ")));
            }
        }
        s
    };
    let any = |v: &[String]| {
        if v.is_empty() {
            "any".to_owned()
        } else {
            v.join(", ")
        }
    };
    let mut rows: Vec<Row> = p
        .statements
        .iter()
        .enumerate()
        .map(|(i, st)| Row {
            principal: any(&st.principals),
            role: any(&st.roles),
            actions: describe(st),
            source: Some(Source::Statement(i)),
        })
        .collect();
    for (name, role) in &p.roles {
        rows.extend(role.statements.iter().enumerate().map(|(i, st)| Row {
            principal: "(holders of the role)".into(),
            role: name.clone(),
            actions: describe(st),
            source: Some(Source::RoleStatement(name.clone(), i)),
        }));
    }
    rows
}

/// Re-extracts the unified bindings from a native document, as the provider would.
fn sync_bindings(p: &mut Policy) {
    let Some(n) = &p.native else { return };
    let located = match n.format.as_str() {
        native::AWS => native::aws_bindings(&n.document),
        native::GCP => native::gcp_bindings(&n.document),
        _ => return,
    };
    p.bindings = Policy::from_bindings(located.into_iter().map(|l| l.binding).collect()).bindings;
}

fn parse_gateway(text: &str, fmt: TextFormat) -> Result<AccessPolicy, Invalid> {
    match fmt {
        TextFormat::Json => {
            // Parse once as plain JSON first: serde_json reports a structured position.
            serde_json::from_str::<Value>(text).map_err(json_invalid)?;
            AccessPolicy::from_json(text).map_err(|e| Invalid::new(detail(&e)))
        }
        TextFormat::Toml => AccessPolicy::from_toml(text).map_err(|e| {
            let message = detail(&e);
            let at = toml_position(&message);
            Invalid { message, at }
        }),
    }
}

/// The position in a TOML parse error (`... at line 3, column 7`). core keeps the toml
/// crate private, so the message is the only place it is available; it only places the
/// cursor, it decides nothing.
fn toml_position(message: &str) -> Option<(usize, usize)> {
    let rest = &message[message.find("at line ")? + "at line ".len()..];
    let (line, rest) = rest.split_once(", column ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// An error's message without the `invalid argument:` prefix: on this screen every problem
/// is one with the document, so the prefix only takes room.
fn detail(e: &keygate_core::Error) -> String {
    match e {
        keygate_core::Error::InvalidArgument(m) => m.clone(),
        other => other.to_string(),
    }
}

fn json_invalid(e: serde_json::Error) -> Invalid {
    // The position is shown apart (and moves the cursor), so it is not repeated here.
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    Invalid {
        message: format!(
            "not JSON: {}",
            text.strip_suffix(&position).unwrap_or(&text)
        ),
        at: Some((e.line(), e.column())),
    }
}

fn parse_key(old: &Policy, text: &str) -> Result<Policy, Invalid> {
    let value: Value = serde_json::from_str(text).map_err(json_invalid)?;
    let mut next = Policy {
        bindings: Vec::new(),
        native: None,
        etag: old.etag.clone(),
    };
    match &old.native {
        None => {
            next.bindings = parse_bindings(&value).map_err(Invalid::new)?;
        }
        Some(n) => {
            let check = match n.format.as_str() {
                native::AWS => native::aws_check(&value),
                native::GCP => native::gcp_check(&value),
                _ if value.is_object() => Ok(()),
                _ => Err(format!("a `{}` policy must be a JSON object", n.format)),
            };
            check.map_err(Invalid::new)?;
            // An unknown format keeps the provider's bindings until it re-reads them.
            next.bindings = old.bindings.clone();
            next.native = Some(NativePolicy {
                format: n.format.clone(),
                document: value,
            });
            sync_bindings(&mut next);
        }
    }
    Ok(next)
}

/// `{"bindings": [{"principal", "role"?, "actions"?}]}`, checked as the local provider
/// checks bindings, and strictly: a misspelt field is an error, not a silent drop.
fn parse_bindings(value: &Value) -> Result<Vec<Binding>, String> {
    let obj = value
        .as_object()
        .ok_or("the policy must be a JSON object with `bindings`")?;
    if let Some(k) = obj.keys().find(|k| *k != "bindings") {
        return Err(format!("unknown field `{k}` (expected `bindings`)"));
    }
    let list = match obj.get("bindings") {
        None => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err("`bindings` must be a list".into()),
    };
    let mut out = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let fields = item
            .as_object()
            .ok_or_else(|| format!("bindings[{i}] must be an object"))?;
        if let Some(k) = fields
            .keys()
            .find(|k| !["principal", "role", "actions"].contains(&k.as_str()))
        {
            return Err(format!(
                "bindings[{i}]: unknown field `{k}` (expected principal, role, actions)"
            ));
        }
        let b: Binding =
            serde_json::from_value(item.clone()).map_err(|e| format!("bindings[{i}]: {e}"))?;
        if b.principal.trim().is_empty() {
            return Err(format!("bindings[{i}] needs a principal"));
        }
        let has_role = b.role.as_deref().is_some_and(|r| !r.trim().is_empty());
        if !has_role && b.actions.is_empty() {
            return Err(format!(
                "bindings[{i}] (`{}`) needs a role or at least one action",
                b.principal
            ));
        }
        if b.actions.iter().any(|a| a.trim().is_empty()) {
            return Err(format!("bindings[{i}] has an empty action"));
        }
        out.push(b);
    }
    Ok(Policy::from_bindings(out).bindings)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn toml_positions_are_found_in_parser_messages() {
        let err = AccessPolicy::from_toml("[roles\nx = 1").unwrap_err();
        let at = toml_position(&err.to_string());
        assert!(matches!(at, Some((1, _))), "{err} -> {at:?}");
        assert_eq!(toml_position("no position here"), None);
    }

    #[test]
    fn bindings_documents_are_parsed_strictly() {
        let old = Doc::Key(Policy::default());
        let ok = old
            .parse(
                r#"{"bindings": [{"principal": "user:a", "actions": ["encrypt"]}]}"#,
                TextFormat::Toml,
            )
            .unwrap();
        assert_eq!(ok.rows()[0].actions, "encrypt");
        for bad in [
            r#"{"bindings": [{"principal": "user:a", "rol": "viewer"}]}"#,
            r#"{"bindings": [{"principal": "user:a"}]}"#,
            r#"{"bindings": [{"principal": " ", "role": "viewer"}]}"#,
            r#"{"binding": []}"#,
            r#"[]"#,
        ] {
            let err = old.parse(bad, TextFormat::Toml).unwrap_err();
            assert_eq!(err.at, None, "{bad}: {}", err.message);
        }
        let err = old
            .parse("{\n  \"bindings\": [,]\n}", TextFormat::Toml)
            .unwrap_err();
        assert_eq!(err.at, Some((2, 16)), "{}", err.message);
    }

    #[test]
    fn azure_role_assignments_are_edited_as_bindings() {
        let principal = "4f0c9d2e-7b1a-4c3e-9f5d-2a6b8c0e1d34";
        let mut doc = Doc::Key(Policy {
            bindings: vec![Binding::role(principal, "Key Vault Reader")],
            native: Some(keygate_core::NativePolicy {
                format: native::AZURE.into(),
                document: serde_json::json!({ "roleAssignments": [] }),
            }),
            etag: None,
        });
        assert_eq!(doc.key_kind(), Some(KeyKind::Bindings));
        let rows = doc.rows();
        assert_eq!(rows[0].source, Some(Source::Binding(0)));
        doc.add(&NewGrant {
            principal: principal.into(),
            role: "Key Vault Crypto User".into(),
            actions: Vec::new(),
            deny: false,
        })
        .unwrap();
        let Doc::Key(p) = &doc else { unreachable!() };
        // What is applied is the bindings alone: the provider makes the assignments.
        assert_eq!(p.native, None);
        assert_eq!(p.bindings.len(), 2);
        doc.remove(&Source::Binding(0)).unwrap();
        let Doc::Key(p) = &doc else { unreachable!() };
        assert_eq!(p.bindings.len(), 1);
    }
}
