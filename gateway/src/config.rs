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
pub use keygate_providers::aws::AwsConfig;
pub use keygate_providers::azure::AzureConfig;
pub use keygate_providers::gcp::GcpConfig;
use serde::Deserialize;

use crate::audit::AuditConfig;
use crate::cache::CacheConfig;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "KEYGATE_CONFIG";

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
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
    /// The cloud wire protocols keygate serves (AWS KMS, GCP Cloud KMS, Azure Key Vault).
    #[serde(default)]
    pub dialects: crate::dialect::DialectsConfig,
    /// Registered providers, in the order of the file (the first is the default for new keys).
    #[serde(default, deserialize_with = "providers_in_order")]
    pub providers: Vec<ProviderConfig>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, the gateway serves HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    pub tls_key: Option<PathBuf>,
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit_bytes: usize,
    /// Per-principal rate limit.
    pub rate_limit: RateLimitConfig,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace_secs: u64,
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
        }
    }
}

/// `[server.rate_limit]`: a token bucket per principal.
#[derive(Debug, Clone, Deserialize)]
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

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sqlite://<path>` (relative paths are under the keygate home) or `sqlite::memory:`.
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://gateway.db".to_owned(),
        }
    }
}

/// Where the gateway store lives, parsed from [`StoreConfig::url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file.
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database (tests, throwaway gateways).
    SqliteMemory,
}

impl StoreConfig {
    /// Parses the URL; relative paths are taken under `home`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for `postgres://` (not built yet) and
    /// [`Error::InvalidArgument`] for anything else that is not a SQLite URL.
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
            return Err(Error::unsupported(
                "a PostgreSQL gateway store is not available yet; use sqlite://",
            ));
        }
        Err(Error::invalid(format!(
            "store.url `{url}` is not a store URL (expected sqlite://<path>)"
        )))
    }
}

/// `[scheduler]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// Seconds between maintenance runs (scheduled rotations, expired deletions); 0 turns the
    /// scheduler off.
    pub interval_secs: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self { interval_secs: 60 }
    }
}

/// One `[providers.<name>]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// The registered name (the section name).
    pub name: String,
    /// The backend and its settings.
    pub backend: Backend,
}

/// A provider's backend settings, by `kind`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Backend {
    /// `kind = "local"`.
    Local(LocalConfig),
    /// `kind = "aws"`: AWS KMS (or LocalStack, or a keygate AWS endpoint).
    Aws(AwsConfig),
    /// `kind = "azure"`: one Azure Key Vault or Managed HSM (or a keygate Azure endpoint).
    Azure(AzureConfig),
    /// `kind = "gcp"`: one GCP Cloud KMS key ring (or a keygate GCP endpoint).
    Gcp(GcpConfig),
}

/// `kind = "local"`: the embedded provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalConfig {
    /// The key database (relative to the home). Default `local.db` for the provider named
    /// `local`, `<name>.db` otherwise.
    pub path: Option<PathBuf>,
    /// The root key file (relative to the home; default `root.key`). `$KEYGATE_ROOT_KEY`
    /// (base64) takes precedence.
    pub root_key_file: Option<PathBuf>,
    /// Key URI prefix. Default `local://` for `local`, `local://<name>/` otherwise.
    pub uri_prefix: Option<String>,
}

fn providers_in_order<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<ProviderConfig>, D::Error> {
    use serde::de::Error as _;
    let table = toml::Table::deserialize(d)?;
    table
        .into_iter()
        .map(|(name, value)| provider_config(name, value).map_err(D::Error::custom))
        .collect()
}

fn provider_config(name: String, value: toml::Value) -> Result<ProviderConfig> {
    let toml::Value::Table(mut table) = value else {
        return Err(Error::invalid(format!(
            "[providers.{name}] must be a table"
        )));
    };
    keygate_core::validate_name("provider", &name)?;
    let kind = match table.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(_) => {
            return Err(Error::invalid(format!(
                "providers.{name}.kind must be a string"
            )));
        }
        None => name.clone(),
    };
    let section = |e: toml::de::Error| Error::invalid(format!("[providers.{name}]: {e}"));
    let backend = match kind.as_str() {
        "local" => Backend::Local(table.try_into().map_err(section)?),
        "aws" => Backend::Aws(table.try_into().map_err(section)?),
        "azure" => Backend::Azure(table.try_into().map_err(section)?),
        "gcp" => Backend::Gcp(table.try_into().map_err(section)?),
        other => {
            return Err(Error::invalid(format!(
                "[providers.{name}]: unknown kind `{other}` (known: local, aws, azure, gcp); set `kind = \"...\"` when the section name is not a kind"
            )));
        }
    };
    Ok(ProviderConfig { name, backend })
}

