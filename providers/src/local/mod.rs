//! The local provider: real cryptography (aws-lc-rs) over keys kept in SQLite (or, shared by
//! several processes and replicas, PostgreSQL), every key version encrypted under a root key.
//!
//! - Key id = key name; versions are `1`, `2`, ...; version 1 is made with the key.
//! - Ciphertexts are self-describing (format version, algorithm, key id, version, nonce; the
//!   layout is documented in `local/ciphertext.rs`): `decrypt` needs no key id.
//! - `decrypt` also takes, for a named RSA encryption key, a raw RSAES-OAEP ciphertext
//!   (SHA-256, MGF1-SHA-256, empty label) made by a client with the key's public key alone:
//!   one exactly as long as the modulus (a self-describing one is always longer). It names no
//!   version, so the primary and then the other enabled versions are tried; none decrypting is
//!   [`Error::IntegrityFailure`]. It cannot carry an encryption context, so a non-empty one is
//!   [`Error::InvalidArgument`]; without a key id it is not recognised.
//! - Material is only ever stored wrapped (AES-256-GCM under the root key, bound to key id and
//!   version). A check value proves at open time that the root key is the right one.
//! - Signatures cover a message or its precomputed digest (`sign_digest`, `verify_digest`);
//!   both give the same signature, so either one verifies with the other.
//! - Key *state* is read from the store on every call, so a key disabled by another process
//!   is refused at once; parsed material, which never changes for a version, is cached.

mod builder;
mod ciphertext;
mod copy;
mod crypto;
mod error;
mod expiry;
#[doc(hidden)]
pub mod fuzzing;
mod import;
mod lifecycle;
mod operations;
mod policy;
mod raw;
mod store;
mod validate;
mod versions;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use keygate_core::{
    Capabilities, Ciphertext, Clock, CreateKeyRequest, DataKey, DataKeySpec, DayRange,
    DueMaintenance, EncryptionAlgorithm, EncryptionContext, Error, ExpiryPolicy, ImportParameters,
    ImportedMaterial, KeyMetadata, KeyProvider, KeySpec, KeyUpdate, KeyUsage, KeyVersion,
    ListKeysRequest, MacTag, Page, Policy, ProviderInfo, ProviderKind, PublicKey, Result,
    RotationSchedule, SecretBytes, Signature, SigningAlgorithm, VerifyMode, VersionState,
    WrappingAlgorithm, WrappingKeySpec, validate_name,
};
use time::OffsetDateTime;

pub use builder::LocalBuilder;
pub use copy::{KeyStore, KeyStoreCounts};

use crypto::{LoadedKey, RootKey};
use error::LocalError;
use keygate_core::SignInput;
use keygate_core::version::version_not_usable;
use store::{KeyRecord, LocalStore, VersionRecord};
use versions::Change;

/// Largest plaintext a symmetric key encrypts.
const MAX_PLAINTEXT_BYTES: usize = 64 * 1024;
/// Page size when the caller names none.
const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page.
const MAX_PAGE_SIZE: u32 = 1000;
/// Parsed key versions kept in memory at most; the cache starts over beyond this.
const MAX_CACHED_VERSIONS: usize = 4096;

/// The embedded key provider. Build it with [`LocalProvider::builder`].
pub struct LocalProvider {
    info: ProviderInfo,
    caps: Capabilities,
    store: Arc<dyn LocalStore>,
    root: Arc<RootKey>,
    clock: Arc<dyn Clock>,
    cache: RwLock<HashMap<(String, u32), Arc<LoadedKey>>>,
}

impl fmt::Debug for LocalProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.cache.read().map(|c| c.len()).unwrap_or_default();
        f.debug_struct("LocalProvider")
            .field("name", &self.info.name)
            .field("store", &self.store)
            .field("clock", &self.clock)
            .field("cached_versions", &cached)
            .finish_non_exhaustive()
    }
}

impl LocalProvider {
    /// A builder: name `local`, in-memory database, random root key, system clock.
    pub fn builder() -> LocalBuilder {
        LocalBuilder::new()
    }

    fn new(
        name: String,
        uri_prefix: String,
        store: Arc<dyn LocalStore>,
        root: RootKey,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let mut caps = capabilities();
        caps.import_material = store.imports().is_some();
        Self {
            info: ProviderInfo {
                name,
                kind: ProviderKind::Local,
                uri_prefix,
            },
            caps,
            store,
            root: Arc::new(root),
            clock,
            cache: RwLock::new(HashMap::new()),
        }
    }

    fn err(&self, e: LocalError) -> Error {
        e.into_core(&self.info.name)
    }

