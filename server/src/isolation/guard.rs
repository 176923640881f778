//! [`Guarded`]: a provider wrapped so that every call the gateway makes on it is bounded by
//! the provider's call timeout and passes its circuit breaker, and so that what the call
//! learns about key names reaches the [`NameIndex`].
//!
//! The registry wraps every provider it is given, so every door (CLI, REST, console, the
//! cloud dialects, the scheduler, `keygate status`) gets the same bounds.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use keygate_core::api::CircuitHealth;
use keygate_core::crypto::{
    Ciphertext, DataKey, DataKeySpec, EncryptionAlgorithm, EncryptionContext, MacTag, PublicKey,
    SecretBytes, SignInput, Signature,
};
use keygate_core::{
    Capabilities, CreateKeyRequest, DueMaintenance, DynProvider, Error, ExpiryPolicy, KeyMetadata,
    KeyProvider, KeyUpdate, KeyVersion, ListKeysRequest, Page, Policy, ProviderInfo, Result,
    RotationSchedule, SigningAlgorithm,
};
use time::OffsetDateTime;

use super::Isolation;
use super::breaker::{Breaker, Refusal, ceil_secs};
use super::index::NameIndex;

/// A provider behind a call timeout and a circuit breaker.
#[derive(Debug)]
pub struct Guarded {
    inner: DynProvider,
    timeout: Duration,
    breaker: Breaker,
    index: Arc<NameIndex>,
}

impl Guarded {
    /// `inner`, bounded as `isolation` says, reporting names to `index`.
    pub fn new(inner: DynProvider, isolation: &Isolation, index: Arc<NameIndex>) -> Self {
        Self {
            inner,
            timeout: isolation.call_timeout(),
            breaker: Breaker::new(isolation.breaker_policy()),
            index,
        }
    }

    /// The circuit breaker's state now.
    pub fn circuit(&self) -> CircuitHealth {
        self.breaker.health(Instant::now())
    }

    /// Whether calls would fail fast now (the breaker is open, or half-open with its trial
    /// running), without counting as a call.
    pub fn is_open(&self) -> bool {
        self.circuit().state == keygate_core::api::CircuitState::Open
    }

    fn name(&self) -> &str {
        &self.inner.info().name
    }

    /// Runs `call` through the breaker and under the timeout. `key` (a name or id) leaves
    /// the name index when the provider answers that it does not know it.
    async fn guard<T>(
        &self,
        key: Option<&str>,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        if let Err(refusal) = self.breaker.admit(Instant::now()) {
            return Err(self.refused(refusal));
        }
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(Error::unavailable(format!(
                "provider `{}` did not answer within {} s",
                self.name(),
                ceil_secs(self.timeout)
            ))),
        };
        match &result {
            Err(Error::Unavailable { .. }) => self.breaker.failed(Instant::now()),
            Err(Error::NotFound(_)) => {
                self.breaker.succeeded();
                if let Some(key) = key {
                    self.index.remove(self.name(), key);
                }
            }
            _ => self.breaker.succeeded(),
        }
        result
    }

    fn refused(&self, refusal: Refusal) -> Error {
        match refusal {
            Refusal::Open(left) => Error::unavailable(format!(
                "provider `{}` skipped: circuit open for {} more s",
                self.name(),
                ceil_secs(left)
            )),
            Refusal::TrialRunning => Error::unavailable(format!(
                "provider `{}` skipped: circuit half-open, a trial call is running",
                self.name()
            )),
        }
    }

    /// `result`, after recording the key it describes in the name index.
    fn note(&self, result: Result<KeyMetadata>) -> Result<KeyMetadata> {
        if let Ok(meta) = &result {
            self.index.insert(self.name(), meta);
        }
        result
    }
}

