//! The GCP Cloud KMS dialect's own records (migrations `0005_gcp_dialect.sql` and
//! `0007_gcp_key_ring_scope.sql`): key rings, what the dialect knows about each key it serves
//! (by ring and crypto key id), and version destroy requests.

use async_trait::async_trait;
use keygate_core::Result;
use time::OffsetDateTime;

/// What the dialect records about a key it created or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The provider (location) holding it.
    pub provider: String,
    /// The crypto key id, unique within its ring (the keygate key may be named otherwise: see
    /// `key_uri`).
    pub key_name: String,
    /// The keygate key URI.
    pub key_uri: String,
    /// The ring it belongs to.
    pub key_ring: String,
    /// The Cloud KMS algorithm name.
    pub algorithm: String,
    /// destroyScheduledDuration, in seconds.
    pub destroy_seconds: i64,
}

/// The GCP dialect's records. Reached only through the service
/// ([`Service::gcp_records`](crate::service::Service::gcp_records)).
///
/// Every method fails with [`Error::Unavailable`](keygate_core::Error::Unavailable) when the
/// store cannot be reached.
#[async_trait]
pub trait GcpRecords: Send + Sync + std::fmt::Debug {
    /// Creates a key ring.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](keygate_core::Error::AlreadyExists) when it exists.
    async fn create_ring(
        &self,
        project: &str,
        location: &str,
        ring: &str,
        now: OffsetDateTime,
    ) -> Result<()>;
    /// When the ring was created, if it exists.
    async fn ring(
        &self,
        project: &str,
        location: &str,
        ring: &str,
    ) -> Result<Option<OffsetDateTime>>;
    /// Every stored ring of a location, by id.
    async fn rings(&self, project: &str, location: &str) -> Result<Vec<(String, OffsetDateTime)>>;
    /// The record of crypto key `name` of ring `ring` in `provider`.
    async fn key(&self, provider: &str, ring: &str, name: &str) -> Result<Option<KeyRecord>>;
    /// Writes (or replaces) a key's record, keyed by provider, ring and crypto key id.
    async fn put_key(&self, rec: &KeyRecord, now: OffsetDateTime) -> Result<()>;
    /// The destroy requests of a key's versions: version id and requested destroy time.
    async fn destroys(&self, key_uri: &str) -> Result<Vec<(String, OffsetDateTime)>>;
    /// Records a destroy request (keeping the first time when asked twice).
    async fn add_destroy(&self, key_uri: &str, version: &str, at: OffsetDateTime) -> Result<()>;
    /// Forgets a destroy request; true when there was one.
    async fn remove_destroy(&self, key_uri: &str, version: &str) -> Result<bool>;
}
