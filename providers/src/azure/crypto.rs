//! Cryptography: RSA-OAEP-256 encryption in the vault, keygate's envelope for AES_256 keys of
//! a vault (see `envelope.rs`), `A256GCM` for a Managed HSM's AES_256 keys, signing of the
//! digest keygate computes (or the caller gives), local verification with the public key.
//!
//! Every operation reads the key first, so an unknown key is `NotFound`, then a key in the
//! wrong state or of the wrong usage is `InvalidState`, then a bad argument is
//! `InvalidArgument`, as the contract orders them.

use azure_security_keyvault_keys::models::{
    EncryptionAlgorithm as AzAlg, KeyClientEncryptOptions, KeyClientSignOptions,
    KeyClientWrapKeyOptions, KeyOperationParameters, KeyOperationResult, SignParameters,
    SignatureAlgorithm,
};
use keygate_core::{
    Ciphertext, DataKey, DataKeySpec, EncryptionAlgorithm, EncryptionContext, Error, KeySpec,
    KeyUsage, PublicKey, Result, SecretBytes, Signature, SigningAlgorithm,
};
use zeroize::Zeroizing;

use super::AzureKeyVaultProvider;
use super::client::{Key, parse_kid};
use super::envelope::{self, Blob, DATA_KEY_LEN, Kind};
use super::error::{Class, class_of, from_sdk, is_disabled};
use super::jwk;
use crate::digest::{Signed, SignedExt as _};

/// The largest plaintext an AES_256 key encrypts, in bytes.
pub(crate) const MAX_PLAINTEXT: usize = 64 * 1024;
/// Bytes of OAEP-SHA-256 overhead: two hashes and two bytes.
const OAEP_SHA256_OVERHEAD: usize = 2 * 32 + 2;
/// How many older versions `decrypt` tries for an RSA ciphertext that names none.
const MAX_DECRYPT_VERSIONS: usize = 16;

impl AzureKeyVaultProvider {
    /// The key `key_id`, usable for `usage` now: its current version.
    pub(super) async fn usable(
        &self,
        key_id: &str,
        usage: KeyUsage,
        op: &str,
    ) -> Result<(Key, String)> {
        let key = self.vault.key(key_id).await?;
        key.require_usage(usage, op)?;
        let version = key.require_enabled(op)?.to_owned();
        Ok((key, version))
    }

    /// Sends an operation's parameters, returning the vault's answer.
    pub(super) async fn operate(
        &self,
        key: &Key,
        version: &str,
        op: Op,
        params: KeyOperationParameters,
    ) -> std::result::Result<KeyOperationResult, azure_core::Error> {
        let body = params.try_into()?;
        let client = &self.vault.client;
        let response = match op {
            Op::Encrypt => {
                let options = KeyClientEncryptOptions {
                    key_version: Some(version.to_owned()),
                    ..Default::default()
                };
                client.encrypt(&key.name, body, Some(options)).await?
            }
            Op::Decrypt => client.decrypt(&key.name, version, body, None).await?,
            Op::Wrap => {
                let options = KeyClientWrapKeyOptions {
                    key_version: Some(version.to_owned()),
                    ..Default::default()
                };
                client.wrap_key(&key.name, body, Some(options)).await?
            }
            Op::Unwrap => client.unwrap_key(&key.name, version, body, None).await?,
        };
        response.into_model()
    }

