//! `keygate config check`: every problem of a configuration, each with where it is (a line
//! and column of the file, or an environment variable), not just the first.
//!
//! The file is parsed once with spans; each section is deserialized on its own, and after an
//! error the offending setting is taken out and the section tried again, so one mistake does
//! not hide the next. Then the environment overrides are checked one variable at a time, and
//! the rules between settings (`validate`) run on what is left. Provider sections are typed
//! by the caller (the server does not know the providers), through a callback.

use std::ops::Range;
use std::path::Path;

use keygate_core::{Error, Result};
use serde::Deserialize as _;
use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::origin::{Lines, display_path, is_secret_name, key_span, value_span};
use super::{
    Config, ConfigSource, DialectsConfig, EnvelopeConfig, ProviderSection, SchedulerConfig,
    ServerConfig, StoreConfig, apply_env, env_segments, provider_config, set_path,
};
use crate::audit::AuditConfig;
use crate::cache::CacheConfig;
use crate::config::Origin;

/// The sections of `keygate.toml`.
const SECTIONS: [&str; 8] = [
    "server",
    "store",
    "audit",
    "cache",
    "envelope",
    "scheduler",
    "dialects",
    "providers",
];

/// Retries per section after taking a bad setting out: a bound, not a limit anyone meets.
const MAX_PROBLEMS_PER_SECTION: usize = 64;

/// One problem of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where it is: a line and column of the file (the key of an unknown setting, the value
    /// of a bad one), an environment variable, or [`Origin::Default`] when it belongs to no
    /// one line.
    pub origin: Origin,
    /// The setting's path, when the problem is about one setting.
    pub path: Option<String>,
    /// What is wrong; never a secret's value.
    pub message: String,
}

/// Types one provider section (`ProviderConfig::parse` in the binary).
pub type ProviderCheck<'a> = &'a dyn Fn(&ProviderSection) -> Result<()>;

/// Every problem of `source` under `env` (pairs as from [`std::env::vars`]), in file order,
/// then the environment's. Empty when [`Config::parse`] and `providers` accept it all.
pub fn check(
    source: &ConfigSource,
    env: impl IntoIterator<Item = (String, String)>,
    providers: ProviderCheck<'_>,
) -> Vec<Problem> {
    let file = source.name();
    let lines = Lines::new(&source.text);
    let mut doc = match DeTable::parse(&source.text) {
        Ok(doc) => doc,
        Err(e) => {
            let origin = e
                .span()
                .map_or(Origin::Default, |s| lines.origin(&file, s.start));
            return vec![Problem {
                origin,
                path: None,
                message: e.message().to_owned(),
            }];
        }
    };
    let mut cx = Checker {
        file,
        lines,
        problems: Vec::new(),
    };
    cx.file_sections(doc.get_mut());
    let env: Vec<(String, String)> = env.into_iter().collect();
    let good_env: Vec<(String, String)> = env
        .into_iter()
        .filter(|(var, value)| cx.env_var(var, value))
        .collect();
    // What is left is well-formed setting by setting: the rules between settings, and the
    // provider sections, run on it.
    let table = match toml::Table::deserialize(toml::de::Deserializer::from(doc.clone())) {
        Ok(table) => table,
        Err(e) => {
            cx.general(e.message());
            return cx.finish();
        }
    };
    cx.merged(table, good_env, doc.get_ref(), providers);
    cx.finish()
}

struct Checker {
    file: String,
    lines: Lines,
    problems: Vec<Problem>,
}

impl Checker {
    fn finish(mut self) -> Vec<Problem> {
        self.problems.sort_by_key(|p| match &p.origin {
            Origin::File { line, column, .. } => (0, *line, *column),
            Origin::Env { .. } => (1, 0, 0),
            Origin::Default => (2, 0, 0),
        });
        self.problems
    }

