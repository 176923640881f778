//! The gateway store in SQLite, through sqlx: the only place keygate-server runs SQL. One
//! file per kind of state, each implementing its store trait for [`SqliteStore`]; the pool,
//! WAL, `synchronous = FULL` and the migrations (`server/migrations/`) are here.

mod aliases;
mod audit;
mod aws;
mod copy;
mod gcp;
mod objects;
mod policy;
mod tokens;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use keygate_core::{Error, Result};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::Store;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The gateway store in a SQLite database. Cheap to clone: clones share one pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The database file; `None` in memory.
    path: Option<PathBuf>,
}

/// A driver error as the store's callers see it: [`Error::Unavailable`] naming the part of the
/// store (`what`), with the driver's error as its cause.
fn db_err(what: &str, e: sqlx::Error) -> Error {
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

/// Whether a connection going back to the pool may be reused: only outside a transaction.
///
/// When a write fails with `SQLITE_FULL` or `SQLITE_IOERR` (a full disk), SQLite may already
/// have rolled the whole transaction back; the driver's own `ROLLBACK` then fails and it goes
/// on counting the connection as inside a transaction. Its next `BEGIN` becomes a
/// `SAVEPOINT`, and a failed statement after that rolls back to the savepoint but leaves a
/// real transaction open: the connection keeps the write lock (every other connection and
/// process gets `database is locked` until a restart) and every later "commit" on it only
/// releases a savepoint, so writes are acknowledged that never reach the disk. A connection
/// whose transaction state is in doubt is therefore closed (SQLite rolls back whatever is
/// open) and the pool opens a fresh one.
async fn release_only_outside_transaction(
    conn: &mut sqlx::SqliteConnection,
) -> std::result::Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    // A dropped transaction queues its rollback; a round trip lets the worker run it first.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

/// Whether the database file at `path` is already in WAL mode: its header's read and write
/// format versions (bytes 18 and 19) are 2 once it is. A file in WAL mode stays so, so an
/// opener that finds it needs no [`settle_wal`] (whose connection, the last one to close,
/// checkpoints the log: three `fsync`s for nothing).
fn already_wal(path: &Path) -> bool {
    use std::io::Read as _;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header.starts_with(b"SQLite format 3\0") && header[18..20] == [2, 2])
}

/// Whether every migration of [`MIGRATOR`] is applied to the database behind `pool`, with
/// the checksum it has here, and nothing else is (one read). Anything else, a missing table
/// included, is left to [`sqlx::migrate::Migrator::run`], which applies what is missing or
/// reports the mismatch.
async fn migrations_current(pool: &SqlitePool) -> bool {
    let applied: Vec<(i64, Vec<u8>, bool)> = match sqlx::query_as(
        "SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(pool)
    .await
    {
        Ok(rows) => rows,
        Err(_) => return false,
    };
    let expected = MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration());
    applied.len() == expected.clone().count()
        && applied
            .iter()
            .zip(expected)
            .all(|((version, checksum, success), m)| {
                *success && *version == m.version && checksum.as_slice() == &*m.checksum
            })
}

