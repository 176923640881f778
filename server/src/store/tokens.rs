//! API tokens and AWS access keys as a backend keeps them (migrations `0003_tokens_policy.sql`
//! and `0004_aws_dialect.sql`): one record per credential, never a usable secret.
//!
//! Issuing, the constant-time checks and expiry live in [`crate::tokens`]; a backend only
//! stores records and reads them back.

use async_trait::async_trait;
use keygate_core::Result;
use keygate_core::api::TokenInfo;
use time::OffsetDateTime;

/// One credential as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Its listing: id (for an AWS access key, the access key id), principal, role, kind,
    /// when it was created, expires and was revoked.
    pub info: TokenInfo,
    /// SHA-256 of the secret; never the secret.
    pub secret_hash: Vec<u8>,
    /// When it last authenticated, if ever.
    pub last_used: Option<OffsetDateTime>,
    /// An AWS access key's secret, sealed under a key derived from the gateway root key
    /// (SigV4 needs the secret itself); `None` for a bearer token.
    pub sealed_secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither is the secret, but neither is anyone's business in a log line either.
        f.debug_struct("TokenRecord")
            .field("info", &self.info)
            .field("secret_hash", &"<redacted>")
            .field("last_used", &self.last_used)
            .field(
                "sealed_secret",
                &self.sealed_secret.as_ref().map(|_| "<sealed>"),
            )
            .finish()
    }
}

/// What [`TokenRecords::insert_token`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum TokenInsert {
    /// The record is stored.
    Inserted,
    /// Another credential has that id; nothing was written (the caller draws a new id).
    IdTaken,
}

/// API tokens and AWS access keys.
///
/// Every method fails with [`Error::Unavailable`](keygate_core::Error::Unavailable) when the
/// store cannot be reached or holds a record it cannot read back.
#[async_trait]
pub trait TokenRecords: Send + Sync + std::fmt::Debug {
    /// Stores a new credential as given.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](keygate_core::Error::InvalidArgument) for a time the store
    /// cannot hold.
    async fn insert_token(&self, token: &TokenRecord) -> Result<TokenInsert>;

    /// Every credential's listing, oldest first (by creation time, then id), revoked and
    /// expired ones included.
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>>;

    /// The credential with this id, of any kind.
    async fn token(&self, id: &str) -> Result<Option<TokenRecord>>;

    /// Marks a credential revoked at `at`, keeping the first time when it already is;
    /// false when no credential has this id.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](keygate_core::Error::InvalidArgument) for a time the store
    /// cannot hold.
    async fn revoke_token(&self, id: &str, at: OffsetDateTime) -> Result<bool>;

    /// Records that the credential authenticated at `at` (nothing happens for an unknown id).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](keygate_core::Error::InvalidArgument) for a time the store
    /// cannot hold.
    async fn touch_token(&self, id: &str, at: OffsetDateTime) -> Result<()>;
}
