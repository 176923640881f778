//! PostgreSQL stores for tests: each on a fresh schema of the database `KEYGATE_TEST_PG_URL`
//! names (`scripts/postgres.sh` starts one; `scripts/test.sh` always sets it).

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, Executor as _};

use super::{PostgresOptions, PostgresStore};

/// The environment variable naming the test database.
pub(crate) const PG_URL_VAR: &str = "KEYGATE_TEST_PG_URL";

/// A store on a new, empty schema of the test database, migrated; `None` (saying so on
/// stderr, naming `test`) when `KEYGATE_TEST_PG_URL` is not set.
///
/// # Panics
/// When the variable is set but the database cannot be used: a test that should run must not
/// pass by skipping.
pub(crate) async fn fresh_store(test: &str) -> Option<PostgresStore> {
    Some(open_on(&fresh_schema(test).await?).await)
}

/// The connect options of a new, empty schema of the test database (several stores opened
/// on them share it, as replicas share a database); `None` as for [`fresh_store`].
///
/// # Panics
/// When the variable is set but the database cannot be used.
#[allow(clippy::unwrap_used, clippy::print_stderr)]
pub(crate) async fn fresh_schema(test: &str) -> Option<PgConnectOptions> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Ok(url) = std::env::var(PG_URL_VAR) else {
        eprintln!("SKIPPED {test} on PostgreSQL: {PG_URL_VAR} is not set");
        return None;
    };
    let base = PgConnectOptions::from_str(&url).unwrap();
    let schema = format!(
        "kgtest_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000
    );
    let mut admin = base.connect().await.unwrap();
    admin
        .execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    admin.close().await.unwrap();
    Some(base.options([("search_path", schema.as_str())]))
}

/// A store on `schema` (from [`fresh_schema`]), migrated.
///
/// # Panics
/// When the database cannot be used.
#[allow(clippy::unwrap_used)]
pub(crate) async fn open_on(schema: &PgConnectOptions) -> PostgresStore {
    let options = PostgresOptions {
        max_connections: 4,
        ..PostgresOptions::default()
    };
    PostgresStore::connect(schema.clone(), &options)
        .await
        .unwrap()
}

impl PostgresStore {
    /// Marks the newest migration as not applied, as in a database restored from an older
    /// keygate's dump.
    ///
    /// # Panics
    /// When the database cannot be used.
    #[allow(clippy::unwrap_used)]
    pub(crate) async fn forget_last_migration(&self) {
        sqlx::query(
            "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
        )
        .execute(&self.pool)
        .await
        .unwrap();
    }
}

/// What the tests of this crate do to the database behind the service's back.
impl PostgresStore {
    /// Runs `statement`, panicking when it fails.
    pub(crate) async fn execute(&self, statement: &str) {
        self.pool
            .execute(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}
