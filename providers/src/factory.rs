//! Providers from configuration: what a `[providers.<name>]` section of `keygate.toml` says,
//! typed ([`ProviderConfig`]), and the provider it opens ([`open`]).
//!
//! The server holds its providers as trait objects and never names a backend; the binary
//! (the composition root) reads each section's settings, parses them here and hands the
//! opened providers to the server. A kind whose cargo feature is off is a typed
//! [`Error::Unsupported`] naming the feature, so a GCP-only keygate says why it refuses an
//! `aws` section.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keygate_core::{DynProvider, Error, ProviderKind, Result, validate_name};
use serde::Deserialize;
use zeroize::Zeroizing;

#[cfg(feature = "aws")]
use crate::aws::{AwsConfig, AwsKmsBuilder};
#[cfg(feature = "azure")]
use crate::azure::{AzureConfig, AzureKeyVaultProvider};
#[cfg(feature = "gcp")]
use crate::gcp::{GcpConfig, GcpKmsProvider};
use crate::local::LocalProvider;

/// Every provider kind keygate knows, whether or not it is built in.
pub const KINDS: [&str; 4] = ["local", "aws", "azure", "gcp"];

/// One `[providers.<name>]` section, typed.
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
    /// `kind = "local"`: the embedded provider, keys in a SQLite file under the home.
    Local(LocalConfig),
    /// `kind = "aws"`: AWS KMS (or LocalStack, or a keygate AWS endpoint).
    #[cfg(feature = "aws")]
    Aws(AwsConfig),
    /// `kind = "azure"`: one Azure Key Vault or Managed HSM (or a keygate Azure endpoint).
    #[cfg(feature = "azure")]
    Azure(AzureConfig),
    /// `kind = "gcp"`: one GCP Cloud KMS key ring (or a keygate GCP endpoint).
    #[cfg(feature = "gcp")]
    Gcp(GcpConfig),
}

impl Backend {
    /// The provider kind this section opens.
    pub fn provider_kind(&self) -> ProviderKind {
        match self {
            Self::Local(_) => ProviderKind::Local,
            #[cfg(feature = "aws")]
            Self::Aws(_) => ProviderKind::Aws,
            #[cfg(feature = "azure")]
            Self::Azure(_) => ProviderKind::Azure,
            #[cfg(feature = "gcp")]
            Self::Gcp(_) => ProviderKind::Gcp,
        }
    }

    /// The `kind` of the section.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Local(_) => "local",
            #[cfg(feature = "aws")]
            Self::Aws(_) => "aws",
            #[cfg(feature = "azure")]
            Self::Azure(_) => "azure",
            #[cfg(feature = "gcp")]
            Self::Gcp(_) => "gcp",
        }
    }
}

/// `kind = "local"`: the embedded provider.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocalConfig {
    /// The key database (relative to the home). Default `local.db` for the provider named
    /// `local`, `<name>.db` otherwise — unless the keys live in PostgreSQL (see
    /// [`LocalConfig::key_store`]).
    pub path: Option<PathBuf>,
    /// A PostgreSQL database for the keys (`postgres://…`). Default: the gateway store's
    /// database when `[store] url` is PostgreSQL and `path` is not set.
    pub url: Option<String>,
    /// The PostgreSQL schema of the provider's tables. Default `keygate_local` for the
    /// provider named `local`, `keygate_local_<name>` otherwise.
    pub schema: Option<String>,
    /// The root key file (relative to the home; default `root.key`). `$KEYGATE_ROOT_KEY`
    /// (base64) takes precedence.
    pub root_key_file: Option<PathBuf>,
    /// Key URI prefix. Default `local://` for `local`, `local://<name>/` otherwise.
    pub uri_prefix: Option<String>,
}

impl std::fmt::Debug for LocalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A PostgreSQL URL may carry a password.
        f.debug_struct("LocalConfig")
            .field("path", &self.path)
            .field("url", &self.url.as_ref().map(|_| "<postgres url>"))
            .field("schema", &self.schema)
            .field("root_key_file", &self.root_key_file)
            .field("uri_prefix", &self.uri_prefix)
            .finish()
    }
}

/// Where a local provider keeps its keys.
#[derive(Clone, PartialEq, Eq)]
pub enum LocalKeyStore {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A schema of a PostgreSQL database.
    Postgres {
        /// `postgres://…` (may hold a password: `Debug` hides it).
        url: String,
        /// The schema of the provider's tables.
        schema: String,
    },
}

