//! Imported key material in the local provider (keys of origin `external`).
//!
//! - A key of imported material keeps its material as version 1, wrapped under the root key
//!   like generated material; while it has none, version 1 is `destroyed` and the key
//!   `pending_import`.
//! - The wrapping key pair of each `import_parameters` call lives only inside its import
//!   token: the token is the pair's PKCS#8, the wrapping algorithm and the token's expiry,
//!   sealed (AES-256-GCM) under the root key with the key id as associated data. Nothing is
//!   stored, so any process sharing the store and the root key accepts it, and a token made
//!   for one key opens for no other.
//! - The first import records the SHA-256 of the material, sealed under the root key; every
//!   later import must bring the same material (AWS: `IncorrectKeyMaterialException`).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeySize, PrivateDecryptingKey};
use keygate_core::import::{PARAMETERS_VALIDITY, unwrap_material};
use keygate_core::{
    CreateKeyRequest, Error, ImportFault, ImportInfo, ImportParameters, ImportedMaterial,
    KeyMetadata, KeySpec, KeyState, Result, SecretBytes, VersionState, WrappingAlgorithm,
    WrappingKeySpec,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::crypto::{self, LoadedKey, NONCE_LEN, RootKey, TAG_LEN};
use super::error::LocalError;
use super::store::{ImportRecord, ImportStore, KeyRecord, VersionRecord};
use super::{LocalProvider, not_found};

const TOKEN_FORMAT: u8 = 1;
const TOKEN_AAD: &[u8] = b"keygate/local/import-token/v1";
const CHECK_AAD: &[u8] = b"keygate/local/import-check/v1";

fn aad(domain: &[u8], key_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(domain.len() + 4 + key_id.len());
    aad.extend_from_slice(domain);
    aad.extend_from_slice(
        &u32::try_from(key_id.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

fn seal(root: &RootKey, domain: &[u8], key_id: &str, plain: &[u8]) -> Result<Vec<u8>, LocalError> {
    let nonce = crypto::random_nonce()?;
    let sealed = crypto::gcm_seal(&root.key, nonce, &aad(domain, key_id), plain)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(TOKEN_FORMAT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open(root: &RootKey, domain: &[u8], key_id: &str, sealed: &[u8]) -> Option<SecretBytes> {
    let (&format, rest) = sealed.split_first()?;
    if format != TOKEN_FORMAT || rest.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    crypto::gcm_open(&root.key, nonce, &aad(domain, key_id), body)
}

fn rsa_size(spec: WrappingKeySpec) -> KeySize {
    match spec {
        WrappingKeySpec::Rsa2048 => KeySize::Rsa2048,
        WrappingKeySpec::Rsa3072 => KeySize::Rsa3072,
        _ => KeySize::Rsa4096,
    }
}

/// Checks that `material` is what a key of `key`'s spec holds: 32 bytes for AES-256, AWS's
/// lengths for HMAC keys, a PKCS#8 private key of the right type and size otherwise.
fn check_material(key: &KeyRecord, material: &[u8]) -> Result<()> {
    let wrong = |what: String| Error::invalid(format!("the imported material {what}"));
    let hmac = |min: usize, max: usize| {
        if (min..=max).contains(&material.len()) {
            Ok(())
        } else {
            Err(wrong(format!(
                "of a {} key must be {min} to {max} bytes, not {}",
                key.spec,
                material.len()
            )))
        }
    };
    match key.spec {
        KeySpec::Aes256 if material.len() != 32 => {
            return Err(wrong(format!(
                "of an AES_256 key must be 32 bytes, not {}",
                material.len()
            )));
        }
        KeySpec::HmacSha256 => hmac(32, 64)?,
        KeySpec::HmacSha384 => hmac(48, 128)?,
        KeySpec::HmacSha512 => hmac(64, 128)?,
        s if s.is_rsa() => {
            let size = PrivateDecryptingKey::from_pkcs8(material)
                .map_err(|_| wrong("is not an RSA private key in PKCS#8 DER".into()))?
                .key_size_bytes();
            if Some(size) != crypto::rsa_modulus_len(s) {
                return Err(wrong(format!(
                    "is an RSA key of {} bits, not {s}",
                    size * 8
                )));
            }
        }
        _ => {}
    }
    LoadedKey::load(key.spec, key.usage, material)
        .map(drop)
        .map_err(|_| wrong(format!("is not a {} private key in PKCS#8 DER", key.spec)))
}

impl LocalProvider {
    fn imports(&self) -> Result<&dyn ImportStore> {
        self.store
            .imports()
            .ok_or_else(|| Error::unsupported("this key store keeps no imported key material"))
    }

    /// The key and its import row; `Unsupported` for a key whose material keygate made.
    async fn external_key(&self, key_id: &str) -> Result<(KeyRecord, ImportRecord)> {
        let key = self.key_record(key_id).await?;
        let import = self
            .imports()?
            .import_record(&key.id)
            .await
            .map_err(|e| self.err(e))?
            .ok_or_else(|| {
                Error::unsupported(format!(
                    "key `{key_id}` was created with origin generated; only keys of origin \
                     external take imported material"
                ))
            })?;
        Ok((key, import))
    }

    /// `meta` with its import information, when the key is of imported material.
    pub(super) async fn with_import(&self, mut meta: KeyMetadata) -> Result<KeyMetadata> {
        if let Some(store) = self.store.imports() {
            meta.import = store
                .import_record(&meta.id)
                .await
                .map_err(|e| self.err(e))?
                .as_ref()
                .map(import_info);
        }
        Ok(meta)
    }

    /// The import information of every key of imported material in `page`.
    pub(super) async fn with_imports(&self, page: &mut [KeyMetadata]) -> Result<()> {
        let Some(store) = self.store.imports() else {
            return Ok(());
        };
        let records = store.import_records().await.map_err(|e| self.err(e))?;
        for meta in page {
            meta.import = records
                .iter()
                .find(|r| r.key_id == meta.id)
                .map(import_info);
        }
        Ok(())
    }

    /// True when `key_id` is a key of imported material.
    pub(super) async fn is_external(&self, key_id: &str) -> Result<bool> {
        match self.store.imports() {
            None => Ok(false),
            Some(store) => Ok(store
                .import_record(key_id)
                .await
                .map_err(|e| self.err(e))?
                .is_some()),
        }
    }

    /// Creates a key of origin external: no material, `pending_import`.
    pub(super) async fn create_external(
        &self,
        req: &CreateKeyRequest,
        key: KeyRecord,
    ) -> Result<KeyMetadata> {
        if req.rotation.is_some() {
            return Err(Error::unsupported(
                "keys of imported material have no automatic rotation",
            ));
        }
        let key = KeyRecord {
            state: KeyState::PendingImport,
            ..key
        };
        let first = VersionRecord {
            version: 1,
            state: VersionState::Destroyed,
            created: key.created,
            destroy_time: None,
            rotation: None,
            material: None,
        };
        match self.imports()?.insert_external_key(&key, &first).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {
                return Err(Error::AlreadyExists(format!("key `{}`", key.id)));
            }
            Err(e) => return Err(self.err(e)),
        }
        tracing::debug!(provider = %self.info.name, key = %key.id, spec = %key.spec, "created key for imported material");
        let mut meta = self.metadata(&key);
        meta.import = Some(ImportInfo {
            expiration_model: None,
            valid_to: None,
        });
        Ok(meta)
    }

    pub(super) async fn import_parameters_impl(
        &self,
        key_id: &str,
        algorithm: WrappingAlgorithm,
        wrapping_key: WrappingKeySpec,
    ) -> Result<ImportParameters> {
        let (key, _) = self.external_key(key_id).await?;
        if matches!(
            key.state,
            KeyState::PendingDeletion { .. } | KeyState::Destroyed
        ) {
            return Err(Error::state(format!(
                "key `{key_id}` is {} and takes no key material",
                key.state
            )));
        }
        let private = tokio::task::spawn_blocking(move || {
            PrivateDecryptingKey::generate(rsa_size(wrapping_key))
        })
        .await
        .map_err(|_| self.err(LocalError::Crypto("key generation task failed")))?
        .map_err(|_| self.err(LocalError::Crypto("RSA keygen")))?;
        let public_key = private
            .public_key()
            .as_der()
            .map_err(|_| self.err(LocalError::Crypto("SPKI encoding")))?
            .as_ref()
            .to_vec();
        let pkcs8 = private
            .as_der()
            .map_err(|_| self.err(LocalError::Crypto("PKCS#8 encoding")))?;
        let valid_to = self.clock.now() + PARAMETERS_VALIDITY;
        let mut plain = Zeroizing::new(Vec::with_capacity(9 + pkcs8.as_ref().len()));
        plain.extend_from_slice(&valid_to.unix_timestamp().to_be_bytes());
        plain.push(algorithm.code());
        plain.extend_from_slice(pkcs8.as_ref());
        let import_token = seal(&self.root, TOKEN_AAD, &key.id, &plain).map_err(|e| self.err(e))?;
        Ok(ImportParameters {
            key_id: key.id,
            public_key,
            import_token,
            algorithm,
            valid_to,
        })
    }

    pub(super) async fn import_material_impl(
        &self,
        key_id: &str,
        m: ImportedMaterial,
    ) -> Result<KeyMetadata> {
        let (key, import) = self.external_key(key_id).await?;
        if key.state != KeyState::PendingImport {
            return Err(Error::state(format!(
                "key `{key_id}` is {}; material is imported into a key pending import",
                key.state
            )));
        }
        let now = self.clock.now();
        let invalid = || {
            Error::import_rejected(
                ImportFault::InvalidToken,
                "the import token is not one issued for this key",
            )
        };
        let token = open(&self.root, TOKEN_AAD, &key.id, &m.import_token).ok_or_else(invalid)?;
        if token.len() < 10 {
            return Err(invalid());
        }
        let (head, pkcs8) = token.split_at(9);
        let mut secs = [0u8; 8];
        secs.copy_from_slice(&head[..8]);
        let algorithm = WrappingAlgorithm::from_code(head[8]).ok_or_else(invalid)?;
        if i64::from_be_bytes(secs) < now.unix_timestamp() {
            return Err(Error::import_rejected(
                ImportFault::ExpiredToken,
                "the import token has expired; get new import parameters",
            ));
        }
        m.check_valid_to(now)?;
        let material = unwrap_material(pkcs8, algorithm, &m.encrypted_material)?;
        check_material(&key, &material)?;
        let fingerprint = digest(&SHA256, &material);
        let first_check = match &import.material_check {
            Some(sealed) => {
                let same = open(&self.root, CHECK_AAD, &key.id, sealed).is_some_and(|prior| {
                    verify_slices_are_equal(&prior, fingerprint.as_ref()).is_ok()
                });
                if !same {
                    return Err(Error::import_rejected(
                        ImportFault::IncorrectMaterial,
                        "the key material differs from the material this key had before",
                    ));
                }
                None
            }
            None => Some(
                seal(&self.root, CHECK_AAD, &key.id, fingerprint.as_ref())
                    .map_err(|e| self.err(e))?,
            ),
        };
        let wrapped = self
            .root
            .wrap(&key.id, 1, &material)
            .map_err(|e| self.err(e))?;
        let valid_to = m.valid_to;
        let change = move |k: &mut KeyRecord, v: &mut VersionRecord, r: &mut ImportRecord| {
            if k.state != KeyState::PendingImport {
                return Err(LocalError::Core(Error::state(format!(
                    "key `{}` is {}; material is imported into a key pending import",
                    k.id, k.state
                ))));
            }
            if r.material_check.is_none() {
                r.material_check.clone_from(&first_check);
            }
            r.expires = Some(valid_to.is_some());
            r.valid_to = valid_to;
            v.state = VersionState::Enabled;
            v.material = Some(wrapped.clone());
            k.state = KeyState::Enabled;
            Ok(())
        };
        let (key, import) = self
            .imports()?
            .update_import(key_id, &change)
            .await
            .map_err(|e| self.err(e))?
            .ok_or_else(|| not_found(key_id))?;
        self.forget(key_id);
        tracing::info!(provider = %self.info.name, key = %key_id, "imported key material");
        let mut meta = self.metadata(&key);
        meta.import = Some(import_info(&import));
        Ok(meta)
    }

    pub(super) async fn delete_imported_material_impl(&self, key_id: &str) -> Result<KeyMetadata> {
        self.external_key(key_id).await?;
        let change = |k: &mut KeyRecord, v: &mut VersionRecord, r: &mut ImportRecord| {
            match k.state {
                KeyState::Enabled | KeyState::Disabled | KeyState::PendingImport => {}
                state => {
                    return Err(LocalError::Core(Error::state(format!(
                        "key `{}` is {state}; its material cannot be deleted",
                        k.id
                    ))));
                }
            }
            erase(k, v, r);
            Ok(())
        };
        let meta = self.update_material(key_id, &change).await?;
        tracing::info!(provider = %self.info.name, key = %key_id, "deleted imported key material");
        Ok(meta)
    }

    /// Keys whose imported material expired at `now` and still has it.
    pub(super) async fn due_material_expirations(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<String>> {
        let Some(store) = self.store.imports() else {
            return Ok(Vec::new());
        };
        let mut due = Vec::new();
        for r in store.import_records().await.map_err(|e| self.err(e))? {
            if r.valid_to.is_some_and(|t| t <= now) {
                due.push(r.key_id);
            }
        }
        Ok(due)
    }

    /// Deletes `key_id`'s imported material when its `valid_to` is at or before `now`
    /// (checked again with the key locked).
    pub(super) async fn expire_material_due_impl(
        &self,
        key_id: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        if self.store.imports().is_none() {
            return Ok(false);
        }
        let change = |k: &mut KeyRecord, v: &mut VersionRecord, r: &mut ImportRecord| {
            if r.valid_to.is_none_or(|t| t > now) {
                return Err(LocalError::NotDue);
            }
            erase(k, v, r);
            Ok(())
        };
        match self.update_material(key_id, &change).await {
            Ok(_) => {
                tracing::info!(provider = %self.info.name, key = %key_id, "imported key material expired");
                Ok(true)
            }
            Err(e) if e.kind() == keygate_core::ErrorKind::InvalidState => Ok(false),
            Err(Error::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn update_material(
        &self,
        key_id: &str,
        change: &super::store::ImportChange<'_>,
    ) -> Result<KeyMetadata> {
        let result = self.imports()?.update_import(key_id, change).await;
        let (key, import) = match result {
            Ok(Some(found)) => found,
            Ok(None) => return Err(not_found(key_id)),
            Err(LocalError::NotDue) => {
                return Err(Error::state(format!(
                    "key `{key_id}`'s material is not due"
                )));
            }
            Err(e) => return Err(self.err(e)),
        };
        self.forget(key_id);
        let mut meta = self.metadata(&key);
        meta.import = Some(import_info(&import));
        Ok(meta)
    }
}

/// Takes the material away: the key waits for it again.
fn erase(k: &mut KeyRecord, v: &mut VersionRecord, r: &mut ImportRecord) {
    if matches!(k.state, KeyState::Enabled | KeyState::Disabled) {
        k.state = KeyState::PendingImport;
    }
    v.state = VersionState::Destroyed;
    v.material = None;
    r.expires = None;
    r.valid_to = None;
}

fn import_info(r: &ImportRecord) -> ImportInfo {
    ImportInfo {
        expiration_model: r.expires.map(|e| {
            if e {
                keygate_core::ExpirationModel::KeyMaterialExpires
            } else {
                keygate_core::ExpirationModel::KeyMaterialDoesNotExpire
            }
        }),
        valid_to: r.valid_to,
    }
}