    fn metadata(&self, key: &KeyRecord) -> KeyMetadata {
        KeyMetadata {
            uri: self.info.key_uri(&key.id),
            provider: self.info.name.clone(),
            id: key.id.clone(),
            name: key.id.clone(),
            spec: key.spec,
            usage: key.usage,
            state: key.state,
            primary_version: Some(key.primary_version.to_string()),
            rotation: key.rotation,
            labels: key.labels.clone(),
            description: key.description.clone(),
            created: key.created,
            import: None,
        }
    }

    /// The key, read fresh from the store.
    async fn key_record(&self, key_id: &str) -> Result<KeyRecord> {
        if validate_name("key", key_id).is_err() {
            return Err(not_found(key_id));
        }
        self.store
            .key(key_id)
            .await
            .map_err(|e| self.err(e))?
            .ok_or_else(|| not_found(key_id))
    }

    /// The key, if it is enabled and made for `usage`.
    async fn usable_key(&self, key_id: &str, usage: KeyUsage, op: &str) -> Result<KeyRecord> {
        let key = self.key_record(key_id).await?;
        require_usable(&key, usage, op)?;
        Ok(key)
    }

    /// A version's parsed material; `None` when the version does not exist, and
    /// [`Error::InvalidState`] naming the version's state when it is not enabled.
    ///
    /// The version's row is read on every call, so a version disabled or scheduled for
    /// destruction (here or by another process on the same store) stops working at once;
    /// only the unwrapped, parsed material is cached.
    async fn material(&self, key: &KeyRecord, version: u32) -> Result<Option<Arc<LoadedKey>>> {
        let Some(row) = self
            .store
            .version(&key.id, version)
            .await
            .map_err(|e| self.err(e))?
        else {
            return Ok(None);
        };
        let uri = self.info.key_uri(&key.id);
        let wrapped = match (row.state, &row.material) {
            (VersionState::Enabled, Some(m)) => m,
            (VersionState::Enabled, None) => {
                return Err(version_not_usable(
                    &uri,
                    &version.to_string(),
                    VersionState::Destroyed,
                ));
            }
            (state, _) => return Err(version_not_usable(&uri, &version.to_string(), state)),
        };
        let cache_key = (key.id.clone(), version);
        if let Some(hit) = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.get(&cache_key).cloned())
        {
            return Ok(Some(hit));
        }
        let plain = self.root.unwrap(&key.id, version, wrapped).map_err(|e| {
            tracing::error!(provider = %self.info.name, key = %key.id, version, error = %e,
                "stored key material failed authentication");
            Error::IntegrityFailure
        })?;
        let loaded =
            Arc::new(LoadedKey::load(key.spec, key.usage, &plain).map_err(|e| self.err(e))?);
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= MAX_CACHED_VERSIONS {
                cache.clear();
            }
            cache.insert(cache_key, loaded.clone());
        }
        Ok(Some(loaded))
    }

    /// The primary version's material, which must exist.
    async fn primary(&self, key: &KeyRecord) -> Result<(u32, Arc<LoadedKey>)> {
        let v = key.primary_version;
        match self.material(key, v).await? {
            Some(m) => Ok((v, m)),
            None => Err(self.err(LocalError::Corrupt(format!(
                "key `{}` has no primary version {v}",
                key.id
            )))),
        }
    }

    fn forget(&self, key_id: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.retain(|(id, _), _| id != key_id);
        }
    }

    /// Generates material off the async executor (RSA key generation takes a while).
    async fn generate(&self, spec: KeySpec) -> Result<SecretBytes> {
        tokio::task::spawn_blocking(move || crypto::generate_material(spec))
            .await
            .map_err(|_| self.err(LocalError::Crypto("key generation task failed")))?
            .map_err(|e| self.err(e))
    }

    /// Locks the key and applies `change`; `NotFound` when it does not exist.
    async fn change_key(&self, key_id: &str, change: &store::KeyChange<'_>) -> Result<KeyMetadata> {
        if validate_name("key", key_id).is_err() {
            return Err(not_found(key_id));
        }
        let key = self
            .store
            .update_key(key_id, change)
            .await
            .map_err(|e| self.err(e))?
            .ok_or_else(|| not_found(key_id))?;
        self.with_import(self.metadata(&key)).await
    }
}

