//! The scheduler's leadership lease in PostgreSQL: a session-level advisory lock held on a
//! connection of its own, which the database itself ends when it is not renewed in time.
//!
//! The lock is keyed by [`LEADER_LOCK_CLASS`] and the current schema, so gateways on
//! different schemas of one database lead each their own. The holder's session carries
//! `idle_session_timeout` = the lease time: a holder that stops renewing (a hung process, a
//! machine cut off the network) has its session ended by the server, and with it the lock,
//! at most one lease time after its last renewal. A holder that dies outright closes its
//! socket and the lock is free at once. Its `application_name` names the replica, which is
//! how every process can tell who leads ([`leader`]).

use std::time::Duration;

use async_trait::async_trait;
use keygate_core::{Error, Result};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, Executor as _, PgConnection};

use super::{PostgresStore, db_err};
use crate::store::SchedulerLease;

/// The first key of the leader's advisory lock (`kgsc`); the second is the schema's hash.
pub const LEADER_LOCK_CLASS: i32 = 0x6b67_7363;

/// What the holder's `application_name` starts with, before the replica's name.
const APPLICATION_PREFIX: &str = "keygate-leader ";

/// The second key of the leader's lock, in SQL: the current schema's hash, made positive so
/// that `pg_locks` (which shows keys as unsigned `oid`s) shows it as written.
const SCHEMA_KEY: &str = "(hashtext(current_schema()) & 2147483647)";

fn lease_err(e: sqlx::Error) -> Error {
    db_err("scheduler lease", e)
}

/// `name` cut to PostgreSQL's 63 bytes of `application_name`, on a character boundary.
fn application_name(replica: &str) -> String {
    let mut name = format!("{APPLICATION_PREFIX}{replica}");
    let mut end = name.len().min(63);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.truncate(end);
    name
}

/// The lease on one store, for one replica.
pub(super) struct PgLease {
    connect: PgConnectOptions,
    lease: Duration,
    /// The session trying for (or holding) the lock.
    conn: Option<PgConnection>,
    /// Whether [`Self::conn`] holds the lock.
    held: bool,
}

impl std::fmt::Debug for PgLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLease")
            .field("lease", &self.lease)
            .field("connected", &self.conn.is_some())
            .field("held", &self.held)
            .finish()
    }
}

impl PgLease {
    pub(super) fn new(store: &PostgresStore, replica: &str, lease: Duration) -> Self {
        let connect = store
            .pool
            .connect_options()
            .as_ref()
            .clone()
            .application_name(&application_name(replica));
        Self {
            connect,
            lease,
            conn: None,
            held: false,
        }
    }

    /// How long one round trip may take before the session is given up: a third of the
    /// lease, so a renewal that hangs is noticed well before the lease runs out.
    fn call_timeout(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(200))
    }

    async fn connect(&self) -> Result<PgConnection> {
        let mut conn = self.connect.connect().await.map_err(lease_err)?;
        // The server ends a session idle for longer than the lease, and with it the lock:
        // renewals (and a follower's tries) come every third of it.
        let millis = self.lease.as_millis().max(1);
        conn.execute(format!("SET idle_session_timeout = {millis}").as_str())
            .await
            .map_err(lease_err)?;
        Ok(conn)
    }

    async fn round(&mut self) -> Result<bool> {
        if self.conn.is_none() {
            self.conn = Some(self.connect().await?);
            self.held = false;
        }
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        if self.held {
            // The lock lives as long as the session: a round trip keeps both.
            conn.execute("SELECT 1").await.map_err(lease_err)?;
            return Ok(true);
        }
        let held: bool = sqlx::query_scalar(&format!(
            "SELECT pg_try_advisory_lock({LEADER_LOCK_CLASS}, {SCHEMA_KEY})"
        ))
        .fetch_one(&mut *conn)
        .await
        .map_err(lease_err)?;
        self.held = held;
        Ok(held)
    }
}

#[async_trait]
impl SchedulerLease for PgLease {
    async fn acquire_or_renew(&mut self) -> Result<bool> {
        let timeout = self.call_timeout();
        let outcome = match tokio::time::timeout(timeout, self.round()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::unavailable(format!(
                "scheduler lease: the database did not answer within {} ms",
                timeout.as_millis()
            ))),
        };
        if outcome.is_err() {
            // Dropping the session gives up whatever it held; the next try starts afresh.
            self.conn = None;
            self.held = false;
        }
        outcome
    }

    async fn release(&mut self) {
        self.held = false;
        if let Some(conn) = self.conn.take() {
            let _ = tokio::time::timeout(self.call_timeout(), conn.close()).await;
        }
    }
}

/// The replica that holds the leader's lock on `store`'s schema, by its `application_name`;
/// `None` when no session holds it.
pub(super) async fn leader(store: &PostgresStore) -> Result<Option<String>> {
    let name: Option<String> = sqlx::query_scalar(&format!(
        "SELECT a.application_name FROM pg_locks AS l \
         JOIN pg_stat_activity AS a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND l.classid = {LEADER_LOCK_CLASS}::oid AND l.objid = {SCHEMA_KEY}::oid \
         LIMIT 1"
    ))
    .fetch_optional(&store.pool)
    .await
    .map_err(lease_err)?;
    Ok(name.map(|n| n.strip_prefix(APPLICATION_PREFIX).unwrap_or(&n).to_owned()))
}

#[cfg(test)]
mod tests {
    use super::application_name;

    #[test]
    fn application_names_fit_postgres_and_keep_whole_characters() {
        assert_eq!(application_name("gw-1"), "keygate-leader gw-1");
        let long = "é".repeat(40);
        let name = application_name(&long);
        assert!(name.len() <= 63);
        assert!(name.starts_with("keygate-leader é"));
    }
}
