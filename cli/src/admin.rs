//! `keygate token ...` and `keygate policy ...`: who may call the gateway, and what they may do.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use keygate_core::access::{AccessPolicy, Action, Identity, KeyAttrs};
use keygate_core::api::{Gateway, IssuedToken, TokenInfo, TokenKind, TokenRequest};
use serde::Serialize;

use super::Outcome;
use super::admin_args::{CheckArgs, PolicyCommand, PolicyFormat, TokenCommand};
use super::args::OutputFormat;
use super::io::read_input;
use super::output;

/// `token create --aws --output json`: the access key pair, shown only this once.
#[derive(Serialize)]
struct IssuedAccessKeyView<'a> {
    id: &'a str,
    principal: &'a str,
    role: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    created: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    expires: Option<time::OffsetDateTime>,
    access_key_id: &'a str,
    secret_access_key: &'a str,
}

/// Prints a just-issued AWS access key pair.
fn write_access_key(out: &mut dyn Write, issued: &IssuedToken, json: bool) -> Result<()> {
    let info = &issued.info;
    if json {
        return output::json(
            out,
            &IssuedAccessKeyView {
                id: &info.id,
                principal: &info.principal,
                role: &info.role,
                created: info.created,
                expires: info.expires,
                access_key_id: &info.id,
                secret_access_key: issued.token.as_str(),
            },
        );
    }
    writeln!(out, "aws_access_key_id = {}", info.id)?;
    writeln!(out, "aws_secret_access_key = {}", issued.token.as_str())?;
    eprintln!(
        "keygate: AWS access key {} for {} (role {}){}; the secret is shown only this once",
        info.id,
        info.principal,
        info.role,
        info.expires
            .map(|t| format!(", expires {}", output::when(t)))
            .unwrap_or_default()
    );
    Ok(())
}

/// `token create --output json`: the only time the secret is shown.
#[derive(Serialize)]
struct IssuedView<'a> {
    token: &'a str,
    #[serde(flatten)]
    info: &'a TokenInfo,
}

pub async fn token(api: &dyn Gateway, cmd: TokenCommand, out: &mut dyn Write) -> Result<Outcome> {
    match cmd {
        TokenCommand::Create {
            principal,
            role,
            expires_in_days,
            aws,
            output,
        } => {
            let issued = api
                .create_token(TokenRequest {
                    principal,
                    role,
                    expires_in_days,
                    kind: if aws {
                        TokenKind::Aws
                    } else {
                        TokenKind::Bearer
                    },
                })
                .await?;
            if issued.info.kind == TokenKind::Aws {
                write_access_key(out, &issued, output.output == OutputFormat::Json)?;
                return Ok(Outcome::Success);
            }
            match output.output {
                OutputFormat::Json => output::json(
                    out,
                    &IssuedView {
                        token: issued.token.as_str(),
                        info: &issued.info,
                    },
                )?,
                OutputFormat::Table => {
                    writeln!(out, "{}", issued.token.as_str())?;
                    eprintln!(
                        "keygate: token {} for {} (role {}){}; it is shown only this once",
                        issued.info.id,
                        issued.info.principal,
                        issued.info.role,
                        issued
                            .info
                            .expires
                            .map(|t| format!(", expires {}", output::when(t)))
                            .unwrap_or_default()
                    );
                }
            }
        }
        TokenCommand::List { output } => {
            let tokens = api.list_tokens().await?;
            match output.output {
                OutputFormat::Json => output::json(out, &tokens)?,
                OutputFormat::Table => output::token_table(out, &tokens)?,
            }
        }
        TokenCommand::Revoke { id, output } => {
            let info = api.revoke_token(&id).await?;
            match output.output {
                OutputFormat::Json => output::json(out, &info)?,
                OutputFormat::Table => writeln!(
                    out,
                    "revoked token {} ({}, role {})",
                    info.id, info.principal, info.role
                )?,
            }
        }
    }
    Ok(Outcome::Success)
}