impl Config {
    /// The configuration for `home`: the file named by `explicit`, else `<home>/keygate.toml`
    /// when it exists, else the defaults; then the `KEYGATE_` environment overrides; then the
    /// embedded default provider when none is configured.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the file and the setting for anything malformed, and
    /// [`Error::NotFound`] for an explicit file that does not exist.
    pub fn load(explicit: Option<&Path>, home: &Path) -> Result<Self> {
        let (text, origin) = match explicit {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(t) => (t, path.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::not_found(format!(
                        "configuration file {}",
                        path.display()
                    )));
                }
                Err(e) => {
                    return Err(Error::invalid(format!(
                        "cannot read {}: {e}",
                        path.display()
                    )));
                }
            },
            None => {
                let path = home.join("keygate.toml");
                match std::fs::read_to_string(&path) {
                    Ok(t) => (t, path.display().to_string()),
                    Err(_) => (String::new(), "defaults".to_owned()),
                }
            }
        };
        Self::parse(&text, std::env::vars(), &origin)
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
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| Error::invalid(format!("{origin}: {e}")))?;
        for (var, value) in env {
            let Some(path) = var.strip_prefix("KEYGATE_") else {
                continue;
            };
            if !path.contains("__") {
                continue;
            }
            let segments: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
            set_path(&mut table, &segments, parse_env_value(&value))
                .map_err(|e| Error::invalid(format!("{var}: {e}")))?;
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| Error::invalid(format!("{origin}: {e}")))?;
        if config.providers.is_empty() {
            config.providers.push(ProviderConfig {
                name: "local".to_owned(),
                backend: Backend::Local(LocalConfig::default()),
            });
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err(Error::invalid(
                "server.tls_cert and server.tls_key must be set together",
            ));
        }
        if self.server.body_limit_bytes < 1024 {
            return Err(Error::invalid(
                "server.body_limit_bytes must be at least 1024",
            ));
        }
        if self.server.rate_limit.per_second > 0 && self.server.rate_limit.burst == 0 {
            return Err(Error::invalid(
                "server.rate_limit.burst must be at least 1 when a rate is set",
            ));
        }
        Ok(())
    }
}

