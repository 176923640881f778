//! The local provider: real cryptography (aws-lc-rs) over keys kept in SQLite, every key
//! version encrypted under a root key.
//!
//! - Key id = key name; versions are `1`, `2`, ...; version 1 is made with the key.
//! - Ciphertexts are self-describing (see [`ciphertext`]'s layout): `decrypt` needs no key id.
//! - Material is only ever stored wrapped (AES-256-GCM under the root key, bound to key id and
//!   version). A check value proves at open time that the root key is the right one.
//! - Key *state* is read from the store on every call, so a key disabled by another process
//!   is refused at once; parsed material, which never changes for a version, is cached.

mod builder;
mod ciphertext;
mod crypto;
mod error;
mod store;
mod validate;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use keygate_core::{
    Capabilities, Ciphertext, Clock, CreateKeyRequest, DataKey, DataKeySpec, DayRange,
    EncryptionAlgorithm, EncryptionContext, Error, KeyMetadata, KeyProvider, KeySpec, KeyState,
    KeyUpdate, KeyUsage, KeyVersion, ListKeysRequest, MacTag, Maintenance, Page, Policy,
    ProviderInfo, ProviderKind, PublicKey, Result, RotationSchedule, SecretBytes, Signature,
    SigningAlgorithm, VerifyMode, VersionState, validate_name,
};
use time::OffsetDateTime;

pub use builder::LocalBuilder;

