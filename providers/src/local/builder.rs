//! [`LocalBuilder`]: configuration of the local provider.

use std::fmt;

use std::path::PathBuf;
use std::sync::Arc;

use keygate_core::{Clock, Error, Result, SystemClock};
use zeroize::Zeroizing;

use super::LocalProvider;
use super::crypto::{ROOT_KEY_LEN, RootKey, random_secret};
use super::store::{LocalStore, PgPoolSettings, PostgresStore, SqliteStore};

/// The default registered name.
const DEFAULT_NAME: &str = "local";

/// A PostgreSQL key store: the URL (never shown: it may hold a password) and the schema.
struct PostgresTarget {
    url: String,
    schema: String,
    pool: PgPoolSettings,
}

enum RootKeySource {
    File(PathBuf),
    Bytes(Zeroizing<Vec<u8>>),
}

/// Builds a [`LocalProvider`].
///
/// ```no_run
/// # async fn demo() -> keygate_core::Result<()> {
/// use keygate_providers::local::LocalProvider;
/// let provider = LocalProvider::builder()
///     .with_path("/var/lib/keygate/keys.db")
///     .with_root_key_file("/var/lib/keygate/root.key")
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
///
/// Without a path the keys live in a private in-memory database and, unless a root key is
/// given, under a random root key that dies with the provider. A database file always needs
/// a root key: given as bytes ([`Self::with_root_key`]) or kept in a file
/// ([`Self::with_root_key_file`]). The library never reads environment variables.
pub struct LocalBuilder {
    name: String,
    path: Option<PathBuf>,
    postgres: Option<PostgresTarget>,
    /// A SQLite key file that must not sit beside a new PostgreSQL store (see
    /// [`Self::refusing_new_store_beside`]).
    leftover: Option<PathBuf>,
    uri_prefix: Option<String>,
    root_key: Option<RootKeySource>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for LocalBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root_key = match &self.root_key {
            None => "none".to_owned(),
            Some(RootKeySource::File(p)) => format!("file {}", p.display()),
            Some(RootKeySource::Bytes(b)) => format!("<redacted {} bytes>", b.len()),
        };
        f.debug_struct("LocalBuilder")
            .field("name", &self.name)
            .field("path", &self.path)
            .field(
                "postgres_schema",
                &self.postgres.as_ref().map(|p| p.schema.as_str()),
            )
            .field("uri_prefix", &self.uri_prefix)
            .field("root_key", &root_key)
            .field("clock", &self.clock)
            .finish()
    }
}

impl Default for LocalBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalBuilder {
    /// A builder for a provider named `local` on an in-memory database.
    pub fn new() -> Self {
        Self {
            name: DEFAULT_NAME.to_owned(),
            path: None,
            postgres: None,
            leftover: None,
            uri_prefix: None,
            root_key: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The name the provider is registered under.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The prefix of this provider's key URIs. Default: `local://` for the provider named
    /// `local`, `local://<name>/` for any other, so two local providers never claim each
    /// other's keys.
    pub fn with_uri_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.uri_prefix = Some(prefix.into());
        self
    }

    /// Keeps keys in this SQLite file, created (with its parent directories) if missing.
    /// Replaces a PostgreSQL store chosen before.
    pub fn with_path(mut self, db_file: impl Into<PathBuf>) -> Self {
        self.path = Some(db_file.into());
        self.postgres = None;
        self
    }

    /// Keeps keys in the PostgreSQL database at `url` (`postgres://user:password@host/db?
    /// sslmode=…`), in the tables of `schema` (created when missing), so several processes
    /// and replicas share them; the root key stays outside the database. Replaces a SQLite
    /// file chosen before.
    pub fn with_postgres(mut self, url: impl Into<String>, schema: impl Into<String>) -> Self {
        self.postgres = Some(PostgresTarget {
            url: url.into(),
            schema: schema.into(),
            pool: PgPoolSettings::default(),
        });
        self.path = None;
        self
    }

    /// The PostgreSQL pool's size and how long a caller waits for a connection (defaults 10
    /// and 5 s); only with [`Self::with_postgres`].
    pub fn with_postgres_pool(
        mut self,
        max_connections: u32,
        acquire_timeout: std::time::Duration,
    ) -> Self {
        if let Some(pg) = &mut self.postgres {
            pg.pool = PgPoolSettings {
                max_connections,
                acquire_timeout,
            };
        }
        self
    }

    /// Refuses to start a new, empty key store while `file` exists: a home moving its keys
    /// to PostgreSQL must not come up with no keys while they still sit in its SQLite file
    /// (`keygate store migrate` copies them, and then the store is no longer new).
    pub fn refusing_new_store_beside(mut self, file: impl Into<PathBuf>) -> Self {
        self.leftover = Some(file.into());
        self
    }

    /// Reads the root key from this file. On first use the file is created with 32 random
    /// bytes and mode 0600; a file of any other length is refused.
    pub fn with_root_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.root_key = Some(RootKeySource::File(path.into()));
        self
    }

