//! API tokens and AWS access keys in PostgreSQL (`tokens`, migrations `0003_tokens_policy.sql`
//! and `0004_aws_dialect.sql`). Times are RFC 3339 text in UTC.

use async_trait::async_trait;
use keygate_core::api::{TokenInfo, TokenKind};
use keygate_core::{Error, Result};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::PostgresStore;
use crate::store::{TokenInsert, TokenRecord, TokenRecords};

const INFO_COLUMNS: &str = "id, principal, role, created, expires, revoked, kind";

fn db_err(e: sqlx::Error) -> Error {
    super::db_err("token store", e)
}

fn fmt_time(t: OffsetDateTime) -> Result<String> {
    t.format(&Rfc3339)
        .map_err(|e| Error::invalid(format!("time out of range: {e}")))
}

fn parse_time(text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| Error::unavailable(format!("token store: bad time `{text}`: {e}")))
}

fn parse_opt_time(text: Option<String>) -> Result<Option<OffsetDateTime>> {
    text.as_deref().map(parse_time).transpose()
}

/// A listing from a row holding at least [`INFO_COLUMNS`].
fn token_info(row: &PgRow) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: row.try_get("id").map_err(db_err)?,
        principal: row.try_get("principal").map_err(db_err)?,
        role: row.try_get("role").map_err(db_err)?,
        created: parse_time(&row.try_get::<String, _>("created").map_err(db_err)?)?,
        expires: parse_opt_time(row.try_get("expires").map_err(db_err)?)?,
        revoked: parse_opt_time(row.try_get("revoked").map_err(db_err)?)?,
        kind: match row.try_get::<String, _>("kind").map_err(db_err)?.as_str() {
            "aws" => TokenKind::Aws,
            _ => TokenKind::Bearer,
        },
    })
}

#[async_trait]
impl TokenRecords for PostgresStore {
    async fn insert_token(&self, token: &TokenRecord) -> Result<TokenInsert> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert(&mut conn, token).await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(&format!(
            "SELECT {INFO_COLUMNS} FROM tokens ORDER BY created, id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(token_info).collect()
    }

    async fn token(&self, id: &str) -> Result<Option<TokenRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {INFO_COLUMNS}, secret_hash, last_used, sealed_secret FROM tokens WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(TokenRecord {
            info: token_info(&row)?,
            secret_hash: row.try_get("secret_hash").map_err(db_err)?,
            last_used: parse_opt_time(row.try_get("last_used").map_err(db_err)?)?,
            sealed_secret: row.try_get("sealed_secret").map_err(db_err)?,
        }))
    }

    async fn revoke_token(&self, id: &str, at: OffsetDateTime) -> Result<bool> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        Ok(revoke(&mut conn, id, at).await?.is_some())
    }

    async fn touch_token(&self, id: &str, at: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE tokens SET last_used = $1 WHERE id = $2")
            .bind(fmt_time(at)?)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(db_err)
    }
}

/// Stores a new credential, on `conn` (inside the caller's transaction, if any).
pub(super) async fn insert(conn: &mut PgConnection, token: &TokenRecord) -> Result<TokenInsert> {
    let info = &token.info;
    let inserted = sqlx::query(
        "INSERT INTO tokens (id, principal, role, secret_hash, created, expires, revoked, \
         last_used, kind, sealed_secret) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&info.id)
    .bind(&info.principal)
    .bind(&info.role)
    .bind(&token.secret_hash)
    .bind(fmt_time(info.created)?)
    .bind(info.expires.map(fmt_time).transpose()?)
    .bind(info.revoked.map(fmt_time).transpose()?)
    .bind(token.last_used.map(fmt_time).transpose()?)
    .bind(info.kind.as_str())
    .bind(&token.sealed_secret)
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => Ok(TokenInsert::Inserted),
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(TokenInsert::IdTaken),
        Err(e) => Err(db_err(e)),
    }
}

/// Marks a credential revoked at `at` (keeping the first time), on `conn`; its listing
/// after the write, or `None` when no credential has this id.
pub(super) async fn revoke(
    conn: &mut PgConnection,
    id: &str,
    at: OffsetDateTime,
) -> Result<Option<TokenInfo>> {
    let row = sqlx::query(&format!(
        "UPDATE tokens SET revoked = COALESCE(revoked, $1) WHERE id = $2 RETURNING {INFO_COLUMNS}"
    ))
    .bind(fmt_time(at)?)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    row.as_ref().map(token_info).transpose()
}
