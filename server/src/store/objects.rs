//! Writes of gateway objects made on behalf of a caller (API tokens, aliases, the access
//! policy, the GCP dialect's key rings and version destroy requests), committed in one store transaction with the outcome
//! row of the call that made them.
//!
//! A write is described as data ([`ObjectWrite`]) rather than run as a closure, so a backend
//! can apply it inside the transaction that appends the audit row
//! ([`AuditRows::append_with_write`](super::AuditRows::append_with_write)): the object
//! changed exactly when the outcome row is present, and no crash falls between the two.

use async_trait::async_trait;
use keygate_core::api::{Alias, TokenInfo};
use keygate_core::{KeyRef, Result};
use time::OffsetDateTime;

use super::{PolicyRevision, TokenRecord};

/// One write of a gateway object, as a backend applies it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ObjectWrite {
    /// Stores a new credential ([`TokenRecords::insert_token`](super::TokenRecords::insert_token)).
    InsertToken(TokenRecord),
    /// Marks a credential revoked at `at`, keeping the first time when it already is.
    RevokeToken {
        /// The credential's id.
        id: String,
        /// When it is revoked.
        at: OffsetDateTime,
    },
    /// Stores a new alias as given.
    InsertAlias(Alias),
    /// Points an existing alias at another key.
    UpdateAlias {
        /// The alias name (without `alias/`).
        name: String,
        /// The key it points at from now on.
        target: KeyRef,
    },
    /// Deletes an alias.
    DeleteAlias {
        /// The alias name (without `alias/`).
        name: String,
    },
    /// Replaces the access policy document and its revision.
    PutPolicy {
        /// The policy as JSON, already validated.
        document: String,
        /// Who stores it, and when.
        revision: PolicyRevision,
    },
    /// Creates a GCP key ring.
    CreateRing {
        /// The GCP project.
        project: String,
        /// The location (the keygate provider).
        location: String,
        /// The key ring id.
        ring: String,
        /// Its creation time.
        at: OffsetDateTime,
    },
    /// Records a GCP version destroy request (keeping the first time when asked twice).
    AddDestroy {
        /// The keygate key URI.
        key_uri: String,
        /// The version id.
        version: String,
        /// The requested destroy time.
        at: OffsetDateTime,
    },
    /// Forgets a GCP version destroy request (whether or not there was one).
    RemoveDestroy {
        /// The keygate key URI.
        key_uri: String,
        /// The version id.
        version: String,
    },
}

/// What an [`ObjectWrite`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectWritten {
    /// The write is stored (a new credential, a deleted alias, a stored policy, a new ring).
    Done,
    /// [`ObjectWrite::InsertToken`] found another credential with that id: nothing was
    /// written and no audit row appended; the caller draws a new id and writes again.
    TokenIdTaken,
    /// The revoked credential's listing, as stored after the write.
    Token(TokenInfo),
    /// The alias as stored after the write.
    Alias(Alias),
}

/// Where a service call applies its object writes: one transaction with the call's outcome
/// audit row (the service's implementation), so the part that builds the object (token
/// issuing, policy validation) never writes the store by itself.
#[async_trait]
pub trait ObjectWriter: Send {
    /// Applies `write` together with the call's outcome row.
    ///
    /// # Errors
    /// The write's own error ([`Error::AlreadyExists`](keygate_core::Error::AlreadyExists),
    /// [`Error::NotFound`](keygate_core::Error::NotFound)…), recorded as the call's failure;
    /// [`Error::Unavailable`](keygate_core::Error::Unavailable) when the outcome row cannot
    /// be appended, in which case the write is rolled back too.
    async fn apply(&mut self, write: ObjectWrite) -> Result<ObjectWritten>;
}