pub async fn policy(api: &dyn Gateway, cmd: PolicyCommand, out: &mut dyn Write) -> Result<Outcome> {
    match cmd {
        PolicyCommand::Show { output } => {
            let policy = api.get_access_policy().await?;
            write_policy(out, &policy, output)?;
            Ok(Outcome::Success)
        }
        PolicyCommand::Set { file, output } => {
            let policy = parse_policy_file(&file)?;
            let stored = api.set_access_policy(policy).await?;
            match output.output {
                OutputFormat::Json => writeln!(out, "{}", stored.to_json()?)?,
                OutputFormat::Table => writeln!(
                    out,
                    "access policy set: {} custom role(s), {} top-level statement(s)",
                    stored.roles.len(),
                    stored.statements.len()
                )?,
            }
            Ok(Outcome::Success)
        }
        PolicyCommand::Check(args) => check(api, args, out).await,
    }
}

fn write_policy(out: &mut dyn Write, policy: &AccessPolicy, format: PolicyFormat) -> Result<()> {
    match format {
        PolicyFormat::Toml => {
            let text = policy.to_toml()?;
            if text.trim().is_empty() {
                writeln!(
                    out,
                    "# no custom roles or statements: only the built-in roles apply"
                )?;
            } else {
                write!(out, "{text}")?;
                if !text.ends_with('\n') {
                    writeln!(out)?;
                }
            }
        }
        PolicyFormat::Json => writeln!(out, "{}", policy.to_json()?)?,
    }
    Ok(())
}

/// Reads a policy document: JSON for a `.json` file, TOML for `.toml`, otherwise JSON when
/// the content starts with `{` and TOML when not. Parsing validates it.
fn parse_policy_file(path: &Path) -> Result<AccessPolicy> {
    let bytes = read_input(Some(path))?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let json = match ext.as_deref() {
        Some("json") => true,
        Some("toml") => false,
        _ => text.trim_start().starts_with('{'),
    };
    let parsed = if json {
        AccessPolicy::from_json(&text)
    } else {
        AccessPolicy::from_toml(&text)
    };
    parsed.with_context(|| format!("{} was not applied", path.display()))
}

/// Evaluates the gateway's current policy for a hypothetical caller, as the service would.
async fn check(api: &dyn Gateway, args: CheckArgs, out: &mut dyn Write) -> Result<Outcome> {
    let action: Action = args.action.parse()?;
    let who = Identity {
        principal: args.principal,
        role: args.role,
    };
    let policy = api.get_access_policy().await?;
    let meta = match &args.key {
        Some(key) => Some(api.describe_key(key).await?),
        None => None,
    };
    let attrs = meta.as_ref().map(KeyAttrs::from_metadata);
    let decision = policy.evaluate(&who, action, attrs.as_ref());
    match args.output.output {
        OutputFormat::Json => output::json(out, &decision)?,
        OutputFormat::Table => writeln!(
            out,
            "{}: {}",
            if decision.allowed {
                "allowed"
            } else {
                "denied"
            },
            decision.reason
        )?,
    }
    Ok(if decision.allowed {
        Outcome::Success
    } else {
        Outcome::Denied
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn policy_files_are_read_by_extension_then_content() {
        let dir = tempfile::tempdir().unwrap();
        let toml = "[[statements]]\neffect = \"deny\"\nactions = [\"crypto:decrypt\"]\nprincipals = [\"ci-*\"]\n";
        let as_toml = dir.path().join("p.toml");
        std::fs::write(&as_toml, toml).unwrap();
        let policy = parse_policy_file(&as_toml).unwrap();
        assert_eq!(policy.statements.len(), 1);

        let as_json = dir.path().join("policy");
        std::fs::write(&as_json, policy.to_json().unwrap()).unwrap();
        assert_eq!(parse_policy_file(&as_json).unwrap(), policy);

        // TOML content under a .json name is refused, naming the file.
        let wrong = dir.path().join("p.json");
        std::fs::write(&wrong, toml).unwrap();
        let err = format!("{:#}", parse_policy_file(&wrong).unwrap_err());
        assert!(err.contains("p.json"), "{err}");
    }
}
