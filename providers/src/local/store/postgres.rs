//! The PostgreSQL [`LocalStore`]: the local provider's keys in a schema of their own in a
//! PostgreSQL database, shared by every process and replica that opens the same schema.
//!
//! Every change to a key (rotation, state, settings, a version's state, policy and expiry)
//! runs in one transaction that first locks the key's row with `SELECT … FOR UPDATE`, so two
//! replicas changing one key serialize: the second reads what the first committed, and a new
//! version's number (one past the highest) is never given twice.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use keygate_core::{RotationKind, VersionState};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};
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
#[cfg(test)]
mod tests;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/local_postgres");

/// The name of the root-key check value in `local_meta`.
const CHECK_NAME: &str = "root_key_check";

/// The transaction-scoped advisory lock held while a schema is created, so replicas starting
/// at once do not race on it (`kglocsch` in ASCII).
const SCHEMA_LOCK: i64 = 0x6b67_6c6f_6373_6368;

/// How the store connects, beyond the URL and schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PgPoolSettings {
    /// The most connections the pool keeps open.
    pub max_connections: u32,
    /// How long a caller waits for a connection before the store is unavailable.
    pub acquire_timeout: Duration,
}

impl Default for PgPoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A [`LocalStore`] in one schema of a PostgreSQL database.
pub(crate) struct PostgresStore {
    pool: PgPool,
    schema: String,
}

impl fmt::Debug for PostgresStore {
    // Never the URL: it may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

/// `name` quoted as an SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PostgresStore {
    /// Connects to the database at `url`, creates `schema` when missing and brings its tables
    /// up to date. The URL is passed to the driver as given (`sslmode` and the other
    /// parameters sqlx understands work as there).
    ///
    /// # Errors
    /// [`LocalError::Core`] `InvalidArgument` for a URL that is not a PostgreSQL URL (not
    /// repeated: it may hold a password) or an empty schema; a database error when it cannot
    /// be reached or migrated.
    pub(crate) async fn open(
        url: &str,
        schema: &str,
        settings: PgPoolSettings,
    ) -> Result<Self, LocalError> {
        if schema.is_empty() || schema.len() > 63 {
            return Err(LocalError::Core(keygate_core::Error::invalid(
                "a PostgreSQL schema name needs 1 to 63 bytes",
            )));
        }
        let connect = PgConnectOptions::from_str(url).map_err(|e| {
            LocalError::Core(keygate_core::Error::invalid(format!(
                "the key store URL is not a PostgreSQL URL: {e}"
            )))
        })?;
        // Every connection of the pool works in the schema (and finds nothing elsewhere),
        // including sqlx's migration table, so the gateway store's migrations and each local
        // provider's never meet.
        let connect = connect.options([("search_path", quote_ident(schema).as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(connect)
            .await?;
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_ident(schema)
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            schema: schema.to_owned(),
        })
    }

    /// The schema the store works in.
    #[cfg(test)]
    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }
}

/// Locks the key's row for the rest of the transaction and reads it.
async fn lock_key(
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
) -> Result<Option<KeyRecord>, LocalError> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM local_keys WHERE id = $1 FOR UPDATE");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(key_from_row)
        .transpose()
}

