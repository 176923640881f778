//! `Arc<P>` is a provider: a [`DynProvider`](super::DynProvider) can be passed wherever a
//! provider is taken.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    Capabilities, DueMaintenance, KeyProvider, ListKeysRequest, Maintenance, Page, ProviderInfo,
};
use crate::crypto::{
    Ciphertext, DataKey, DataKeySpec, EncryptionAlgorithm, EncryptionContext, MacTag, PublicKey,
    SecretBytes, SignInput, Signature,
};
use crate::error::Result;
use crate::expiry::ExpiryPolicy;
use crate::import::{ImportParameters, ImportedMaterial, WrappingAlgorithm, WrappingKeySpec};
use crate::key::{
    CreateKeyRequest, KeyMetadata, KeyUpdate, KeyVersion, RotationSchedule, SigningAlgorithm,
};
use crate::policy::Policy;

/// A shared provider is a provider: every call goes to the one behind the `Arc` (so a
/// [`DynProvider`](super::DynProvider) can be passed wherever a provider is taken).
#[async_trait]
impl<P: KeyProvider + ?Sized> KeyProvider for Arc<P> {
    fn info(&self) -> &ProviderInfo {
        (**self).info()
    }
    fn capabilities(&self) -> &Capabilities {
        (**self).capabilities()
    }
    async fn list_keys(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        (**self).list_keys(req).await
    }
    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata> {
        (**self).describe_key(key_id).await
    }
    async fn create_key(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        (**self).create_key(req).await
    }
    async fn update_key(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        (**self).update_key(key_id, update).await
    }
    async fn enable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        (**self).enable_key(key_id).await
    }
    async fn disable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        (**self).disable_key(key_id).await
    }
    async fn schedule_deletion(&self, key_id: &str, pending_days: u32) -> Result<KeyMetadata> {
        (**self).schedule_deletion(key_id, pending_days).await
    }
    async fn cancel_deletion(&self, key_id: &str) -> Result<KeyMetadata> {
        (**self).cancel_deletion(key_id).await
    }
    async fn list_versions(&self, key_id: &str) -> Result<Vec<KeyVersion>> {
        (**self).list_versions(key_id).await
    }
    async fn rotate_key(&self, key_id: &str) -> Result<KeyVersion> {
        (**self).rotate_key(key_id).await
    }
    async fn get_rotation(&self, key_id: &str) -> Result<Option<RotationSchedule>> {
        (**self).get_rotation(key_id).await
    }
    async fn set_rotation(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        (**self).set_rotation(key_id, schedule).await
    }
    async fn get_expiry(&self, key_id: &str) -> Result<Option<ExpiryPolicy>> {
        (**self).get_expiry(key_id).await
    }
    async fn set_expiry(
        &self,
        key_id: &str,
        policy: Option<ExpiryPolicy>,
    ) -> Result<Option<ExpiryPolicy>> {
        (**self).set_expiry(key_id, policy).await
    }
    async fn encrypt_raw(
        &self,
        key_id: &str,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Ciphertext> {
        (**self).encrypt_raw(key_id, algorithm, plaintext).await
    }
    async fn decrypt_raw(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        (**self)
            .decrypt_raw(key_id, key_version, algorithm, ciphertext)
            .await
    }
    async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        (**self).encrypt(key_id, plaintext, context).await
    }
    async fn decrypt(
        &self,
        key_id: Option<&str>,
        key_version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        (**self)
            .decrypt(key_id, key_version, ciphertext, context)
            .await
    }
    async fn generate_data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        (**self).generate_data_key(key_id, spec, context).await
    }
    async fn sign(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        (**self).sign(key_id, key_version, input, algorithm).await
    }
    async fn verify(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        (**self)
            .verify(key_id, key_version, input, signature, algorithm)
            .await
    }
    async fn generate_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
    ) -> Result<MacTag> {
        (**self).generate_mac(key_id, key_version, message).await
    }
    async fn verify_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool> {
        (**self).verify_mac(key_id, key_version, message, mac).await
    }
    async fn enable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        (**self).enable_version(key_id, version).await
    }
    async fn disable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        (**self).disable_version(key_id, version).await
    }
    async fn destroy_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        (**self).destroy_version(key_id, version).await
    }
    async fn restore_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        (**self).restore_version(key_id, version).await
    }
    async fn set_primary_version(&self, key_id: &str, version: &str) -> Result<KeyMetadata> {
        (**self).set_primary_version(key_id, version).await
    }
    async fn get_public_key(&self, key_id: &str, key_version: Option<&str>) -> Result<PublicKey> {
        (**self).get_public_key(key_id, key_version).await
    }
    async fn get_key_policy(&self, key_id: &str) -> Result<Policy> {
        (**self).get_key_policy(key_id).await
    }
    async fn set_key_policy(&self, key_id: &str, policy: Policy) -> Result<Policy> {
        (**self).set_key_policy(key_id, policy).await
    }
    async fn probe(&self) -> Result<()> {
        (**self).probe().await
    }
    async fn due(&self, now: OffsetDateTime) -> Result<DueMaintenance> {
        (**self).due(now).await
    }
    async fn rotate_due(&self, key_id: &str, now: OffsetDateTime) -> Result<Option<KeyVersion>> {
        (**self).rotate_due(key_id, now).await
    }
    async fn destroy_due(&self, key_id: &str, now: OffsetDateTime) -> Result<bool> {
        (**self).destroy_due(key_id, now).await
    }
    async fn destroy_due_version(
        &self,
        key_id: &str,
        version: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        (**self).destroy_due_version(key_id, version, now).await
    }
    async fn mark_notified(&self, key_id: &str, version: &str) -> Result<bool> {
        (**self).mark_notified(key_id, version).await
    }
    async fn expire_material_due(&self, key_id: &str, now: OffsetDateTime) -> Result<bool> {
        (**self).expire_material_due(key_id, now).await
    }
    async fn import_parameters(
        &self,
        key_id: &str,
        algorithm: WrappingAlgorithm,
        wrapping_key: WrappingKeySpec,
    ) -> Result<ImportParameters> {
        (**self)
            .import_parameters(key_id, algorithm, wrapping_key)
            .await
    }
    async fn import_material(
        &self,
        key_id: &str,
        material: ImportedMaterial,
    ) -> Result<KeyMetadata> {
        (**self).import_material(key_id, material).await
    }
    async fn delete_imported_material(&self, key_id: &str) -> Result<KeyMetadata> {
        (**self).delete_imported_material(key_id).await
    }
    async fn tick(&self, now: OffsetDateTime) -> Result<Maintenance> {
        (**self).tick(now).await
    }
}
