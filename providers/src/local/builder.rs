//! [`LocalBuilder`]: configuration of the local provider.

use std::fmt;

use std::path::PathBuf;
use std::sync::Arc;

use keygate_core::{Clock, Error, Result, SystemClock};
use zeroize::Zeroizing;

use super::LocalProvider;
use super::crypto::{ROOT_KEY_LEN, RootKey, random_secret};
use super::store::{LocalStore, SqliteStore};

/// The default registered name.
const DEFAULT_NAME: &str = "local";

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
    pub fn with_path(mut self, db_file: impl Into<PathBuf>) -> Self {
        self.path = Some(db_file.into());
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
        let root = match (self.root_key, &self.path) {
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
        let store: Arc<dyn LocalStore> = match &self.path {
            Some(path) => Arc::new(
                SqliteStore::open_file(path)
                    .await
                    .map_err(|e| e.into_core(&self.name))?,
            ),
            None => Arc::new(
                SqliteStore::open_memory()
                    .await
                    .map_err(|e| e.into_core(&self.name))?,
            ),
        };
        let stored = match store.root_check().await {
            Ok(Some(v)) => v,
            Ok(None) => {
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
