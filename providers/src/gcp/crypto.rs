//! Cryptography: symmetric encryption through Cloud KMS with the context as additional
//! authenticated data, RSA-OAEP encryption locally with the version's public key and
//! decryption through `asymmetricDecrypt`, signing through `asymmetricSign` of a digest,
//! verification locally, MACs through `macSign`/`macVerify`. Every request carries CRC32C
//! checksums and every answer's checksums are checked: a mismatch (corruption in transit) is
//! [`Error::Unavailable`], worth a retry.
//!
//! **The additional authenticated data** of a symmetric encryption is
//! [`EncryptionContext::canonical_bytes`]: for each pair in key order, the key and the value,
//! each prefixed by its length as a big-endian u32; an empty context sends none. A ciphertext
//! made by any Cloud KMS client with those bytes as AAD decrypts here with that context.

use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PublicEncryptingKey};
use google_cloud_kms_v1::model::Digest;
use google_cloud_kms_v1::model::crypto_key_version::CryptoKeyVersionState as VState;
use keygate_core::{
    Ciphertext, DataKey, DataKeySpec, EncryptionAlgorithm, EncryptionContext, Error, KeySpec,
    KeyUsage, MacAlgorithm, MacTag, PublicKey, Result, SecretBytes, Signature, SigningAlgorithm,
};
use zeroize::Zeroizing;

use super::GcpKmsProvider;
use super::client::{Key, crc, last_segment};
use super::error::{Class, class_of, from_sdk};
use crate::digest::{Signed, SignedExt as _};

/// Cloud KMS's bound on plaintexts, additional authenticated data and MAC data.
pub(crate) const MAX_INPUT: usize = 64 * 1024;

impl GcpKmsProvider {
    fn corrupted(&self, what: &str) -> Error {
        Error::unavailable(format!(
            "{}: {what}: a CRC32C checksum does not match (corrupted in transit; retry)",
            self.info.name
        ))
    }

    /// Checks an answer's checksum of `bytes`.
    fn check_crc(&self, what: &str, sum: Option<i64>, bytes: &[u8]) -> Result<()> {
        match sum {
            Some(s) if s != crc(bytes) => Err(self.corrupted(what)),
            _ => Ok(()),
        }
    }

    /// `encrypt` (symmetric) or local RSA-OAEP (asymmetric).
    pub(super) async fn encrypt_with(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        let key = self.kms.key(key_id, false).await?;
        key.require_usage(KeyUsage::Encrypt, "encrypt")?;
        let primary = key.usable_primary("encrypt")?.clone();
        if !key.symmetric() {
            return self
                .rsa_encrypt(&key, &primary.name, plaintext, context)
                .await;
        }
        if plaintext.len() > self.caps.max_plaintext_bytes.min(MAX_INPUT) {
            return Err(Error::invalid(format!(
                "Cloud KMS encrypts at most {MAX_INPUT} bytes, not {}",
                plaintext.len()
            )));
        }
        let aad = context.canonical_bytes();
        if aad.len() > MAX_INPUT {
            return Err(Error::invalid(
                "the encryption context encodes to more than 64 KiB",
            ));
        }
        let what = format!("encrypt({key_id})");
        // The SDK takes the plaintext as an owned buffer that it does not wipe; it lives only
        // for the call.
        let mut request = self
            .kms
            .client
            .encrypt()
            .set_name(self.kms.key_name(key_id))
            .set_plaintext(plaintext.to_vec())
            .set_plaintext_crc32c(crc(plaintext));
        if !aad.is_empty() {
            request = request
                .set_additional_authenticated_data_crc32c(crc(&aad))
                .set_additional_authenticated_data(aad.clone());
        }
        let out = request.send().await.map_err(self.kms.err(&what))?;
        if !out.verified_plaintext_crc32c
            || (!aad.is_empty() && !out.verified_additional_authenticated_data_crc32c)
        {
            return Err(self.corrupted(&what));
        }
        self.check_crc(&what, out.ciphertext_crc32c, &out.ciphertext)?;
        Ok(Ciphertext {
            bytes: out.ciphertext.to_vec(),
            key_version: last_segment(&out.name).to_owned(),
            algorithm: EncryptionAlgorithm::SymmetricDefault,
        })
    }