    fn general(&mut self, message: impl Into<String>) {
        self.problems.push(Problem {
            origin: Origin::Default,
            path: None,
            message: message.into(),
        });
    }

    fn at(&mut self, offset: usize, path: Option<String>, message: String) {
        let origin = self.lines.origin(&self.file, offset);
        self.problems.push(Problem {
            origin,
            path,
            message,
        });
    }

    /// Checks each top-level entry of the file, taking out what is wrong.
    fn file_sections(&mut self, doc: &mut DeTable<'_>) {
        let names: Vec<(String, Range<usize>)> = doc
            .iter()
            .map(|(k, _)| (k.get_ref().to_string(), k.span()))
            .collect();
        for (name, span) in names {
            match name.as_str() {
                "server" => self.section::<ServerConfig>(doc, &name),
                "store" => self.section::<StoreConfig>(doc, &name),
                "audit" => self.section::<AuditConfig>(doc, &name),
                "cache" => self.section::<CacheConfig>(doc, &name),
                "envelope" => self.section::<EnvelopeConfig>(doc, &name),
                "scheduler" => self.section::<SchedulerConfig>(doc, &name),
                "dialects" => self.section::<DialectsConfig>(doc, &name),
                "providers" => self.file_providers(doc),
                _ => {
                    self.at(
                        span.start,
                        Some(display_path(std::slice::from_ref(&name))),
                        unknown(std::slice::from_ref(&name)),
                    );
                    doc.remove(name.as_str());
                }
            }
        }
    }

    /// Deserializes `[name]` as `T` until it passes, reporting and taking out one bad setting
    /// per round.
    fn section<T: DeserializeOwned>(&mut self, doc: &mut DeTable<'_>, name: &str) {
        for _ in 0..MAX_PROBLEMS_PER_SECTION {
            let Some(value) = doc.get(name) else {
                return;
            };
            let Err(e) = T::deserialize(ValueDeserializer::from(value.clone())) else {
                return;
            };
            let span = e.span().unwrap_or_else(|| value.span());
            let found = match value.get_ref() {
                DeValue::Table(table) => locate(table, span.start),
                _ => None,
            };
            let mut path = vec![name.to_owned()];
            match found {
                Some(inner) => {
                    path.extend(inner);
                    let message = describe(&path, e.message());
                    self.at(span.start, Some(display_path(&path)), message);
                    remove(doc, &path);
                }
                None => {
                    // The whole section is wrong (not a table, a required setting missing).
                    let message = describe(&path, e.message());
                    self.at(span.start, Some(display_path(&path)), message);
                    doc.remove(name);
                    return;
                }
            }
        }
    }

    /// `[providers]`: a table of tables with valid names and a string `kind`. The sections'
    /// settings are typed later, by the caller's check.
    fn file_providers(&mut self, doc: &mut DeTable<'_>) {
        let Some(providers) = doc.get_mut("providers") else {
            return;
        };
        let span = providers.span();
        let DeValue::Table(table) = providers.get_mut() else {
            self.at(
                span.start,
                Some("providers".into()),
                "`providers` must be a table of [providers.<name>] sections".into(),
            );
            doc.remove("providers");
            return;
        };
        let mut bad = Vec::new();
        for (key, value) in table.iter() {
            let name = key.get_ref().to_string();
            let path = ["providers".to_owned(), name.clone()];
            let section = match value.get_ref() {
                DeValue::Table(t) => t,
                _ => {
                    self.at(
                        key.span().start,
                        Some(display_path(&path)),
                        format!("[providers.{name}] must be a table"),
                    );
                    bad.push(name);
                    continue;
                }
            };
            if let Err(e) = keygate_core::validate_name("provider", &name) {
                self.at(key.span().start, Some(display_path(&path)), plain(&e));
                bad.push(name);
                continue;
            }
            if let Some(kind) = section.get("kind")
                && !matches!(kind.get_ref(), DeValue::String(_))
            {
                self.at(
                    kind.span().start,
                    Some(format!("{}.kind", display_path(&path))),
                    format!("providers.{name}.kind must be a string"),
                );
                bad.push(name);
            }
        }
        for name in &bad {
            table.remove(name.as_str());
        }
    }

