//! The SQLite [`LocalStore`]: a file in WAL mode, or a private in-memory database.

use std::fmt;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use keygate_core::{RotationKind, VersionState};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row, Sqlite, Transaction};
use time::OffsetDateTime;

use super::rows::{
    KEY_COLUMNS, KeyValues, VERSION_COLUMNS, VersionValues, key_from_row, next_version,
    version_from_row, version_number,
};
use super::{
    KeyChange, KeyCopy, KeyRecord, KeyStoreCounts, LocalStore, NewVersion, VersionChange,
    VersionRecord, to_nanos,
};
use crate::local::error::LocalError;

mod copy;
mod expiry;
mod import;

/// Connections for a database file; WAL lets readers run beside the one writer.
const FILE_POOL_SIZE: u32 = 8;
/// How long a connection waits for another's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// The name of the root-key check value in `local_meta`.
const CHECK_NAME: &str = "root_key_check";

/// A [`LocalStore`] on SQLite.
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    /// Where the database lives, for `Debug` and logs.
    location: String,
    /// In-memory only: a connection that is never used, so the shared in-memory database
    /// lives as long as the store even if the pool drops its connections.
    _keeper: Option<Mutex<SqliteConnection>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if missing) a database file and brings
    /// its schema up to date.
    pub(crate) async fn open_file(path: &Path) -> Result<Self, LocalError> {
        keygate_core::private_fs::prepare_database(path)
            .map_err(|e| LocalError::Db(sqlx::Error::Io(e)))?;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Overwrite freed pages so erased material does not linger in the file.
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(FILE_POOL_SIZE)
            .min_connections(1)
            .connect_with(opts)
            .await?;
        Self::migrate(&pool).await?;
        Ok(Self {
            pool,
            location: path.display().to_string(),
            _keeper: None,
        })
    }

    /// Opens a fresh in-memory database private to this store.
    ///
    /// Every connection to `:memory:` is a database of its own, so this names a shared-cache
    /// memory database uniquely and uses one pooled connection (shared-cache databases lock
    /// whole tables, so more connections would only contend), plus a keeper connection.
    pub(crate) async fn open_memory() -> Result<Self, LocalError> {
        let name = format!("file:kg-{}", uuid::Uuid::new_v4().simple());
        let opts = SqliteConnectOptions::new()
            .filename(&name)
            .in_memory(true)
            .shared_cache(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let keeper = opts.connect().await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        Self::migrate(&pool).await?;
        Ok(Self {
            pool,
            location: format!("memory ({name})"),
            _keeper: Some(Mutex::new(keeper)),
        })
    }

    async fn migrate(pool: &SqlitePool) -> Result<(), LocalError> {
        sqlx::migrate!("./migrations/local").run(pool).await?;
        Ok(())
    }

    /// A write transaction that takes the write lock up front, so read-then-write sequences
    /// never fail to upgrade.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, LocalError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

async fn lock_key(
    tx: &mut Transaction<'static, Sqlite>,
    id: &str,
) -> Result<Option<KeyRecord>, LocalError> {
    // SQLite's BEGIN IMMEDIATE already holds the write lock; PostgreSQL would add FOR UPDATE.
    let sql = format!("SELECT {KEY_COLUMNS} FROM local_keys WHERE id = ?");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(key_from_row)
        .transpose()
}

async fn write_key(
    tx: &mut Transaction<'static, Sqlite>,
    key: &KeyRecord,
) -> Result<(), LocalError> {
    let values = KeyValues::of(key, true)?;
    sqlx::query(
        "UPDATE local_keys SET state = ?, deletion_date = ?, primary_version = ?, \
         rotation_days = ?, next_rotation = ?, description = ?, labels = ? WHERE id = ?",
    )
    .bind(values.state)
    .bind(values.deletion_date)
    .bind(values.primary_version)
    .bind(values.rotation_days)
    .bind(values.next_rotation)
    .bind(&key.description)
    .bind(values.labels)
    .bind(&key.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_key_row(
    tx: &mut Transaction<'static, Sqlite>,
    key: &KeyRecord,
    strict: bool,
) -> Result<(), LocalError> {
    let values = KeyValues::of(key, strict)?;
    sqlx::query(&format!(
        "INSERT INTO local_keys ({KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&key.id)
    .bind(key.spec.as_str())
    .bind(key.usage.as_str())
    .bind(values.state)
    .bind(values.deletion_date)
    .bind(values.primary_version)
    .bind(values.rotation_days)
    .bind(values.next_rotation)
    .bind(&key.description)
    .bind(values.labels)
    .bind(values.created)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a key row and its first version inside `tx`.
async fn insert_key_tx(
    tx: &mut Transaction<'static, Sqlite>,
    key: &KeyRecord,
    first: &VersionRecord,
) -> Result<(), LocalError> {
    insert_key_row(tx, key, false).await?;
    insert_version(tx, &key.id, first).await
}

async fn insert_version(
    tx: &mut Transaction<'static, Sqlite>,
    id: &str,
    v: &VersionRecord,
) -> Result<(), LocalError> {
    let values = VersionValues::of(v)?;
    sqlx::query(
        "INSERT INTO local_key_versions \
         (key_id, version, state, created, destroy_time, rotation, material) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(values.version)
    .bind(values.state)
    .bind(values.created)
    .bind(values.destroy_time)
    .bind(values.rotation)
    .bind(values.material)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl LocalStore for SqliteStore {
    async fn root_check(&self) -> Result<Option<Vec<u8>>, LocalError> {
        Ok(sqlx::query("SELECT value FROM local_meta WHERE name = ?")
            .bind(CHECK_NAME)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get::<Vec<u8>, _>("value"))
            .transpose()?)
    }

    async fn init_root_check(&self, value: &[u8]) -> Result<Vec<u8>, LocalError> {
        sqlx::query(
            "INSERT INTO local_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(CHECK_NAME)
        .bind(value)
        .execute(&self.pool)
        .await?;
        self.root_check()
            .await?
            .ok_or_else(|| LocalError::Corrupt("the root key check value vanished".into()))
    }

    async fn insert_key(&self, key: &KeyRecord, first: &VersionRecord) -> Result<(), LocalError> {
        let mut tx = self.begin_write().await?;
        insert_key_tx(&mut tx, key, first).await?;
        tx.commit().await?;
        Ok(())
    }

    fn imports(&self) -> Option<&dyn super::ImportStore> {
        Some(self)
    }

    async fn key(&self, id: &str) -> Result<Option<KeyRecord>, LocalError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM local_keys WHERE id = ?");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(key_from_row)
            .transpose()
    }

    async fn list_keys(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<KeyRecord>, LocalError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM local_keys WHERE (? IS NULL OR id > ?) ORDER BY id LIMIT ?"
        );
        sqlx::query(&sql)
            .bind(after)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(key_from_row)
            .collect()
    }

    async fn update_key(
        &self,
        id: &str,
        change: &KeyChange<'_>,
    ) -> Result<Option<KeyRecord>, LocalError> {
        let mut tx = self.begin_write().await?;
        let Some(mut key) = lock_key(&mut tx, id).await? else {
            return Ok(None);
        };
        change(&mut key)?;
        write_key(&mut tx, &key).await?;
        tx.commit().await?;
        Ok(Some(key))
    }

    async fn versions(&self, id: &str) -> Result<Vec<VersionRecord>, LocalError> {
        sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM local_key_versions WHERE key_id = ? ORDER BY version"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(version_from_row)
        .collect()
    }

    async fn version(&self, id: &str, version: u32) -> Result<Option<VersionRecord>, LocalError> {
        sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM local_key_versions WHERE key_id = ? AND version = ?"
        ))
        .bind(id)
        .bind(i64::from(version))
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(version_from_row)
        .transpose()
    }

    async fn add_version(
        &self,
        id: &str,
        created: OffsetDateTime,
        rotation: RotationKind,
        make: &NewVersion<'_>,
    ) -> Result<Option<(KeyRecord, VersionRecord)>, LocalError> {
        let mut tx = self.begin_write().await?;
        let Some(mut key) = lock_key(&mut tx, id).await? else {
            return Ok(None);
        };
        let highest: i64 = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) AS highest FROM local_key_versions WHERE key_id = ?",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("highest")?;
        let number = next_version(id, highest)?;
        let material = make(&mut key, number)?;
        key.primary_version = number;
        let version = VersionRecord {
            version: number,
            state: VersionState::Enabled,
            created,
            destroy_time: None,
            rotation: Some(rotation),
            material: Some(material),
        };
        insert_version(&mut tx, id, &version).await?;
        write_key(&mut tx, &key).await?;
        tx.commit().await?;
        Ok(Some((key, version)))
    }

    async fn update_version(
        &self,
        id: &str,
        version: u32,
        change: &VersionChange<'_>,
    ) -> Result<Option<(KeyRecord, VersionRecord)>, LocalError> {
        let mut tx = self.begin_write().await?;
        let Some(mut key) = lock_key(&mut tx, id).await? else {
            return Ok(None);
        };
        let mut row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM local_key_versions WHERE key_id = ? AND version = ?"
        ))
        .bind(id)
        .bind(i64::from(version))
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(version_from_row)
        .transpose()?
        .ok_or_else(|| {
            LocalError::Core(keygate_core::Error::not_found(format!(
                "version `{version}` of key `{id}`"
            )))
        })?;
        change(&mut key, &mut row)?;
        sqlx::query(
            "UPDATE local_key_versions SET state = ?, destroy_time = ? \
             WHERE key_id = ? AND version = ?",
        )
        .bind(row.state.as_str())
        .bind(row.destroy_time.map(to_nanos).transpose()?)
        .bind(id)
        .bind(i64::from(version))
        .execute(&mut *tx)
        .await?;
        write_key(&mut tx, &key).await?;
        tx.commit().await?;
        Ok(Some((key, row)))
    }

    async fn due_version_destructions(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, u32)>, LocalError> {
        let rows = sqlx::query(
            "SELECT key_id, version FROM local_key_versions WHERE state = 'destroy_scheduled' \
             AND destroy_time <= ? ORDER BY key_id, version",
        )
        .bind(to_nanos(now)?)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let version = version_number(r.try_get("version")?)?;
                Ok((r.try_get::<String, _>("key_id")?, version))
            })
            .collect()
    }

    async fn destroy_version(
        &self,
        id: &str,
        version: u32,
        now: OffsetDateTime,
    ) -> Result<bool, LocalError> {
        let updated = sqlx::query(
            "UPDATE local_key_versions SET state = 'destroyed', material = NULL \
             WHERE key_id = ? AND version = ? AND state = 'destroy_scheduled' \
             AND destroy_time <= ?",
        )
        .bind(id)
        .bind(i64::from(version))
        .bind(to_nanos(now)?)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    async fn policy(&self, id: &str) -> Result<Option<String>, LocalError> {
        Ok(
            sqlx::query("SELECT bindings FROM local_policies WHERE key_id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get::<String, _>("bindings"))
                .transpose()?,
        )
    }

    async fn set_policy(&self, id: &str, bindings_json: &str) -> Result<bool, LocalError> {
        let mut tx = self.begin_write().await?;
        if lock_key(&mut tx, id).await?.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO local_policies (key_id, bindings) VALUES (?, ?) \
             ON CONFLICT (key_id) DO UPDATE SET bindings = excluded.bindings",
        )
        .bind(id)
        .bind(bindings_json)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn due_rotations(&self, now: OffsetDateTime) -> Result<Vec<String>, LocalError> {
        let rows = sqlx::query(
            "SELECT id FROM local_keys WHERE state = 'enabled' AND next_rotation IS NOT NULL \
             AND next_rotation <= ? ORDER BY id",
        )
        .bind(to_nanos(now)?)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<Result<_, _>>()?)
    }

    async fn due_deletions(&self, now: OffsetDateTime) -> Result<Vec<String>, LocalError> {
        let rows = sqlx::query(
            "SELECT id FROM local_keys WHERE state = 'pending_deletion' \
             AND deletion_date <= ? ORDER BY id",
        )
        .bind(to_nanos(now)?)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<String, _>("id"))
            .collect::<Result<_, _>>()?)
    }

    async fn destroy_key(&self, id: &str, now: OffsetDateTime) -> Result<bool, LocalError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE local_keys SET state = 'destroyed', deletion_date = NULL, \
             rotation_days = NULL, next_rotation = NULL \
             WHERE id = ? AND state = 'pending_deletion' AND deletion_date <= ?",
        )
        .bind(id)
        .bind(to_nanos(now)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE local_key_versions SET state = 'destroyed', material = NULL WHERE key_id = ?",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn counts(&self) -> Result<KeyStoreCounts, LocalError> {
        self.count_rows().await
    }

    async fn copy_in(&self, keys: &[KeyCopy]) -> Result<(), LocalError> {
        self.insert_copies(keys).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use keygate_core::{KeySpec, KeyState, KeyUsage, Labels};

    use super::*;

    fn key(id: &str) -> KeyRecord {
        KeyRecord {
            id: id.to_owned(),
            spec: KeySpec::Aes256,
            usage: KeyUsage::Encrypt,
            state: KeyState::Enabled,
            primary_version: 1,
            rotation: None,
            description: String::new(),
            labels: Labels::new(),
            created: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn first() -> VersionRecord {
        VersionRecord {
            version: 1,
            state: VersionState::Enabled,
            created: OffsetDateTime::UNIX_EPOCH,
            destroy_time: None,
            rotation: None,
            material: Some(vec![1, 2, 3]),
        }
    }

    #[tokio::test]
    async fn duplicate_ids_are_unique_violations_by_code() {
        let store = SqliteStore::open_memory().await.unwrap();
        store.insert_key(&key("a"), &first()).await.unwrap();
        let err = store.insert_key(&key("a"), &first()).await.unwrap_err();
        assert!(err.is_unique_violation(), "{err:?}");
        assert!(matches!(
            err.into_core("local"),
            keygate_core::Error::AlreadyExists(_)
        ));
    }

    #[tokio::test]
    async fn memory_stores_are_private_and_versions_count_up() {
        let a = SqliteStore::open_memory().await.unwrap();
        let b = SqliteStore::open_memory().await.unwrap();
        a.insert_key(&key("k"), &first()).await.unwrap();
        assert!(b.key("k").await.unwrap().is_none());
        let (k, v) = a
            .add_version(
                "k",
                OffsetDateTime::UNIX_EPOCH,
                RotationKind::OnDemand,
                &|_, n| Ok(vec![n as u8]),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!((k.primary_version, v.version), (2, 2));
        assert_eq!(v.rotation, Some(RotationKind::OnDemand));
        let stored = a.versions("k").await.unwrap();
        assert_eq!(
            (stored[0].rotation, stored[1].rotation),
            (None, Some(RotationKind::OnDemand))
        );
        assert_eq!(a.versions("k").await.unwrap().len(), 2);
        assert!(
            a.add_version(
                "missing",
                OffsetDateTime::UNIX_EPOCH,
                RotationKind::OnDemand,
                &|_, _| Ok(vec![]),
            )
            .await
            .unwrap()
            .is_none()
        );
        // A failing callback rolls the whole change back.
        let err = a
            .update_key("k", &|k| {
                k.description = "changed".into();
                Err(LocalError::NotDue)
            })
            .await
            .unwrap_err();
        assert!(matches!(err, LocalError::NotDue));
        assert_eq!(a.key("k").await.unwrap().unwrap().description, "");
        let dbg = format!("{:?}", a.versions("k").await.unwrap());
        assert!(
            dbg.contains("<wrapped 3 bytes>") && !dbg.contains("[1, 2, 3]"),
            "{dbg}"
        );
    }
}
