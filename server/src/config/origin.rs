//! Where each effective setting comes from (`keygate config show`): the defaults, a line of
//! the file, or an environment variable; with secrets redacted.

use std::ops::Range;

use keygate_core::{Error, Result};
use toml::de::DeTable;

use super::{Config, ConfigSource, EnvOverride};

/// Where a setting's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// keygate's default (or, for a provider's `kind`, the section's name).
    Default,
    /// A line of the configuration file (1-based line and column of the key).
    File {
        /// The file, as given.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
    },
    /// A `KEYGATE_<SECTION>__<KEY>` environment variable.
    Env {
        /// The variable's name.
        var: String,
    },
}

/// One effective setting: its path (`server.rate_limit.burst`), its value (secrets
/// redacted) and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// Dotted path; segments that are not bare TOML keys are quoted.
    pub path: String,
    /// The value, with secrets replaced by [`REDACTED`].
    pub value: toml::Value,
    /// Where the value comes from.
    pub origin: Origin,
}

/// The configuration keygate would run with, and every setting with its origin.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The configuration, as [`Config::parse`] returns it.
    pub config: Config,
    /// Every setting that has a value, sections in file order (unset optional settings are
    /// left out).
    pub settings: Vec<Setting>,
}

/// What a redacted value shows instead.
pub const REDACTED: &str = "<redacted>";

/// The effective configuration of `source` under `env`, each setting with its origin.
///
/// # Errors
/// As [`Config::parse`]: anything malformed (`keygate config check` lists every problem).
pub fn effective(
    source: &ConfigSource,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Effective> {
    let name = source.name();
    let (config, overrides) = Config::parse_recorded(&source.text, env, &name)?;
    let doc = DeTable::parse(&source.text)
        .map_err(|e| Error::invalid(format!("{name}: {}", e.message())))?;
    let lines = Lines::new(&source.text);
    let toml::Value::Table(table) = toml::Value::try_from(&config)
        .map_err(|e| Error::invalid(format!("cannot show the configuration: {e}")))?
    else {
        return Err(Error::invalid("the configuration is not a table"));
    };
    let mut settings = Vec::new();
    let cx = Walk {
        file: &name,
        doc: doc.get_ref(),
        lines: &lines,
        overrides: &overrides,
    };
    cx.walk(&table, &mut Vec::new(), &mut settings);
    Ok(Effective { config, settings })
}

struct Walk<'a> {
    file: &'a str,
    doc: &'a DeTable<'a>,
    lines: &'a Lines,
    overrides: &'a [EnvOverride],
}

impl Walk<'_> {
    fn walk(&self, table: &toml::Table, prefix: &mut Vec<String>, out: &mut Vec<Setting>) {
        for (key, value) in table {
            prefix.push(key.clone());
            match value {
                toml::Value::Table(inner) if !inner.is_empty() => self.walk(inner, prefix, out),
                _ => out.push(Setting {
                    path: display_path(prefix),
                    value: redact(key, value),
                    origin: self.origin(prefix),
                }),
            }
            prefix.pop();
        }
    }

    fn origin(&self, path: &[String]) -> Origin {
        if let Some((_, var)) = self.overrides.iter().rev().find(|(p, _)| p == path) {
            return Origin::Env { var: var.clone() };
        }
        match key_span(self.doc, path) {
            Some(span) => self.lines.origin(self.file, span.start),
            None => Origin::Default,
        }
    }
}

/// The span of the key at `path` in a parsed document.
pub(crate) fn key_span(doc: &DeTable<'_>, path: &[String]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let (key, value) = doc.get_key_value(first.as_str())?;
    if rest.is_empty() {
        return Some(key.span());
    }
    key_span(value.get_ref().as_table()?, rest)
}

/// The span of the value at `path` in a parsed document.
pub(crate) fn value_span(doc: &DeTable<'_>, path: &[String]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let value = doc.get(first.as_str())?;
    if rest.is_empty() {
        return Some(value.span());
    }
    value_span(value.get_ref().as_table()?, rest)
}

