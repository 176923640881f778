//! The AWS KMS dialect's key ids in SQLite (`aws_key_ids`, migration `0004_aws_dialect.sql`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use keygate_core::{Error, Result};
use sqlx::Row as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::SqliteStore;
use crate::store::AwsKeyIds;

fn db_err(e: sqlx::Error) -> Error {
    super::db_err("aws dialect store", e)
}

fn now_text() -> Result<String> {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .map_err(|e| Error::unavailable(e.to_string()))
}

#[async_trait]
impl AwsKeyIds for SqliteStore {
    async fn aws_id_of(&self, uri: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT key_id FROM aws_key_ids WHERE uri = ?")
            .bind(uri)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get::<String, _>(0).map_err(db_err))
            .transpose()
    }

    async fn aws_uri_of(&self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT uri FROM aws_key_ids WHERE key_id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get::<String, _>(0).map_err(db_err))
            .transpose()
    }

    async fn aws_id_for(&self, uri: &str, fresh: &str) -> Result<String> {
        if let Some(id) = self.aws_id_of(uri).await? {
            return Ok(id);
        }
        // Two requests may race to name the same key: the first insert wins and both read it.
        sqlx::query(
            "INSERT INTO aws_key_ids (key_id, uri, created) VALUES (?, ?, ?) \
             ON CONFLICT (uri) DO NOTHING",
        )
        .bind(fresh)
        .bind(uri)
        .bind(now_text()?)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        self.aws_id_of(uri)
            .await?
            .ok_or_else(|| Error::unavailable(format!("no AWS key id stored for {uri}")))
    }

    async fn aws_assign(&self, id: &str, uri: &str, region: Option<&str>) -> Result<()> {
        sqlx::query("INSERT INTO aws_key_ids (key_id, uri, created, region) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(uri)
            .bind(now_text()?)
            .bind(region)
            .execute(&self.pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    Error::AlreadyExists(format!("AWS key id {id}"))
                }
                _ => db_err(e),
            })
            .map(drop)
    }

    async fn aws_region_of(&self, uri: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT region FROM aws_key_ids WHERE uri = ?")
            .bind(uri)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>(0).map_err(db_err))
            .transpose()?
            .flatten())
    }

    async fn aws_regions(&self) -> Result<BTreeMap<String, String>> {
        let rows = sqlx::query("SELECT uri, region FROM aws_key_ids WHERE region IS NOT NULL")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| Ok((r.try_get(0).map_err(db_err)?, r.try_get(1).map_err(db_err)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn ids_are_given_once_and_read_both_ways() {
        let store = SqliteStore::in_memory().await.unwrap();
        assert_eq!(store.aws_id_of("local://k").await.unwrap(), None);
        let id = store.aws_id_for("local://k", "id-1").await.unwrap();
        assert_eq!(id, "id-1");
        assert_eq!(store.aws_id_for("local://k", "id-2").await.unwrap(), "id-1");
        assert_eq!(
            store.aws_uri_of("id-1").await.unwrap().as_deref(),
            Some("local://k")
        );
        store
            .aws_assign("id-3", "local://other", None)
            .await
            .unwrap();
        let taken = store
            .aws_assign("id-3", "local://third", None)
            .await
            .unwrap_err();
        assert_eq!(taken.kind(), keygate_core::ErrorKind::AlreadyExists);
    }
}
