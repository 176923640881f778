//! `keygate.toml`: providers, listener, TLS, store, limits, audit, cache and scheduler, with
//! `KEYGATE_` environment overrides.
//!
//! The file is `--config PATH` (or `$KEYGATE_CONFIG`), else `<home>/keygate.toml` when it
//! exists; with no file at all keygate runs the embedded default: one local provider in the
//! home directory. See `keygate.example.toml` at the repository root for every setting.
//!
//! Any setting can be overridden from the environment: `KEYGATE_` followed by the path of the
//! setting with `__` between levels, e.g. `KEYGATE_SERVER__LISTEN=0.0.0.0:8443` or
//! `KEYGATE_PROVIDERS__AWS__REGION=eu-west-1`. Values are read as TOML values when they parse
//! as one (numbers, booleans) and as strings otherwise; `_` in a variable matches `-` in a
//! name (`KEYGATE_PROVIDERS__AWS_EU__REGION` sets `[providers.aws-eu]`). Variables without `__`
//! (`KEYGATE_HOME`, `KEYGATE_TOKEN`, ...) are not settings and are left alone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use keygate_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::audit::AuditConfig;
use crate::cache::CacheConfig;

mod check;
mod dialects;
mod envelope;
mod origin;

pub use check::{Problem, ProviderCheck, check};
pub use dialects::{
    AnonymousIdentity, AwsDialectConfig, AzureDialectConfig, DialectsConfig, GcpDialectConfig,
};
pub use envelope::{EnvelopeConfig, EnvelopeKey, EnvelopeRule};
pub use origin::{
    Effective, Origin, REDACTED, Setting, effective, is_secret_name, redact, redact_url,
};

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "KEYGATE_CONFIG";

/// The whole configuration: `keygate.toml`, one field per section; every section may be
/// left out.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HTTP listener (`keygate serve`).
    #[serde(default)]
    pub server: ServerConfig,
    /// The gateway's own store (aliases, audit, tokens, access policy).
    #[serde(default)]
    pub store: StoreConfig,
    /// Audit log tuning.
    #[serde(default)]
    pub audit: AuditConfig,
    /// The data-key cache of envelope encryption (off by default).
    #[serde(default)]
    pub cache: CacheConfig,
    /// The maintenance scheduler of `keygate serve`.
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// Multi-key envelopes: decrypt preference order and minimum-key rules.
    #[serde(default)]
    pub envelope: EnvelopeConfig,
    /// The cloud wire protocols keygate serves (AWS KMS, GCP Cloud KMS, Azure Key Vault).
    #[serde(default)]
    pub dialects: DialectsConfig,
    /// The cost view's prices (`[pricing.aws]`, `[pricing.gcp]`, `[pricing.azure]`,
    /// `[pricing.local]`): overrides of the built-in public list prices.
    #[serde(default)]
    pub pricing: keygate_core::cost::PricingConfig,
    /// Registered providers, in the order of the file (the first is the default for new keys),
    /// their settings as written: the binary types and opens them (`keygate-providers`).
    #[serde(
        default,
        deserialize_with = "providers_in_order",
        serialize_with = "providers_as_table"
    )]
    pub providers: Vec<ProviderSection>,
}

/// `[server]`: the HTTP listener of `keygate serve` (REST API and the dialects on the main
/// listener), its TLS, its limits and its shutdown.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, the gateway serves HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit_bytes: usize,
    /// Per-principal rate limit.
    pub rate_limit: RateLimitConfig,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Seconds a client has to send a request's headers (the first request's, and each
    /// next one's on a kept-alive connection) before its connection is closed.
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may stall (no bytes arriving) before the request fails.
    pub body_read_timeout_secs: u64,
    /// Open connections each listener serves at once. A connection beyond the limit waits,
    /// unread, for a free slot, and is closed unanswered when none frees within
    /// `header_read_timeout_secs`.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8200)),
            tls_cert: None,
            tls_key: None,
            body_limit_bytes: 1024 * 1024,
            rate_limit: RateLimitConfig::default(),
            shutdown_grace_secs: 15,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            max_connections: 1024,
        }
    }
}

/// `[server.rate_limit]`: a token bucket per principal.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Sustained requests per second per principal; 0 turns the limit off.
    pub per_second: u32,
    /// Requests a principal may make in a burst above the sustained rate.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_second: 500,
            burst: 1000,
        }
    }
}

