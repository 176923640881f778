//! The gateway access policy as a backend keeps it (migration `0003_tokens_policy.sql`): one
//! current document, replaced as a whole, and who replaced it when.
//!
//! Validation and the in-memory copy every request is authorized against live in
//! [`crate::access`]; a backend stores the document as text and never judges it.

use async_trait::async_trait;
use keygate_core::Result;
use time::OffsetDateTime;

/// Who last changed the policy, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRevision {
    /// When it was stored.
    pub updated: OffsetDateTime,
    /// The principal that stored it.
    pub updated_by: String,
}

/// The stored access policy document.
///
/// Every method fails with [`Error::Unavailable`](keygate_core::Error::Unavailable) when the
/// store cannot be reached or holds a revision it cannot read back.
#[async_trait]
pub trait PolicyDocument: Send + Sync + std::fmt::Debug {
    /// The document (the policy as JSON) as last stored; `None` while it was never set.
    async fn policy_document(&self) -> Result<Option<String>>;

    /// Replaces the document (creating it the first time) and its revision, at once.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](keygate_core::Error::InvalidArgument) for a time the store
    /// cannot hold.
    async fn put_policy_document(&self, document: &str, revision: &PolicyRevision) -> Result<()>;

    /// Who last stored the document and when; `None` while it was never set.
    async fn policy_revision(&self) -> Result<Option<PolicyRevision>>;
}
