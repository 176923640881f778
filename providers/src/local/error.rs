//! The local provider's private error type and its mapping onto [`keygate_core::Error`].

use keygate_core::Error;

/// What can go wrong inside the local provider. Converted to [`Error`] at the trait boundary
/// by [`LocalError::into_core`], which tags the provider name.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LocalError {
    /// The database driver failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying the embedded schema migrations failed.
    #[error("schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded (a bug or a hand-edited database).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// aws-lc reported a failure where none was expected (key generation, sealing, ...).
    #[error("cryptographic backend failure: {0}")]
    Crypto(&'static str),
    /// A scheduled change found, once the key was locked, that it was no longer due (another
    /// process did it first, or the key changed state). Never leaves the provider.
    #[error("the scheduled change is no longer due")]
    NotDue,
    /// A semantic error decided by the provider's own rules (state checks inside a
    /// transaction, ...), passed through unchanged.
    #[error(transparent)]
    Core(#[from] Error),
}

impl LocalError {
    /// The semantic [`Error`] for this failure; `provider` names the registered provider.
    ///
    /// Database errors are classified by their variant and result code, never by message
    /// text: a unique-constraint violation becomes [`Error::AlreadyExists`], an unreachable,
    /// closed, timed-out or locked database [`Error::Unavailable`]; everything else is an
    /// [`Error::Provider`] carrying the driver error as its source.
    pub(crate) fn into_core(self, provider: &str) -> Error {
        match self {
            Self::Core(e) => e,
            Self::Db(e) => match classify_db(&e) {
                DbClass::Unique => Error::AlreadyExists("a record with that name exists".into()),
                DbClass::Unavailable => Error::unavailable(format!("{provider}: key store: {e}")),
                DbClass::Other => Error::provider(provider, Self::Db(e)),
            },
            other => Error::provider(provider, other),
        }
    }

    /// True for a unique or primary-key constraint violation.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Db(e) if classify_db(e) == DbClass::Unique)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbClass {
    Unique,
    Unavailable,
    Other,
}

/// SQLite's primary result codes for a database another connection holds.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

fn classify_db(e: &sqlx::Error) -> DbClass {
    match e {
        sqlx::Error::Database(db) => {
            if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
                return DbClass::Unique;
            }
            // SQLite reports extended result codes; the low byte is the primary code.
            let primary = db
                .code()
                .and_then(|c| c.parse::<i64>().ok())
                .map(|c| c & 0xff);
            match primary {
                Some(SQLITE_BUSY | SQLITE_LOCKED) => DbClass::Unavailable,
                _ => DbClass::Other,
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => DbClass::Unavailable,
        _ => DbClass::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_pass_through_and_pool_errors_are_unavailable() {
        let e = LocalError::Core(Error::state("disabled")).into_core("local");
        assert!(matches!(e, Error::InvalidState(_)));
        let e = LocalError::Db(sqlx::Error::PoolTimedOut).into_core("local");
        assert!(matches!(e, Error::Unavailable { .. }));
        let e = LocalError::Corrupt("bad spec".into()).into_core("local-2");
        match e {
            Error::Provider { provider, .. } => assert_eq!(provider, "local-2"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
