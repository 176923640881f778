//! The GCP Cloud KMS dialect's records in PostgreSQL (`gcp_key_rings`, `gcp_crypto_keys`,
//! `gcp_version_destroys`; migrations `0005_gcp_dialect.sql`, `0007_gcp_key_ring_scope.sql`).

use async_trait::async_trait;
use keygate_core::{Error, Result};
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::PostgresStore;
use crate::store::{GcpRecords, KeyRecord};

fn db_err(e: sqlx::Error) -> Error {
    super::db_err("gcp dialect store", e)
}

fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn parse_ts(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[async_trait]
impl GcpRecords for PostgresStore {
    async fn create_ring(
        &self,
        project: &str,
        location: &str,
        ring: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        create_ring(&mut conn, project, location, ring, now).await
    }

    async fn ring(
        &self,
        project: &str,
        location: &str,
        ring: &str,
    ) -> Result<Option<OffsetDateTime>> {
        let row = sqlx::query(
            "SELECT created FROM gcp_key_rings WHERE project = $1 AND location = $2 AND key_ring_id = $3",
        )
        .bind(project)
        .bind(location)
        .bind(ring)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|r| parse_ts(&r.get::<String, _>(0))))
    }

    async fn rings(&self, project: &str, location: &str) -> Result<Vec<(String, OffsetDateTime)>> {
        let rows = sqlx::query(
            "SELECT key_ring_id, created FROM gcp_key_rings WHERE project = $1 AND location = $2 \
             ORDER BY key_ring_id",
        )
        .bind(project)
        .bind(location)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get::<String, _>(0), parse_ts(&r.get::<String, _>(1))))
            .collect())
    }

    async fn key(&self, provider: &str, ring: &str, name: &str) -> Result<Option<KeyRecord>> {
        let row = sqlx::query(
            "SELECT key_uri, key_ring, algorithm, destroy_seconds FROM gcp_crypto_keys \
             WHERE provider = $1 AND key_ring = $2 AND key_name = $3",
        )
        .bind(provider)
        .bind(ring)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|r| KeyRecord {
            provider: provider.to_owned(),
            key_name: name.to_owned(),
            key_uri: r.get(0),
            key_ring: r.get(1),
            algorithm: r.get(2),
            destroy_seconds: r.get(3),
        }))
    }

    async fn put_key(&self, rec: &KeyRecord, now: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "INSERT INTO gcp_crypto_keys \
             (provider, key_name, key_uri, key_ring, algorithm, destroy_seconds, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (provider, key_ring, key_name) DO UPDATE SET key_uri = excluded.key_uri, \
             algorithm = excluded.algorithm, \
             destroy_seconds = excluded.destroy_seconds",
        )
        .bind(&rec.provider)
        .bind(&rec.key_name)
        .bind(&rec.key_uri)
        .bind(&rec.key_ring)
        .bind(&rec.algorithm)
        .bind(rec.destroy_seconds)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn destroys(&self, key_uri: &str) -> Result<Vec<(String, OffsetDateTime)>> {
        let rows = sqlx::query(
            "SELECT version_id, destroy_time FROM gcp_version_destroys WHERE key_uri = $1",
        )
        .bind(key_uri)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get::<String, _>(0), parse_ts(&r.get::<String, _>(1))))
            .collect())
    }

    async fn add_destroy(&self, key_uri: &str, version: &str, at: OffsetDateTime) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        add_destroy(&mut conn, key_uri, version, at).await
    }

    async fn remove_destroy(&self, key_uri: &str, version: &str) -> Result<bool> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        remove_destroy(&mut conn, key_uri, version).await
    }
}

/// Records a destroy request (keeping the first time), on `conn` (inside the caller's
/// transaction, if any).
pub(super) async fn add_destroy(
    conn: &mut PgConnection,
    key_uri: &str,
    version: &str,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO gcp_version_destroys (key_uri, version_id, destroy_time) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(key_uri)
    .bind(version)
    .bind(ts(at))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Forgets a destroy request, on `conn`; true when there was one.
pub(super) async fn remove_destroy(
    conn: &mut PgConnection,
    key_uri: &str,
    version: &str,
) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM gcp_version_destroys WHERE key_uri = $1 AND version_id = $2")
            .bind(key_uri)
            .bind(version)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

/// Creates a key ring, on `conn` (inside the caller's transaction, if any).
pub(super) async fn create_ring(
    conn: &mut PgConnection,
    project: &str,
    location: &str,
    ring: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO gcp_key_rings (project, location, key_ring_id, created) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(project)
    .bind(location)
    .bind(ring)
    .bind(ts(now))
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if done.rows_affected() == 0 {
        return Err(Error::AlreadyExists(format!(
            "KeyRing projects/{project}/locations/{location}/keyRings/{ring} already exists."
        )));
    }
    Ok(())
}