fn capabilities() -> Capabilities {
    Capabilities::builder()
        .key_specs(KeySpec::ALL.to_vec())
        .rsa_encryption(true)
        .raw_encryption(raw::RAW_ALGORITHMS.to_vec())
        .expiry_policy(true)
        .deletion_window(DayRange::new(1, 30))
        .rotation_period(Some(DayRange::new(1, 3650)))
        .rotatable_specs(KeySpec::ALL.to_vec())
        .scheduled_rotation_specs(KeySpec::ALL.to_vec())
        .list_versions(true)
        .asymmetric_context(true)
        .max_plaintext_bytes(MAX_PLAINTEXT_BYTES)
        .self_describing_ciphertext(true)
        .verify(VerifyMode::Remote)
        .digest_signing(true)
        .one_signing_algorithm_per_key(false)
        .key_policy(true)
        .native_policy_format(None)
        .labels(true)
        .max_page_size(MAX_PAGE_SIZE)
        .version_state(true)
        .version_destruction(true)
        .primary_selection(true)
        .data_key_specs(vec![DataKeySpec::Aes256, DataKeySpec::Aes128])
        .data_key_bytes(true)
        // The local store keeps any principal, role or action as given.
        .policy_sample(vec![
            keygate_core::Binding::role("user:kgc-viewer@example.com", "viewer"),
            keygate_core::Binding::actions("user:kgc-app@example.com", ["decrypt", "encrypt"]),
        ])
        .build()
}

fn not_found(key_id: &str) -> Error {
    Error::not_found(format!("key `{key_id}`"))
}

fn require_usable(key: &KeyRecord, usage: KeyUsage, op: &str) -> Result<()> {
    if !key.state.is_usable() {
        return Err(Error::state(format!(
            "key `{}` is {} and cannot {op}",
            key.id, key.state
        )));
    }
    if key.usage != usage {
        return Err(Error::state(format!(
            "key `{}` is a {} key ({}) and cannot {op}",
            key.id, key.usage, key.spec
        )));
    }
    Ok(())
}

fn version_info(v: &VersionRecord, primary: u32) -> KeyVersion {
    KeyVersion {
        id: v.version.to_string(),
        created: v.created,
        state: v.state,
        primary: v.version == primary,
        destroy_time: v.destroy_time,
        rotation: v.rotation,
    }
}