async fn write_key(
    tx: &mut Transaction<'static, Postgres>,
    key: &KeyRecord,
) -> Result<(), LocalError> {
    let values = KeyValues::of(key, true)?;
    sqlx::query(
        "UPDATE local_keys SET state = $1, deletion_date = $2, primary_version = $3, \
         rotation_days = $4, next_rotation = $5, description = $6, labels = $7 WHERE id = $8",
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
    tx: &mut Transaction<'static, Postgres>,
    key: &KeyRecord,
    strict: bool,
) -> Result<(), LocalError> {
    let values = KeyValues::of(key, strict)?;
    sqlx::query(&format!(
        "INSERT INTO local_keys ({KEY_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
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

async fn insert_version(
    tx: &mut Transaction<'static, Postgres>,
    id: &str,
    v: &VersionRecord,
) -> Result<(), LocalError> {
    let values = VersionValues::of(v)?;
    sqlx::query(
        "INSERT INTO local_key_versions \
         (key_id, version, state, created, destroy_time, rotation, material) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

fn ids(rows: &[sqlx::postgres::PgRow], column: &str) -> Result<Vec<String>, LocalError> {
    Ok(rows
        .iter()
        .map(|r| r.try_get::<String, _>(column))
        .collect::<Result<_, _>>()?)
}

#[async_trait]
impl LocalStore for PostgresStore {
    async fn root_check(&self) -> Result<Option<Vec<u8>>, LocalError> {
        Ok(sqlx::query("SELECT value FROM local_meta WHERE name = $1")
            .bind(CHECK_NAME)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get::<Vec<u8>, _>("value"))
            .transpose()?)
    }

    async fn init_root_check(&self, value: &[u8]) -> Result<Vec<u8>, LocalError> {
        sqlx::query(
            "INSERT INTO local_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
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
        let mut tx = self.pool.begin().await?;
        insert_key_row(&mut tx, key, false).await?;
        insert_version(&mut tx, &key.id, first).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn key(&self, id: &str) -> Result<Option<KeyRecord>, LocalError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM local_keys WHERE id = $1");
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
            "SELECT {KEY_COLUMNS} FROM local_keys WHERE ($1::TEXT IS NULL OR id > $1) \
             ORDER BY id LIMIT $2"
        );
        sqlx::query(&sql)
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
        let mut tx = self.pool.begin().await?;
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
            "SELECT {VERSION_COLUMNS} FROM local_key_versions WHERE key_id = $1 ORDER BY version"
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
            "SELECT {VERSION_COLUMNS} FROM local_key_versions WHERE key_id = $1 AND version = $2"
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
        let mut tx = self.pool.begin().await?;
        // The row lock makes the highest version below stable until the commit.
        let Some(mut key) = lock_key(&mut tx, id).await? else {
            return Ok(None);
        };
        let highest: i64 = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) AS highest FROM local_key_versions \
             WHERE key_id = $1",
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
        let mut tx = self.pool.begin().await?;
        let Some(mut key) = lock_key(&mut tx, id).await? else {
            return Ok(None);
        };
        let mut row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM local_key_versions WHERE key_id = $1 AND version = $2"
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
            "UPDATE local_key_versions SET state = $1, destroy_time = $2 \
             WHERE key_id = $3 AND version = $4",
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
             AND destroy_time <= $1 ORDER BY key_id, version",
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
        let mut tx = self.pool.begin().await?;
        if lock_key(&mut tx, id).await?.is_none() {
            return Ok(false);
        }
        let updated = sqlx::query(
            "UPDATE local_key_versions SET state = 'destroyed', material = NULL \
             WHERE key_id = $1 AND version = $2 AND state = 'destroy_scheduled' \
             AND destroy_time <= $3",
        )
        .bind(id)
        .bind(i64::from(version))
        .bind(to_nanos(now)?)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(updated > 0)
    }

    async fn policy(&self, id: &str) -> Result<Option<String>, LocalError> {
        Ok(
            sqlx::query("SELECT bindings FROM local_policies WHERE key_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get::<String, _>("bindings"))
                .transpose()?,
        )
    }

    async fn set_policy(&self, id: &str, bindings_json: &str) -> Result<bool, LocalError> {
        let mut tx = self.pool.begin().await?;
        if lock_key(&mut tx, id).await?.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO local_policies (key_id, bindings) VALUES ($1, $2) \
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
             AND next_rotation <= $1 ORDER BY id",
        )
        .bind(to_nanos(now)?)
        .fetch_all(&self.pool)
        .await?;
        ids(&rows, "id")
    }

    async fn due_deletions(&self, now: OffsetDateTime) -> Result<Vec<String>, LocalError> {
        let rows = sqlx::query(
            "SELECT id FROM local_keys WHERE state = 'pending_deletion' \
             AND deletion_date <= $1 ORDER BY id",
        )
        .bind(to_nanos(now)?)
        .fetch_all(&self.pool)
        .await?;
        ids(&rows, "id")
    }

    async fn destroy_key(&self, id: &str, now: OffsetDateTime) -> Result<bool, LocalError> {
        let mut tx = self.pool.begin().await?;
        // The UPDATE locks the key's row itself; the condition is checked on the row as
        // committed by whoever held it before.
        let updated = sqlx::query(
            "UPDATE local_keys SET state = 'destroyed', deletion_date = NULL, \
             rotation_days = NULL, next_rotation = NULL \
             WHERE id = $1 AND state = 'pending_deletion' AND deletion_date <= $2",
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
            "UPDATE local_key_versions SET state = 'destroyed', material = NULL WHERE key_id = $1",
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