/// `[store]`: where the gateway store (aliases, audit log, tokens, access policy) lives.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://<path>` (relative paths are under the keygate home), `sqlite::memory:`, or
    /// `postgres://user:password@host:port/database?sslmode=…` (also `postgresql://`).
    pub url: String,
    /// PostgreSQL: the most connections the pool keeps open (SQLite ignores it).
    pub max_connections: u32,
    /// PostgreSQL: seconds a request waits for a pool connection, or a new connection for
    /// the server, before the store answers unavailable (SQLite ignores it).
    pub acquire_timeout_secs: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://gateway.db".to_owned(),
            max_connections: 10,
            acquire_timeout_secs: 5,
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A PostgreSQL URL may carry a password.
        f.debug_struct("StoreConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .finish()
    }
}

/// Where the gateway store lives, parsed from [`StoreConfig::url`].
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file at this path (a relative path in the URL already joined to the home).
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database (tests, throwaway gateways).
    SqliteMemory,
    /// A PostgreSQL database: the URL as configured (it may hold a password: `Debug` hides
    /// it) and the pool settings.
    Postgres {
        /// `postgres://…`, passed to the driver as given (`sslmode` and the other
        /// parameters included).
        url: String,
        /// Pool settings from `[store]`.
        options: crate::store::PostgresOptions,
    },
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SqliteFile(path) => f.debug_tuple("SqliteFile").field(path).finish(),
            Self::SqliteMemory => f.write_str("SqliteMemory"),
            Self::Postgres { url, options } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .field("options", options)
                .finish(),
        }
    }
}

impl StoreConfig {
    /// Parses the URL; relative paths are taken under `home`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for anything that is not a SQLite or PostgreSQL URL, or a
    /// pool of no connections.
    pub fn location(&self, home: &Path) -> Result<StoreLocation> {
        let url = self.url.trim();
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(StoreLocation::SqliteMemory);
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(Error::invalid("store.url `sqlite://` names no file"));
            }
            let path = Path::new(path);
            return Ok(StoreLocation::SqliteFile(if path.is_absolute() {
                path.to_owned()
            } else {
                home.join(path)
            }));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            if self.max_connections == 0 {
                return Err(Error::invalid("store.max_connections must be at least 1"));
            }
            return Ok(StoreLocation::Postgres {
                url: url.to_owned(),
                options: crate::store::PostgresOptions {
                    max_connections: self.max_connections,
                    acquire_timeout: std::time::Duration::from_secs(
                        self.acquire_timeout_secs.max(1),
                    ),
                },
            });
        }
        Err(Error::invalid(format!(
            "store.url `{}` is not a store URL (expected sqlite://<path> or postgres://…)",
            redact_url(url)
        )))
    }
}

/// `[scheduler]`: how often `keygate serve` runs maintenance (due rotations, expired
/// deletions) on its own, and, when several replicas share a PostgreSQL store, how the one
/// that runs it is chosen.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// Seconds between maintenance runs (scheduled rotations, expired deletions); 0 turns the
    /// scheduler off.
    pub interval_secs: u64,
    /// PostgreSQL: seconds the leader's lease lasts without a renewal (3..=3600). The leader
    /// renews it every third of that; when the leader stops renewing (its machine is cut
    /// off), the database ends its lease after this long and another replica takes over at
    /// its next try, so within `lease_secs + lease_secs / 3`. A leader that exits or crashes
    /// gives the lease up at once (taken over within `lease_secs / 3`).
    pub lease_secs: u64,
    /// This process's name among replicas, as `keygate status` and `/metrics` show it
    /// (1 to 48 characters); unset, `<hostname>:<pid>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            interval_secs: 60,
            lease_secs: 15,
            replica: None,
        }
    }
}

