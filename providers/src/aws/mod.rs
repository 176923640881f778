//! The AWS KMS provider, on aws-sdk-kms.
//!
//! - **Ids and names.** A key's id is its KMS key id; its URI is `aws-kms://<region>/<key id>`.
//!   KMS keys have no names, so a keygate name is the alias `alias/<name>`: `create_key`
//!   makes the key and then the alias, and [`KeyMetadata::name`] is the key's alias (else its
//!   id). Every `key_id` parameter takes a key id, a key ARN, an alias or a keygate name.
//! - **Labels** are tags; the description is KMS's description.
//! - **Versions.** KMS has none as such: the original material is version `1` and each entry
//!   of `ListKeyRotations` is the next one. An endpoint without `ListKeyRotations` (LocalStack)
//!   gives AES keys the single version `current`; see [`AwsKmsBuilder::build`].
//! - **Signatures** are always `Sign`/`Verify` with `MessageType=DIGEST`: keygate hashes a
//!   message itself, and `sign_digest`/`verify_digest` pass the caller's digest on.
//! - **Ciphertexts** are KMS's own, self-describing for symmetric keys.
//! - **Policies** are key policies, translated to and from unified bindings (see `policy.rs`),
//!   with the JSON document kept as the native policy (`aws-key-policy`).
//! - **Errors** come from the SDK's typed errors (see `error.rs`).

mod builder;
mod client;
mod crypto;
mod error;
mod import;
mod lifecycle;
mod policy;
mod raw;

use std::fmt;

use async_trait::async_trait;
use keygate_core::{
    Capabilities, Ciphertext, CreateKeyRequest, DataKey, DataKeySpec, DayRange,
    EncryptionAlgorithm, EncryptionContext, KeyMetadata, KeyProvider, KeySpec, KeyUpdate,
    KeyVersion, ListKeysRequest, MacTag, Page, Policy, ProviderInfo, PublicKey, Result,
    RotationSchedule, SecretBytes, Signature, SigningAlgorithm, VerifyMode,
};

pub use builder::{AwsConfig, AwsKmsBuilder};

use client::{Described, Kms};
use keygate_core::SignInput;

/// Largest plaintext KMS encrypts with a symmetric key.
const MAX_PLAINTEXT_BYTES: usize = 4096;
/// KMS's bounds on `PendingWindowInDays`.
const DELETION_WINDOW: DayRange = DayRange::new(7, 30);
/// KMS's bounds on `RotationPeriodInDays`.
const ROTATION_PERIOD: DayRange = DayRange::new(90, 2560);
/// KMS's largest `ListKeys` page.
const MAX_PAGE_SIZE: u32 = 1000;
/// Page size when the caller names none.
const DEFAULT_PAGE_SIZE: u32 = 100;

/// A key manager in one AWS account and region. Build it with [`AwsKmsProvider::builder`].
pub struct AwsKmsProvider {
    info: ProviderInfo,
    caps: Capabilities,
    /// `caps` without version listing and rotation, for an endpoint without
    /// `ListKeyRotations` (an emulator).
    without_rotations: Capabilities,
    kms: Kms,
    region: String,
}

impl fmt::Debug for AwsKmsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The SDK client holds the credentials provider: it is left out on purpose.
        f.debug_struct("AwsKmsProvider")
            .field("name", &self.info.name)
            .field("region", &self.region)
            .field("uri_prefix", &self.info.uri_prefix)
            .field("lists_rotations", &self.kms.lists_rotations())
            .finish_non_exhaustive()
    }
}

impl AwsKmsProvider {
    /// A builder: name `aws`, region and credentials from the standard AWS chain.
    pub fn builder() -> AwsKmsBuilder {
        AwsKmsBuilder::new()
    }

    /// What AWS KMS supports, as the provider declares it unless told otherwise: every keygate
    /// spec, deletion windows of 7–30 days, automatic rotation every 90–2560 days and
    /// on-demand rotation for symmetric keys only, 4096-byte plaintexts, no encryption context
    /// for RSA, and no policy sample (its principals depend on the account).
    pub fn default_capabilities() -> Capabilities {
        capabilities()
    }

    fn new(info: ProviderInfo, caps: Capabilities, kms: Kms, region: String) -> Self {
        // Without ListKeyRotations keygate cannot tell the material before a rotation from
        // the material after it, so it cannot report a new version.
        let mut without_rotations = caps.clone();
        without_rotations.list_versions = false;
        without_rotations.rotatable_specs.clear();
        Self {
            info,
            caps,
            without_rotations,
            kms,
            region,
        }
    }

    /// The region this provider talks to.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The keygate metadata of a described key: its name, labels, rotation and primary
    /// version come from further calls, made together.
    async fn metadata(&self, key: &Described) -> Result<KeyMetadata> {
        let (name, labels, rotation, primary) = tokio::try_join!(
            self.kms.name(&key.id),
            self.kms.labels(&key.id),
            self.kms.rotation(key),
            self.kms.primary_version(key),
        )?;
        Ok(self.assemble(key, name, labels, rotation, primary))
    }

    fn assemble(
        &self,
        key: &Described,
        name: String,
        labels: keygate_core::Labels,
        rotation: Option<RotationSchedule>,
        primary: String,
    ) -> KeyMetadata {
        KeyMetadata {
            import: import::import_info(&key.raw),
            uri: self.info.key_uri(&key.id),
            provider: self.info.name.clone(),
            id: key.id.clone(),
            name,
            spec: key.spec,
            usage: key.usage,
            state: key.state(),
            primary_version: Some(primary),
            rotation,
            labels,
            description: key.raw.description().unwrap_or_default().to_owned(),
            created: key
                .raw
                .creation_date()
                .map_or(time::OffsetDateTime::UNIX_EPOCH, client::to_time),
        }
    }
}