use ciphertext::CtAlgorithm;
use crypto::{LoadedKey, RootKey};
use error::LocalError;
use store::{KeyRecord, LocalStore, VersionRecord};

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

    fn new(name: String, store: Arc<dyn LocalStore>, root: RootKey, clock: Arc<dyn Clock>) -> Self {
        Self {
            info: ProviderInfo {
                name,
                kind: ProviderKind::Local,
                uri_prefix: "local://".to_owned(),
            },
            caps: capabilities(),
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

    /// A version's parsed material; `None` when the version does not exist.
    async fn material(&self, key: &KeyRecord, version: u32) -> Result<Option<Arc<LoadedKey>>> {
        let cache_key = (key.id.clone(), version);
        if let Some(hit) = self
            .cache
            .read()
            .ok()
            .and_then(|c| c.get(&cache_key).cloned())
        {
            return Ok(Some(hit));
        }
        let Some(row) = self
            .store
            .version(&key.id, version)
            .await
            .map_err(|e| self.err(e))?
        else {
            return Ok(None);
        };
        let wrapped = match (&row.state, &row.material) {
            (VersionState::Destroyed, _) | (_, None) => {
                return Err(Error::state(format!(
                    "version {version} of key `{}` is destroyed",
                    key.id
                )));
            }
            (_, Some(m)) => m,
        };
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
        Ok(self.metadata(&key))
    }

    async fn rotate_at(
        &self,
        key_id: &str,
        now: OffsetDateTime,
        scheduled: bool,
    ) -> Result<Option<KeyVersion>> {
        let key = self.key_record(key_id).await?;
        if !scheduled {
            require_rotatable(&key)?;
        }
        let material = self.generate(key.spec).await?;
        let root = self.root.clone();
        let make =
            move |k: &mut KeyRecord, number: u32| -> std::result::Result<Vec<u8>, LocalError> {
                if scheduled {
                    let sched = match (k.state, k.rotation) {
                        (KeyState::Enabled, Some(s)) => s,
                        _ => return Err(LocalError::NotDue),
                    };
                    let next = sched.next_rotation.unwrap_or(now);
                    if next > now {
                        return Err(LocalError::NotDue);
                    }
                    k.rotation = Some(RotationSchedule {
                        period_days: sched.period_days,
                        next_rotation: Some(validate::next_after(next, sched.period_days, now)?),
                    });
                } else {
                    require_rotatable(k)?;
                }
                root.wrap(&k.id, number, &material)
            };
        match self.store.add_version(&key.id, now, &make).await {
            Ok(Some((_, v))) => {
                tracing::debug!(provider = %self.info.name, key = %key.id, version = v.version,
                    scheduled, "rotated key");
                Ok(Some(version_info(&v, v.version)))
            }
            Ok(None) => Err(not_found(key_id)),
            Err(LocalError::NotDue) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    async fn encrypt_with(
        &self,
        key: &KeyRecord,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        let (version, loaded) = self.primary(key).await?;
        let bad_header = || {
            self.err(LocalError::Corrupt(
                "cannot encode a ciphertext header".into(),
            ))
        };
        if let Some(aes) = loaded.aes() {
            if plaintext.len() > MAX_PLAINTEXT_BYTES {
                return Err(Error::invalid(format!(
                    "plaintext of {} bytes is larger than the {MAX_PLAINTEXT_BYTES} bytes a symmetric key encrypts",
                    plaintext.len()
                )));
            }
            let nonce = crypto::random_nonce().map_err(|e| self.err(e))?;
            let mut out =
                ciphertext::encode_header(CtAlgorithm::Aes256Gcm, &key.id, version, &nonce)
                    .ok_or_else(bad_header)?;
            let sealed = crypto::gcm_seal(aes, nonce, &ciphertext::aad(&out, context), plaintext)
                .map_err(|e| self.err(e))?;
            out.extend_from_slice(&sealed);
            return Ok(Ciphertext {
                bytes: out,
                key_version: version.to_string(),
                algorithm: EncryptionAlgorithm::SymmetricDefault,
            });
        }
        let max = loaded
            .oaep_max_plaintext()
            .ok_or_else(|| Error::state(format!("key `{}` cannot encrypt", key.id)))?;
        if plaintext.len() > max {
            return Err(Error::invalid(format!(
                "plaintext of {} bytes is larger than the {max} bytes RSA-OAEP-SHA256 takes with a {} key",
                plaintext.len(),
                key.spec
            )));
        }
        let mut out = ciphertext::encode_header(CtAlgorithm::RsaOaepSha256, &key.id, version, &[])
            .ok_or_else(bad_header)?;
        let body = loaded
            .oaep_encrypt(plaintext, &ciphertext::aad(&out, context))
            .map_err(|e| self.err(e))?;
        out.extend_from_slice(&body);
        Ok(Ciphertext {
            bytes: out,
            key_version: version.to_string(),
            algorithm: EncryptionAlgorithm::RsaOaepSha256,
        })
    }
}

fn capabilities() -> Capabilities {
    Capabilities {
        key_specs: KeySpec::ALL.to_vec(),
        rsa_encryption: true,
        deletion_window: DayRange::new(1, 30),
        rotation_period: Some(DayRange::new(1, 3650)),
        rotatable_specs: KeySpec::ALL.to_vec(),
        scheduled_rotation_specs: KeySpec::ALL.to_vec(),
        list_versions: true,
        asymmetric_context: true,
        max_plaintext_bytes: MAX_PLAINTEXT_BYTES,
        self_describing_ciphertext: true,
        verify: VerifyMode::Remote,
        key_policy: true,
        native_policy_format: None,
        labels: true,
        max_page_size: MAX_PAGE_SIZE,
    }
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

fn require_rotatable(key: &KeyRecord) -> std::result::Result<(), Error> {
    match key.state {
        KeyState::Enabled | KeyState::Disabled => Ok(()),
        state => Err(Error::state(format!(
            "key `{}` is {state} and cannot be rotated",
            key.id
        ))),
    }
}

fn version_info(v: &VersionRecord, primary: u32) -> KeyVersion {
    KeyVersion {
        id: v.version.to_string(),
        created: v.created,
        state: v.state,
        primary: v.version == primary,
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
        Ok(Page {
            items: rows.iter().map(|k| self.metadata(k)).collect(),
            next_cursor,
        })
    }

    async fn describe_key(&self, key_id: &str) -> Result<KeyMetadata> {
        let key = self.key_record(key_id).await?;
        Ok(self.metadata(&key))
    }

    async fn create_key(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        validate_name("key", &req.name)?;
        let usage = req.effective_usage()?;
        if !self.caps.key_specs.contains(&req.spec) {
            return Err(Error::unsupported(format!(
                "the local provider cannot create {} keys",
                req.spec
            )));
        }
        validate::description(&req.description)?;
        validate::labels(&req.labels)?;
        let now = self.clock.now();
        let rotation = match req.rotation {
            None => None,
            Some(s) => Some(self.schedule_from(s, now)?),
        };
        if self
            .store
            .key(&req.name)
            .await
            .map_err(|e| self.err(e))?
            .is_some()
        {
            return Err(Error::AlreadyExists(format!("key `{}`", req.name)));
        }
        let material = self.generate(req.spec).await?;
        let wrapped = self
            .root
            .wrap(&req.name, 1, &material)
            .map_err(|e| self.err(e))?;
        let key = KeyRecord {
            id: req.name.clone(),
            spec: req.spec,
            usage,
            state: KeyState::Enabled,
            primary_version: 1,
            rotation,
            description: req.description,
            labels: req.labels,
            created: now,
        };
        let first = VersionRecord {
            version: 1,
            state: VersionState::Enabled,
            created: now,
            material: Some(wrapped),
        };
        match self.store.insert_key(&key, &first).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {
                return Err(Error::AlreadyExists(format!("key `{}`", req.name)));
            }
            Err(e) => return Err(self.err(e)),
        }
        tracing::debug!(provider = %self.info.name, key = %key.id, spec = %key.spec, "created key");
        Ok(self.metadata(&key))
    }

    async fn update_key(&self, key_id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        if let Some(d) = &update.description {
            validate::description(d)?;
        }
        validate::labels(&update.set_labels)?;
        self.change_key(key_id, &|k| {
            if k.state == KeyState::Destroyed {
                return Err(Error::state(format!("key `{}` is destroyed", k.id)).into());
            }
            if let Some(d) = &update.description {
                k.description.clone_from(d);
            }
            validate::apply_labels(&mut k.labels, &update.set_labels, &update.remove_labels);
            Ok(())
        })
        .await
    }

    async fn enable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::Enabled | KeyState::Disabled => {
                    k.state = KeyState::Enabled;
                    Ok(())
                }
                state => Err(Error::state(format!(
                    "key `{}` is {state}; only a disabled key can be enabled (cancel the deletion first)",
                    k.id
                ))
                .into()),
            })
            .await?;
        tracing::debug!(provider = %self.info.name, key = %key_id, "enabled key");
        Ok(meta)
    }

    async fn disable_key(&self, key_id: &str) -> Result<KeyMetadata> {
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::Enabled | KeyState::Disabled => {
                    k.state = KeyState::Disabled;
                    Ok(())
                }
                state => Err(Error::state(format!("key `{}` is {state}", k.id)).into()),
            })
            .await?;
        tracing::debug!(provider = %self.info.name, key = %key_id, "disabled key");
        Ok(meta)
    }

    async fn schedule_deletion(&self, key_id: &str, pending_days: u32) -> Result<KeyMetadata> {
        let window = self.caps.deletion_window;
        if !window.contains(pending_days) {
            return Err(Error::invalid(format!(
                "the deletion waiting period must be {window}, got {pending_days}"
            )));
        }
        let deletion_date = validate::add_days(self.clock.now(), pending_days)?;
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::Enabled | KeyState::Disabled => {
                    k.state = KeyState::PendingDeletion { deletion_date };
                    Ok(())
                }
                state => Err(Error::state(format!("key `{}` is already {state}", k.id)).into()),
            })
            .await?;
        tracing::debug!(provider = %self.info.name, key = %key_id, %deletion_date, "scheduled key deletion");
        Ok(meta)
    }

    async fn cancel_deletion(&self, key_id: &str) -> Result<KeyMetadata> {
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::PendingDeletion { .. } => {
                    k.state = KeyState::Disabled;
                    Ok(())
                }
                state => Err(Error::state(format!(
                    "key `{}` is {state}, not pending deletion",
                    k.id
                ))
                .into()),
            })
            .await?;
        tracing::debug!(provider = %self.info.name, key = %key_id, "cancelled key deletion");
        Ok(meta)
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

    async fn rotate_now(&self, key_id: &str) -> Result<KeyVersion> {
        self.rotate_at(key_id, self.clock.now(), false)
            .await?
            .ok_or_else(|| Error::state(format!("key `{key_id}` could not be rotated")))
    }

    async fn get_rotation_schedule(&self, key_id: &str) -> Result<Option<RotationSchedule>> {
        Ok(self.key_record(key_id).await?.rotation)
    }

    async fn set_rotation_schedule(
        &self,
        key_id: &str,
        schedule: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        let schedule = match schedule {
            None => None,
            Some(s) => Some(self.schedule_from(s, self.clock.now())?),
        };
        let meta = self
            .change_key(key_id, &|k| match k.state {
                KeyState::Enabled | KeyState::Disabled => {
                    k.rotation = schedule;
                    Ok(())
                }
                state => Err(Error::state(format!(
                    "key `{}` is {state}; its rotation cannot change",
                    k.id
                ))
                .into()),
            })
            .await?;
        Ok(meta.rotation)
    }

    async fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        tracing::debug!(provider = %self.info.name, key = %key_id, "encrypt");
        let key = self
            .usable_key(key_id, KeyUsage::Encrypt, "encrypt")
            .await?;
        self.encrypt_with(&key, plaintext, context).await
    }

    async fn decrypt(
        &self,
        key_id: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        tracing::debug!(provider = %self.info.name, key = ?key_id, "decrypt");
        let named = match key_id {
            Some(id) => Some(self.key_record(id).await?),
            None => None,
        };
        let parsed = ciphertext::parse(ciphertext).ok_or(Error::IntegrityFailure)?;
        let key = match named {
            Some(key) if key.id == parsed.key_id => key,
            Some(_) => return Err(Error::IntegrityFailure),
            None => self
                .store
                .key(parsed.key_id)
                .await
                .map_err(|e| self.err(e))?
                .ok_or(Error::IntegrityFailure)?,
        };
        require_usable(&key, KeyUsage::Encrypt, "decrypt")?;
        let expected = if key.spec == KeySpec::Aes256 {
            CtAlgorithm::Aes256Gcm
        } else {
            CtAlgorithm::RsaOaepSha256
        };
        if parsed.alg != expected {
            return Err(Error::IntegrityFailure);
        }
        let loaded = self
            .material(&key, parsed.version)
            .await?
            .ok_or(Error::IntegrityFailure)?;
        let aad = ciphertext::aad(parsed.header, context);
        let plain = match parsed.alg {
            CtAlgorithm::Aes256Gcm => loaded
                .aes()
                .and_then(|aes| crypto::gcm_open(aes, parsed.nonce, &aad, parsed.body)),
            CtAlgorithm::RsaOaepSha256 => loaded.oaep_decrypt(parsed.body, &aad),
        };
        plain.ok_or(Error::IntegrityFailure)
    }

    async fn generate_data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        tracing::debug!(provider = %self.info.name, key = %key_id, "generate data key");
        let key = self
            .usable_key(key_id, KeyUsage::Encrypt, "generate data keys")
            .await?;
        let plaintext = crypto::random_secret(spec.len()).map_err(|e| self.err(e))?;
        let ct = self.encrypt_with(&key, &plaintext, context).await?;
        Ok(DataKey {
            plaintext,
            ciphertext: ct.bytes,
            key_version: ct.key_version,
        })
    }

    async fn sign(
        &self,
        key_id: &str,
        message: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        tracing::debug!(provider = %self.info.name, key = %key_id, %algorithm, "sign");
        let key = self.usable_key(key_id, KeyUsage::Sign, "sign").await?;
        check_algorithm(&key, algorithm)?;
        let (version, loaded) = self.primary(&key).await?;
        let bytes = loaded.sign(message, algorithm).map_err(|e| self.err(e))?;
        Ok(Signature {
            bytes,
            key_version: version.to_string(),
            algorithm,
        })
    }

    async fn verify(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        tracing::debug!(provider = %self.info.name, key = %key_id, %algorithm, "verify");
        let key = self.usable_key(key_id, KeyUsage::Sign, "verify").await?;
        check_algorithm(&key, algorithm)?;
        let loaded = self.version_material(&key, key_version).await?;
        Ok(loaded.verify(message, signature, algorithm))
    }

    async fn generate_mac(&self, key_id: &str, message: &[u8]) -> Result<MacTag> {
        tracing::debug!(provider = %self.info.name, key = %key_id, "generate mac");
        let key = self
            .usable_key(key_id, KeyUsage::Mac, "compute MACs")
            .await?;
        let algorithm = key
            .spec
            .mac_algorithm()
            .ok_or_else(|| Error::state(format!("key `{key_id}` is not an HMAC key")))?;
        let (version, loaded) = self.primary(&key).await?;
        let bytes = loaded
            .mac(message)
            .ok_or_else(|| Error::state(format!("key `{key_id}` is not an HMAC key")))?;
        Ok(MacTag {
            bytes,
            key_version: version.to_string(),
            algorithm,
        })
    }

    async fn verify_mac(&self, key_id: &str, message: &[u8], mac: &[u8]) -> Result<bool> {
        tracing::debug!(provider = %self.info.name, key = %key_id, "verify mac");
        let key = self
            .usable_key(key_id, KeyUsage::Mac, "verify MACs")
            .await?;
        let (_, primary) = self.primary(&key).await?;
        if primary.verify_mac(message, mac) {
            return Ok(true);
        }
        let versions = self
            .store
            .versions(&key.id)
            .await
            .map_err(|e| self.err(e))?;
        for v in versions.iter().rev() {
            if v.version == key.primary_version || v.state != VersionState::Enabled {
                continue;
            }
            if let Some(m) = self.material(&key, v.version).await?
                && m.verify_mac(message, mac)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn get_public_key(&self, key_id: &str, key_version: Option<&str>) -> Result<PublicKey> {
        let key = self.key_record(key_id).await?;
        if !key.spec.is_asymmetric() {
            return Err(Error::state(format!(
                "key `{key_id}` is a {} key and has no public key",
                key.spec
            )));
        }
        if !key.state.is_usable() {
            return Err(Error::state(format!("key `{key_id}` is {}", key.state)));
        }
        let version = match key_version {
            None => key.primary_version,
            Some(v) => validate::version_number(v).ok_or_else(|| version_not_found(key_id, v))?,
        };
        let loaded = self
            .material(&key, version)
            .await?
            .ok_or_else(|| version_not_found(key_id, &version.to_string()))?;
        let der = loaded
            .spki()
            .ok_or_else(|| Error::state(format!("key `{key_id}` has no public key")))?
            .to_vec();
        Ok(PublicKey {
            der,
            key_version: version.to_string(),
            spec: key.spec,
        })
    }

    async fn get_policy(&self, key_id: &str) -> Result<Policy> {
        let key = self.key_record(key_id).await?;
        let stored = self.store.policy(&key.id).await.map_err(|e| self.err(e))?;
        let bindings = match stored {
            None => Vec::new(),
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                self.err(LocalError::Corrupt(format!(
                    "policy of key `{key_id}`: {e}"
                )))
            })?,
        };
        Ok(Policy::from_bindings(bindings))
    }

    async fn set_policy(&self, key_id: &str, policy: Policy) -> Result<Policy> {
        if policy.native.is_some() {
            return Err(Error::unsupported(
                "the local provider has no native policy format; set the bindings instead",
            ));
        }
        validate::bindings(&policy.bindings)?;
        let normalized = Policy::from_bindings(policy.normalized_bindings());
        let json = serde_json::to_string(&normalized.bindings)
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
        tracing::debug!(provider = %self.info.name, key = %key_id, bindings = normalized.bindings.len(), "set policy");
        Ok(normalized)
    }

    async fn tick(&self, now: OffsetDateTime) -> Result<Maintenance> {
        let mut done = Maintenance::default();
        let due = self
            .store
            .due_rotations(now)
            .await
            .map_err(|e| self.err(e))?;
        for id in due {
            match self.rotate_at(&id, now, true).await {
                Ok(Some(v)) => done.rotated.push((id, v.id)),
                Ok(None) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let expired = self
            .store
            .due_deletions(now)
            .await
            .map_err(|e| self.err(e))?;
        for id in expired {
            if self
                .store
                .destroy_key(&id, now)
                .await
                .map_err(|e| self.err(e))?
            {
                self.forget(&id);
                tracing::info!(provider = %self.info.name, key = %id, "destroyed key material");
                done.destroyed.push(id);
            }
        }
        Ok(done)
    }
}

impl LocalProvider {
    fn schedule_from(&self, s: RotationSchedule, now: OffsetDateTime) -> Result<RotationSchedule> {
        let bounds = self
            .caps
            .rotation_period
            .ok_or_else(|| Error::unsupported("automatic rotation"))?;
        if !bounds.contains(s.period_days) {
            return Err(Error::invalid(format!(
                "the rotation period must be {bounds}, got {}",
                s.period_days
            )));
        }
        let next = match s.next_rotation {
            Some(t) => t,
            None => validate::add_days(now, s.period_days)?,
        };
        Ok(RotationSchedule {
            period_days: s.period_days,
            next_rotation: Some(next),
        })
    }

    /// The material of `version` (default: primary); `NotFound` for an unknown version.
    async fn version_material(
        &self,
        key: &KeyRecord,
        version: Option<&str>,
    ) -> Result<Arc<LoadedKey>> {
        let number = match version {
            None => key.primary_version,
            Some(v) => validate::version_number(v).ok_or_else(|| version_not_found(&key.id, v))?,
        };
        self.material(key, number)
            .await?
            .ok_or_else(|| version_not_found(&key.id, &number.to_string()))
    }
}

fn version_not_found(key_id: &str, version: &str) -> Error {
    Error::not_found(format!("version `{version}` of key `{key_id}`"))
}

fn check_algorithm(key: &KeyRecord, algorithm: SigningAlgorithm) -> Result<()> {
    if key.spec.signing_algorithms().contains(&algorithm) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{algorithm} does not fit a {} key (use {})",
            key.spec,
            key.spec
                .signing_algorithms()
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        )))
    }
}
