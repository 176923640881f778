//! [`ImportStore`] on SQLite: the `local_imports` table beside a key's row and version 1.

use async_trait::async_trait;
use sqlx::Row;

use super::super::{
    ImportChange, ImportRecord, ImportStore, KeyRecord, VersionRecord, from_nanos, to_nanos,
};
use super::{SqliteStore, VERSION_COLUMNS, insert_key_tx, lock_key, version_from_row, write_key};
use crate::local::error::LocalError;

const IMPORT_COLUMNS: &str = "key_id, expires, valid_to, material_check";

fn record(row: &sqlx::sqlite::SqliteRow) -> Result<ImportRecord, LocalError> {
    let expires: Option<i64> = row.try_get("expires")?;
    Ok(ImportRecord {
        key_id: row.try_get("key_id")?,
        valid_to: row
            .try_get::<Option<i64>, _>("valid_to")?
            .map(from_nanos)
            .transpose()?,
        expires: expires.map(|e| e != 0),
        material_check: row.try_get("material_check")?,
    })
}

#[async_trait]
impl ImportStore for SqliteStore {
    async fn insert_external_key(
        &self,
        key: &KeyRecord,
        first: &VersionRecord,
    ) -> Result<(), LocalError> {
        let mut tx = self.begin_write().await?;
        insert_key_tx(&mut tx, key, first).await?;
        sqlx::query("INSERT INTO local_imports (key_id) VALUES (?)")
            .bind(&key.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn import_record(&self, id: &str) -> Result<Option<ImportRecord>, LocalError> {
        sqlx::query(&format!(
            "SELECT {IMPORT_COLUMNS} FROM local_imports WHERE key_id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(record)
        .transpose()
    }

    async fn import_records(&self) -> Result<Vec<ImportRecord>, LocalError> {
        sqlx::query(&format!(
            "SELECT {IMPORT_COLUMNS} FROM local_imports ORDER BY key_id"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(record)
        .collect()
    }

    async fn update_import(
        &self,
        id: &str,
        change: &ImportChange<'_>,
    ) -> Result<Option<(KeyRecord, ImportRecord)>, LocalError> {
        let mut tx = self.begin_write().await?;
        let Some(mut key) = lock_key(&mut tx, id).await? else {
            return Ok(None);
        };
        let Some(mut import) = sqlx::query(&format!(
            "SELECT {IMPORT_COLUMNS} FROM local_imports WHERE key_id = ?"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(record)
        .transpose()?
        else {
            return Ok(None);
        };
        let mut version = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM local_key_versions WHERE key_id = ? AND version = 1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(version_from_row)
        .transpose()?
        .ok_or_else(|| LocalError::Corrupt(format!("key `{id}` has no version 1")))?;
        change(&mut key, &mut version, &mut import)?;
        sqlx::query(
            "UPDATE local_key_versions SET state = ?, material = ? \
             WHERE key_id = ? AND version = 1",
        )
        .bind(version.state.as_str())
        .bind(version.material.as_deref())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE local_imports SET expires = ?, valid_to = ?, material_check = ? \
             WHERE key_id = ?",
        )
        .bind(import.expires.map(i64::from))
        .bind(import.valid_to.map(to_nanos).transpose()?)
        .bind(import.material_check.as_deref())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        write_key(&mut tx, &key).await?;
        tx.commit().await?;
        Ok(Some((key, import)))
    }
}