fn capabilities() -> Capabilities {
    Capabilities::builder()
        .key_specs(KeySpec::ALL.to_vec())
        .rsa_encryption(true)
        .raw_encryption(raw::RAW_ALGORITHMS.to_vec())
        .deletion_window(DELETION_WINDOW)
        .rotation_period(Some(ROTATION_PERIOD))
        // KMS rotates only symmetric encryption keys, on demand or on a schedule.
        .rotatable_specs(vec![KeySpec::Aes256])
        .scheduled_rotation_specs(vec![KeySpec::Aes256])
        .list_versions(true)
        // KMS takes no encryption context with RSA encryption.
        .asymmetric_context(false)
        .max_plaintext_bytes(MAX_PLAINTEXT_BYTES)
        .data_key_specs(vec![DataKeySpec::Aes256, DataKeySpec::Aes128])
        .data_key_bytes(true)
        .self_describing_ciphertext(true)
        .verify(VerifyMode::Remote)
        // Sign and Verify take MessageType=DIGEST.
        .digest_signing(true)
        .one_signing_algorithm_per_key(false)
        .key_policy(true)
        .native_policy_format(Some(policy::FORMAT.to_owned()))
        .labels(true)
        .max_page_size(MAX_PAGE_SIZE)
        .policy_sample(Vec::new())
        .import_material(true)
        .build()
}

#[async_trait]
impl KeyProvider for AwsKmsProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    fn capabilities(&self) -> &Capabilities {
        if self.kms.lists_rotations() {
            &self.caps
        } else {
            &self.without_rotations
        }
    }

    async fn list_keys(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        self.list(req).await
    }

    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata> {
        let key = self.kms.describe(key_id).await?;
        self.metadata(&key).await
    }

    async fn import_parameters(
        &self,
        key_id: &str,
        algorithm: keygate_core::WrappingAlgorithm,
        wrapping_key: keygate_core::WrappingKeySpec,
    ) -> Result<keygate_core::ImportParameters> {
        self.import_parameters_impl(key_id, algorithm, wrapping_key)
            .await
    }

    async fn import_material(
        &self,
        key_id: &str,
        material: keygate_core::ImportedMaterial,
    ) -> Result<KeyMetadata> {
        self.import_material_impl(key_id, material).await
    }

    async fn delete_imported_material(&self, key_id: &str) -> Result<KeyMetadata> {
        self.delete_imported_material_impl(key_id).await
    }

    async fn create_key(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        self.create(req).await
    }

    async fn update_key(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        self.update(key_id, update).await
    }

    async fn enable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        self.set_enabled(key_id, true).await
    }

    async fn disable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        self.set_enabled(key_id, false).await
    }

    async fn schedule_deletion(&self, key_id: &str, pending_days: u32) -> Result<KeyMetadata> {
        self.delete(key_id, pending_days).await
    }

    async fn cancel_deletion(&self, key_id: &str) -> Result<KeyMetadata> {
        self.undelete(key_id).await
    }

    async fn list_versions(&self, key_id: &str) -> Result<Vec<KeyVersion>> {
        let key = self.kms.describe(key_id).await?;
        if !self.capabilities().list_versions {
            return Err(keygate_core::Error::unsupported(format!(
                "provider `{}`: the endpoint has no ListKeyRotations, so versions cannot be listed",
                self.info.name
            )));
        }
        self.kms.versions(&key).await
    }

    async fn rotate_key(&self, key_id: &str) -> Result<KeyVersion> {
        self.rotate(key_id).await
    }

    async fn get_rotation(&self, key_id: &str) -> Result<Option<RotationSchedule>> {
        let key = self.kms.describe(key_id).await?;
        self.kms.rotation(&key).await
    }

    async fn set_rotation(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        self.set_rotation(key_id, schedule).await
    }

    async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        self.encrypt_with(key_id, plaintext, context).await
    }

    async fn decrypt(
        &self,
        key_id: Option<&str>,
        key_version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        self.decrypt_with(key_id, key_version, ciphertext, context)
            .await
    }

    async fn encrypt_raw(
        &self,
        key_id: &str,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Ciphertext> {
        self.encrypt_raw_impl(key_id, algorithm, plaintext).await
    }

    async fn decrypt_raw(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        self.decrypt_raw_impl(key_id, key_version, algorithm, ciphertext)
            .await
    }

    async fn generate_data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        self.data_key(key_id, spec, context).await
    }

    async fn sign(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        self.sign_with(key_id, key_version, input, algorithm).await
    }

    async fn verify(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        self.verify_with(key_id, key_version, input, signature, algorithm)
            .await
    }

    async fn generate_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
    ) -> Result<MacTag> {
        self.mac(key_id, key_version, message).await
    }

    async fn verify_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool> {
        self.check_mac(key_id, key_version, message, mac).await
    }

    async fn get_public_key(&self, key_id: &str, key_version: Option<&str>) -> Result<PublicKey> {
        self.public_key(key_id, key_version).await
    }

    async fn get_key_policy(&self, key_id: &str) -> Result<Policy> {
        self.policy(key_id).await
    }

    async fn set_key_policy(&self, key_id: &str, policy: Policy) -> Result<Policy> {
        self.put_policy(key_id, policy).await
    }

    /// `ListKeys` with `Limit = 1`: one authenticated call, without describing any key.
    async fn probe(&self) -> Result<()> {
        self.kms
            .client
            .list_keys()
            .limit(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| self.kms.err("list_keys")(e.into()))
    }
}
