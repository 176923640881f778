//! [`KeyStore`]: a local provider's key store opened on its own, to copy it into another
//! (`keygate store migrate` moves a home's keys from SQLite into PostgreSQL).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use keygate_core::{Error, Result};

use super::store::{KeyCopy, LocalStore, PgPoolSettings, PostgresStore, SqliteStore};

pub use super::store::KeyStoreCounts;

/// How many keys one copy transaction carries.
const COPY_BATCH: u32 = 100;

/// A local provider's key store, opened without a root key: its rows are read and copied as
/// they are (material stays wrapped under the root key it was made with).
pub struct KeyStore {
    store: Arc<dyn LocalStore>,
    /// The provider name errors are tagged with.
    name: String,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStore")
            .field("name", &self.name)
            .field("store", &self.store)
            .finish()
    }
}

impl KeyStore {
    /// Opens (creating when missing) the SQLite key database `path` of provider `name`.
    ///
    /// # Errors
    /// [`Error::Unavailable`] or [`Error::Provider`] when it cannot be opened or migrated.
    pub async fn open_sqlite(name: &str, path: &Path) -> Result<Self> {
        let store = SqliteStore::open_file(path)
            .await
            .map_err(|e| e.into_core(name))?;
        Ok(Self {
            store: Arc::new(store),
            name: name.to_owned(),
        })
    }

    /// Opens the key store of provider `name` in `schema` of the PostgreSQL database at
    /// `url`, creating the schema and its tables when missing.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a URL that is not PostgreSQL's; [`Error::Unavailable`]
    /// or [`Error::Provider`] when the database cannot be reached or migrated.
    pub async fn open_postgres(name: &str, url: &str, schema: &str) -> Result<Self> {
        let store = PostgresStore::open(url, schema, PgPoolSettings::default())
            .await
            .map_err(|e| e.into_core(name))?;
        Ok(Self {
            store: Arc::new(store),
            name: name.to_owned(),
        })
    }

    /// How many rows each table holds.
    ///
    /// # Errors
    /// [`Error::Unavailable`] or [`Error::Provider`] when the store cannot be read.
    pub async fn counts(&self) -> Result<KeyStoreCounts> {
        self.store
            .counts()
            .await
            .map_err(|e| e.into_core(&self.name))
    }

    /// Copies every key, version, policy and expiry policy of this store, and its root-key
    /// check value, into `target`, which must hold no key; `progress` is told how many keys
    /// are copied so far after each batch. Returns the target's counts, which equal this
    /// store's.
    ///
    /// # Errors
    /// - [`Error::AlreadyExists`] when `target` holds a key (nothing is copied).
    /// - [`Error::RootKeyMismatch`] when `target` was set up under another root key.
    /// - [`Error::InvalidState`] when the counts differ after the copy.
    /// - [`Error::Unavailable`] or [`Error::Provider`] when either store fails.
    pub async fn copy_into(
        &self,
        target: &KeyStore,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<KeyStoreCounts> {
        let src = |e: super::error::LocalError| e.into_core(&self.name);
        let dst = |e: super::error::LocalError| e.into_core(&target.name);
        let before = target.store.counts().await.map_err(dst)?;
        if before.keys > 0 {
            return Err(Error::AlreadyExists(format!(
                "the key store of `{}` in the target already holds {} keys",
                target.name, before.keys
            )));
        }
        if let Some(check) = self.store.root_check().await.map_err(src)? {
            let kept = target.store.init_root_check(&check).await.map_err(dst)?;
            if kept != check {
                return Err(Error::RootKeyMismatch);
            }
        }
        let mut after: Option<String> = None;
        let mut copied = 0u64;
        loop {
            let keys = self
                .store
                .list_keys(after.as_deref(), COPY_BATCH)
                .await
                .map_err(src)?;
            let Some(last) = keys.last() else { break };
            after = Some(last.id.clone());
            let mut batch = Vec::with_capacity(keys.len());
            for key in keys {
                batch.push(KeyCopy {
                    versions: self.store.versions(&key.id).await.map_err(src)?,
                    policy: self.store.policy(&key.id).await.map_err(src)?,
                    expiry: self.store.expiry(&key.id).await.map_err(src)?,
                    key,
                });
            }
            target.store.copy_in(&batch).await.map_err(dst)?;
            copied += batch.len() as u64;
            progress(copied);
        }
        let (source, copy) = (self.counts().await?, target.counts().await?);
        if source != copy {
            return Err(Error::state(format!(
                "the key store of `{}` differs after the copy: {source:?} copied as {copy:?}",
                self.name
            )));
        }
        Ok(copy)
    }
}
