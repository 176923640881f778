//! Gateway object writes committed in one SQLite transaction with their outcome audit row
//! ([`AuditRows::append_with_write`](crate::store::AuditRows::append_with_write)).

use keygate_core::{Error, ErrorKind, Result};
use sqlx::SqliteConnection;

use super::{SqliteStore, aliases, audit, gcp, policy, tokens};
use crate::store::{
    AuditAppendError, ObjectWrite, ObjectWritten, OutcomeRow, TokenInsert, WriteAppended,
};

fn failed(e: sqlx::Error) -> AuditAppendError {
    AuditAppendError::Failed(super::db_err("gateway store", e))
}

/// Applies `write` and appends its outcome row in one transaction (see the trait).
pub(super) async fn append_with_write(
    store: &SqliteStore,
    write: &ObjectWrite,
    row: OutcomeRow<'_>,
) -> Result<WriteAppended, AuditAppendError> {
    // IMMEDIATE takes the write lock at BEGIN: the object write and its row then run under
    // one lock, and waiting for another writer is the busy timeout's business, not a lock
    // upgrade failing halfway through.
    let mut tx = store
        .pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed)?;
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
    if let Err(e) = audit::insert_rows(&mut tx, std::slice::from_ref(&outcome)).await {
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
async fn apply(conn: &mut SqliteConnection, write: &ObjectWrite) -> Result<ObjectWritten> {
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

/// Fault injection for the tests of these writes: the store refuses a call's outcome row
/// (the second row of a call that wrote an intent), inside the transaction, after the
/// object write has run.
#[cfg(test)]
impl SqliteStore {
    /// Makes every insert of an outcome row fail until [`SqliteStore::allow_outcome_rows`];
    /// intent rows and single-row calls still commit.
    pub(crate) async fn refuse_outcome_rows(&self) {
        self.execute(
            "CREATE TRIGGER outcome_fault BEFORE INSERT ON audit_events \
             WHEN NEW.intent_seq IS NOT NULL \
             BEGIN SELECT RAISE(ABORT, 'fault injected'); END",
        )
        .await;
    }

    /// Undoes [`SqliteStore::refuse_outcome_rows`].
    pub(crate) async fn allow_outcome_rows(&self) {
        self.execute("DROP TRIGGER outcome_fault").await;
    }
}