    /// Checks one variable on its own; true when it may be applied.
    fn env_var(&mut self, var: &str, value: &str) -> bool {
        let Some(segments) = env_segments(var) else {
            return false;
        };
        let origin = Origin::Env {
            var: var.to_owned(),
        };
        let mut problem = |path: Option<String>, message: String| {
            self.problems.push(Problem {
                origin: origin.clone(),
                path,
                message,
            });
            false
        };
        let mut table = toml::Table::new();
        let written = match set_path(&mut table, &segments, super::parse_env_value(value)) {
            Ok(written) => written,
            Err(e) => return problem(None, plain(&e)),
        };
        let path = display_path(&written);
        let section = written[0].as_str();
        let Some(section_value) = table.remove(section) else {
            return problem(Some(path), "names no setting".into());
        };
        let result = match section {
            "server" => typed::<ServerConfig>(section_value),
            "store" => typed::<StoreConfig>(section_value),
            "audit" => typed::<AuditConfig>(section_value),
            "cache" => typed::<CacheConfig>(section_value),
            "envelope" => typed::<EnvelopeConfig>(section_value),
            "scheduler" => typed::<SchedulerConfig>(section_value),
            "dialects" => typed::<DialectsConfig>(section_value),
            "providers" => match section_value {
                toml::Value::Table(t) if written.len() >= 3 => t
                    .into_iter()
                    .try_for_each(|(name, v)| provider_config(name, v).map(|_| ()))
                    .map_err(|e| plain(&e)),
                _ => Err("a provider setting is KEYGATE_PROVIDERS__<NAME>__<SETTING>".into()),
            },
            _ => return problem(Some(path), unknown(&written)),
        };
        match result {
            Ok(()) => true,
            Err(message) => problem(Some(path), describe(&written, &message)),
        }
    }

    /// The rules between settings and the provider sections, on the file's good settings
    /// with the good variables applied.
    fn merged(
        &mut self,
        mut table: toml::Table,
        env: Vec<(String, String)>,
        doc: &DeTable<'_>,
        providers: ProviderCheck<'_>,
    ) {
        let overrides = match apply_env(&mut table, env) {
            Ok(o) => o,
            Err(e) => {
                self.general(plain(&e));
                return;
            }
        };
        // A rule broken points at the value, an unknown setting at its key, a provider
        // section as a whole at its header.
        let origin_of = |path: &[String], at_key: bool| -> Origin {
            if let Some((_, var)) = overrides.iter().rev().find(|(p, _)| p == path) {
                return Origin::Env { var: var.clone() };
            }
            let span = if at_key {
                key_span(doc, path)
            } else {
                value_span(doc, path).or_else(|| key_span(doc, path))
            };
            match span {
                Some(span) => self.lines.origin(&self.file, span.start),
                None => Origin::Default,
            }
        };
        let config: Config = match toml::Value::Table(table).try_into() {
            Ok(c) => c,
            Err(e) => {
                let e: toml::de::Error = e;
                self.general(e.message());
                return;
            }
        };
        let mut found = Vec::new();
        for (path, message) in config.problems() {
            let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
            found.push(Problem {
                origin: origin_of(&segments, false),
                path: Some(path.to_owned()),
                message,
            });
        }
        if let Err(e) = config.store.location(Path::new("/")) {
            found.push(Problem {
                origin: origin_of(&["store".into(), "url".into()], false),
                path: Some("store.url".into()),
                message: plain(&e),
            });
        }
        for section in &config.providers {
            if let Err(e) = providers(section) {
                let message = plain(&e);
                let mut path = vec!["providers".to_owned(), section.name.clone()];
                let (message, at_key) = match culprit(section, &e, providers) {
                    Some(key) => {
                        path.push(key);
                        let prefix = format!("[providers.{}]: ", section.name);
                        let text = message.strip_prefix(&prefix).unwrap_or(&message);
                        let unknown = text.starts_with("unknown field");
                        (describe(&path, text), unknown)
                    }
                    None => (message, true),
                };
                found.push(Problem {
                    origin: origin_of(&path, at_key),
                    path: Some(display_path(&path)),
                    message,
                });
            }
        }
        self.problems.extend(found);
    }
}

