//! Cross-provider aliases in SQLite (`aliases`, migration `0001_aliases.sql`).

use async_trait::async_trait;
use keygate_core::api::Alias;
use keygate_core::{Error, KeyRef, Result};
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{SqliteStore, store_err};
use crate::store::Aliases;

#[async_trait]
impl Aliases for SqliteStore {
    async fn insert_alias(&self, alias: &Alias) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(store_err)?;
        insert(&mut conn, alias).await
    }

    async fn update_alias(&self, name: &str, target: &KeyRef) -> Result<Alias> {
        let mut conn = self.pool.acquire().await.map_err(store_err)?;
        update(&mut conn, name, target).await
    }

    async fn delete_alias(&self, name: &str) -> Result<()> {
        let mut conn = self.pool.acquire().await.map_err(store_err)?;
        delete(&mut conn, name).await
    }

    async fn resolve_alias(&self, name: &str) -> Result<KeyRef> {
        let row = sqlx::query("SELECT provider, key_id FROM aliases WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_err)?
            .ok_or_else(|| Error::not_found(format!("alias/{name}")))?;
        Ok(KeyRef::new(
            row.try_get::<String, _>(0).map_err(store_err)?,
            row.try_get::<String, _>(1).map_err(store_err)?,
        ))
    }

    async fn list_aliases(&self) -> Result<Vec<Alias>> {
        let rows = sqlx::query("SELECT name, provider, key_id, created FROM aliases ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(store_err)?;
        rows.iter().map(alias_from_row).collect()
    }
}

/// Stores a new alias, on `conn` (inside the caller's transaction, if any).
pub(super) async fn insert(conn: &mut SqliteConnection, alias: &Alias) -> Result<()> {
    let created_text = alias
        .created
        .format(&Rfc3339)
        .map_err(|e| Error::invalid(e.to_string()))?;
    sqlx::query("INSERT INTO aliases (name, provider, key_id, created) VALUES (?, ?, ?, ?)")
        .bind(&alias.name)
        .bind(&alias.target.provider)
        .bind(&alias.target.id)
        .bind(created_text)
        .execute(&mut *conn)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                Error::AlreadyExists(format!("alias/{}", alias.name))
            }
            _ => store_err(e),
        })?;
    Ok(())
}

/// Points an alias at `target`, on `conn`.
pub(super) async fn update(
    conn: &mut SqliteConnection,
    name: &str,
    target: &KeyRef,
) -> Result<Alias> {
    let row = sqlx::query(
        "UPDATE aliases SET provider = ?, key_id = ? WHERE name = ? \
         RETURNING name, provider, key_id, created",
    )
    .bind(&target.provider)
    .bind(&target.id)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(store_err)?
    .ok_or_else(|| Error::not_found(format!("alias/{name}")))?;
    alias_from_row(&row)
}

/// Deletes an alias, on `conn`.
pub(super) async fn delete(conn: &mut SqliteConnection, name: &str) -> Result<()> {
    let done = sqlx::query("DELETE FROM aliases WHERE name = ?")
        .bind(name)
        .execute(&mut *conn)
        .await
        .map_err(store_err)?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found(format!("alias/{name}")));
    }
    Ok(())
}

/// An alias from a row of `name, provider, key_id, created`.
fn alias_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Alias> {
    let created: String = row.try_get(3).map_err(store_err)?;
    Ok(Alias {
        name: row.try_get(0).map_err(store_err)?,
        target: KeyRef::new(
            row.try_get::<String, _>(1).map_err(store_err)?,
            row.try_get::<String, _>(2).map_err(store_err)?,
        ),
        created: OffsetDateTime::parse(&created, &Rfc3339)
            .map_err(|e| Error::unavailable_because("gateway store: bad time", e))?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::AliasesExt as _;
    use keygate_core::ErrorKind;

    #[tokio::test]
    async fn aliases_roundtrip() {
        let store = SqliteStore::in_memory().await.unwrap();
        let k = KeyRef::new("local", "demo");
        store.create_alias("pay", &k).await.unwrap();
        assert_eq!(store.resolve_alias("pay").await.unwrap(), k);
        assert_eq!(
            store.create_alias("pay", &k).await.unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(
            store.create_alias("bad name", &k).await.unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let other = KeyRef::new("local", "other");
        store.update_alias("pay", &other).await.unwrap();
        assert_eq!(store.resolve_alias("pay").await.unwrap(), other);
        assert_eq!(store.list_aliases().await.unwrap().len(), 1);
        store.delete_alias("pay").await.unwrap();
        assert_eq!(
            store.resolve_alias("pay").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            store.delete_alias("pay").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}