    /// Uses these bytes as the root key; they must be 32 bytes long (checked by
    /// [`Self::build`]).
    pub fn with_root_key(mut self, key: Zeroizing<Vec<u8>>) -> Self {
        self.root_key = Some(RootKeySource::Bytes(key));
        self
    }

    /// The clock for creation times, deletion dates and rotation schedules (default: the
    /// system clock). `tick` takes its own `now`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Opens the store, applies its schema migrations and checks the root key against it.
    ///
    /// # Errors
    /// - [`Error::InvalidArgument`] for an empty name, a root key that is not 32 bytes, a
    ///   root key file of the wrong length, or a database file without a root key.
    /// - [`Error::RootKeyMismatch`] when the database was created under another root key.
    /// - [`Error::Unavailable`] or [`Error::Provider`] when the database cannot be opened.
    pub async fn build(self) -> Result<LocalProvider> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("a provider name cannot be empty"));
        }
        let durable = self.path.clone().or_else(|| {
            self.postgres
                .as_ref()
                .map(|p| PathBuf::from(format!("postgres schema {}", p.schema)))
        });
        let root = match (self.root_key, &durable) {
            (Some(RootKeySource::Bytes(bytes)), _) => RootKey::new(&bytes)?,
            (Some(RootKeySource::File(file)), _) => {
                let bytes = tokio::task::spawn_blocking(move || {
                    keygate_core::root_key::read_or_create(&file)
                })
                .await
                .map_err(|e| Error::unavailable_because("reading the root key file", e))??;
                RootKey::new(&bytes)?
            }
            (None, None) => {
                let bytes = random_secret(ROOT_KEY_LEN).map_err(|e| e.into_core(&self.name))?;
                RootKey::new(&bytes)?
            }
            (None, Some(path)) => {
                return Err(Error::invalid(format!(
                    "a root key is required for the key store {}: pass its 32 bytes or a root key file",
                    path.display()
                )));
            }
        };
        let store: Arc<dyn LocalStore> = match (&self.path, &self.postgres) {
            (_, Some(pg)) => Arc::new(
                PostgresStore::open(&pg.url, &pg.schema, pg.pool)
                    .await
                    .map_err(|e| e.into_core(&self.name))?,
            ),
            (Some(path), None) => Arc::new(
                SqliteStore::open_file(path)
                    .await
                    .map_err(|e| e.into_core(&self.name))?,
            ),
            (None, None) => Arc::new(
                SqliteStore::open_memory()
                    .await
                    .map_err(|e| e.into_core(&self.name))?,
            ),
        };
        let stored = match store.root_check().await {
            Ok(Some(v)) => v,
            Ok(None) => {
                if let Some(file) = self.leftover.as_ref().filter(|f| f.exists()) {
                    return Err(Error::state(format!(
                        "provider `{}`: its key store is new and empty, but the key database {} \
                         exists: copy it with `keygate store migrate`, or set the provider's \
                         `path` to keep using it",
                        self.name,
                        file.display()
                    )));
                }
                let fresh = root.check_value().map_err(|e| e.into_core(&self.name))?;
                store
                    .init_root_check(&fresh)
                    .await
                    .map_err(|e| e.into_core(&self.name))?
            }
            Err(e) => return Err(e.into_core(&self.name)),
        };
        if !root.matches_check_value(&stored) {
            return Err(Error::RootKeyMismatch);
        }
        tracing::debug!(provider = %self.name, store = ?store, "local provider opened");
        let uri_prefix = match self.uri_prefix {
            Some(p) if p.starts_with("local://") && p.ends_with('/') => p,
            Some(p) => {
                return Err(Error::invalid(format!(
                    "URI prefix `{p}` must look like `local://` or `local://<name>/`"
                )));
            }
            None if self.name == DEFAULT_NAME => "local://".to_owned(),
            None => format!("local://{}/", self.name),
        };
        Ok(LocalProvider::new(
            self.name, uri_prefix, store, root, self.clock,
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_root_key_bytes() {
        let b = LocalBuilder::new().with_root_key(Zeroizing::new(vec![0x5A; 32]));
        let dbg = format!("{b:?}");
        assert!(dbg.contains("redacted 32 bytes"), "{dbg}");
        assert!(!dbg.contains("90"), "{dbg}");
    }
}