    async fn rsa_encrypt(
        &self,
        key: &Key,
        version_name: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        if !context.is_empty() {
            return Err(Error::invalid(
                "Cloud KMS binds no encryption context to RSA encryption; encrypt without one",
            ));
        }
        let alg = key
            .primary()
            .and_then(|v| super::client::alg_info(&v.algorithm))
            .unwrap_or(key.alg);
        if !alg.oaep_sha256 {
            return Err(Error::unsupported(format!(
                "key `{}` decrypts RSA-OAEP with a hash other than SHA-256, which keygate does not encrypt for",
                key.id
            )));
        }
        let der = self.kms.public_key_der(version_name).await?;
        let not_rsa = || {
            Error::provider(
                &self.info.name,
                format!("the public key of {version_name} is not an RSA key"),
            )
        };
        let public = PublicEncryptingKey::from_der(&der)
            .map_err(|_| not_rsa())
            .and_then(|k| OaepPublicEncryptingKey::new(k).map_err(|_| not_rsa()))?;
        let max = public.max_plaintext_size(&OAEP_SHA256_MGF1SHA256);
        if plaintext.len() > max {
            return Err(Error::invalid(format!(
                "{} RSA-OAEP-SHA256 encrypts at most {max} bytes, not {}",
                key.alg.spec,
                plaintext.len()
            )));
        }
        let mut out = vec![0u8; public.ciphertext_size()];
        let n = public
            .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)
            .map_err(|_| Error::provider(&self.info.name, "RSA-OAEP encryption failed"))?
            .len();
        out.truncate(n);
        Ok(Ciphertext {
            bytes: out,
            key_version: last_segment(version_name).to_owned(),
            algorithm: EncryptionAlgorithm::RsaOaepSha256,
        })
    }

    /// `decrypt` (symmetric) or `asymmetricDecrypt` (`version`, or the primary version, then
    /// the other enabled versions, newest first). A ciphertext that does not open is
    /// [`Error::IntegrityFailure`] and nothing more.
    ///
    /// A symmetric ciphertext names its version to Cloud KMS, which decrypts with it whatever
    /// the primary's state (data sealed by an older enabled version still opens after the
    /// primary is disabled) and refuses one whose version is not enabled (FAILED_PRECONDITION:
    /// [`Error::InvalidState`]). A named `version` of a symmetric key must exist; Cloud
    /// KMS's ciphertexts are opaque and its answer does not name the version used, so a
    /// ciphertext that opens while the named version is not enabled was another version's
    /// ([`Error::InvalidArgument`]); with an enabled version named, which one sealed it is
    /// Cloud KMS's to check.
    pub(super) async fn decrypt_with(
        &self,
        key_id: Option<&str>,
        version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        let Some(key_id) = key_id else {
            return Err(Error::invalid(
                "Cloud KMS ciphertexts do not name their key: decrypt needs the key id",
            ));
        };
        let key = self.kms.key(key_id, version.is_some()).await?;
        key.require_usage(KeyUsage::Encrypt, "decrypt")?;
        // A named version of a symmetric key that is not enabled cannot be the one a
        // ciphertext Cloud KMS opens was sealed by: if it opens, another version was named.
        let mut not_this_version = false;
        if !key.symmetric() {
            key.usable_version(version, "decrypt")?;
        } else if let Some(v) = version {
            not_this_version = match key.usable_version(Some(v), "decrypt") {
                Ok(_) => false,
                Err(e) if e.kind() == keygate_core::ErrorKind::InvalidState => true,
                Err(e) => return Err(e),
            };
        }
        if ciphertext.is_empty() {
            return Err(Error::IntegrityFailure);
        }
        if !key.symmetric() {
            if !context.is_empty() {
                // Nothing was encrypted under an RSA key with a context, so none matches.
                return Err(Error::IntegrityFailure);
            }
            return self.rsa_decrypt(&key, version, ciphertext).await;
        }
        let aad = context.canonical_bytes();
        let what = format!("decrypt({key_id})");
        let mut request = self
            .kms
            .client
            .decrypt()
            .set_name(self.kms.key_name(key_id))
            .set_ciphertext(ciphertext.to_vec())
            .set_ciphertext_crc32c(crc(ciphertext));
        if !aad.is_empty() {
            request = request
                .set_additional_authenticated_data_crc32c(crc(&aad))
                .set_additional_authenticated_data(aad);
        }
        let out = request.send().await.map_err(|e| match class_of(&e) {
            // Cloud KMS answers INVALID_ARGUMENT for a ciphertext that does not open (altered,
            // another key's, another AAD).
            Class::InvalidArgument => Error::IntegrityFailure,
            _ => from_sdk(&e, &self.info.name, &what),
        })?;
        let plaintext = Zeroizing::new(out.plaintext.to_vec());
        self.check_crc(&what, out.plaintext_crc32c, &plaintext)?;
        if not_this_version {
            return Err(Error::invalid(format!(
                "decrypt: the ciphertext is not version {}'s of key `{key_id}`",
                version.unwrap_or_default()
            )));
        }
        Ok(plaintext)
    }

    /// `asymmetricDecrypt` with `version` only, or with the primary and then the other
    /// enabled versions.
    async fn rsa_decrypt(
        &self,
        key: &Key,
        version: Option<&str>,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        let primary = key.usable_version(version, "decrypt")?.name.clone();
        let mut candidates = vec![primary.clone()];
        if version.is_none() {
            for v in key.versions.as_deref().unwrap_or_default().iter().rev() {
                if v.state == VState::Enabled && v.name != primary {
                    candidates.push(v.name.clone());
                }
            }
        }
        for name in candidates {
            let what = format!("asymmetric_decrypt({name})");
            let result = self
                .kms
                .client
                .asymmetric_decrypt()
                .set_name(&name)
                .set_ciphertext(ciphertext.to_vec())
                .set_ciphertext_crc32c(crc(ciphertext))
                .send()
                .await;
            match result {
                Ok(out) => {
                    if !out.verified_ciphertext_crc32c {
                        return Err(self.corrupted(&what));
                    }
                    let plaintext = Zeroizing::new(out.plaintext.to_vec());
                    self.check_crc(&what, out.plaintext_crc32c, &plaintext)?;
                    return Ok(plaintext);
                }
                // Not this version's ciphertext (or not a ciphertext at all): try the next.
                Err(e) if class_of(&e) == Class::InvalidArgument => {}
                Err(e) => return Err(from_sdk(&e, &self.info.name, &what)),
            }
        }
        Err(Error::IntegrityFailure)
    }

    /// Random bytes from aws-lc-rs, encrypted under the key.
    pub(super) async fn data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        self.caps.check_data_key(spec, &self.info.name)?;
        let mut plaintext = Zeroizing::new(vec![0u8; spec.len()]);
        aws_lc_rs::rand::fill(&mut plaintext)
            .map_err(|_| Error::provider(&self.info.name, "the random generator failed"))?;
        let ct = self.encrypt_with(key_id, &plaintext, context).await?;
        Ok(DataKey {
            plaintext,
            ciphertext: ct.bytes,
            key_version: ct.key_version,
        })
    }

    /// The signing key, its version (the primary, or `version`) and the algorithm checked
    /// against the version's: the contract's order (unknown key, then usage and state, then
    /// arguments).
    async fn signing_version(
        &self,
        key_id: &str,
        version: Option<&str>,
        algorithm: SigningAlgorithm,
        op: &str,
    ) -> Result<(Key, String)> {
        let key = self.kms.key(key_id, true).await?;
        key.require_usage(KeyUsage::Sign, op)?;
        let name = key.usable_version(version, op)?.name.clone();
        let bound = key
            .versions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| super::client::alg_info(&v.algorithm))
            .unwrap_or(key.alg);
        match bound.signing {
            Some(a) if a == algorithm => Ok((key, name)),
            Some(a) if key.alg.spec.signing_algorithms().contains(&algorithm) => {
                Err(Error::invalid(format!(
                    "{op}: key `{key_id}` signs with {a} only (Cloud KMS binds one algorithm to a key), not {algorithm}"
                )))
            }
            Some(_) => Err(Error::invalid(format!(
                "{op}: a {} key does not sign with {algorithm}",
                key.alg.spec
            ))),
            None => Err(Error::unsupported(format!(
                "{op}: key `{key_id}` signs with a hash keygate does not model"
            ))),
        }
    }

    /// `asymmetricSign` of the digest keygate computes (or the caller gave), with `version`
    /// (any enabled one) or the primary.
    pub(super) async fn sign_with(
        &self,
        key_id: &str,
        version: Option<&str>,
        input: Signed<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        let (_, name) = self
            .signing_version(key_id, version, algorithm, "sign")
            .await?;
        let digest = input.digest(algorithm)?;
        let bytes = digest.as_ref().to_vec();
        let what = format!("asymmetric_sign({name}, {})", input.kind());
        let message = match algorithm.digest_len() {
            48 => Digest::new().set_sha384(bytes.clone()),
            64 => Digest::new().set_sha512(bytes.clone()),
            _ => Digest::new().set_sha256(bytes.clone()),
        };
        let out = self
            .kms
            .client
            .asymmetric_sign()
            .set_name(&name)
            .set_digest(message)
            .set_digest_crc32c(crc(&bytes))
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        if !out.verified_digest_crc32c {
            return Err(self.corrupted(&what));
        }
        self.check_crc(&what, out.signature_crc32c, &out.signature)?;
        let used = if out.name.is_empty() {
            &name
        } else {
            &out.name
        };
        Ok(Signature {
            bytes: out.signature.to_vec(),
            key_version: last_segment(used).to_owned(),
            algorithm,
        })
    }

    /// Verifies locally with the version's public key (Cloud KMS has no verify call).
    pub(super) async fn verify_with(
        &self,
        key_id: &str,
        version: Option<&str>,
        input: Signed<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        let (_, name) = self
            .signing_version(key_id, version, algorithm, "verify")
            .await?;
        let der = self.kms.public_key_der(&name).await?;
        input.verify_with_spki(algorithm, &der, signature)
    }

    /// The MAC key and the name of `version` (enabled) or of its primary version.
    async fn mac_version(
        &self,
        key_id: &str,
        version: Option<&str>,
        op: &str,
        data: &[u8],
    ) -> Result<(Key, String)> {
        let key = self.kms.key(key_id, true).await?;
        key.require_usage(KeyUsage::Mac, op)?;
        let name = key.usable_version(version, op)?.name.clone();
        if data.len() > MAX_INPUT {
            return Err(Error::invalid(format!(
                "Cloud KMS MACs at most {MAX_INPUT} bytes, not {}",
                data.len()
            )));
        }
        Ok((key, name))
    }

    /// `macSign` with `version` or the primary version.
    pub(super) async fn mac(
        &self,
        key_id: &str,
        version: Option<&str>,
        message: &[u8],
    ) -> Result<MacTag> {
        let (key, name) = self
            .mac_version(key_id, version, "generate_mac", message)
            .await?;
        let what = format!("mac_sign({name})");
        let out = self
            .kms
            .client
            .mac_sign()
            .set_name(&name)
            .set_data(message.to_vec())
            .set_data_crc32c(crc(message))
            .send()
            .await
            .map_err(self.kms.err(&what))?;
        if !out.verified_data_crc32c {
            return Err(self.corrupted(&what));
        }
        self.check_crc(&what, out.mac_crc32c, &out.mac)?;
        Ok(MacTag {
            bytes: out.mac.to_vec(),
            key_version: last_segment(&name).to_owned(),
            algorithm: mac_algorithm(key.alg.spec)?,
        })
    }

    /// `macVerify` with `version` only, or with the primary version and then the other
    /// enabled versions (a tag from before a rotation); `Ok(false)` when none accepts it.
    pub(super) async fn check_mac(
        &self,
        key_id: &str,
        version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool> {
        let (key, primary) = self
            .mac_version(key_id, version, "verify_mac", message)
            .await?;
        let mut names = vec![primary.clone()];
        if version.is_none() {
            for v in key.versions.as_deref().unwrap_or_default().iter().rev() {
                if v.state == VState::Enabled && v.name != primary {
                    names.push(v.name.clone());
                }
            }
        }
        if mac.is_empty() {
            return Ok(false);
        }
        for name in names {
            let what = format!("mac_verify({name})");
            let result = self
                .kms
                .client
                .mac_verify()
                .set_name(&name)
                .set_data(message.to_vec())
                .set_data_crc32c(crc(message))
                .set_mac(mac.to_vec())
                .set_mac_crc32c(crc(mac))
                .send()
                .await;
            match result {
                Ok(out) => {
                    if !out.verified_data_crc32c || !out.verified_mac_crc32c {
                        return Err(self.corrupted(&what));
                    }
                    if out.success {
                        return Ok(true);
                    }
                }
                // A tag of the wrong length is refused as an argument: it does not verify.
                Err(e) if class_of(&e) == Class::InvalidArgument => {}
                Err(e) => return Err(from_sdk(&e, &self.info.name, &what)),
            }
        }
        Ok(false)
    }

    /// `getPublicKey` of the primary version (or `version`).
    pub(super) async fn public_key(
        &self,
        key_id: &str,
        version: Option<&str>,
    ) -> Result<PublicKey> {
        let key = self.kms.key(key_id, true).await?;
        if !key.alg.spec.is_asymmetric() {
            return Err(Error::state(format!(
                "get_public_key: key `{key_id}` is a {} key, which has no public key",
                key.alg.spec
            )));
        }
        let name = match version {
            Some(v) => key
                .version(v)
                .map(|v| v.name.clone())
                .ok_or_else(|| Error::not_found(format!("key `{key_id}` has no version `{v}`")))?,
            None => key
                .primary()
                .map(|v| v.name.clone())
                .ok_or_else(|| Error::state(format!("key `{key_id}` has no version")))?,
        };
        let der = self.kms.public_key_der(&name).await?;
        Ok(PublicKey {
            der,
            key_version: last_segment(&name).to_owned(),
            spec: key.alg.spec,
        })
    }
}

fn mac_algorithm(spec: KeySpec) -> Result<MacAlgorithm> {
    spec.mac_algorithm()
        .ok_or_else(|| Error::state(format!("a {spec} key computes no MAC")))
}
