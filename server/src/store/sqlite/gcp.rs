//! The GCP Cloud KMS dialect's records in SQLite (`gcp_key_rings`, `gcp_crypto_keys`,
//! `gcp_version_destroys`; migrations `0005_gcp_dialect.sql`, `0007_gcp_key_ring_scope.sql`).

use async_trait::async_trait;
use keygate_core::{Error, Result};
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::SqliteStore;
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
impl GcpRecords for SqliteStore {
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
            "SELECT created FROM gcp_key_rings WHERE project = ? AND location = ? AND key_ring_id = ?",
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
            "SELECT key_ring_id, created FROM gcp_key_rings WHERE project = ? AND location = ? \
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
             WHERE provider = ? AND key_ring = ? AND key_name = ?",
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
             VALUES (?, ?, ?, ?, ?, ?, ?) \
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
            "SELECT version_id, destroy_time FROM gcp_version_destroys WHERE key_uri = ?",
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
    conn: &mut SqliteConnection,
    key_uri: &str,
    version: &str,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO gcp_version_destroys (key_uri, version_id, destroy_time) VALUES (?, ?, ?) \
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
    conn: &mut SqliteConnection,
    key_uri: &str,
    version: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM gcp_version_destroys WHERE key_uri = ? AND version_id = ?")
        .bind(key_uri)
        .bind(version)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected() > 0)
}

/// Creates a key ring, on `conn` (inside the caller's transaction, if any).
pub(super) async fn create_ring(
    conn: &mut SqliteConnection,
    project: &str,
    location: &str,
    ring: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO gcp_key_rings (project, location, key_ring_id, created) \
         VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn pool() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("g.db")).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn rings_keys_and_destroys_roundtrip() {
        let (_dir, gs) = pool().await;
        let s = &gs;
        let now = OffsetDateTime::now_utc();
        s.create_ring("p", "local", "r1", now).await.unwrap();
        let again = s.create_ring("p", "local", "r1", now).await.unwrap_err();
        assert_eq!(again.kind(), keygate_core::ErrorKind::AlreadyExists);
        s.create_ring("p", "local", "r0", now).await.unwrap();
        s.create_ring("q", "local", "r9", now).await.unwrap();
        let ids: Vec<_> = s.rings("p", "local").await.unwrap();
        assert_eq!(
            ids.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
            ["r0", "r1"]
        );
        assert!(s.ring("p", "local", "r9").await.unwrap().is_none());

        let mut rec = KeyRecord {
            provider: "local".into(),
            key_name: "k".into(),
            key_uri: "local://k".into(),
            key_ring: "r1".into(),
            algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION".into(),
            destroy_seconds: 86400,
        };
        s.put_key(&rec, now).await.unwrap();
        rec.destroy_seconds = 172800;
        s.put_key(&rec, now).await.unwrap();
        assert_eq!(s.key("local", "r1", "k").await.unwrap(), Some(rec.clone()));
        // The same crypto key id in another ring is another key.
        assert_eq!(s.key("local", "r0", "k").await.unwrap(), None);
        let other = KeyRecord {
            key_ring: "r0".into(),
            key_uri: "local://r0.k".into(),
            ..rec.clone()
        };
        s.put_key(&other, now).await.unwrap();
        assert_eq!(s.key("local", "r0", "k").await.unwrap(), Some(other));
        assert_eq!(s.key("local", "r1", "k").await.unwrap(), Some(rec));

        s.add_destroy("local://k", "1", now).await.unwrap();
        s.add_destroy("local://k", "1", now).await.unwrap();
        assert_eq!(s.destroys("local://k").await.unwrap().len(), 1);
        assert!(s.remove_destroy("local://k", "1").await.unwrap());
        assert!(!s.remove_destroy("local://k", "1").await.unwrap());
    }
}
