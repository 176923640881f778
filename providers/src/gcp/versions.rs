//! One version at a time, natively: its state (`updateCryptoKeyVersion` with the mask
//! `state`), its destruction (`destroyCryptoKeyVersion`: DESTROY_SCHEDULED at once, for the
//! key's destroy-scheduled duration) and restoration (`restoreCryptoKeyVersion`: back to
//! DISABLED), and the primary version of a symmetric key (`updateCryptoKeyPrimaryVersion`).
//! Cloud KMS checks each transition and answers FAILED_PRECONDITION
//! ([`Error::InvalidState`]) for one it does not allow; an unknown version is NOT_FOUND.

use google_cloud_kms_v1::model::CryptoKeyVersion;
use google_cloud_kms_v1::model::crypto_key_version::CryptoKeyVersionState as VState;
use google_cloud_wkt as wkt;
use keygate_core::{Error, KeyMetadata, KeyVersion, Result};
use time::OffsetDateTime;

use super::GcpKmsProvider;
use super::client::{check_id, destroy_time, last_segment, to_time, version_state};

impl GcpKmsProvider {
    /// keygate's view of a version Cloud KMS answered with (`primary` read from the key).
    async fn answered(&self, key_id: &str, v: &CryptoKeyVersion) -> Result<KeyVersion> {
        let id = last_segment(&v.name).to_owned();
        let key = self.kms.key(key_id, true).await?;
        Ok(KeyVersion {
            primary: key.primary_id().as_deref() == Some(id.as_str()),
            created: v
                .create_time
                .as_ref()
                .map_or(OffsetDateTime::UNIX_EPOCH, to_time),
            state: version_state(&v.state),
            destroy_time: destroy_time(v),
            rotation: None,
            id,
        })
    }

    /// Enables (`true`) or disables one version, leaving the others as they are.
    pub(super) async fn version_enabled(
        &self,
        key_id: &str,
        version: &str,
        enabled: bool,
    ) -> Result<KeyVersion> {
        check_id("crypto key", key_id)?;
        let state = if enabled {
            VState::Enabled
        } else {
            VState::Disabled
        };
        let what = format!("update_crypto_key_version({key_id}/{version}, state)");
        let v = self
            .kms
            .client
            .update_crypto_key_version()
            .set_crypto_key_version(
                CryptoKeyVersion::new()
                    .set_name(self.kms.version_name(key_id, version))
                    .set_state(state),
            )
            .set_update_mask(wkt::FieldMask::default().set_paths(["state"]))
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        self.answered(key_id, &v).await
    }

    /// Schedules one version's destruction: it refuses every use at once and is destroyed
    /// after the key's destroy-scheduled duration unless restored.
    pub(super) async fn destroy_one(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        check_id("crypto key", key_id)?;
        let what = format!("destroy_crypto_key_version({key_id}/{version})");
        let v = self
            .kms
            .client
            .destroy_crypto_key_version()
            .set_name(self.kms.version_name(key_id, version))
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        tracing::info!(provider = %self.info.name, key = %key_id, version, "scheduled a version's destruction");
        self.answered(key_id, &v).await
    }

    /// Restores a DESTROY_SCHEDULED version: it comes back DISABLED.
    pub(super) async fn restore_one(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        check_id("crypto key", key_id)?;
        let what = format!("restore_crypto_key_version({key_id}/{version})");
        let v = self
            .kms
            .client
            .restore_crypto_key_version()
            .set_name(self.kms.version_name(key_id, version))
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        tracing::info!(provider = %self.info.name, key = %key_id, version, "restored a version");
        self.answered(key_id, &v).await
    }

    /// Makes an enabled version of a symmetric key the primary one
    /// (`updateCryptoKeyPrimaryVersion`). Cloud KMS has primary versions for ENCRYPT_DECRYPT
    /// keys only; for the others keygate's primary is the newest enabled version, so they
    /// are [`Error::Unsupported`].
    pub(super) async fn primary_to(&self, key_id: &str, version: &str) -> Result<KeyMetadata> {
        let key = self.kms.key(key_id, true).await?;
        if !key.symmetric() {
            return Err(Error::unsupported(format!(
                "key `{key_id}` is a {} key: Cloud KMS has primary versions for symmetric keys only (the newest enabled version is the primary)",
                key.alg.spec
            )));
        }
        // The contract's order: an unknown version, then one that is not enabled.
        key.usable_version(Some(version), "set_primary_version")?;
        let what = format!("update_crypto_key_primary_version({key_id}, {version})");
        let raw = self
            .kms
            .client
            .update_crypto_key_primary_version()
            .set_name(self.kms.key_name(key_id))
            .set_crypto_key_version_id(version)
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        let key = self.kms.wrap(raw, key.versions)?;
        tracing::info!(provider = %self.info.name, key = %key_id, version, "moved the primary version");
        Ok(self.metadata(&key))
    }
}
