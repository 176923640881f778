//! The AWS KMS dialect's key ids (migration `0004_aws_dialect.sql`): AWS names a key by a
//! UUID and an ARN built from it, keygate by URI, so the dialect gives each key a random UUID
//! the first time it returns the key and keeps the pair for good. A key the dialect created
//! also keeps the region its `CreateKey` was signed for (migration
//! `0011_aws_key_regions.sql`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use keygate_core::Result;

/// The AWS dialect's key ids. Reached only through the service
/// ([`Service::aws_key_ids`](crate::service::Service::aws_key_ids)).
///
/// Every method fails with [`Error::Unavailable`](keygate_core::Error::Unavailable) when the
/// store cannot be reached.
#[async_trait]
pub trait AwsKeyIds: Send + Sync + std::fmt::Debug {
    /// The UUID of the key at `uri`, if it has one.
    async fn aws_id_of(&self, uri: &str) -> Result<Option<String>>;
    /// The URI of the key with UUID `id`, if any.
    async fn aws_uri_of(&self, id: &str) -> Result<Option<String>>;
    /// The UUID of the key at `uri`, giving it `fresh` when it has none yet. Two callers
    /// racing to name one key both get the id of the first.
    async fn aws_id_for(&self, uri: &str, fresh: &str) -> Result<String>;
    /// Gives the key at `uri` the UUID `id` (chosen before the key existed) and, for a key
    /// created through the dialect, the region it was created in.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](keygate_core::Error::AlreadyExists) when the id or the key is
    /// taken.
    async fn aws_assign(&self, id: &str, uri: &str, region: Option<&str>) -> Result<()>;
    /// The region recorded for the key at `uri`, if it has one.
    async fn aws_region_of(&self, uri: &str) -> Result<Option<String>>;
    /// Every key with a recorded region: URI → region.
    async fn aws_regions(&self) -> Result<BTreeMap<String, String>>;
}