/// `SQLITE_BUSY` or one of its extended codes.
fn is_busy(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

impl SqliteStore {
    /// Opens (creating if needed) the SQLite database at `path`, in WAL mode, and migrates it.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the file cannot be opened or migrated.
    pub async fn open(path: &Path) -> Result<Self> {
        keygate_core::private_fs::prepare_database(path).map_err(|e| {
            Error::unavailable_because(format!("cannot create {}", path.display()), e)
        })?;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk when it returns, which the audit log's promise
            // ("acknowledged only once durable") relies on. Group commit keeps it cheap.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5));
        if !already_wal(path) {
            settle_wal(&opts).await?;
        }
        Self::connect(opts, 4, Some(path.to_owned())).await
    }

    /// A private in-memory database (tests, ephemeral gateways).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when SQLite cannot start.
    pub async fn in_memory() -> Result<Self> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:").map_err(store_err)?;
        // One connection: every connection to :memory: would be a separate database.
        Self::connect(opts, 1, None).await
    }

    async fn connect(opts: SqliteConnectOptions, max: u32, path: Option<PathBuf>) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_release(|conn, _| Box::pin(release_only_outside_transaction(conn)))
            .connect_with(opts.foreign_keys(true))
            .await
            .map_err(store_err)?;
        // Two processes opening a new home at once can both find a migration unapplied;
        // the slower one's fails (its transaction rolls back) and, run again, finds it
        // applied by the other. Each attempt may lose one such race (a non-idempotent step,
        // an `ALTER TABLE … ADD COLUMN`, fails outright), and several openers of a new file
        // can each be one migration ahead of another, so there is one attempt per migration
        // and opener rather than a fixed few.
        let mut attempts = 0u32;
        let allowed = 4 * MIGRATOR.iter().count() as u32;
        while !migrations_current(&pool).await {
            match MIGRATOR.run(&pool).await {
                Ok(()) => break,
                Err(_) if attempts < allowed => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => {
                    return Err(Error::unavailable_because("gateway store migration", e));
                }
            }
        }
        Ok(Self { pool, path })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(store_err)
    }

    async fn check_writable(&self) -> Result<()> {
        // IMMEDIATE takes the write lock at BEGIN; rolling back writes nothing.
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_err)?;
        tx.rollback().await.map_err(store_err)
    }

    fn scheduler_lease(
        &self,
        _replica: &str,
        _lease: std::time::Duration,
    ) -> Option<Box<dyn super::SchedulerLease>> {
        // Several processes on one file each run their own pass; the providers re-check
        // what is due in the transaction that acts.
        None
    }

    async fn scheduler_leader(&self) -> Result<Option<String>> {
        Ok(None)
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn change_generation(&self) -> Result<u64> {
        // Moved by the triggers of migration 0010_change_generation.sql.
        let value: i64 = sqlx::query_scalar("SELECT value FROM change_generation WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(store_err)?;
        u64::try_from(value)
            .map_err(|_| Error::unavailable("gateway store: negative change generation"))
    }

    fn size_on_disk(&self) -> Option<u64> {
        let path = self.path.as_deref()?;
        let main = std::fs::metadata(path).ok()?.len();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        // No WAL file (checkpointed and removed) is an empty one.
        let wal = std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len());
        Some(main + wal)
    }
}

impl From<SqliteStore> for Arc<dyn Store> {
    fn from(store: SqliteStore) -> Self {
        Arc::new(store)
    }
}

/// What the tests of this crate do to the database behind the service's back: tamper with
/// rows, break the store, close it.
#[cfg(test)]
impl SqliteStore {
    /// Runs `statement`, panicking when it fails.
    pub(crate) async fn execute(&self, statement: &str) {
        sqlx::query(statement)
            .execute(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// Closes the pool: every later use fails.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// [`SqliteStore::open`] where every connection, each time it is taken from the pool,
    /// applies `PRAGMA max_page_count = limit` (SQLite clamps it to the current size): a full
    /// disk as SQLite reports one (`SQLITE_FULL`), which the test lifts again by raising
    /// `limit`.
    pub(crate) async fn open_with_page_limit(
        path: &Path,
        limit: Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        use sqlx::Executor as _;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5));
        settle_wal(&opts).await.unwrap();
        let store = Self::connect(opts, 4, Some(path.to_owned())).await.unwrap();
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_release(|conn, _| Box::pin(release_only_outside_transaction(conn)))
            .before_acquire(move |conn, _| {
                let limit = limit.load(std::sync::atomic::Ordering::SeqCst);
                Box::pin(async move {
                    conn.execute(format!("PRAGMA max_page_count = {limit}").as_str())
                        .await?;
                    Ok(true)
                })
            })
            .connect_with(store.pool.connect_options().as_ref().clone())
            .await
            .unwrap();
        store.pool.close().await;
        Self {
            pool,
            path: store.path,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::{Aliases as _, AliasesExt as _};
    use keygate_core::KeyRef;

    /// Several openers of a brand-new file at once (processes on a fresh home, or the
    /// pool's own connections): the switch to WAL must not fail any of them.
    #[tokio::test]
    async fn concurrent_first_opens_of_a_new_file_succeed() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("gateway.db");
            let opens = (0..4).map(|_| SqliteStore::open(&path));
            for opened in futures::future::join_all(opens).await {
                opened.unwrap();
            }
        }
    }

    #[tokio::test]
    async fn on_disk_store_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/gateway.db");
        {
            let store = SqliteStore::open(&path).await.unwrap();
            store
                .create_alias("a1", &KeyRef::new("local", "k"))
                .await
                .unwrap();
        }
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            store.resolve_alias("a1").await.unwrap(),
            KeyRef::new("local", "k")
        );
    }
}
