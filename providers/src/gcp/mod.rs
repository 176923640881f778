//! The GCP Cloud KMS provider, on google-cloud-kms-v1.
//!
//! - **One key ring.** A provider is one ring, `projects/{project}/locations/{location}/
//!   keyRings/{key_ring}`: keys are listed from it and created in it. A key's id is its
//!   crypto key id (`[a-zA-Z0-9_-]{1,63}`, checked before any call); its URI is
//!   `gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/<id>`.
//! - **Credentials**: Application Default Credentials, or a bearer token read at build from
//!   the variable `token_env` names (a keygate token for a keygate endpoint).
//! - **Specs.** AES_256 is ENCRYPT_DECRYPT (GOOGLE_SYMMETRIC_ENCRYPTION); RSA encryption keys
//!   are ASYMMETRIC_DECRYPT with OAEP-SHA256; RSA signing keys ASYMMETRIC_SIGN with PSS-SHA256
//!   — Cloud KMS binds one algorithm to a key, so they sign RSA_PSS_SHA256 only
//!   ([`Capabilities::one_signing_algorithm_per_key`]); keys made elsewhere keep theirs (a
//!   PKCS#1 key signs PKCS#1 only; an RSA_SIGN_*_4096_SHA512 key is RSA_4096 signing
//!   RSA_PSS_SHA512 or RSA_PKCS1_SHA512 only); EC and HMAC keys map one to one (secp256k1,
//!   EC_SIGN_SECP256K1_SHA256, at the HSM protection level only; Cloud KMS has no P-521 and no
//!   RSA signing with SHA-384).
//! - **Versions** are first class and Cloud KMS's own (`versions.rs`): each has its state,
//!   is enabled, disabled, destroyed and restored alone, and is named in sign, MAC,
//!   decrypt and public-key calls (any enabled version). The primary version is Cloud KMS's
//!   `primary` for symmetric keys, which `set_primary_version` moves to any enabled version;
//!   other keys have none in Cloud KMS, so keygate takes the newest ENABLED version (which
//!   `rotate_key`, `createCryptoKeyVersion`, makes). Symmetric rotation also calls
//!   `updateCryptoKeyPrimaryVersion`.
//! - **State.** A symmetric key is as its primary version is; another key is enabled when a
//!   version is enabled, disabled when every live version is disabled. `disable_key` and
//!   `enable_key` change every version (Cloud KMS has no key-level state).
//!   `schedule_deletion` destroys every version: they are DESTROY_SCHEDULED for the key's
//!   destroy-scheduled duration (set at creation from `destroy_scheduled_days`: the only
//!   deletion window), and `cancel_deletion` restores them (DISABLED).
//! - **Rotation schedules** (`rotationPeriod`, `nextRotationTime`) exist for symmetric keys
//!   only, from 1 to 36,500 days (Cloud KMS's 24 to 876,000 hours).
//! - **Cryptography**: see `crypto.rs` — the encryption context is the AAD, ciphertexts are
//!   Cloud KMS's own (they do not name the key), RSA encryption and all verification happen
//!   locally with the public key.
//! - **Description and labels**: labels must fit GCP's rules; the description is kept in
//!   reserved labels (see `labels.rs`).
//! - **Policies** are the crypto key's IAM policy (see `policy.rs`).
//! - **Errors** come from the SDK's status codes (see `error.rs`).

mod builder;
mod client;
mod config;
mod crypto;
mod error;
mod labels;
mod lifecycle;
mod policy;
mod versions;

use std::fmt;

use async_trait::async_trait;
use keygate_core::{
    Binding, Capabilities, Ciphertext, CreateKeyRequest, DataKey, DataKeySpec, DayRange,
    EncryptionContext, KeyMetadata, KeyProvider, KeySpec, KeyUpdate, KeyVersion, ListKeysRequest,
    MacTag, Page, Policy, ProviderInfo, PublicKey, Result, RotationSchedule, SecretBytes,
    Signature, SigningAlgorithm, VerifyMode,
};

pub use builder::GcpKmsBuilder;
pub use config::GcpConfig;

use client::Kms;
use keygate_core::SignInput;

/// Cloud KMS's largest page.
const MAX_PAGE_SIZE: u32 = 1000;
/// Cloud KMS's bounds on `rotationPeriod`: 24 hours to 876,000 hours.
const ROTATION_PERIOD: DayRange = DayRange::new(1, 36_500);
/// The default destroy-scheduled duration, in days.
const DEFAULT_DESTROY_DAYS: u32 = 30;

/// A key manager over one Cloud KMS key ring. Build it with [`GcpKmsProvider::builder`].
pub struct GcpKmsProvider {
    info: ProviderInfo,
    caps: Capabilities,
    kms: Kms,
}

impl fmt::Debug for GcpKmsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The SDK client holds the credentials: it is left out on purpose.
        f.debug_struct("GcpKmsProvider")
            .field("name", &self.info.name)
            .field("ring", &self.kms.ring)
            .field("uri_prefix", &self.info.uri_prefix)
            .field("destroy_days", &self.kms.destroy_days)
            .finish_non_exhaustive()
    }
}