/// Deserializes a section from a plain value; the error's message.
fn typed<T: DeserializeOwned>(value: toml::Value) -> std::result::Result<(), String> {
    T::deserialize(value)
        .map(|_| ())
        .map_err(|e| e.message().to_owned())
}

/// The setting of a provider section an error is about: one it names in backquotes, else
/// the one whose removal changes the error; `None` for the section as a whole (a required
/// setting missing, an unknown kind).
fn culprit(section: &ProviderSection, error: &Error, check: ProviderCheck<'_>) -> Option<String> {
    let message = error.to_string();
    let mut keys: Vec<&String> = section.settings.keys().collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    if let Some(key) = keys.iter().find(|k| message.contains(&format!("`{k}`"))) {
        return Some((*key).clone());
    }
    if message.contains("kind `") {
        return Some("kind".into());
    }
    section.settings.keys().find_map(|key| {
        let mut without = section.clone();
        without.settings.remove(key);
        match check(&without) {
            Ok(()) => Some(key.clone()),
            Err(e) if e.to_string() != message => Some(key.clone()),
            Err(_) => None,
        }
    })
}

/// The deepest entry of `table` whose key or value holds `offset`: first keys and plain
/// values, then (for errors about a table as a whole) tables.
fn locate(table: &DeTable<'_>, offset: usize) -> Option<Vec<String>> {
    for (key, value) in table.iter() {
        let name = key.get_ref().to_string();
        if key.span().contains(&offset) {
            return Some(vec![name]);
        }
        match value.get_ref() {
            DeValue::Table(inner) => {
                if let Some(mut path) = locate(inner, offset) {
                    path.insert(0, name);
                    return Some(path);
                }
            }
            _ if value.span().contains(&offset) => return Some(vec![name]),
            _ => {}
        }
    }
    table
        .iter()
        .find(|(_, v)| {
            matches!(v.get_ref(), DeValue::Table(_))
                && (v.span().contains(&offset) || v.span().start == offset)
        })
        .map(|(k, _)| vec![k.get_ref().to_string()])
}

/// Takes the setting at `path` out of the document.
fn remove(doc: &mut DeTable<'_>, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = doc;
    for segment in parents {
        let Some(next) = current.get_mut(segment.as_str()) else {
            return;
        };
        let DeValue::Table(table) = next.get_mut() else {
            return;
        };
        current = table;
    }
    current.remove(last.as_str());
}

/// A deserializer's message about the setting at `path`, in keygate's words: unknown fields
/// become unknown settings named by their full path; a secret's value is never repeated.
fn describe(path: &[String], message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let after = rest.split_once('`').map_or("", |(_, after)| after);
        return format!("unknown setting `{}`{after}", display_path(path));
    }
    let shown = display_path(path);
    if path.last().is_some_and(|k| is_secret_name(k)) {
        return format!("`{shown}`: invalid value (not shown: the setting is a secret)");
    }
    format!("`{shown}`: {message}")
}

fn unknown(path: &[String]) -> String {
    format!(
        "unknown setting `{}`, expected one of the sections {}",
        display_path(path),
        SECTIONS
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// An error's message on one line, without its kind's prefix (`invalid argument: `).
fn plain(e: &Error) -> String {
    let text = match e {
        Error::InvalidArgument(m) | Error::Unsupported(m) => m.clone(),
        other => other.to_string(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
