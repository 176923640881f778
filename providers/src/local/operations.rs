//! Cryptographic operations of the local provider: encrypt, decrypt, data keys, signatures,
//! MACs and public keys.

use std::sync::Arc;

use keygate_core::{
    Ciphertext, DataKey, DataKeySpec, EncryptionAlgorithm, EncryptionContext, Error, KeySpec,
    KeyUsage, MacTag, PublicKey, Result, SecretBytes, Signature, SigningAlgorithm, VersionState,
};

use super::ciphertext::{self, CtAlgorithm};
use super::crypto::{self, LoadedKey};
use super::error::LocalError;
use super::store::KeyRecord;
use super::validate;
use super::{LocalProvider, MAX_PLAINTEXT_BYTES, require_usable};
use crate::digest::{Signed, SignedExt as _};

impl LocalProvider {
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

    pub(super) async fn encrypt_impl(
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

    pub(super) async fn decrypt_impl(
        &self,
        key_id: Option<&str>,
        key_version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        tracing::debug!(provider = %self.info.name, key = ?key_id, version = ?key_version, "decrypt");
        let named = match key_id {
            Some(id) => Some(self.key_record(id).await?),
            None if key_version.is_some() => {
                return Err(Error::invalid(
                    "decrypt: a key version can only be named together with its key",
                ));
            }
            None => None,
        };
        // A self-describing ciphertext is a header longer than the modulus, so a named RSA
        // key's modulus length marks a raw one made with the public key alone.
        if let Some(key) = &named
            && crypto::rsa_modulus_len(key.spec) == Some(ciphertext.len())
        {
            return self
                .decrypt_raw_oaep(key, key_version, ciphertext, context)
                .await;
        }
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
        if let Some(named) = key_version
            && validate::version_number(named) != Some(parsed.version)
        {
            // The ciphertext says which version sealed it: naming another is a mistake.
            return Err(Error::invalid(format!(
                "decrypt: the ciphertext was made by version {} of key `{}`, not version {named}",
                parsed.version, key.id
            )));
        }
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

    /// Decrypts a raw RSAES-OAEP ciphertext (SHA-256, MGF1-SHA-256, empty label), as a
    /// client makes with [`get_public_key`](keygate_core::KeyProvider::get_public_key) alone.
    /// It names no version, so the primary and then every other enabled version is tried.
    async fn decrypt_raw_oaep(
        &self,
        key: &KeyRecord,
        version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        require_usable(key, KeyUsage::Encrypt, "decrypt")?;
        if !context.is_empty() {
            return Err(Error::invalid(
                "a ciphertext made with the public key carries no encryption context: decrypt it without one",
            ));
        }
        if version.is_some() {
            let (_, loaded) = self.version_material(key, version).await?;
            return loaded
                .oaep_decrypt(ciphertext, &[])
                .ok_or(Error::IntegrityFailure);
        }
        self.first_version(key, |m| m.oaep_decrypt(ciphertext, &[]))
            .await?
            .ok_or(Error::IntegrityFailure)
    }

    /// The first `Some` that `attempt` gives for the primary version, then for the other
    /// enabled versions, newest first: for inputs that do not say which version made them.
    /// Versions that are not enabled are skipped; when none is enabled, the primary's state
    /// is the error.
    pub(super) async fn first_version<T>(
        &self,
        key: &KeyRecord,
        attempt: impl Fn(&LoadedKey) -> Option<T>,
    ) -> Result<Option<T>> {
        let versions = self
            .store
            .versions(&key.id)
            .await
            .map_err(|e| self.err(e))?;
        // The primary first, then the others newest first; only enabled versions.
        let mut order: Vec<u32> = Vec::with_capacity(versions.len());
        for v in versions.iter().rev() {
            if v.state != VersionState::Enabled {
                continue;
            }
            if v.version == key.primary_version {
                order.insert(0, v.version);
            } else {
                order.push(v.version);
            }
        }
        if order.is_empty() {
            // Nothing could match: say why, as a named version would.
            self.primary(key).await.map(drop)?;
        }
        for number in order {
            if let Some(m) = self.material(key, number).await?
                && let Some(found) = attempt(&m)
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    pub(super) async fn generate_data_key_impl(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        tracing::debug!(provider = %self.info.name, key = %key_id, "generate data key");
        let key = self
            .usable_key(key_id, KeyUsage::Encrypt, "generate data keys")
            .await?;
        self.caps.check_data_key(spec, &self.info.name)?;
        let plaintext = crypto::random_secret(spec.len()).map_err(|e| self.err(e))?;
        let ct = self.encrypt_with(&key, &plaintext, context).await?;
        Ok(DataKey {
            plaintext,
            ciphertext: ct.bytes,
            key_version: ct.key_version,
        })
    }

    /// Signs a message or a precomputed digest with the primary version: the same checks, in
    /// the contract's order, and the same signature either way.
    pub(super) async fn sign_impl(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: Signed<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        tracing::debug!(provider = %self.info.name, key = %key_id, %algorithm, over = input.kind(), "sign");
        let key = self.usable_key(key_id, KeyUsage::Sign, "sign").await?;
        check_algorithm(&key, algorithm)?;
        let input = input.prepare(algorithm)?;
        let (version, loaded) = self.version_material(&key, key_version).await?;
        let bytes = loaded.sign(&input, algorithm).map_err(|e| self.err(e))?;
        Ok(Signature {
            bytes,
            key_version: version.to_string(),
            algorithm,
        })
    }

    /// Verifies a signature over a message or a precomputed digest.
    pub(super) async fn verify_impl(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: Signed<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        tracing::debug!(provider = %self.info.name, key = %key_id, %algorithm, over = input.kind(), "verify");
        let key = self.usable_key(key_id, KeyUsage::Sign, "verify").await?;
        check_algorithm(&key, algorithm)?;
        let input = input.prepare(algorithm)?;
        let (_, loaded) = self.version_material(&key, key_version).await?;
        Ok(loaded.verify(&input, signature, algorithm))
    }

    pub(super) async fn generate_mac_impl(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
    ) -> Result<MacTag> {
        tracing::debug!(provider = %self.info.name, key = %key_id, "generate mac");
        let key = self
            .usable_key(key_id, KeyUsage::Mac, "compute MACs")
            .await?;
        let algorithm = key
            .spec
            .mac_algorithm()
            .ok_or_else(|| Error::state(format!("key `{key_id}` is not an HMAC key")))?;
        let (version, loaded) = self.version_material(&key, key_version).await?;
        let bytes = loaded
            .mac(message)
            .ok_or_else(|| Error::state(format!("key `{key_id}` is not an HMAC key")))?;
        Ok(MacTag {
            bytes,
            key_version: version.to_string(),
            algorithm,
        })
    }

    pub(super) async fn verify_mac_impl(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool> {
        tracing::debug!(provider = %self.info.name, key = %key_id, "verify mac");
        let key = self
            .usable_key(key_id, KeyUsage::Mac, "verify MACs")
            .await?;
        if key_version.is_some() {
            let (_, loaded) = self.version_material(&key, key_version).await?;
            return Ok(loaded.verify_mac(message, mac));
        }
        let found = self
            .first_version(&key, |m| m.verify_mac(message, mac).then_some(()))
            .await?;
        Ok(found.is_some())
    }

    pub(super) async fn get_public_key_impl(
        &self,
        key_id: &str,
        key_version: Option<&str>,
    ) -> Result<PublicKey> {
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
        let (version, loaded) = self.version_material(&key, key_version).await?;
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

    /// The material of `version` (default: primary); `NotFound` for an unknown version.
    pub(super) async fn version_material(
        &self,
        key: &KeyRecord,
        version: Option<&str>,
    ) -> Result<(u32, Arc<LoadedKey>)> {
        let number = match version {
            None => key.primary_version,
            Some(v) => validate::version_number(v).ok_or_else(|| version_not_found(&key.id, v))?,
        };
        let loaded = self
            .material(key, number)
            .await?
            .ok_or_else(|| version_not_found(&key.id, &number.to_string()))?;
        Ok((number, loaded))
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