/// Byte offsets to 1-based lines and columns.
pub(crate) struct Lines {
    text: String,
    starts: Vec<usize>,
}

impl Lines {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            text: text.to_owned(),
            starts,
        }
    }

    /// 1-based (line, column in characters) of byte `offset`.
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(0, |prefix| prefix.chars().count());
        (line, column + 1)
    }

    pub(crate) fn origin(&self, file: &str, offset: usize) -> Origin {
        let (line, column) = self.line_column(offset);
        Origin::File {
            path: file.to_owned(),
            line,
            column,
        }
    }
}

/// `a.b."c.d"`: segments that are not bare TOML keys are quoted.
pub(crate) fn display_path(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| {
            let bare = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if bare {
                s.clone()
            } else {
                format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// True when a setting's name says its value is a secret: the name contains `secret`,
/// `password`, `passphrase` or `token`, or ends in `_key` (or is `key`). Names ending in
/// `_file`, `_env`, `_dir` or `_path` are not: they name a file or a variable that holds the
/// secret, not the secret itself; nor is `tls_key`, the path of a PEM file.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if ["_file", "_env", "_dir", "_path"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
        || name == "tls_key"
    {
        return false;
    }
    ["secret", "password", "passphrase", "token"]
        .iter()
        .any(|word| name.contains(word))
        || name == "key"
        || name.ends_with("_key")
}

/// `value` as `config show` prints it: [`REDACTED`] when `name` names a secret, and the
/// password of any URL's user info replaced (`postgres://u:<redacted>@db/k`).
pub fn redact(name: &str, value: &toml::Value) -> toml::Value {
    if is_secret_name(name) {
        return toml::Value::String(REDACTED.to_owned());
    }
    redact_urls(value)
}

fn redact_urls(value: &toml::Value) -> toml::Value {
    match value {
        toml::Value::String(s) => toml::Value::String(redact_url(s)),
        toml::Value::Array(items) => toml::Value::Array(items.iter().map(redact_urls).collect()),
        toml::Value::Table(table) => toml::Value::Table(
            table
                .iter()
                .map(|(k, v)| (k.clone(), redact(k, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `scheme://user:password@host/...` with the password replaced; any other text unchanged.
pub fn redact_url(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &text[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let Some(at) = authority.rfind('@') else {
        return text.to_owned();
    };
    let Some(colon) = authority[..at].find(':') else {
        return text.to_owned();
    };
    format!(
        "{}{}{REDACTED}{}",
        &text[..authority_start],
        &authority[..=colon],
        &text[authority_start + at..]
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::config::test_support::{env, source};

    fn setting<'a>(e: &'a Effective, path: &str) -> &'a Setting {
        e.settings
            .iter()
            .find(|s| s.path == path)
            .unwrap_or_else(|| panic!("no {path} in {:#?}", e.settings))
    }

    #[test]
    fn each_setting_names_its_origin() {
        let text = "[server]\nbody_limit_bytes = 4096\n\n[server.rate_limit]\n  burst = 7\n";
        let e = effective(
            &source(text),
            env(&[
                ("KEYGATE_SERVER__LISTEN", "0.0.0.0:9"),
                ("KEYGATE_SERVER__RATE_LIMIT__BURST", "8"),
            ]),
        )
        .unwrap();
        let listen = setting(&e, "server.listen");
        assert_eq!(listen.value.as_str(), Some("0.0.0.0:9"));
        assert_eq!(
            listen.origin,
            Origin::Env {
                var: "KEYGATE_SERVER__LISTEN".into()
            }
        );
        assert_eq!(
            setting(&e, "server.body_limit_bytes").origin,
            Origin::File {
                path: "k.toml".into(),
                line: 2,
                column: 1
            }
        );
        // The environment wins over the file.
        let burst = setting(&e, "server.rate_limit.burst");
        assert_eq!(burst.value.as_integer(), Some(8));
        assert!(matches!(burst.origin, Origin::Env { .. }));
        let queue = setting(&e, "audit.queue");
        assert_eq!(queue.value.as_integer(), Some(8192));
        assert_eq!(queue.origin, Origin::Default);
        // Unset optional settings are left out.
        assert!(e.settings.iter().all(|s| s.path != "server.tls_cert"));
    }

    #[test]
    fn provider_sections_show_their_settings_and_kind() {
        let text =
            "[providers.aws-eu]\nkind = \"aws\"\nregion = \"eu-west-1\"\n[providers.local]\n";
        let e = effective(
            &source(text),
            env(&[("KEYGATE_PROVIDERS__AWS_EU__MAX_ATTEMPTS", "5")]),
        )
        .unwrap();
        assert_eq!(
            setting(&e, "providers.aws-eu.region").origin,
            Origin::File {
                path: "k.toml".into(),
                line: 3,
                column: 1
            }
        );
        assert_eq!(
            setting(&e, "providers.aws-eu.max_attempts").origin,
            Origin::Env {
                var: "KEYGATE_PROVIDERS__AWS_EU__MAX_ATTEMPTS".into()
            }
        );
        let kind = setting(&e, "providers.local.kind");
        assert_eq!(kind.value.as_str(), Some("local"));
        assert_eq!(kind.origin, Origin::Default);
        // Without a file: the embedded default provider, from the defaults.
        let none = ConfigSource {
            path: None,
            text: String::new(),
        };
        let e = effective(&none, env(&[])).unwrap();
        assert_eq!(setting(&e, "providers.local.kind").origin, Origin::Default);
    }

    #[test]
    fn secrets_are_redacted_and_file_names_are_not() {
        for secret in [
            "client_secret",
            "password",
            "access_key",
            "private_key",
            "token",
            "key",
        ] {
            assert!(is_secret_name(secret), "{secret}");
        }
        for plain in [
            "tls_key",
            "root_key_file",
            "token_env",
            "key_ring",
            "create_key_ring",
            "credential",
            "listen",
        ] {
            assert!(!is_secret_name(plain), "{plain}");
        }
        let v = toml::Value::String("hunter2".into());
        assert_eq!(redact("db_password", &v).as_str(), Some(REDACTED));
        assert_eq!(redact("tls_key", &v).as_str(), Some("hunter2"));
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/keygate?x=a:b@c"),
            "postgres://app:<redacted>@db:5432/keygate?x=a:b@c"
        );
        assert_eq!(redact_url("https://user@host/x"), "https://user@host/x");
        assert_eq!(redact_url("sqlite://gateway.db"), "sqlite://gateway.db");
        let e = effective(
            &source("[providers.p]\nkind = \"local\"\nclient_secret = \"hunter2\"\n"),
            env(&[("KEYGATE_STORE__URL", "postgres://u:hunter2@db/k")]),
        );
        // A PostgreSQL URL is not refused at load (only when the store opens).
        let e = e.unwrap();
        assert_eq!(
            setting(&e, "store.url").value.as_str(),
            Some("postgres://u:<redacted>@db/k")
        );
        assert_eq!(
            setting(&e, "providers.p.client_secret").value.as_str(),
            Some(REDACTED)
        );
        assert!(!format!("{:?}", e.settings).contains("hunter2"));
    }

    #[test]
    fn lines_and_columns_are_one_based_characters() {
        let lines = Lines::new("ab\néx = 1\n");
        assert_eq!(lines.line_column(0), (1, 1));
        assert_eq!(lines.line_column(3), (2, 1));
        // `x` follows a two-byte character: column 2.
        assert_eq!(lines.line_column(5), (2, 2));
        assert_eq!(
            display_path(&["providers".into(), "a.b".into(), "x".into()]),
            "providers.\"a.b\".x"
        );
    }
}