impl GcpKmsProvider {
    /// A builder: name `gcp`; the configuration must name a project.
    pub fn builder() -> GcpKmsBuilder {
        GcpKmsBuilder::new()
    }

    /// What Cloud KMS supports, as the provider declares it unless told otherwise (with the
    /// default destroy-scheduled duration, 30 days, as the only deletion window, and software
    /// protection): every spec but `EC_P521` (Cloud KMS has no P-521) and `EC_SECP256K1`
    /// (Cloud KMS offers secp256k1 only at the HSM protection level),
    /// RSA encryption without a context, one signing algorithm per RSA key, rotation of every
    /// spec on demand and of AES keys on a schedule of 1–36,500 days, 64 KiB plaintexts,
    /// ciphertexts that do not name their key, local verification, digest signing, IAM
    /// policies (`gcp-iam`) and labels.
    pub fn default_capabilities() -> Capabilities {
        capabilities(DEFAULT_DESTROY_DAYS, false)
    }

    fn new(info: ProviderInfo, caps: Capabilities, kms: Kms) -> Self {
        Self { info, caps, kms }
    }

    /// The key ring: `projects/{project}/locations/{location}/keyRings/{key_ring}`.
    pub fn key_ring(&self) -> &str {
        &self.kms.ring
    }
}

/// The specs Cloud KMS has an algorithm for: every keygate spec but `EC_P521`, and
/// `EC_SECP256K1` only at the HSM protection level (`hsm`).
fn gcp_specs(hsm: bool) -> Vec<KeySpec> {
    KeySpec::ALL
        .into_iter()
        .filter(|&s| match s {
            KeySpec::EcP521 => false,
            KeySpec::EcSecp256k1 => hsm,
            _ => true,
        })
        .collect()
}

/// The declared capabilities, with `destroy_days` as the only deletion window; `hsm` when keys
/// are made at the HSM protection level.
fn capabilities(destroy_days: u32, hsm: bool) -> Capabilities {
    Capabilities::builder()
        .key_specs(gcp_specs(hsm))
        .rsa_encryption(true)
        .deletion_window(DayRange::new(destroy_days, destroy_days))
        .rotation_period(Some(ROTATION_PERIOD))
        // createCryptoKeyVersion works for every purpose.
        .rotatable_specs(gcp_specs(hsm))
        // Cloud KMS refuses rotation schedules on asymmetric and MAC keys.
        .scheduled_rotation_specs(vec![KeySpec::Aes256])
        .list_versions(true)
        // Versions are Cloud KMS's own: each has its state, is destroyed and restored alone
        // and named in operations; symmetric keys have a primary version to choose.
        .version_state(true)
        .version_destruction(true)
        .primary_selection(true)
        // asymmetricDecrypt takes no label: RSA encryption binds no context.
        .asymmetric_context(false)
        .max_plaintext_bytes(crypto::MAX_INPUT)
        .data_key_specs(vec![DataKeySpec::Aes256, DataKeySpec::Aes128])
        .data_key_bytes(true)
        .self_describing_ciphertext(false)
        .verify(VerifyMode::Local)
        .digest_signing(true)
        .one_signing_algorithm_per_key(true)
        .key_policy(true)
        .native_policy_format(Some(policy::FORMAT.to_owned()))
        .labels(true)
        .max_page_size(MAX_PAGE_SIZE)
        .policy_sample(vec![
            Binding::role(
                "user:alice@example.com",
                "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            ),
            Binding::role(
                "serviceAccount:keygate-conformance@example.iam.gserviceaccount.com",
                "roles/cloudkms.viewer",
            ),
        ])
        .build()
}

#[async_trait]
impl KeyProvider for GcpKmsProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_keys(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        self.list(req).await
    }

    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata> {
        let key = self.kms.key(key_id, false).await?;
        Ok(self.metadata(&key))
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
        let key = self.kms.key(key_id, true).await?;
        Ok(key.keygate_versions())
    }

    async fn rotate_key(&self, key_id: &str) -> Result<KeyVersion> {
        self.rotate(key_id).await
    }

    async fn get_rotation(&self, key_id: &str) -> Result<Option<RotationSchedule>> {
        Ok(self.kms.key(key_id, false).await?.rotation())
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

    async fn enable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.version_enabled(key_id, version, true).await
    }

    async fn disable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.version_enabled(key_id, version, false).await
    }

    async fn destroy_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.destroy_one(key_id, version).await
    }

    async fn restore_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.restore_one(key_id, version).await
    }

    async fn set_primary_version(&self, key_id: &str, version: &str) -> Result<KeyMetadata> {
        self.primary_to(key_id, version).await
    }

    /// `GetKeyRing` on the provider's key ring: one authenticated call.
    async fn probe(&self) -> Result<()> {
        self.kms
            .client
            .get_key_ring()
            .set_name(&self.kms.ring)
            .send()
            .await
            .map(drop)
            .map_err(|e| error::from_sdk(&e, &self.kms.provider, "get_key_ring"))
    }
}