impl std::fmt::Debug for LocalKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres { schema, .. } => f
                .debug_struct("Postgres")
                .field("schema", schema)
                .finish_non_exhaustive(),
        }
    }
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl LocalConfig {
    /// Where the provider `name` keeps its keys: `url` when set; else its SQLite file when
    /// `path` is set; else the gateway store's PostgreSQL database (`store_url`, given only
    /// when `[store] url` is PostgreSQL); else the default SQLite file under `home`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the section when both `path` and `url` are set, or
    /// `url` is not a PostgreSQL URL (never echoing it).
    pub fn key_store(
        &self,
        name: &str,
        home: &Path,
        store_url: Option<&str>,
    ) -> Result<LocalKeyStore> {
        let schema = || self.postgres_schema(name);
        match (&self.url, &self.path, store_url) {
            (Some(_), Some(_), _) => Err(Error::invalid(format!(
                "[providers.{name}]: set `path` (a SQLite file) or `url` (PostgreSQL), not both"
            ))),
            (Some(url), None, _) if !is_postgres_url(url) => Err(Error::invalid(format!(
                "[providers.{name}]: `url` must be a PostgreSQL URL (postgres://…)"
            ))),
            (Some(url), None, _) => Ok(LocalKeyStore::Postgres {
                url: url.clone(),
                schema: schema(),
            }),
            (None, None, Some(url)) if is_postgres_url(url) => Ok(LocalKeyStore::Postgres {
                url: url.to_owned(),
                schema: schema(),
            }),
            _ => Ok(LocalKeyStore::Sqlite(self.db_path(name, home))),
        }
    }

    /// The PostgreSQL schema of provider `name`'s tables: `schema`, else `keygate_local` for
    /// the provider named `local` and `keygate_local_<name>` for any other.
    pub fn postgres_schema(&self, name: &str) -> String {
        self.schema.clone().unwrap_or_else(|| {
            if name == DEFAULT_NAME_LOCAL {
                "keygate_local".to_owned()
            } else {
                format!("keygate_local_{name}")
            }
        })
    }

    /// The root key file this section names, under `home`.
    pub fn root_key_file(&self, home: &Path) -> PathBuf {
        self.root_key_file
            .as_ref()
            .map_or_else(|| default_root_key_file(home), |f| home.join(f))
    }

    /// The key database of the provider `name`, under `home`.
    pub fn db_path(&self, name: &str, home: &Path) -> PathBuf {
        let default = if name == DEFAULT_NAME_LOCAL {
            home.join("local.db")
        } else {
            home.join(format!("{name}.db"))
        };
        self.path.as_ref().map_or(default, |p| home.join(p))
    }
}

/// The name of the default local provider.
const DEFAULT_NAME_LOCAL: &str = "local";

/// The home's root key file when no section names one: `<home>/root.key`.
pub fn default_root_key_file(home: &Path) -> PathBuf {
    home.join("root.key")
}

impl ProviderConfig {
    /// The URI prefix of the provider's keys when it is known without opening it: the one
    /// the section sets, else a local provider's default (`local://` for `local`,
    /// `local://<name>/` otherwise). `None` for a cloud's default, which its region, vault or
    /// key ring decides once it is opened.
    pub fn known_uri_prefix(&self) -> Option<String> {
        match &self.backend {
            Backend::Local(c) => Some(c.uri_prefix.clone().unwrap_or_else(|| {
                if self.name == "local" {
                    "local://".to_owned()
                } else {
                    format!("local://{}/", self.name)
                }
            })),
            #[cfg(feature = "aws")]
            Backend::Aws(c) => c.uri_prefix.clone(),
            #[cfg(feature = "azure")]
            Backend::Azure(c) => c.uri_prefix.clone(),
            #[cfg(feature = "gcp")]
            Backend::Gcp(c) => c.uri_prefix.clone(),
        }
    }

    /// Types the settings of section `[providers.<name>]` of kind `kind` (the section's
    /// `kind` setting, or its name).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the section for a bad name, an unknown kind or a
    /// malformed or unknown setting; [`Error::Unsupported`] for a kind whose cargo feature
    /// is not built in.
    pub fn parse(name: &str, kind: &str, settings: toml::Table) -> Result<Self> {
        validate_name("provider", name)?;
        let section = |e: toml::de::Error| Error::invalid(format!("[providers.{name}]: {e}"));
        let value = toml::Value::Table(settings);
        let backend = match kind {
            "local" => Backend::Local(value.try_into().map_err(section)?),
            #[cfg(feature = "aws")]
            "aws" => Backend::Aws(value.try_into().map_err(section)?),
            #[cfg(feature = "azure")]
            "azure" => Backend::Azure(value.try_into().map_err(section)?),
            #[cfg(feature = "gcp")]
            "gcp" => Backend::Gcp(value.try_into().map_err(section)?),
            known if KINDS.contains(&known) => {
                return Err(Error::unsupported(format!(
                    "[providers.{name}]: kind `{known}` is not built into this keygate (build it with the cargo feature `{known}`)"
                )));
            }
            other => {
                return Err(Error::invalid(format!(
                    "[providers.{name}]: unknown kind `{other}` (known: local, aws, azure, gcp); set `kind = \"...\"` when the section name is not a kind"
                )));
            }
        };
        Ok(Self {
            name: name.to_owned(),
            backend,
        })
    }
}