    /// Encrypts under the key's current version.
    pub(super) async fn encrypt_with(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        let (key, version) = self.usable(key_id, KeyUsage::Encrypt, "encrypt").await?;
        if key.spec == KeySpec::Aes256 {
            let max = self.caps.max_plaintext_bytes.min(MAX_PLAINTEXT);
            if plaintext.len() > max {
                return Err(Error::invalid(format!(
                    "an AES_256 key of Key Vault encrypts at most {max} bytes, not {}",
                    plaintext.len()
                )));
            }
            let blob = if key.envelope {
                self.seal_envelope(&key, &version, plaintext, context)
                    .await?
            } else {
                self.seal_hsm(&key, &version, plaintext, context).await?
            };
            return Ok(Ciphertext {
                key_version: blob.version.clone(),
                bytes: blob.encode()?,
                algorithm: EncryptionAlgorithm::SymmetricDefault,
            });
        }
        if !context.is_empty() {
            return Err(Error::invalid(
                "Key Vault binds no encryption context to RSA encryption; encrypt without one",
            ));
        }
        let bytes = key.spec_bytes();
        let max = bytes.saturating_sub(OAEP_SHA256_OVERHEAD);
        if plaintext.len() > max {
            return Err(Error::invalid(format!(
                "{} RSA-OAEP-256 encrypts at most {max} bytes, not {}",
                key.spec,
                plaintext.len()
            )));
        }
        let what = format!("encrypt({key_id})");
        let params = KeyOperationParameters {
            algorithm: Some(AzAlg::RsaOaep256),
            value: Some(plaintext.to_vec()),
            ..Default::default()
        };
        let out = self
            .operate(&key, &version, Op::Encrypt, params)
            .await
            .map_err(|e| self.version_error(&e, &key.name, &version, &what))?;
        let used = used_version(&out).unwrap_or(version);
        Ok(Ciphertext {
            bytes: out.result.unwrap_or_default(),
            key_version: used,
            algorithm: EncryptionAlgorithm::RsaOaepSha256,
        })
    }

