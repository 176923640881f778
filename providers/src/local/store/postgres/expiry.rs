//! [`ExpiryStore`] on PostgreSQL: the `local_expiry` table.

use async_trait::async_trait;
use sqlx::Row;

use super::super::{ExpiryRecord, ExpiryStore};
use super::{PostgresStore, lock_key};
use crate::local::error::LocalError;

fn record(row: &sqlx::postgres::PgRow) -> Result<ExpiryRecord, LocalError> {
    let notified: Option<i64> = row.try_get("notified_version")?;
    Ok(ExpiryRecord {
        key_id: row.try_get("key_id")?,
        policy_json: row.try_get("policy")?,
        notified_version: notified
            .map(|v| u32::try_from(v).map_err(|_| LocalError::Corrupt("notified version".into())))
            .transpose()?,
    })
}

#[async_trait]
impl ExpiryStore for PostgresStore {
    async fn expiry(&self, id: &str) -> Result<Option<ExpiryRecord>, LocalError> {
        sqlx::query("SELECT key_id, policy, notified_version FROM local_expiry WHERE key_id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(record)
            .transpose()
    }

    async fn set_expiry(&self, id: &str, policy_json: Option<&str>) -> Result<bool, LocalError> {
        let mut tx = self.pool.begin().await?;
        if lock_key(&mut tx, id).await?.is_none() {
            return Ok(false);
        }
        match policy_json {
            // A new policy notifies afresh, even for the current primary version.
            Some(json) => {
                sqlx::query(
                    "INSERT INTO local_expiry (key_id, policy, notified_version) \
                     VALUES ($1, $2, NULL) ON CONFLICT (key_id) DO UPDATE SET \
                     policy = excluded.policy, notified_version = NULL",
                )
                .bind(id)
                .bind(json)
                .execute(&mut *tx)
                .await?
            }
            None => {
                sqlx::query("DELETE FROM local_expiry WHERE key_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;
        Ok(true)
    }

    async fn expiries(&self) -> Result<Vec<ExpiryRecord>, LocalError> {
        sqlx::query("SELECT key_id, policy, notified_version FROM local_expiry ORDER BY key_id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(record)
            .collect()
    }

    async fn mark_notified(&self, id: &str, version: u32) -> Result<bool, LocalError> {
        let done = sqlx::query(
            "UPDATE local_expiry SET notified_version = $1 WHERE key_id = $2 \
             AND (notified_version IS NULL OR notified_version <> $1)",
        )
        .bind(i64::from(version))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