/// What opening providers needs besides their sections.
#[derive(Clone)]
pub struct OpenContext {
    /// The keygate home: relative paths in sections are under it.
    pub home: PathBuf,
    /// The root key given in the environment (`$KEYGATE_ROOT_KEY`), which takes precedence
    /// over every local provider's root key file.
    pub root_key: Option<Zeroizing<Vec<u8>>>,
    /// The gateway store's URL when `[store] url` is PostgreSQL: local providers without a
    /// `path` or `url` of their own keep their keys in that database.
    pub store_url: Option<String>,
}

impl std::fmt::Debug for OpenContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenContext")
            .field("home", &self.home)
            .field("root_key", &self.root_key.as_ref().map(|_| "<redacted>"))
            .field(
                "store_url",
                &self.store_url.as_ref().map(|_| "<postgres url>"),
            )
            .finish()
    }
}

/// The root key file of the gateway itself (it seals AWS access key secrets): the first
/// local provider's, else the home's `root.key`.
pub fn gateway_root_key_file(providers: &[ProviderConfig], home: &Path) -> PathBuf {
    providers
        .iter()
        .find_map(|p| match &p.backend {
            Backend::Local(local) => Some(local.root_key_file(home)),
            #[allow(unreachable_patterns)]
            _ => None,
        })
        .unwrap_or_else(|| default_root_key_file(home))
}

/// Opens the provider a section describes.
///
/// # Errors
/// Whatever the provider reports when it cannot be opened, naming it.
pub async fn open(config: &ProviderConfig, cx: &OpenContext) -> Result<DynProvider> {
    let name = config.name.as_str();
    Ok(match &config.backend {
        Backend::Local(local) => Arc::new(open_local(name, local, cx).await?),
        #[cfg(feature = "aws")]
        Backend::Aws(aws) => Arc::new(
            AwsKmsBuilder::new()
                .with_name(name)
                .with_config(aws)
                .build()
                .await?,
        ),
        #[cfg(feature = "gcp")]
        Backend::Gcp(gcp) => Arc::new(
            GcpKmsProvider::builder()
                .with_name(name)
                .with_config(gcp)
                .build()
                .await?,
        ),
        #[cfg(feature = "azure")]
        Backend::Azure(azure) => {
            // Like the other files the configuration names, a relative CA file is under the
            // home.
            let mut azure = azure.clone();
            azure.ca_file = azure.ca_file.map(|f| cx.home.join(f));
            Arc::new(
                AzureKeyVaultProvider::builder()
                    .with_name(name)
                    .with_config(&azure)
                    .build()
                    .await?,
            )
        }
    })
}

/// Opens every section, in order.
///
/// # Errors
/// The first provider that cannot be opened.
pub async fn open_all(configs: &[ProviderConfig], cx: &OpenContext) -> Result<Vec<DynProvider>> {
    let mut providers = Vec::with_capacity(configs.len());
    for config in configs {
        providers.push(open(config, cx).await?);
    }
    Ok(providers)
}

