//! Bulk copy into the SQLite key store (`keygate store migrate`), and its row counts.

use sqlx::Row;

use super::super::{KeyCopy, KeyStoreCounts};
use super::{SqliteStore, insert_key_row, insert_version};
use crate::local::error::LocalError;

impl SqliteStore {
    /// [`LocalStore::counts`](super::super::LocalStore::counts).
    pub(super) async fn count_rows(&self) -> Result<KeyStoreCounts, LocalError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM local_keys) AS keys, \
             (SELECT COUNT(*) FROM local_key_versions) AS versions, \
             (SELECT COUNT(*) FROM local_policies) AS policies, \
             (SELECT COUNT(*) FROM local_expiry) AS expiries",
        )
        .fetch_one(&self.pool)
        .await?;
        let n = |c: &str| -> Result<u64, LocalError> {
            let v: i64 = row.try_get(c)?;
            u64::try_from(v).map_err(|_| LocalError::Corrupt(format!("{c} count {v}")))
        };
        Ok(KeyStoreCounts {
            keys: n("keys")?,
            versions: n("versions")?,
            policies: n("policies")?,
            expiries: n("expiries")?,
        })
    }

    /// [`LocalStore::copy_in`](super::super::LocalStore::copy_in).
    pub(super) async fn insert_copies(&self, keys: &[KeyCopy]) -> Result<(), LocalError> {
        let mut tx = self.begin_write().await?;
        for copy in keys {
            insert_key_row(&mut tx, &copy.key, false).await?;
            for v in &copy.versions {
                insert_version(&mut tx, &copy.key.id, v).await?;
            }
            if let Some(bindings) = &copy.policy {
                sqlx::query("INSERT INTO local_policies (key_id, bindings) VALUES (?, ?)")
                    .bind(&copy.key.id)
                    .bind(bindings)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(e) = &copy.expiry {
                sqlx::query(
                    "INSERT INTO local_expiry (key_id, policy, notified_version) \
                     VALUES (?, ?, ?)",
                )
                .bind(&copy.key.id)
                .bind(&e.policy_json)
                .bind(e.notified_version.map(i64::from))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