#[async_trait]
impl KeyProvider for Guarded {
    fn info(&self) -> &ProviderInfo {
        self.inner.info()
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    async fn list_keys(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        let page = self.guard(None, self.inner.list_keys(req)).await?;
        for key in &page.items {
            self.index.insert(self.name(), key);
        }
        Ok(page)
    }
    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata> {
        let r = self
            .guard(Some(key_id), self.inner.describe_key(key_id))
            .await;
        self.note(r)
    }
    async fn create_key(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        let r = self.guard(None, self.inner.create_key(req)).await;
        self.note(r)
    }
    async fn update_key(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        let r = self
            .guard(Some(key_id), self.inner.update_key(key_id, update))
            .await;
        self.note(r)
    }
    async fn enable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        let r = self
            .guard(Some(key_id), self.inner.enable_key(key_id))
            .await;
        self.note(r)
    }
    async fn disable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        let r = self
            .guard(Some(key_id), self.inner.disable_key(key_id))
            .await;
        self.note(r)
    }
    async fn schedule_deletion(&self, key_id: &str, pending_days: u32) -> Result<KeyMetadata> {
        // A key pending deletion still exists (it can be restored): it stays in the index
        // until its provider no longer lists or knows it.
        let call = self.inner.schedule_deletion(key_id, pending_days);
        let r = self.guard(Some(key_id), call).await;
        self.note(r)
    }
    async fn cancel_deletion(&self, key_id: &str) -> Result<KeyMetadata> {
        let r = self
            .guard(Some(key_id), self.inner.cancel_deletion(key_id))
            .await;
        self.note(r)
    }
    async fn list_versions(&self, key_id: &str) -> Result<Vec<KeyVersion>> {
        self.guard(Some(key_id), self.inner.list_versions(key_id))
            .await
    }
    async fn rotate_key(&self, key_id: &str) -> Result<KeyVersion> {
        self.guard(Some(key_id), self.inner.rotate_key(key_id))
            .await
    }
    async fn get_rotation(&self, key_id: &str) -> Result<Option<RotationSchedule>> {
        self.guard(Some(key_id), self.inner.get_rotation(key_id))
            .await
    }
    async fn set_rotation(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        self.guard(Some(key_id), self.inner.set_rotation(key_id, schedule))
            .await
    }
    async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        self.guard(Some(key_id), self.inner.encrypt(key_id, plaintext, context))
            .await
    }
    async fn decrypt(
        &self,
        key_id: Option<&str>,
        key_version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        let call = self.inner.decrypt(key_id, key_version, ciphertext, context);
        self.guard(key_id, call).await
    }
    async fn get_expiry(&self, key_id: &str) -> Result<Option<ExpiryPolicy>> {
        self.guard(Some(key_id), self.inner.get_expiry(key_id))
            .await
    }
    async fn set_expiry(
        &self,
        key_id: &str,
        policy: Option<ExpiryPolicy>,
    ) -> Result<Option<ExpiryPolicy>> {
        self.guard(Some(key_id), self.inner.set_expiry(key_id, policy))
            .await
    }
    async fn encrypt_raw(
        &self,
        key_id: &str,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Ciphertext> {
        let call = self.inner.encrypt_raw(key_id, algorithm, plaintext);
        self.guard(Some(key_id), call).await
    }
    async fn decrypt_raw(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        let call = self
            .inner
            .decrypt_raw(key_id, key_version, algorithm, ciphertext);
        self.guard(Some(key_id), call).await
    }
    async fn generate_data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        let call = self.inner.generate_data_key(key_id, spec, context);
        self.guard(Some(key_id), call).await
    }
    async fn sign(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        let call = self.inner.sign(key_id, key_version, input, algorithm);
        self.guard(Some(key_id), call).await
    }
    async fn verify(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        let call = self
            .inner
            .verify(key_id, key_version, input, signature, algorithm);
        self.guard(Some(key_id), call).await
    }
    async fn generate_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
    ) -> Result<MacTag> {
        let call = self.inner.generate_mac(key_id, key_version, message);
        self.guard(Some(key_id), call).await
    }
    async fn verify_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool> {
        let call = self.inner.verify_mac(key_id, key_version, message, mac);
        self.guard(Some(key_id), call).await
    }
    async fn enable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        let call = self.inner.enable_version(key_id, version);
        self.guard(Some(key_id), call).await
    }
    async fn disable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        let call = self.inner.disable_version(key_id, version);
        self.guard(Some(key_id), call).await
    }
    async fn destroy_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        let call = self.inner.destroy_version(key_id, version);
        self.guard(Some(key_id), call).await
    }
    async fn restore_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        let call = self.inner.restore_version(key_id, version);
        self.guard(Some(key_id), call).await
    }
    async fn set_primary_version(&self, key_id: &str, version: &str) -> Result<KeyMetadata> {
        let call = self.inner.set_primary_version(key_id, version);
        let r = self.guard(Some(key_id), call).await;
        self.note(r)
    }
    async fn get_public_key(&self, key_id: &str, key_version: Option<&str>) -> Result<PublicKey> {
        let call = self.inner.get_public_key(key_id, key_version);
        self.guard(Some(key_id), call).await
    }
    async fn get_key_policy(&self, key_id: &str) -> Result<Policy> {
        self.guard(Some(key_id), self.inner.get_key_policy(key_id))
            .await
    }
    async fn set_key_policy(&self, key_id: &str, policy: Policy) -> Result<Policy> {
        self.guard(Some(key_id), self.inner.set_key_policy(key_id, policy))
            .await
    }
    async fn probe(&self) -> Result<()> {
        self.guard(None, self.inner.probe()).await
    }
    async fn due(&self, now: OffsetDateTime) -> Result<DueMaintenance> {
        self.guard(None, self.inner.due(now)).await
    }
    async fn rotate_due(&self, key_id: &str, now: OffsetDateTime) -> Result<Option<KeyVersion>> {
        self.guard(Some(key_id), self.inner.rotate_due(key_id, now))
            .await
    }
    async fn destroy_due(&self, key_id: &str, now: OffsetDateTime) -> Result<bool> {
        let destroyed = self
            .guard(Some(key_id), self.inner.destroy_due(key_id, now))
            .await?;
        if destroyed {
            self.index.remove(self.name(), key_id);
        }
        Ok(destroyed)
    }
    async fn destroy_due_version(
        &self,
        key_id: &str,
        version: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.guard(
            Some(key_id),
            self.inner.destroy_due_version(key_id, version, now),
        )
        .await
    }
    async fn mark_notified(&self, key_id: &str, version: &str) -> Result<bool> {
        self.guard(Some(key_id), self.inner.mark_notified(key_id, version))
            .await
    }
    async fn expire_material_due(&self, key_id: &str, now: OffsetDateTime) -> Result<bool> {
        self.guard(Some(key_id), self.inner.expire_material_due(key_id, now))
            .await
    }
    async fn import_parameters(
        &self,
        key_id: &str,
        algorithm: keygate_core::WrappingAlgorithm,
        wrapping_key: keygate_core::WrappingKeySpec,
    ) -> Result<keygate_core::ImportParameters> {
        let call = self
            .inner
            .import_parameters(key_id, algorithm, wrapping_key);
        self.guard(Some(key_id), call).await
    }
    async fn import_material(
        &self,
        key_id: &str,
        material: keygate_core::ImportedMaterial,
    ) -> Result<KeyMetadata> {
        self.guard(Some(key_id), self.inner.import_material(key_id, material))
            .await
    }
    async fn delete_imported_material(&self, key_id: &str) -> Result<KeyMetadata> {
        self.guard(Some(key_id), self.inner.delete_imported_material(key_id))
            .await
    }
}