async fn open_local(name: &str, config: &LocalConfig, cx: &OpenContext) -> Result<LocalProvider> {
    let mut builder = LocalProvider::builder().with_name(name);
    builder = match config.key_store(name, &cx.home, cx.store_url.as_deref())? {
        LocalKeyStore::Sqlite(path) => builder.with_path(path),
        LocalKeyStore::Postgres { url, schema } => {
            let builder = builder.with_postgres(url, schema);
            // Keys moved up from the default SQLite file are copied, never left behind.
            if config.path.is_none() && config.url.is_none() {
                builder.refusing_new_store_beside(config.db_path(name, &cx.home))
            } else {
                builder
            }
        }
    };
    if let Some(prefix) = &config.uri_prefix {
        builder = builder.with_uri_prefix(prefix.clone());
    }
    builder = match &cx.root_key {
        Some(bytes) => builder.with_root_key(bytes.clone()),
        None => builder.with_root_key_file(config.root_key_file(&cx.home)),
    };
    builder.build().await.map_err(|e| match e {
        Error::InvalidArgument(m) => Error::invalid(format!("provider `{name}`: {m}")),
        Error::Unavailable { message: m, .. } => {
            Error::unavailable(format!("provider `{name}`: {m}"))
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn local_sections_type_their_settings() {
        let c = ProviderConfig::parse("zeta", "local", table("path = \"z.db\"")).unwrap();
        let Backend::Local(local) = &c.backend else {
            panic!("zeta is local")
        };
        assert_eq!(local.path.as_deref(), Some(Path::new("z.db")));
        assert_eq!(local.db_path("zeta", Path::new("/h")), Path::new("/h/z.db"));
        assert_eq!(
            LocalConfig::default().db_path("local", Path::new("/h")),
            Path::new("/h/local.db")
        );
        assert_eq!(
            LocalConfig::default().db_path("eu", Path::new("/h")),
            Path::new("/h/eu.db")
        );
    }

    #[test]
    fn local_uri_prefixes_are_known_before_opening() {
        let local = ProviderConfig::parse("local", "local", toml::Table::new()).unwrap();
        assert_eq!(local.known_uri_prefix().as_deref(), Some("local://"));
        let eu = ProviderConfig::parse("eu", "local", toml::Table::new()).unwrap();
        assert_eq!(eu.known_uri_prefix().as_deref(), Some("local://eu/"));
        let set =
            ProviderConfig::parse("eu", "local", table("uri_prefix = \"local://x/\"")).unwrap();
        assert_eq!(set.known_uri_prefix().as_deref(), Some("local://x/"));
        assert_eq!(set.backend.provider_kind(), ProviderKind::Local);
    }

    #[test]
    fn mistakes_name_the_section() {
        let e = ProviderConfig::parse("local", "local", table("path = 3")).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
        assert!(e.to_string().contains("providers.local"), "{e}");
        let e = ProviderConfig::parse("p", "nope", toml::Table::new()).unwrap_err();
        assert!(e.to_string().contains("unknown kind"), "{e}");
        let e = ProviderConfig::parse("bad name", "local", toml::Table::new()).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    }

    #[test]
    fn local_keys_follow_a_postgres_gateway_store_unless_the_section_says_otherwise() {
        let home = Path::new("/h");
        let pg = Some("postgres://u:pw@db/k");
        let parse = |name: &str, t: &str| match ProviderConfig::parse(name, "local", table(t))
            .unwrap()
            .backend
        {
            Backend::Local(l) => l,
            #[allow(unreachable_patterns)]
            _ => unreachable!("a local section"),
        };
        let default = parse("local", "");
        assert_eq!(
            default.key_store("local", home, None).unwrap(),
            LocalKeyStore::Sqlite(PathBuf::from("/h/local.db"))
        );
        assert_eq!(
            default.key_store("local", home, pg).unwrap(),
            LocalKeyStore::Postgres {
                url: "postgres://u:pw@db/k".into(),
                schema: "keygate_local".into()
            }
        );
        assert_eq!(
            default.key_store("eu", home, pg).unwrap(),
            LocalKeyStore::Postgres {
                url: "postgres://u:pw@db/k".into(),
                schema: "keygate_local_eu".into()
            }
        );
        // A path of its own keeps the SQLite file; a URL of its own wins over the store's.
        assert_eq!(
            parse("local", "path = \"keys.db\"")
                .key_store("local", home, pg)
                .unwrap(),
            LocalKeyStore::Sqlite(PathBuf::from("/h/keys.db"))
        );
        let own = parse(
            "eu",
            "url = \"postgresql://other/db\"\nschema = \"eu_keys\"",
        );
        assert_eq!(
            own.key_store("eu", home, None).unwrap(),
            LocalKeyStore::Postgres {
                url: "postgresql://other/db".into(),
                schema: "eu_keys".into()
            }
        );
        assert!(!format!("{own:?}").contains("other/db"));
        for bad in [
            "url = \"sqlite://x.db\"",
            "url = \"postgres://a/b\"\npath = \"x.db\"",
        ] {
            let e = parse("local", bad)
                .key_store("local", home, pg)
                .unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{bad}: {e}");
            assert!(!e.to_string().contains("a/b"), "{e}");
        }
    }

    #[test]
    fn the_gateway_root_key_is_the_first_local_providers() {
        let home = Path::new("/h");
        assert_eq!(gateway_root_key_file(&[], home), Path::new("/h/root.key"));
        let a = ProviderConfig::parse("a", "local", table("root_key_file = \"a.key\"")).unwrap();
        let b = ProviderConfig::parse("b", "local", table("root_key_file = \"b.key\"")).unwrap();
        assert_eq!(gateway_root_key_file(&[a, b], home), Path::new("/h/a.key"));
    }

    #[test]
    fn debug_hides_the_root_key() {
        let cx = OpenContext {
            home: PathBuf::from("/h"),
            root_key: Some(Zeroizing::new(vec![0x42; 32])),
            store_url: Some("postgres://u:hunter2@db/k".into()),
        };
        let dbg = format!("{cx:?}");
        assert!(
            dbg.contains("redacted") && !dbg.contains("66") && !dbg.contains("hunter2"),
            "{dbg}"
        );
    }
}