#[async_trait]
impl KeyProvider for LocalProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_keys(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        let size = match req.page_size {
            None | Some(0) => DEFAULT_PAGE_SIZE,
            Some(n) => n.min(MAX_PAGE_SIZE),
        };
        let after = req
            .cursor
            .as_deref()
            .map(validate::decode_cursor)
            .transpose()?;
        let mut rows = self
            .store
            .list_keys(after.as_deref(), size + 1)
            .await
            .map_err(|e| self.err(e))?;
        let more = rows.len() > size as usize;
        rows.truncate(size as usize);
        let next_cursor = match rows.last() {
            Some(last) if more => Some(validate::encode_cursor(&last.id)),
            _ => None,
        };
        let mut items: Vec<_> = rows.iter().map(|k| self.metadata(k)).collect();
        self.with_imports(&mut items).await?;
        Ok(Page { items, next_cursor })
    }

    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata> {
        let key = self.key_record(key_id).await?;
        self.with_import(self.metadata(&key)).await
    }

    async fn create_key(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        self.create_key_impl(req).await
    }

    async fn update_key(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        self.update_key_impl(key_id, update).await
    }

    async fn enable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        self.enable_key_impl(key_id).await
    }

    async fn disable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        self.disable_key_impl(key_id).await
    }

    async fn schedule_deletion(&self, key_id: &str, pending_days: u32) -> Result<KeyMetadata> {
        self.schedule_deletion_impl(key_id, pending_days).await
    }

    async fn cancel_deletion(&self, key_id: &str) -> Result<KeyMetadata> {
        self.cancel_deletion_impl(key_id).await
    }

    async fn list_versions(&self, key_id: &str) -> Result<Vec<KeyVersion>> {
        let key = self.key_record(key_id).await?;
        let versions = self
            .store
            .versions(&key.id)
            .await
            .map_err(|e| self.err(e))?;
        Ok(versions
            .iter()
            .map(|v| version_info(v, key.primary_version))
            .collect())
    }

    async fn rotate_key(&self, key_id: &str) -> Result<KeyVersion> {
        self.rotate_key_impl(key_id).await
    }

    async fn get_rotation(&self, key_id: &str) -> Result<Option<RotationSchedule>> {
        Ok(self.key_record(key_id).await?.rotation)
    }

    async fn set_rotation(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        self.set_rotation_impl(key_id, schedule).await
    }

    async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        self.encrypt_impl(key_id, plaintext, context).await
    }

    async fn get_expiry(&self, key_id: &str) -> Result<Option<ExpiryPolicy>> {
        self.get_expiry_impl(key_id).await
    }

    async fn set_expiry(
        &self,
        key_id: &str,
        policy: Option<ExpiryPolicy>,
    ) -> Result<Option<ExpiryPolicy>> {
        self.set_expiry_impl(key_id, policy).await
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

    async fn decrypt(
        &self,
        key_id: Option<&str>,
        key_version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        self.decrypt_impl(key_id, key_version, ciphertext, context)
            .await
    }

    async fn generate_data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        self.generate_data_key_impl(key_id, spec, context).await
    }

    async fn sign(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        self.sign_impl(key_id, key_version, input, algorithm).await
    }

    async fn verify(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: SignInput<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        self.verify_impl(key_id, key_version, input, signature, algorithm)
            .await
    }

    async fn generate_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
    ) -> Result<MacTag> {
        self.generate_mac_impl(key_id, key_version, message).await
    }

    async fn verify_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool> {
        self.verify_mac_impl(key_id, key_version, message, mac)
            .await
    }

    async fn get_public_key(&self, key_id: &str, key_version: Option<&str>) -> Result<PublicKey> {
        self.get_public_key_impl(key_id, key_version).await
    }

    async fn get_key_policy(&self, key_id: &str) -> Result<Policy> {
        let key = self.key_record(key_id).await?;
        let stored = self.store.policy(&key.id).await.map_err(|e| self.err(e))?;
        match stored {
            None => Ok(Policy::default()),
            Some(json) => policy::decode(&json).map_err(|e| {
                self.err(LocalError::Corrupt(format!(
                    "policy of key `{key_id}`: {e}"
                )))
            }),
        }
    }

    async fn set_key_policy(&self, key_id: &str, policy: Policy) -> Result<Policy> {
        let normalized = match &policy.native {
            Some(native) => policy::with_document(native)?,
            None => {
                validate::bindings(&policy.bindings)?;
                Policy::from_bindings(policy.normalized_bindings())
            }
        };
        let json = policy::encode(&normalized)
            .map_err(|e| self.err(LocalError::Corrupt(format!("policy encoding: {e}"))))?;
        if validate_name("key", key_id).is_err()
            || !self
                .store
                .set_policy(key_id, &json)
                .await
                .map_err(|e| self.err(e))?
        {
            return Err(not_found(key_id));
        }
        tracing::debug!(provider = %self.info.name, key = %key_id, bindings = normalized.bindings.len(),
            document = normalized.native.is_some(), "set policy");
        Ok(normalized)
    }

    /// One single-row read of the key store (the root-key check value).
    async fn probe(&self) -> Result<()> {
        self.store
            .root_check()
            .await
            .map(drop)
            .map_err(|e| self.err(e))
    }

    async fn due(&self, now: OffsetDateTime) -> Result<DueMaintenance> {
        self.due_impl(now).await
    }

    async fn rotate_due(&self, key_id: &str, now: OffsetDateTime) -> Result<Option<KeyVersion>> {
        self.rotate_due_impl(key_id, now).await
    }

    async fn destroy_due(&self, key_id: &str, now: OffsetDateTime) -> Result<bool> {
        self.destroy_due_impl(key_id, now).await
    }

    async fn destroy_due_version(
        &self,
        key_id: &str,
        version: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.destroy_due_version_impl(key_id, version, now).await
    }

    async fn mark_notified(&self, key_id: &str, version: &str) -> Result<bool> {
        self.mark_notified_impl(key_id, version).await
    }

    async fn expire_material_due(&self, key_id: &str, now: OffsetDateTime) -> Result<bool> {
        self.expire_material_due_impl(key_id, now).await
    }

    async fn import_parameters(
        &self,
        key_id: &str,
        algorithm: WrappingAlgorithm,
        wrapping_key: WrappingKeySpec,
    ) -> Result<ImportParameters> {
        self.import_parameters_impl(key_id, algorithm, wrapping_key)
            .await
    }

    async fn import_material(
        &self,
        key_id: &str,
        material: ImportedMaterial,
    ) -> Result<KeyMetadata> {
        self.import_material_impl(key_id, material).await
    }

    async fn delete_imported_material(&self, key_id: &str) -> Result<KeyMetadata> {
        self.delete_imported_material_impl(key_id).await
    }

    async fn enable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.version_op(key_id, version, Change::Enable).await
    }

    async fn disable_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.version_op(key_id, version, Change::Disable).await
    }

    async fn destroy_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.version_op(key_id, version, Change::Destroy).await
    }

    async fn restore_version(&self, key_id: &str, version: &str) -> Result<KeyVersion> {
        self.version_op(key_id, version, Change::Restore).await
    }

    async fn set_primary_version(&self, key_id: &str, version: &str) -> Result<KeyMetadata> {
        self.set_primary_impl(key_id, version).await
    }
}