    /// keygate's envelope: a fresh data key seals the plaintext, the vault wraps the data key.
    async fn seal_envelope(
        &self,
        key: &Key,
        version: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Blob> {
        let data_key = envelope::data_key(DATA_KEY_LEN)?;
        let (nonce, sealed) = envelope::seal(&data_key, plaintext, context)?;
        let what = format!("wrap_key({})", key.name);
        let params = KeyOperationParameters {
            algorithm: Some(AzAlg::RsaOaep256),
            value: Some(data_key.to_vec()),
            ..Default::default()
        };
        let out = self
            .operate(key, version, Op::Wrap, params)
            .await
            .map_err(|e| self.version_error(&e, &key.name, version, &what))?;
        let wrapped = out.result.clone().unwrap_or_default();
        if wrapped.is_empty() {
            return Err(Error::provider(
                &self.info.name,
                format!("{what}: the vault returned no wrapped key"),
            ));
        }
        Ok(Blob {
            kind: Kind::Envelope,
            version: used_version(&out).unwrap_or_else(|| version.to_owned()),
            a: wrapped,
            b: nonce,
            sealed,
        })
    }

    /// A Managed HSM's A256GCM with the context as AAD; the iv and tag it returns (if any)
    /// travel in the blob.
    async fn seal_hsm(
        &self,
        key: &Key,
        version: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Blob> {
        let aad = context.canonical_bytes();
        let what = format!("encrypt({})", key.name);
        let params = KeyOperationParameters {
            algorithm: Some(AzAlg::A256Gcm),
            value: Some(plaintext.to_vec()),
            additional_authenticated_data: (!aad.is_empty()).then_some(aad),
            ..Default::default()
        };
        let out = self
            .operate(key, version, Op::Encrypt, params)
            .await
            .map_err(|e| self.version_error(&e, &key.name, version, &what))?;
        Ok(Blob {
            kind: Kind::Hsm,
            version: used_version(&out).unwrap_or_else(|| version.to_owned()),
            a: out.iv.clone().unwrap_or_default(),
            b: out.authentication_tag.clone().unwrap_or_default(),
            sealed: out.result.unwrap_or_default(),
        })
    }

    /// Decrypts; a ciphertext that does not open is [`Error::IntegrityFailure`] and nothing
    /// more.
    ///
    /// The version that sealed the ciphertext decides, not the current one: data of an
    /// enabled version opens while the current version is disabled. A named `version` must be
    /// the one the ciphertext names (AES_256) or the only one tried (RSA).
    pub(super) async fn decrypt_with(
        &self,
        key_id: Option<&str>,
        version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        let Some(key_id) = key_id else {
            return Err(Error::invalid(
                "Key Vault ciphertexts do not name their key: decrypt needs the key id",
            ));
        };
        let key = self.live_for(key_id, KeyUsage::Encrypt, "decrypt").await?;
        if ciphertext.is_empty() {
            return Err(Error::IntegrityFailure);
        }
        if key.spec == KeySpec::Aes256 {
            let blob = Blob::decode(ciphertext)?;
            if let Some(v) = version
                && v != blob.version
            {
                return Err(Error::invalid(format!(
                    "decrypt: the ciphertext was sealed by version {} of key `{key_id}`, not {v}",
                    blob.version
                )));
            }
            return match (blob.kind, key.envelope) {
                (Kind::Envelope, true) => self.open_envelope(&key, &blob, context).await,
                (Kind::Hsm, false) => self.open_hsm(&key, &blob, context).await,
                _ => Err(Error::IntegrityFailure),
            };
        }
        if !context.is_empty() {
            // Nothing was encrypted under an RSA key with a context, so none matches.
            return Err(Error::IntegrityFailure);
        }
        match version {
            Some(v) => {
                self.rsa_decrypt_with(&key, v, AzAlg::RsaOaep256, ciphertext)
                    .await
            }
            None => {
                let current = key.version.clone().unwrap_or_default();
                self.rsa_decrypt(&key, &current, AzAlg::RsaOaep256, ciphertext)
                    .await
            }
        }
    }

    /// The vault's RSA decryption under `alg` with `version` only.
    pub(super) async fn rsa_decrypt_with(
        &self,
        key: &Key,
        version: &str,
        alg: AzAlg,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        let params = KeyOperationParameters {
            algorithm: Some(alg),
            value: Some(ciphertext.to_vec()),
            ..Default::default()
        };
        let what = format!("decrypt({}/{version})", key.name);
        let out = self
            .operate(key, version, Op::Decrypt, params)
            .await
            .map_err(|e| self.opening_error(&e, &key.name, version, &what))?;
        Ok(Zeroizing::new(out.result.unwrap_or_default()))
    }

    /// Unwraps the data key with the version the blob names, then opens the sealed bytes.
    async fn open_envelope(
        &self,
        key: &Key,
        blob: &Blob,
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        let what = format!("unwrap_key({}/{})", key.name, blob.version);
        let params = KeyOperationParameters {
            algorithm: Some(AzAlg::RsaOaep256),
            value: Some(blob.a.clone()),
            ..Default::default()
        };
        let out = self
            .operate(key, &blob.version, Op::Unwrap, params)
            .await
            .map_err(|e| self.opening_error(&e, &key.name, &blob.version, &what))?;
        let data_key = Zeroizing::new(out.result.unwrap_or_default());
        if data_key.len() != DATA_KEY_LEN {
            return Err(Error::IntegrityFailure);
        }
        envelope::open(&data_key, &blob.b, &blob.sealed, context)
    }

    /// The HSM's A256GCM decryption with the blob's iv and tag and the context as AAD.
    async fn open_hsm(
        &self,
        key: &Key,
        blob: &Blob,
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        let aad = context.canonical_bytes();
        let what = format!("decrypt({}/{})", key.name, blob.version);
        let params = KeyOperationParameters {
            algorithm: Some(AzAlg::A256Gcm),
            value: Some(blob.sealed.clone()),
            iv: (!blob.a.is_empty()).then(|| blob.a.clone()),
            authentication_tag: (!blob.b.is_empty()).then(|| blob.b.clone()),
            additional_authenticated_data: (!aad.is_empty()).then_some(aad),
        };
        let out = self
            .operate(key, &blob.version, Op::Decrypt, params)
            .await
            .map_err(|e| self.opening_error(&e, &key.name, &blob.version, &what))?;
        Ok(Zeroizing::new(out.result.unwrap_or_default()))
    }

    /// A vault error while opening a ciphertext with `version` of `key`: a refused argument
    /// or an unknown version (a ciphertext altered or not this key's) is an integrity
    /// failure; a disabled version is named with its state; the rest is as mapped.
    pub(super) fn opening_error(
        &self,
        e: &azure_core::Error,
        key: &str,
        version: &str,
        what: &str,
    ) -> Error {
        match class_of(e) {
            Class::InvalidArgument | Class::NotFound => Error::IntegrityFailure,
            _ => self.version_error(e, key, version, what),
        }
    }

    /// The vault's RSA decryption under `alg`: the current version, then older enabled ones
    /// (a raw OAEP ciphertext does not name its version).
    pub(super) async fn rsa_decrypt(
        &self,
        key: &Key,
        current: &str,
        alg: AzAlg,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        let mut candidates = vec![current.to_owned()];
        let mut listed = false;
        let mut refused = None;
        let mut i = 0;
        while i < candidates.len() {
            let version = candidates[i].clone();
            i += 1;
            let what = format!("decrypt({}/{version})", key.name);
            let params = KeyOperationParameters {
                algorithm: Some(alg.clone()),
                value: Some(ciphertext.to_vec()),
                ..Default::default()
            };
            match self.operate(key, &version, Op::Decrypt, params).await {
                Ok(out) => return Ok(Zeroizing::new(out.result.unwrap_or_default())),
                Err(e) if class_of(&e) == Class::InvalidArgument => {}
                // The current version may be disabled while older ones still open their data.
                Err(e) if is_disabled(&e) => {
                    refused
                        .get_or_insert_with(|| self.version_error(&e, &key.name, &version, &what));
                }
                Err(e) => return Err(from_sdk(&e, &self.info.name, &what)),
            }
            if !listed {
                listed = true;
                let mut older: Vec<String> = self
                    .versions(&key.name)
                    .await?
                    .into_iter()
                    .rev()
                    .filter(|v| !v.primary && v.state == keygate_core::VersionState::Enabled)
                    .map(|v| v.id)
                    .take(MAX_DECRYPT_VERSIONS)
                    .collect();
                candidates.append(&mut older);
            }
        }
        Err(refused.unwrap_or(Error::IntegrityFailure))
    }

    /// A fresh data key, encrypted under the key (the envelope blob for AES_256 keys).
    pub(super) async fn data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        self.usable(key_id, KeyUsage::Encrypt, "generate_data_key")
            .await?;
        self.caps.check_data_key(spec, &self.info.name)?;
        let plaintext = envelope::data_key(spec.len())?;
        let ct = self.encrypt_with(key_id, &plaintext, context).await?;
        Ok(DataKey {
            plaintext,
            ciphertext: ct.bytes,
            key_version: ct.key_version,
        })
    }

    /// The signing key, the version (the current one, or `version`) and the algorithm
    /// checked against the spec, in the contract's order.
    async fn signing_key(
        &self,
        key_id: &str,
        version: Option<&str>,
        algorithm: SigningAlgorithm,
        op: &str,
    ) -> Result<(Key, String)> {
        let (key, version) = self.key_at(key_id, KeyUsage::Sign, op, version).await?;
        if !key.spec.signing_algorithms().contains(&algorithm) {
            return Err(Error::invalid(format!(
                "{op}: a {} key does not sign with {algorithm}",
                key.spec
            )));
        }
        Ok((key, version))
    }

    /// Signs the digest in the vault with `version` (any enabled one) or the current version;
    /// ECDSA signatures come back as JWS's raw `r||s` and are returned as DER.
    pub(super) async fn sign_with(
        &self,
        key_id: &str,
        version: Option<&str>,
        input: Signed<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        let (key, version) = self.signing_key(key_id, version, algorithm, "sign").await?;
        let digest = input.digest(algorithm)?;
        let alg = match algorithm {
            SigningAlgorithm::RsaPssSha256 => SignatureAlgorithm::Ps256,
            SigningAlgorithm::RsaPssSha384 => SignatureAlgorithm::Ps384,
            SigningAlgorithm::RsaPssSha512 => SignatureAlgorithm::Ps512,
            SigningAlgorithm::RsaPkcs1Sha256 => SignatureAlgorithm::Rs256,
            SigningAlgorithm::RsaPkcs1Sha384 => SignatureAlgorithm::Rs384,
            SigningAlgorithm::RsaPkcs1Sha512 => SignatureAlgorithm::Rs512,
            // Key Vault names ECDSA-SHA-256 on secp256k1 apart: ES256K.
            SigningAlgorithm::EcdsaSha256 if key.spec == KeySpec::EcSecp256k1 => {
                SignatureAlgorithm::Es256K
            }
            SigningAlgorithm::EcdsaSha256 => SignatureAlgorithm::Es256,
            SigningAlgorithm::EcdsaSha384 => SignatureAlgorithm::Es384,
            SigningAlgorithm::EcdsaSha512 => SignatureAlgorithm::Es512,
            other => {
                return Err(Error::unsupported(format!(
                    "Key Vault does not sign with {other}"
                )));
            }
        };
        let what = format!("sign({key_id}, {})", input.kind());
        let params = SignParameters {
            algorithm: Some(alg),
            value: Some(digest.as_ref().to_vec()),
        };
        let body = params.try_into().map_err(self.vault.err(&what))?;
        let options = KeyClientSignOptions {
            key_version: Some(version.clone()),
            ..Default::default()
        };
        let out = self
            .vault
            .client
            .sign(&key.name, body, Some(options))
            .await
            .map_err(|e| self.version_error(&e, &key.name, &version, &what))?
            .into_model()
            .map_err(self.vault.err(&what))?;
        let used = used_version(&out).unwrap_or(version);
        let raw = out.result.unwrap_or_default();
        let bytes = if key.spec.is_ec() {
            jwk::ecdsa_raw_to_der(key.spec, &raw).ok_or_else(|| {
                Error::provider(
                    &self.info.name,
                    format!("{what}: the vault's signature does not fit {}", key.spec),
                )
            })?
        } else {
            raw
        };
        Ok(Signature {
            bytes,
            key_version: used,
            algorithm,
        })
    }

    /// Verifies locally with the version's public key (Key Vault 2025-07-01 has no verify).
    pub(super) async fn verify_with(
        &self,
        key_id: &str,
        version: Option<&str>,
        input: Signed<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        let (key, version) = self
            .signing_key(key_id, version, algorithm, "verify")
            .await?;
        let der = self.vault.public_key(&key, &version).await?;
        input.verify_with_spki(algorithm, &der, signature)
    }

    /// The public key of the current version (or `version`) as SubjectPublicKeyInfo DER.
    pub(super) async fn public_key(
        &self,
        key_id: &str,
        version: Option<&str>,
    ) -> Result<PublicKey> {
        let key = self.vault.key(key_id).await?;
        if !key.spec.is_asymmetric() {
            return Err(Error::state(format!(
                "get_public_key: key `{key_id}` is an {} key, which has no public key",
                key.spec
            )));
        }
        let version = match version.or(key.version.as_deref()) {
            Some(v) => v.to_owned(),
            None => return Err(Error::state(format!("key `{key_id}` has no version"))),
        };
        let der = self.vault.public_key(&key, &version).await?;
        Ok(PublicKey {
            der,
            key_version: version,
            spec: key.spec,
        })
    }

    /// Key Vault computes no MAC: an unknown key is `NotFound`, any other key is of another
    /// usage.
    pub(super) async fn no_mac<T>(&self, key_id: &str, op: &str) -> Result<T> {
        let key = self.vault.key(key_id).await?;
        key.require_usage(KeyUsage::Mac, op)?;
        Err(Error::unsupported(format!(
            "{op}: Key Vault has no MAC operation"
        )))
    }
}

/// A vault operation on key material.
#[derive(Debug, Clone, Copy)]
pub(super) enum Op {
    Encrypt,
    Decrypt,
    Wrap,
    Unwrap,
}

/// The version the vault says it used (from the answer's `kid`).
pub(super) fn used_version(out: &KeyOperationResult) -> Option<String> {
    parse_kid(out.kid.as_deref()?).and_then(|(_, v)| v)
}

impl Key {
    /// The RSA modulus length in bytes (from the spec).
    pub(super) fn spec_bytes(&self) -> usize {
        match self.spec {
            KeySpec::Rsa2048 => 256,
            KeySpec::Rsa3072 => 384,
            KeySpec::Rsa4096 => 512,
            _ => 0,
        }
    }
}
