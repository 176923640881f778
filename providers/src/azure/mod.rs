//! The Azure Key Vault provider, on azure_security_keyvault_keys.
//!
//! - **One vault** (or Managed HSM) per provider. A key's id is its Key Vault name
//!   (`[0-9a-zA-Z-]{1,127}`, checked before any call); its URI is
//!   `azure-kv://<vault name>/<name>` (`uri_prefix` overrides).
//! - **Credentials** (see `credential.rs`): a bearer token from `token_env`, else Entra ID
//!   through azure_identity (`credential = chain | environment | workload-identity |
//!   managed-identity | azure-cli`), or one given in code
//!   ([`AzureKeyVaultBuilder::with_credential`]).
//! - **Specs.** RSA_2048/3072/4096 (encryption: `RSA-OAEP-256`; signing: PS256/384/512
//!   and RS256/384/512) and EC_P256/P384/P521 and EC_SECP256K1 (ES256, ES384, ES512,
//!   ES256K) are vault keys. **AES_256** on a vault is keygate's
//!   client-side envelope (see `envelope.rs`): the vault holds an RSA-3072 key that only wraps
//!   and unwraps, keygate seals with AES-256-GCM. On a Managed HSM it is a native `oct-HSM` key
//!   encrypting with `A256GCM`. Key Vault has no MAC operation: HMAC specs are not offered.
//! - **keygate metadata** lives in `keygate-` tags (see `tags.rs`): spec, usage, description.
//!   Labels are the other tags. Keys made elsewhere read their spec from the JWK.
//! - **State.** Enabled and disabled are the current version's `enabled` attribute. A key
//!   pending deletion is a soft-deleted key: the deletion window is the vault's soft-delete
//!   retention and nothing else; `cancel_deletion` recovers the key and disables it.
//! - **Versions**: the current version is the primary; `rotate_key` is `rotate`; rotation
//!   schedules are the rotation policy's `Rotate` action after `timeAfterCreate`.
//! - **Cryptography** (see `crypto.rs`): RSA encryption is the vault's, without a context;
//!   signing hashes locally and signs the digest in the vault; verification is local with the
//!   public key (Key Vault 2025-07-01 has no verify).
//! - **Policies** (see `policy.rs`) are Azure RBAC role assignments at the key's scope,
//!   through Azure Resource Manager, when `subscription_id` and `resource_group` are set.
//! - **Errors** come from HTTP statuses and Key Vault error codes (see `error.rs`).

mod builder;
mod client;
mod config;
mod credential;
mod crypto;
mod envelope;
mod error;
mod jwk;
mod lifecycle;
mod policy;
mod raw;
mod tags;
mod versions;

use std::fmt;

use async_trait::async_trait;
use keygate_core::{
    Binding, Capabilities, Ciphertext, CreateKeyRequest, DataKey, DataKeySpec, DayRange,
    EncryptionAlgorithm, EncryptionContext, KeyMetadata, KeyProvider, KeySpec, KeyUpdate,
    KeyVersion, ListKeysRequest, MacTag, Page, Policy, ProviderInfo, PublicKey, Result,
    RotationSchedule, SecretBytes, Signature, SigningAlgorithm, VerifyMode,
};

pub use builder::AzureKeyVaultBuilder;
pub use config::AzureConfig;
pub use credential::StaticToken;

use client::Vault;
use keygate_core::SignInput;
use policy::Arm;

/// Key Vault's largest page (`maxresults`).
const MAX_PAGE_SIZE: u32 = 25;
/// Rotation periods: Key Vault's shortest `timeAfterCreate` is 7 days; it documents no
/// longest, so keygate's is 100 years.
const ROTATION_PERIOD: DayRange = DayRange::new(7, 36_500);
/// The soft-delete retention assumed when neither the configuration nor the vault says.
const DEFAULT_RETENTION_DAYS: u32 = 90;
/// The specs keygate makes in a vault.
const SPECS: [KeySpec; 8] = [
    KeySpec::Aes256,
    KeySpec::Rsa2048,
    KeySpec::Rsa3072,
    KeySpec::Rsa4096,
    KeySpec::EcP256,
    KeySpec::EcP384,
    KeySpec::EcP521,
    KeySpec::EcSecp256k1,
];

/// A key manager over one Azure Key Vault or Managed HSM. Build it with
/// [`AzureKeyVaultProvider::builder`].
pub struct AzureKeyVaultProvider {
    info: ProviderInfo,
    caps: Capabilities,
    vault: Vault,
    arm: Option<Arm>,
    retention: u32,
}

impl fmt::Debug for AzureKeyVaultProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The SDK clients hold the credential: they are left out on purpose.
        f.debug_struct("AzureKeyVaultProvider")
            .field("name", &self.info.name)
            .field("vault", &self.vault.vault_name)
            .field("managed_hsm", &self.vault.hsm)
            .field("uri_prefix", &self.info.uri_prefix)
            .field("retention_days", &self.retention)
            .field("role_assignments", &self.arm.is_some())
            .finish_non_exhaustive()
    }
}

impl AzureKeyVaultProvider {
    /// A builder: name `azure`; the configuration must name a vault URL.
    pub fn builder() -> AzureKeyVaultBuilder {
        AzureKeyVaultBuilder::new()
    }