fn parse_env_value(value: &str) -> toml::Value {
    // `x = <value>` parses numbers, booleans, arrays; anything else is a plain string.
    format!("x = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("x"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<()> {
    let (last, parents) = path
        .split_last()
        .ok_or_else(|| Error::invalid("empty setting path"))?;
    let mut current = table;
    for segment in parents {
        if segment.is_empty() {
            return Err(Error::invalid("empty segment in setting path"));
        }
        let key = existing_key(current, segment);
        let entry = current
            .entry(key)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| Error::invalid(format!("`{segment}` is not a section")))?;
    }
    current.insert(existing_key(current, last), value);
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn empty_file_is_the_embedded_default() {
        let c = Config::parse("", env(&[]), "t").unwrap();
        assert_eq!(c.providers.len(), 1);
        assert_eq!(c.providers[0].name, "local");
        assert_eq!(c.server.listen.port(), 8200);
        assert_eq!(
            c.store.location(Path::new("/h")).unwrap(),
            StoreLocation::SqliteFile(PathBuf::from("/h/gateway.db"))
        );
    }

    #[test]
    fn providers_keep_file_order_and_kind_defaults_to_the_name() {
        let text = r#"
            [providers.zeta]
            kind = "local"
            path = "z.db"
            [providers.local]
            [providers.alpha]
            kind = "local"
            uri_prefix = "local://alpha/"
        "#;
        let c = Config::parse(text, env(&[]), "t").unwrap();
        let names: Vec<_> = c.providers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["zeta", "local", "alpha"]);
        let Backend::Local(z) = &c.providers[0].backend else {
            panic!("zeta is local")
        };
        assert_eq!(z.path.as_deref(), Some(Path::new("z.db")));
    }

    #[test]
    fn aws_sections_register_under_their_names() {
        let text = r#"
            [providers.local]
            [providers.aws]
            region = "us-east-1"
            endpoint_url = "http://127.0.0.1:4566"
            [providers.aws-eu]
            kind = "aws"
            region = "eu-west-1"
            profile = "prod"
        "#;
        let c = Config::parse(
            text,
            env(&[("KEYGATE_PROVIDERS__AWS_EU__MAX_ATTEMPTS", "5")]),
            "t",
        )
        .unwrap();
        let kinds: Vec<_> = c
            .providers
            .iter()
            .map(|p| (p.name.as_str(), matches!(p.backend, Backend::Aws(_))))
            .collect();
        assert_eq!(kinds, [("local", false), ("aws", true), ("aws-eu", true)]);
        let Backend::Aws(eu) = &c.providers[2].backend else {
            panic!("aws-eu is aws")
        };
        assert_eq!(eu.region.as_deref(), Some("eu-west-1"));
        assert_eq!(eu.max_attempts, Some(5));
        let e = Config::parse(
            "[providers.aws]
regoin = \"x\"\n",
            env(&[]),
            "t",
        )
        .unwrap_err();
        assert!(e.to_string().contains("regoin"), "{e}");
    }

    #[test]
    fn azure_and_gcp_sections_register_under_their_names() {
        let text = r#"
            [providers.local]
            [providers.azure]
            vault_url = "https://prod-keys.vault.azure.net"
            subscription_id = "00000000-0000-0000-0000-000000000001"
            resource_group = "security"
            [providers.hsm-eu]
            kind = "azure"
            vault_url = "https://eu.managedhsm.azure.net"
            credential = "managed-identity"
            [providers.gcp]
            project = "acme-security"
            location = "europe-west1"
            [providers.gcp-dev]
            kind = "gcp"
            project = "acme-dev"
            endpoint = "http://127.0.0.1:9"
            token_env = "DEV_TOKEN"
        "#;
        let c = Config::parse(text, env(&[]), "t").unwrap();
        let kinds: Vec<_> = c
            .providers
            .iter()
            .map(|p| {
                let kind = match &p.backend {
                    Backend::Local(_) => "local",
                    Backend::Aws(_) => "aws",
                    Backend::Azure(_) => "azure",
                    Backend::Gcp(_) => "gcp",
                };
                (p.name.as_str(), kind)
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("local", "local"),
                ("azure", "azure"),
                ("hsm-eu", "azure"),
                ("gcp", "gcp"),
                ("gcp-dev", "gcp"),
            ]
        );
        let Backend::Azure(azure) = &c.providers[1].backend else {
            panic!("azure is azure")
        };
        assert_eq!(
            azure,
            &AzureConfig {
                vault_url: "https://prod-keys.vault.azure.net".into(),
                subscription_id: Some("00000000-0000-0000-0000-000000000001".into()),
                resource_group: Some("security".into()),
                ..AzureConfig::default()
            }
        );
        let Backend::Azure(hsm) = &c.providers[2].backend else {
            panic!("hsm-eu is azure")
        };
        assert_eq!(hsm.credential.as_deref(), Some("managed-identity"));
        let Backend::Gcp(gcp) = &c.providers[3].backend else {
            panic!("gcp is gcp")
        };
        assert_eq!(
            gcp,
            &GcpConfig {
                project: "acme-security".into(),
                location: Some("europe-west1".into()),
                ..GcpConfig::default()
            }
        );
        let Backend::Gcp(dev) = &c.providers[4].backend else {
            panic!("gcp-dev is gcp")
        };
        assert_eq!(dev.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(dev.token_env.as_deref(), Some("DEV_TOKEN"));
    }

    #[test]
    fn environment_overrides_reach_azure_and_gcp_sections() {
        let text = r#"
            [providers.azure-prod]
            kind = "azure"
            vault_url = "https://a.vault.azure.net"
            [providers.gcp]
            project = "p"
        "#;
        let c = Config::parse(
            text,
            env(&[
                (
                    "KEYGATE_PROVIDERS__AZURE_PROD__VAULT_URL",
                    "https://b.vault.azure.net",
                ),
                (
                    "KEYGATE_PROVIDERS__AZURE_PROD__VERIFY_CHALLENGE_RESOURCE",
                    "false",
                ),
                (
                    "KEYGATE_PROVIDERS__AZURE_PROD__SOFT_DELETE_RETENTION_DAYS",
                    "7",
                ),
                (
                    "KEYGATE_PROVIDERS__AZURE_PROD__CA_FILE",
                    "/etc/keygate/ca.pem",
                ),
                ("KEYGATE_PROVIDERS__GCP__KEY_RING", "ring-2"),
                ("KEYGATE_PROVIDERS__GCP__CREATE_KEY_RING", "true"),
                ("KEYGATE_PROVIDERS__GCP__DESTROY_SCHEDULED_DAYS", "14"),
                // A section that exists only in the environment takes its kind from its name.
                ("KEYGATE_PROVIDERS__GCP_EU__KIND", "gcp"),
                ("KEYGATE_PROVIDERS__GCP_EU__PROJECT", "eu-project"),
            ]),
            "t",
        )
        .unwrap();
        let Backend::Azure(azure) = &c.providers[0].backend else {
            panic!("azure-prod is azure")
        };
        assert_eq!(azure.vault_url, "https://b.vault.azure.net");
        assert_eq!(azure.verify_challenge_resource, Some(false));
        assert_eq!(azure.soft_delete_retention_days, Some(7));
        assert_eq!(
            azure.ca_file.as_deref(),
            Some(Path::new("/etc/keygate/ca.pem"))
        );
        let Backend::Gcp(gcp) = &c.providers[1].backend else {
            panic!("gcp is gcp")
        };
        assert_eq!(gcp.key_ring.as_deref(), Some("ring-2"));
        assert_eq!(gcp.create_key_ring, Some(true));
        assert_eq!(gcp.destroy_scheduled_days, Some(14));
        let eu = c.providers.iter().find(|p| p.name == "gcp_eu").unwrap();
        let Backend::Gcp(eu) = &eu.backend else {
            panic!("gcp_eu is gcp")
        };
        assert_eq!(eu.project, "eu-project");
    }

    #[test]
    fn azure_and_gcp_mistakes_name_the_section_and_setting() {
        for (text, needle) in [
            ("[providers.azure]\ncredential = \"chain\"\n", "vault_url"),
            (
                "[providers.azure]\nvault_url = \"https://a\"\nvalut_name = \"x\"\n",
                "valut_name",
            ),
            ("[providers.gcp]\nlocation = \"global\"\n", "project"),
            (
                "[providers.gcp]\nproject = \"p\"\nkeyring = \"r\"\n",
                "keyring",
            ),
            (
                "[providers.g]\nkind = \"gcp\"\nproject = \"p\"\ncreate_key_ring = \"yes\"\n",
                "providers.g",
            ),
            (
                "[providers.k]\nkind = \"azurekv\"\n",
                "known: local, aws, azure, gcp",
            ),
        ] {
            let e = Config::parse(text, env(&[]), "t").unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
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
        let Backend::Local(l) = &c.providers[0].backend else {
            panic!("local is local")
        };
        assert_eq!(l.path.as_deref(), Some(Path::new("/srv/keys.db")));
    }

    #[test]
    fn mistakes_are_typed_errors_naming_the_setting() {
        for (text, needle) in [
            ("[server]\nlisten = 5\n", "listen"),
            ("[server]\nlistne = \"x\"\n", "listne"),
            ("[providers.p]\nkind = \"nope\"\n", "unknown kind"),
            ("[providers.local]\npath = 3\n", "providers.local"),
            ("[server]\ntls_cert = \"c.pem\"\n", "tls_key"),
            ("[[[", "t:"),
        ] {
            let e = Config::parse(text, env(&[]), "t").unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
        let e = StoreConfig {
            url: "postgres://db/keygate".into(),
        }
        .location(Path::new("/h"))
        .unwrap_err();
        assert!(matches!(e, Error::Unsupported(_)));
    }

    #[test]
    fn the_example_file_parses() {
        let text = include_str!("../../keygate.example.toml");
        Config::parse(text, env(&[]), "keygate.example.toml").unwrap();
    }

    /// The commented-out settings of the example are documentation users uncomment: each
    /// `# [section]` and `# key = value` line, uncommented, must still parse.
    #[test]
    fn the_example_file_parses_with_every_commented_setting() {
        let text = include_str!("../../keygate.example.toml");
        let uncommented: String = text
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(rest) if is_setting(rest) => rest,
                _ => line,
            })
            .flat_map(|line| [line, "\n"])
            .collect();
        let c = Config::parse(&uncommented, env(&[]), "uncommented example").unwrap();
        let kinds: Vec<_> = c
            .providers
            .iter()
            .map(|p| match &p.backend {
                Backend::Local(_) => "local",
                Backend::Aws(_) => "aws",
                Backend::Azure(_) => "azure",
                Backend::Gcp(_) => "gcp",
            })
            .collect();
        assert_eq!(kinds, ["local", "aws", "azure", "gcp"]);
        let Backend::Azure(azure) = &c.providers[2].backend else {
            panic!("the third provider is azure")
        };
        assert_eq!(azure.token_env.as_deref(), Some("KEYGATE_AZURE_TOKEN"));
        assert_eq!(azure.resource_group.as_deref(), Some("security"));
        let Backend::Gcp(gcp) = &c.providers[3].backend else {
            panic!("the fourth provider is gcp")
        };
        assert_eq!(gcp.protection_level.as_deref(), Some("software"));
    }

    /// `[section]` or `key = value` (and not a sentence that happens to follow `# `).
    fn is_setting(text: &str) -> bool {
        if text.starts_with('[') {
            return text.trim_end().ends_with(']');
        }
        text.split_once(" = ").is_some_and(|(key, _)| {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
    }
}
