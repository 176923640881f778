//! The gateway's own store: state that belongs to no single provider (cross-provider aliases,
//! the audit log, tokens, the access policy, the dialects' id tables). SQLite through sqlx by
//! default, written in plain SQL so a PostgreSQL store can follow.
//!
//! The dialects' records are typed store traits ([`AwsKeyIds`], [`GcpRecords`]) that the
//! service hands out; no crate but this one runs SQL.

mod aws;
mod gcp;

pub use aws::AwsKeyIds;
pub use gcp::{GcpRecords, KeyRecord};

use std::path::Path;
use std::str::FromStr;

pub use keygate_core::api::Alias;
use keygate_core::{Error, KeyRef, Result, validate_name};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The gateway database.
#[derive(Debug, Clone)]
pub struct GatewayStore {
    pool: SqlitePool,
}

/// A driver error as the store's callers see it: [`Error::Unavailable`] naming the part of the
/// store (`what`), with the driver's error as its cause.
pub(crate) fn db_err(what: &str, e: sqlx::Error) -> Error {
    Error::unavailable_because(what, e)
}

fn store_err(e: sqlx::Error) -> Error {
    db_err("gateway store", e)
}

/// Opens one connection, and so puts a new file in WAL mode, before any pool exists.
///
/// Switching to WAL takes an exclusive lock, and SQLite refuses a second connection doing
/// the same at that moment instead of waiting (each holds what the other needs): a brand-new
/// home opened by two processes at once, or by a pool's connections. Once the file is in WAL
/// mode the switch is a no-op, so settling it first, retrying briefly while another opener
/// holds it, keeps every later connection out of that race.
async fn settle_wal(opts: &SqliteConnectOptions) -> Result<()> {
    use sqlx::{ConnectOptions as _, Connection as _};
    let mut attempts = 0u32;
    loop {
        match opts.connect().await {
            Ok(conn) => {
                // Closing cannot lose anything: this connection wrote nothing.
                let _ = conn.close().await;
                return Ok(());
            }
            Err(e) if attempts < 100 && is_busy(&e) => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => return Err(store_err(e)),
        }
    }
}

/// `SQLITE_BUSY` or one of its extended codes.
fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