    /// What a Key Vault offers, as the provider declares it unless told otherwise (with the
    /// default retention, 90 days, as the only deletion window, and role assignments on):
    /// AES_256 (keygate's envelope), RSA and EC specs, all of them rotatable now and on a
    /// schedule of 7–36,500 days, RSA encryption without a context, 64 KiB plaintexts,
    /// ciphertexts that do not name their key, local verification, digest signing, labels,
    /// and Azure RBAC role assignments (`azure-rbac`). No HMAC.
    pub fn default_capabilities() -> Capabilities {
        capabilities(DEFAULT_RETENTION_DAYS, false, true)
    }

    fn new(
        info: ProviderInfo,
        caps: Capabilities,
        vault: Vault,
        arm: Option<Arm>,
        retention: u32,
    ) -> Self {
        Self {
            info,
            caps,
            vault,
            arm,
            retention,
        }
    }

    /// The vault's resource name: `vault_name` from the configuration, else the first label
    /// of the vault URL's host. Resource Manager knows the vault by it, and it names the vault
    /// in this provider's default key URIs.
    pub fn vault_name(&self) -> &str {
        &self.vault.vault_name
    }

    /// Whether the endpoint is a Managed HSM (AES_256 keys are native `oct-HSM` keys).
    pub fn is_managed_hsm(&self) -> bool {
        self.vault.hsm
    }

    /// The soft-delete retention in days: the only deletion window.
    pub fn retention_days(&self) -> u32 {
        self.retention
    }
}

/// The declared capabilities, with `retention` as the only deletion window.
fn capabilities(retention: u32, _hsm: bool, role_assignments: bool) -> Capabilities {
    Capabilities::builder()
        .key_specs(SPECS.to_vec())
        .rsa_encryption(true)
        .raw_encryption(raw::RAW_ALGORITHMS.to_vec())
        .deletion_window(DayRange::new(retention, retention))
        .rotation_period(Some(ROTATION_PERIOD))
        .rotatable_specs(SPECS.to_vec())
        .scheduled_rotation_specs(SPECS.to_vec())
        .list_versions(true)
        // `enabled` is kept per version; destruction and the primary are the key's.
        .version_state(true)
        // The vault's RSA-OAEP-256 takes no label.
        .asymmetric_context(false)
        .max_plaintext_bytes(crypto::MAX_PLAINTEXT)
        .data_key_specs(vec![DataKeySpec::Aes256, DataKeySpec::Aes128])
        .data_key_bytes(true)
        .self_describing_ciphertext(false)
        .verify(VerifyMode::Local)
        .digest_signing(true)
        .one_signing_algorithm_per_key(false)
        .key_policy(role_assignments)
        .native_policy_format(
            role_assignments.then(|| keygate_core::native::azure::FORMAT.to_owned()),
        )
        .labels(true)
        .max_page_size(MAX_PAGE_SIZE)
        .policy_sample(if role_assignments {
            vec![
                Binding::role(
                    "6f1e0d3c-9a7b-4c2e-8d5f-1a2b3c4d5e6f",
                    "Key Vault Crypto User",
                ),
                Binding::role("0b8f3e5a-2c4d-4e6f-9a1b-7c8d9e0f1a2b", "Key Vault Reader"),
            ]
        } else {
            Vec::new()
        })
        .build()
}

#[async_trait]
impl KeyProvider for AzureKeyVaultProvider {
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
        let key = self.vault.key(key_id).await?;
        self.describe(&key).await
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
        self.recover(key_id).await
    }

    async fn list_versions(&self, key_id: &str) -> Result<Vec<KeyVersion>> {
        self.versions(key_id).await
    }

    async fn rotate_key(&self, key_id: &str) -> Result<KeyVersion> {
        self.rotate(key_id).await
    }

    async fn get_rotation(&self, key_id: &str) -> Result<Option<RotationSchedule>> {
        let key = self.vault.key(key_id).await?;
        self.rotation(&key).await
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

    async fn enable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.set_version_enabled(key_id, version, true).await
    }

    async fn disable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.set_version_enabled(key_id, version, false).await
    }

    async fn encrypt_raw(
        &self,
        key_id: &str,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Ciphertext> {
        self.encrypt_raw_with(key_id, algorithm, plaintext).await
    }

    async fn decrypt_raw(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        self.decrypt_raw_with(key_id, key_version, algorithm, ciphertext)
            .await
    }

    async fn decrypt(
        &self,
        key_id: Option<&str>,
        key_version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        if key_id.is_none() && key_version.is_some() {
            return Err(keygate_core::Error::invalid(
                "decrypt: a key version can only be named together with its key",
            ));
        }
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
        _key_version: Option<&str>,
        _message: &[u8],
    ) -> Result<MacTag> {
        self.no_mac(key_id, "generate_mac").await
    }

    async fn verify_mac(
        &self,
        key_id: &str,
        _key_version: Option<&str>,
        _message: &[u8],
        _mac: &[u8],
    ) -> Result<bool> {
        self.no_mac(key_id, "verify_mac").await
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

    /// One page of key properties with at most one entry, without describing any key.
    async fn probe(&self) -> Result<()> {
        self.probe_vault().await
    }
}
