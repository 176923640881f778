//! The gateway store in PostgreSQL, through sqlx: the same traits as [`super::sqlite`], the
//! same tables (migrations in `server/migrations/postgres/`), PostgreSQL's types.
//!
//! What differs from SQLite is concurrency: several processes and replicas may append to the
//! audit log at once, so every append takes one transaction-scoped advisory lock
//! ([`AUDIT_HEAD_LOCK`]) and re-reads the chain head under it; a batch chained after a head
//! that is no longer the head is refused as
//! [`AuditAppendError::SeqTaken`](crate::store::AuditAppendError::SeqTaken) and the writer
//! chains it again. All appends therefore form one chain in one order, and each process keeps
//! its group commit.
//!
//! Several `keygate serve` replicas may share one database: the scheduler's leadership is a
//! lease ([`Store::scheduler_lease`]), one replica at a time.
//!
//! The connection URL is passed to the driver as given: `sslmode`, `sslrootcert`,
//! `application_name` and the other libpq parameters sqlx understands work as there.

mod aliases;
mod audit;
mod aws;
mod checkpoints;
mod copy;
mod gcp;
mod lease;
mod objects;
mod policy;
mod tokens;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use keygate_core::{Error, Result};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::Store;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The advisory lock every audit append holds for its transaction: the chain head's lock.
/// (`keygate` in ASCII, a number no other lock of keygate's uses.)
pub const AUDIT_HEAD_LOCK: i64 = 0x006b_6579_6761_7465;

pub use lease::LEADER_LOCK_CLASS;

/// How a [`PostgresStore`] connects, beyond its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The most connections the pool keeps open.
    pub max_connections: u32,
    /// How long a caller waits for a connection (and a new connection for the server) before
    /// the store answers [`Error::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The gateway store in a PostgreSQL database. Cheap to clone: clones share one pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

/// A driver error as the store's callers see it: [`Error::Unavailable`] naming the part of the
/// store (`what`), with the driver's error as its cause.
fn db_err(what: &str, e: sqlx::Error) -> Error {
    Error::unavailable_because(what, e)
}

fn store_err(e: sqlx::Error) -> Error {
    db_err("gateway store", e)
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db?sslmode=…`)
    /// and migrates it. Several processes may open one database at once: migrations take
    /// sqlx's advisory lock.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `url` is not a PostgreSQL URL sqlx understands (the URL
    /// is not repeated: it may hold a password); [`Error::Unavailable`] when the database
    /// cannot be reached or migrated.
    pub async fn open(url: &str, options: &PostgresOptions) -> Result<Self> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid(format!("store.url is not a PostgreSQL URL: {e}")))?;
        Self::connect(connect, options).await
    }

    /// Connects with options already built (tests choose the schema through them).
    pub(crate) async fn connect(
        connect: PgConnectOptions,
        options: &PostgresOptions,
    ) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(store_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| Error::unavailable_because("gateway store migration", e))?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<()> {
        // Reachable and migrated: a database restored from an older dump, or whose schema
        // went away, is not one this keygate can serve.
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .map_err(store_err)?;
        let expected = MIGRATOR.iter().map(|m| m.version).max();
        if applied < expected {
            return Err(Error::unavailable(format!(
                "gateway store: the database is not migrated (at version {}, keygate needs {})",
                applied.unwrap_or(0),
                expected.unwrap_or(0)
            )));
        }
        Ok(())
    }

    async fn check_writable(&self) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(store_err)?;
        // A standby or a read-only default refuses writes; the head lock is what an append
        // waits for, given back by the rollback.
        sqlx::query("SET LOCAL lock_timeout = '5s'")
            .execute(&mut *tx)
            .await
            .map_err(store_err)?;
        let read_only: String =
            sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
                .fetch_one(&mut *tx)
                .await
                .map_err(store_err)?;
        if read_only != "off" {
            return Err(Error::unavailable(
                "gateway store: the database only takes read-only transactions",
            ));
        }
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(AUDIT_HEAD_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(store_err)?;
        tx.rollback().await.map_err(store_err)
    }

    fn scheduler_lease(
        &self,
        replica: &str,
        lease: Duration,
    ) -> Option<Box<dyn crate::store::SchedulerLease>> {
        Some(Box::new(lease::PgLease::new(self, replica, lease)))
    }

    async fn scheduler_leader(&self) -> Result<Option<String>> {
        lease::leader(self).await
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn change_generation(&self) -> Result<u64> {
        // Moved by the triggers of migrations/postgres/0010_change_generation.sql, in the
        // transaction of each change: seen exactly when the change is.
        let value: i64 = sqlx::query_scalar("SELECT value FROM change_generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(store_err)?;
        u64::try_from(value)
            .map_err(|_| Error::unavailable("gateway store: negative change generation"))
    }

    fn size_on_disk(&self) -> Option<u64> {
        // On the database server, not in files of this machine.
        None
    }
}

impl From<PostgresStore> for Arc<dyn Store> {
    fn from(store: PostgresStore) -> Self {
        Arc::new(store)
    }
}

#[cfg(test)]
pub(crate) mod testing;