impl GatewayStore {
    /// Opens (creating if needed) the SQLite database at `path`, in WAL mode, and migrates it.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the file cannot be opened or migrated.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::Unavailable(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk when it returns, which the audit log's promise
            // ("acknowledged only once durable") relies on. Group commit keeps it cheap.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5));
        settle_wal(&opts).await?;
        Self::connect(opts, 4).await
    }

    /// A private in-memory database (tests, ephemeral gateways).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when SQLite cannot start.
    pub async fn in_memory() -> Result<Self> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:").map_err(store_err)?;
        // One connection: every connection to :memory: would be a separate database.
        Self::connect(opts, 1).await
    }

    async fn connect(opts: SqliteConnectOptions, max: u32) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts.foreign_keys(true))
            .await
            .map_err(store_err)?;
        // Two processes opening a new home at once can both find a migration unapplied;
        // the slower one's fails (its transaction rolls back) and, run again, finds it
        // applied by the other.
        let mut attempts = 0u32;
        loop {
            match MIGRATOR.run(&pool).await {
                Ok(()) => break,
                Err(_) if attempts < 3 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => {
                    return Err(Error::Unavailable(format!("gateway store migration: {e}")));
                }
            }
        }
        Ok(Self { pool })
    }

    /// The connection pool, for the gateway's other tables (audit, tokens, access policy).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Creates `alias/<name>` pointing at `target`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad name, [`Error::AlreadyExists`] when taken.
    pub async fn create_alias(&self, name: &str, target: &KeyRef) -> Result<Alias> {
        validate_name("alias", name)?;
        let created = OffsetDateTime::now_utc();
        let created_text = created
            .format(&Rfc3339)
            .map_err(|e| Error::invalid(e.to_string()))?;
        sqlx::query("INSERT INTO aliases (name, provider, key_id, created) VALUES (?, ?, ?, ?)")
            .bind(name)
            .bind(&target.provider)
            .bind(&target.id)
            .bind(created_text)
            .execute(&self.pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    Error::AlreadyExists(format!("alias/{name}"))
                }
                _ => store_err(e),
            })?;
        Ok(Alias {
            name: name.to_owned(),
            target: target.clone(),
            created,
        })
    }

    /// Points an existing alias at another key; returns the alias as stored.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the alias does not exist.
    pub async fn update_alias(&self, name: &str, target: &KeyRef) -> Result<Alias> {
        let row = sqlx::query(
            "UPDATE aliases SET provider = ?, key_id = ? WHERE name = ? \
             RETURNING name, provider, key_id, created",
        )
        .bind(&target.provider)
        .bind(&target.id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_err)?
        .ok_or_else(|| Error::not_found(format!("alias/{name}")))?;
        alias_from_row(&row)
    }

    /// Deletes an alias.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the alias does not exist.
    pub async fn delete_alias(&self, name: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM aliases WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(store_err)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("alias/{name}")));
        }
        Ok(())
    }

    /// The key an alias points at.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the alias does not exist.
    pub async fn resolve_alias(&self, name: &str) -> Result<KeyRef> {
        let row = sqlx::query("SELECT provider, key_id FROM aliases WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_err)?
            .ok_or_else(|| Error::not_found(format!("alias/{name}")))?;
        Ok(KeyRef::new(
            row.try_get::<String, _>(0).map_err(store_err)?,
            row.try_get::<String, _>(1).map_err(store_err)?,
        ))
    }

    /// Every alias, by name.
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn list_aliases(&self) -> Result<Vec<Alias>> {
        let rows = sqlx::query("SELECT name, provider, key_id, created FROM aliases ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(store_err)?;
        rows.iter().map(alias_from_row).collect()
    }
}

/// An alias from a row of `name, provider, key_id, created`.
fn alias_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Alias> {
    let created: String = row.try_get(3).map_err(store_err)?;
    Ok(Alias {
        name: row.try_get(0).map_err(store_err)?,
        target: KeyRef::new(
            row.try_get::<String, _>(1).map_err(store_err)?,
            row.try_get::<String, _>(2).map_err(store_err)?,
        ),
        created: OffsetDateTime::parse(&created, &Rfc3339)
            .map_err(|e| Error::Unavailable(format!("gateway store: bad time: {e}")))?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use keygate_core::ErrorKind;

    /// Several openers of a brand-new file at once (processes on a fresh home, or the
    /// pool's own connections): the switch to WAL must not fail any of them.
    #[tokio::test]
    async fn concurrent_first_opens_of_a_new_file_succeed() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("gateway.db");
            let opens = (0..4).map(|_| GatewayStore::open(&path));
            for opened in futures::future::join_all(opens).await {
                opened.unwrap();
            }
        }
    }

    #[tokio::test]
    async fn aliases_roundtrip() {
        let store = GatewayStore::in_memory().await.unwrap();
        let k = KeyRef::new("local", "demo");
        store.create_alias("pay", &k).await.unwrap();
        assert_eq!(store.resolve_alias("pay").await.unwrap(), k);
        assert_eq!(
            store.create_alias("pay", &k).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            store.create_alias("bad name", &k).await.unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let other = KeyRef::new("local", "other");
        store.update_alias("pay", &other).await.unwrap();
        assert_eq!(store.resolve_alias("pay").await.unwrap(), other);
        assert_eq!(store.list_aliases().await.unwrap().len(), 1);
        store.delete_alias("pay").await.unwrap();
        assert_eq!(
            store.resolve_alias("pay").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            store.delete_alias("pay").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn on_disk_store_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/gateway.db");
        {
            let store = GatewayStore::open(&path).await.unwrap();
            store
                .create_alias("a1", &KeyRef::new("local", "k"))
                .await
                .unwrap();
        }
        let store = GatewayStore::open(&path).await.unwrap();
        assert_eq!(
            store.resolve_alias("a1").await.unwrap(),
            KeyRef::new("local", "k")
        );
    }
}