impl SchedulerConfig {
    /// The lease time as a duration.
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lease_secs)
    }

    /// This process's replica name: the configured one, or `<hostname>:<pid>`.
    pub fn replica_name(&self) -> String {
        self.replica
            .clone()
            .unwrap_or_else(|| format!("{}:{}", hostname(), std::process::id()))
    }

    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !(3..=3600).contains(&self.lease_secs) {
            problems.push((
                "scheduler.lease_secs",
                format!(
                    "scheduler.lease_secs must be between 3 and 3600, not {}",
                    self.lease_secs
                ),
            ));
        }
        if let Some(name) = &self.replica {
            let chars = name.chars().count();
            if !(1..=48).contains(&chars) || name.chars().any(char::is_control) {
                problems.push((
                    "scheduler.replica",
                    "scheduler.replica must be 1 to 48 printable characters".to_owned(),
                ));
            }
        }
        problems
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`, then `$HOSTNAME`), or `localhost`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// One `[providers.<name>]` section as written: its name, its kind and its other settings.
/// The server never reads a provider's settings; the binary hands them to the provider
/// factory, which types them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSection {
    /// The registered name (the section name).
    pub name: String,
    /// `kind` (the section name when unset).
    pub kind: String,
    /// Every other setting of the section.
    pub settings: toml::Table,
    /// The section's call timeout and circuit breaker settings (`call_timeout_secs`,
    /// `breaker_failures`, `breaker_open_secs`), which the gateway applies around every
    /// call and which are not among `settings`.
    pub isolation: crate::isolation::Isolation,
}

impl ProviderSection {
    /// The embedded default: one local provider named `local`.
    pub fn embedded_default() -> Self {
        Self {
            name: "local".to_owned(),
            kind: "local".to_owned(),
            settings: toml::Table::new(),
            isolation: crate::isolation::Isolation::default(),
        }
    }
}

fn providers_in_order<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<ProviderSection>, D::Error> {
    use serde::de::Error as _;
    let table = toml::Table::deserialize(d)?;
    table
        .into_iter()
        .map(|(name, value)| provider_config(name, value).map_err(D::Error::custom))
        .collect()
}

/// `[providers.<name>]` tables again, in order, each with its `kind`.
fn providers_as_table<S: serde::Serializer>(
    providers: &[ProviderSection],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap as _;
    let mut map = s.serialize_map(Some(providers.len()))?;
    for p in providers {
        let mut table = toml::Table::new();
        table.insert("kind".to_owned(), toml::Value::String(p.kind.clone()));
        table.extend(p.settings.clone());
        table.extend(p.isolation.to_settings());
        map.serialize_entry(&p.name, &table)?;
    }
    map.end()
}

fn provider_config(name: String, value: toml::Value) -> Result<ProviderSection> {
    let toml::Value::Table(mut settings) = value else {
        return Err(Error::invalid(format!(
            "[providers.{name}] must be a table"
        )));
    };
    keygate_core::validate_name("provider", &name)?;
    let kind = match settings.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(_) => {
            return Err(Error::invalid(format!(
                "providers.{name}.kind must be a string"
            )));
        }
        None => name.clone(),
    };
    let isolation =
        crate::isolation::Isolation::take_from(&format!("providers.{name}"), &mut settings)
            .map_err(Error::invalid)?;
    Ok(ProviderSection {
        name,
        kind,
        settings,
        isolation,
    })
}

/// The text of the configuration file [`Config::load`] reads, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSource {
    /// The file, or `None` when there is none (the defaults).
    pub path: Option<PathBuf>,
    /// Its text (empty without a file).
    pub text: String,
}

impl ConfigSource {
    /// The file named by `explicit`, else `<home>/keygate.toml` when it exists, else none.
    /// Reads only: nothing is created.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an explicit file that does not exist, and
    /// [`Error::InvalidArgument`] for one that cannot be read.
    pub fn read(explicit: Option<&Path>, home: &Path) -> Result<Self> {
        match explicit {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Ok(Self {
                    path: Some(path.to_owned()),
                    text,
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::not_found(
                    format!("configuration file {}", path.display()),
                )),
                Err(e) => Err(Error::invalid(format!(
                    "cannot read {}: {e}",
                    path.display()
                ))),
            },
            None => {
                let path = home.join("keygate.toml");
                Ok(match std::fs::read_to_string(&path) {
                    Ok(text) => Self {
                        path: Some(path),
                        text,
                    },
                    Err(_) => Self {
                        path: None,
                        text: String::new(),
                    },
                })
            }
        }
    }

    /// How messages name the source: the file's path, or `defaults`.
    pub fn name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "defaults".to_owned(), |p| p.display().to_string())
    }
}

/// A setting an environment variable set: the path of keys it wrote (as spelled in the
/// table, so `aws-eu` for `AWS_EU`) and the variable.
pub(crate) type EnvOverride = (Vec<String>, String);

impl Config {
    /// The configuration for `home`: the file named by `explicit`, else `<home>/keygate.toml`
    /// when it exists, else the defaults; then the `KEYGATE_` environment overrides; then the
    /// embedded default provider when none is configured.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the file and the setting for anything malformed, and
    /// [`Error::NotFound`] for an explicit file that does not exist.
    pub fn load(explicit: Option<&Path>, home: &Path) -> Result<Self> {
        let source = ConfigSource::read(explicit, home)?;
        Self::parse(&source.text, std::env::vars(), &source.name())
    }

    /// Parses `text` with the given environment (pairs as from [`std::env::vars`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for malformed TOML, unknown settings or bad values.
    pub fn parse(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        origin: &str,
    ) -> Result<Self> {
        Self::parse_recorded(text, env, origin).map(|(config, _)| config)
    }

    /// [`Config::parse`], also returning which setting each environment variable set.
    pub(crate) fn parse_recorded(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        origin: &str,
    ) -> Result<(Self, Vec<EnvOverride>)> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Error::invalid(format!("{origin}: {e}")))?;
        let overrides = apply_env(&mut table, env)?;
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::invalid(format!("{origin}: {e}")))?;
        if config.providers.is_empty() {
            config.providers.push(ProviderSection::embedded_default());
        }
        config.validate()?;
        Ok((config, overrides))
    }

    fn validate(&self) -> Result<()> {
        match self.problems().into_iter().next() {
            Some((_, message)) => Err(Error::invalid(message)),
            None => Ok(()),
        }
    }

    /// Every rule the settings break together or out of bounds, as (setting path, message).
    pub(crate) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            let path = if self.server.tls_cert.is_some() {
                "server.tls_cert"
            } else {
                "server.tls_key"
            };
            problems.push((
                path,
                "server.tls_cert and server.tls_key must be set together".to_owned(),
            ));
        }
        if self.server.body_limit_bytes < 1024 {
            problems.push((
                "server.body_limit_bytes",
                "server.body_limit_bytes must be at least 1024".to_owned(),
            ));
        }
        if !(1..=1_000_000).contains(&self.server.max_connections) {
            problems.push((
                "server.max_connections",
                format!(
                    "server.max_connections must be between 1 and 1000000, not {}",
                    self.server.max_connections
                ),
            ));
        }
        for (path, secs) in [
            (
                "server.header_read_timeout_secs",
                self.server.header_read_timeout_secs,
            ),
            (
                "server.body_read_timeout_secs",
                self.server.body_read_timeout_secs,
            ),
        ] {
            if !(1..=3600).contains(&secs) {
                problems.push((
                    path,
                    format!("{path} must be between 1 and 3600, not {secs}"),
                ));
            }
        }
        if self.server.rate_limit.per_second > 0 && self.server.rate_limit.burst == 0 {
            problems.push((
                "server.rate_limit.burst",
                "server.rate_limit.burst must be at least 1 when a rate is set".to_owned(),
            ));
        }
        problems.extend(self.audit.problems());
        problems.extend(self.cache.problems());
        problems.extend(self.scheduler.problems());
        problems
    }
}

/// Applies every `KEYGATE_<SECTION>__<KEY>` variable to `table`, returning what each set.
pub(crate) fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<EnvOverride>> {
    let mut overrides = Vec::new();
    for (var, value) in env {
        let Some(segments) = env_segments(&var) else {
            continue;
        };
        let path = set_path(table, &segments, parse_env_value(&value))
            .map_err(|e| Error::invalid(format!("{var}: {e}")))?;
        overrides.push((path, var));
    }
    Ok(overrides)
}

/// The setting path a variable names (lowercase), or `None` when it is not a setting.
pub(crate) fn env_segments(var: &str) -> Option<Vec<String>> {
    let path = var.strip_prefix("KEYGATE_")?;
    if !path.contains("__") {
        return None;
    }
    Some(path.split("__").map(str::to_ascii_lowercase).collect())
}

fn parse_env_value(value: &str) -> toml::Value {
    // `x = <value>` parses numbers, booleans, arrays; anything else is a plain string.
    format!("x = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("x"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()))
}

/// Sets `value` at `path`, creating sections on the way; returns the path as spelled in the
/// table.
fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<Vec<String>> {
    let (last, parents) = path
        .split_last()
        .ok_or_else(|| Error::invalid("empty setting path"))?;
    let mut written = Vec::with_capacity(path.len());
    let mut current = table;
    for segment in parents {
        if segment.is_empty() {
            return Err(Error::invalid("empty segment in setting path"));
        }
        let key = existing_key(current, segment);
        written.push(key.clone());
        let entry = current
            .entry(key)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| Error::invalid(format!("`{segment}` is not a section")))?;
    }
    let key = existing_key(current, last);
    written.push(key.clone());
    current.insert(key, value);
    Ok(written)
}

/// The key of `table` that an environment segment names: variable names cannot hold `-`,
/// so `AWS_EU` finds a section written `aws-eu`. A segment naming nothing is used as is.
fn existing_key(table: &toml::Table, segment: &str) -> String {
    table
        .keys()
        .find(|k| k.to_ascii_lowercase().replace('-', "_") == segment)
        .cloned()
        .unwrap_or_else(|| segment.to_owned())
}

/// What the configuration's unit tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    use super::ConfigSource;

    /// Environment pairs as [`std::env::vars`] yields them.
    pub(crate) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// `text` as read from `k.toml`.
    pub(crate) fn source(text: &str) -> ConfigSource {
        ConfigSource {
            path: Some(PathBuf::from("k.toml")),
            text: text.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::test_support::env;
    use super::*;

    #[test]
    fn empty_file_is_the_embedded_default() {
        let c = Config::parse("", env(&[]), "t").unwrap();
        assert_eq!(c.providers, [ProviderSection::embedded_default()]);
        assert_eq!(c.server.listen.port(), 8200);
        assert_eq!(
            c.store.location(Path::new("/h")).unwrap(),
            StoreLocation::SqliteFile(PathBuf::from("/h/gateway.db"))
        );
    }

    #[test]
    fn provider_sections_keep_file_order_and_kind_defaults_to_the_name() {
        let text = r#"
            [providers.zeta]
            kind = "local"
            path = "z.db"
            [providers.local]
            [providers.aws-eu]
            kind = "aws"
            region = "eu-west-1"
        "#;
        let c = Config::parse(
            text,
            env(&[("KEYGATE_PROVIDERS__AWS_EU__MAX_ATTEMPTS", "5")]),
            "t",
        )
        .unwrap();
        let sections: Vec<_> = c
            .providers
            .iter()
            .map(|p| (p.name.as_str(), p.kind.as_str()))
            .collect();
        assert_eq!(
            sections,
            [("zeta", "local"), ("local", "local"), ("aws-eu", "aws")]
        );
        assert_eq!(c.providers[0].settings["path"].as_str(), Some("z.db"));
        assert!(!c.providers[0].settings.contains_key("kind"));
        assert_eq!(
            c.providers[2].settings["max_attempts"].as_integer(),
            Some(5)
        );
        for (text, needle) in [
            (
                "[providers]
local = 3
",
                "must be a table",
            ),
            (
                "[providers.local]
kind = 3
",
                "kind must be a string",
            ),
            (
                "[providers.\"bad name\"]
",
                "provider name",
            ),
        ] {
            let e = Config::parse(text, env(&[]), "t").unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn a_postgres_url_with_pool_settings_is_a_store_location() {
        let c = Config::parse(
            "[store]\nmax_connections = 3\n",
            env(&[(
                "KEYGATE_STORE__URL",
                "postgres://app:hunter2@db:5432/keygate?sslmode=verify-full",
            )]),
            "t",
        )
        .unwrap();
        let location = c.store.location(Path::new("/h")).unwrap();
        let StoreLocation::Postgres { url, options } = &location else {
            panic!("{location:?}");
        };
        assert_eq!(
            url,
            "postgres://app:hunter2@db:5432/keygate?sslmode=verify-full"
        );
        assert_eq!(options.max_connections, 3);
        assert_eq!(options.acquire_timeout, std::time::Duration::from_secs(5));
        for shown in [format!("{location:?}"), format!("{:?}", c.store)] {
            assert!(!shown.contains("hunter2"), "{shown}");
        }
        let none = StoreConfig {
            url: "postgresql://db/k".into(),
            max_connections: 0,
            ..StoreConfig::default()
        };
        assert!(matches!(
            none.location(Path::new("/h")),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn environment_overrides_nested_settings() {
        let c = Config::parse(
            "[server]\nlisten = \"127.0.0.1:1\"\n",
            env(&[
                ("KEYGATE_SERVER__LISTEN", "0.0.0.0:9443"),
                ("KEYGATE_SERVER__RATE_LIMIT__PER_SECOND", "7"),
                ("KEYGATE_PROVIDERS__LOCAL__PATH", "/srv/keys.db"),
                ("KEYGATE_HOME", "/ignored"),
                ("OTHER__X", "1"),
            ]),
            "t",
        )
        .unwrap();
        assert_eq!(c.server.listen.to_string(), "0.0.0.0:9443");
        assert_eq!(c.server.rate_limit.per_second, 7);
        assert_eq!(
            c.providers[0].settings["path"].as_str(),
            Some("/srv/keys.db")
        );
    }

    #[test]
    fn mistakes_are_typed_errors_naming_the_setting() {
        for (text, needle) in [
            ("[server]\nlisten = 5\n", "listen"),
            ("[server]\nlistne = \"x\"\n", "listne"),
            ("[server]\ntls_cert = \"c.pem\"\n", "tls_key"),
            ("[dialects.aws]\nregoin = \"x\"\n", "regoin"),
            ("[[[", "t:"),
        ] {
            let e = Config::parse(text, env(&[]), "t").unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
        let e = StoreConfig {
            url: "mysql://db/keygate".into(),
            ..StoreConfig::default()
        }
        .location(Path::new("/h"))
        .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)));
    }
}
