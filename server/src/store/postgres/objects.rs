//! Gateway object writes committed in one PostgreSQL transaction with their outcome audit row
//! ([`AuditRows::append_with_write`](crate::store::AuditRows::append_with_write)).

use keygate_core::{Error, ErrorKind, Result};
use sqlx::PgConnection;

use super::{PostgresStore, aliases, audit, gcp, policy, tokens};
use crate::store::{
    AuditAppendError, ObjectWrite, ObjectWritten, OutcomeRow, TokenInsert, WriteAppended,
};

fn failed(e: sqlx::Error) -> AuditAppendError {
    AuditAppendError::Failed(super::db_err("gateway store", e))
}

/// Applies `write` and appends its outcome row in one transaction (see the trait).
pub(super) async fn append_with_write(
    store: &PostgresStore,
    write: &ObjectWrite,
    row: OutcomeRow<'_>,
) -> Result<WriteAppended, AuditAppendError> {
    // The head lock first: the object write and its row then run under it, serialized with
    // every other append on this database (the object write's row locks are taken after it,
    // always in that order, so two appends cannot wait on each other).
    let mut tx = store.pool.begin().await.map_err(failed)?;
    if let Err(e) = audit::lock_head(&mut tx).await {
        let _ = tx.rollback().await;
        return Err(e);
    }
    // A savepoint around the object write: a write that fails for its own reason is undone
    // alone, and its failure row still commits.
    let mut object = sqlx::Connection::begin(&mut *tx).await.map_err(failed)?;
    let result = apply(&mut object, write).await;
    match &result {
        Ok(ObjectWritten::TokenIdTaken) => {
            drop(object);
            let _ = tx.rollback().await;
            return Ok(WriteAppended { result, row: None });
        }
        Ok(_) => object.commit().await.map_err(failed)?,
        // The store itself failed: the transaction cannot be trusted to hold a row either.
        Err(e) if e.kind() == ErrorKind::Unavailable => {
            let e = Error::unavailable(format!("gateway store: {e}"));
            drop(object);
            let _ = tx.rollback().await;
            return Err(AuditAppendError::Failed(e));
        }
        Err(_) => object.rollback().await.map_err(failed)?,
    }
    let outcome = row(&result);
    let appended = match audit::check_continues(&mut tx, &outcome).await {
        Ok(()) => audit::insert_rows(&mut tx, std::slice::from_ref(&outcome)).await,
        Err(e) => Err(e),
    };
    if let Err(e) = appended {
        // Nothing of the object write may outlive its row.
        let _ = tx.rollback().await;
        return Err(e);
    }
    tx.commit().await.map_err(failed)?;
    Ok(WriteAppended {
        result,
        row: Some(outcome),
    })
}

/// Runs one object write on `conn`.
async fn apply(conn: &mut PgConnection, write: &ObjectWrite) -> Result<ObjectWritten> {
    match write {
        ObjectWrite::InsertToken(token) => Ok(match tokens::insert(conn, token).await? {
            TokenInsert::Inserted => ObjectWritten::Done,
            TokenInsert::IdTaken => ObjectWritten::TokenIdTaken,
        }),
        ObjectWrite::RevokeToken { id, at } => tokens::revoke(conn, id, *at)
            .await?
            .map(ObjectWritten::Token)
            .ok_or_else(|| Error::not_found(format!("token {id}"))),
        ObjectWrite::InsertAlias(alias) => {
            aliases::insert(conn, alias).await?;
            Ok(ObjectWritten::Alias(alias.clone()))
        }
        ObjectWrite::UpdateAlias { name, target } => aliases::update(conn, name, target)
            .await
            .map(ObjectWritten::Alias),
        ObjectWrite::DeleteAlias { name } => {
            aliases::delete(conn, name).await?;
            Ok(ObjectWritten::Done)
        }
        ObjectWrite::PutPolicy { document, revision } => {
            policy::put(conn, document, revision).await?;
            Ok(ObjectWritten::Done)
        }
        ObjectWrite::CreateRing {
            project,
            location,
            ring,
            at,
        } => {
            gcp::create_ring(conn, project, location, ring, *at).await?;
            Ok(ObjectWritten::Done)
        }
        ObjectWrite::AddDestroy {
            key_uri,
            version,
            at,
        } => {
            gcp::add_destroy(conn, key_uri, version, *at).await?;
            Ok(ObjectWritten::Done)
        }
        ObjectWrite::RemoveDestroy { key_uri, version } => {
            gcp::remove_destroy(conn, key_uri, version).await?;
            Ok(ObjectWritten::Done)
        }
    }
}
