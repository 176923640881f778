//! The access policy document in PostgreSQL (`access_policy`, migration
//! `0003_tokens_policy.sql`): at most one row, id 1, replaced in place.

use async_trait::async_trait;
use keygate_core::{Error, Result};
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::PostgresStore;
use crate::store::{PolicyDocument, PolicyRevision};

fn db_err(e: sqlx::Error) -> Error {
    super::db_err("access policy store", e)
}

#[async_trait]
impl PolicyDocument for PostgresStore {
    async fn policy_document(&self) -> Result<Option<String>> {
        let row = sqlx::query("SELECT document FROM access_policy WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|row| row.try_get("document").map_err(db_err))
            .transpose()
    }

    async fn put_policy_document(&self, document: &str, revision: &PolicyRevision) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        put(&mut conn, document, revision).await
    }

    async fn policy_revision(&self) -> Result<Option<PolicyRevision>> {
        let Some(row) = sqlx::query("SELECT updated, updated_by FROM access_policy WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let updated: String = row.try_get("updated").map_err(db_err)?;
        Ok(Some(PolicyRevision {
            updated: OffsetDateTime::parse(&updated, &Rfc3339).map_err(|e| {
                Error::unavailable(format!("access policy store: bad time `{updated}`: {e}"))
            })?,
            updated_by: row.try_get("updated_by").map_err(db_err)?,
        }))
    }
}

/// Replaces the document and its revision, on `conn` (inside the caller's transaction, if
/// any).
pub(super) async fn put(
    conn: &mut PgConnection,
    document: &str,
    revision: &PolicyRevision,
) -> Result<()> {
    let updated = revision
        .updated
        .format(&Rfc3339)
        .map_err(|e| Error::invalid(format!("time out of range: {e}")))?;
    sqlx::query(
        "INSERT INTO access_policy (id, document, updated, updated_by) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET document = excluded.document, \
         updated = excluded.updated, updated_by = excluded.updated_by",
    )
    .bind(document)
    .bind(updated)
    .bind(&revision.updated_by)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}
