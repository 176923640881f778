//! Cryptographic operations: encrypt/decrypt, data keys, sign/verify, MACs, public keys.
//!
//! Each one first describes the key, so errors come in the contract's order (unknown key,
//! then state or usage, then arguments) whatever KMS would check first, and so the algorithm
//! follows the key's spec.

use std::collections::HashMap;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeySpec as AwsDataKeySpec, EncryptionAlgorithmSpec, MacAlgorithmSpec, MessageType,
};
use keygate_core::{
    Ciphertext, DataKey, DataKeySpec, EncryptionAlgorithm, EncryptionContext, Error, KeySpec,
    KeyUsage, MacAlgorithm, MacTag, PublicKey, Result, SecretBytes, Signature, SigningAlgorithm,
};
use zeroize::Zeroizing;

use super::AwsKmsProvider;
use super::client::{self, Described};
use super::error::{AwsError, Class};
use crate::digest::{Signed, SignedExt as _};

/// Largest message KMS MACs (`GenerateMac` and `VerifyMac` take the message itself).
const MAX_MAC_MESSAGE_BYTES: usize = 4096;

impl AwsKmsProvider {
    /// `Encrypt`: AES keys with the context, RSA keys with RSAES-OAEP-SHA-256 (no context).
    pub(super) async fn encrypt_with(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Ciphertext> {
        let key = self.kms.describe(key_id).await?;
        key.require(KeyUsage::Encrypt, "encrypt")?;
        let (algorithm, aws_algorithm) = algorithms(&key)?;
        let max = max_plaintext(key.spec, self.caps.max_plaintext_bytes);
        if plaintext.len() > max {
            return Err(Error::invalid(format!(
                "{} key {} encrypts at most {max} bytes, not {}",
                key.spec,
                key.id,
                plaintext.len()
            )));
        }
        if key.spec.is_rsa() && !context.is_empty() {
            return Err(Error::invalid(
                "AWS KMS binds no encryption context to RSA encryption; encrypt without one",
            ));
        }
        let what = format!("encrypt({key_id})");
        // The SDK takes the plaintext as an owned buffer it does not wipe; it lives only for
        // the call.
        let call = self
            .kms
            .client
            .encrypt()
            .key_id(&key.id)
            .plaintext(Blob::new(plaintext.to_vec()))
            .set_encryption_context(context_map(context))
            .encryption_algorithm(aws_algorithm)
            .send();
        let (out, version) = tokio::try_join!(
            async { call.await.map_err(|e| self.kms.err(&what)(e.into())) },
            self.kms.primary_version(&key),
        )?;
        let bytes = out
            .ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| Error::provider(&self.info.name, format!("{what}: no ciphertext")))?;
        Ok(Ciphertext {
            bytes,
            key_version: version,
            algorithm,
        })
    }

    /// `Decrypt`. Without a key id the ciphertext names its (symmetric) key. Any failure of
    /// the ciphertext itself — altered, another key's, another context, from nowhere — is
    /// `IntegrityFailure` and nothing more.
    pub(super) async fn decrypt_with(
        &self,
        key_id: Option<&str>,
        key_version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        if key_id.is_none() && key_version.is_some() {
            return Err(Error::invalid(
                "decrypt: a key version can only be named together with its key",
            ));
        }
        let mut request = self
            .kms
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(ciphertext.to_vec()))
            .set_encryption_context(context_map(context));
        if let Some(key_id) = key_id {
            let key = self.kms.describe(key_id).await?;
            key.require(KeyUsage::Encrypt, "decrypt")?;
            self.require_primary(&key, key_version, "decrypt").await?;
            let (_, aws_algorithm) = algorithms(&key)?;
            if key.spec.is_rsa() && !context.is_empty() {
                // Nothing was encrypted under an RSA key with a context, so none matches.
                return Err(Error::IntegrityFailure);
            }
            request = request.key_id(&key.id).encryption_algorithm(aws_algorithm);
        }
        if ciphertext.is_empty() {
            return Err(Error::IntegrityFailure);
        }
        let out = request.send().await.map_err(|e| {
            let e = AwsError::from(e);
            match e.class() {
                // The key named inside the ciphertext does not exist, or the blob is not a
                // ciphertext at all: either way the ciphertext is bad.
                Class::NotFound | Class::InvalidArgument => Error::IntegrityFailure,
                _ => e.into_core(&self.info.name, "decrypt"),
            }
        })?;
        out.plaintext
            .map(|p| Zeroizing::new(p.into_inner()))
            .ok_or_else(|| Error::provider(&self.info.name, "decrypt: no plaintext"))
    }

    /// `GenerateDataKey` under an AES key.
    pub(super) async fn data_key(
        &self,
        key_id: &str,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<DataKey> {
        let key = self.kms.describe(key_id).await?;
        key.require(KeyUsage::Encrypt, "generate_data_key")?;
        if key.spec != KeySpec::Aes256 {
            return Err(Error::state(format!(
                "generate_data_key: key {} is an {} key; data keys need a symmetric key",
                key.id, key.spec
            )));
        }
        self.caps.check_data_key(spec, &self.info.name)?;
        // AWS takes either a KeySpec or NumberOfBytes (1–1024), never both.
        let (aws_spec, number_of_bytes) = match spec {
            DataKeySpec::Aes128 => (Some(AwsDataKeySpec::Aes128), None),
            DataKeySpec::Aes256 => (Some(AwsDataKeySpec::Aes256), None),
            other => (None, i32::try_from(other.len()).ok()),
        };
        let what = format!("generate_data_key({key_id})");
        let call = self
            .kms
            .client
            .generate_data_key()
            .key_id(&key.id)
            .set_key_spec(aws_spec)
            .set_number_of_bytes(number_of_bytes)
            .set_encryption_context(context_map(context))
            .send();
        let (out, version) = tokio::try_join!(
            async { call.await.map_err(|e| self.kms.err(&what)(e.into())) },
            self.kms.primary_version(&key),
        )?;
        let plaintext = out
            .plaintext
            .map(|p| Zeroizing::new(p.into_inner()))
            .ok_or_else(|| Error::provider(&self.info.name, format!("{what}: no plaintext")))?;
        if plaintext.len() != spec.len() {
            // An endpoint that ignores KeySpec (LocalStack) must not hand out a key of another
            // size than asked for.
            return Err(Error::provider(
                &self.info.name,
                format!(
                    "{what}: KMS returned a {}-byte data key for {spec:?}",
                    plaintext.len()
                ),
            ));
        }
        let ciphertext = out
            .ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| Error::provider(&self.info.name, format!("{what}: no ciphertext")))?;
        Ok(DataKey {
            plaintext,
            ciphertext,
            key_version: version,
        })
    }

    /// `Sign` with `MessageType=DIGEST`: of a message's digest, computed here so messages of
    /// any size can be signed (KMS takes at most 4096 bytes of raw message), or of the
    /// caller's digest once its length is checked.
    pub(super) async fn sign_with(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: Signed<'_>,
        algorithm: SigningAlgorithm,
    ) -> Result<Signature> {
        let key = self.signing_key(key_id, algorithm, "sign").await?;
        self.require_primary(&key, key_version, "sign").await?;
        let digest = input.digest(algorithm)?;
        let what = format!("sign({key_id}, {algorithm}, {})", input.kind());
        let out = self
            .kms
            .client
            .sign()
            .key_id(&key.id)
            .message(Blob::new(digest.as_ref()))
            .message_type(MessageType::Digest)
            .signing_algorithm(client::signing_to_aws(algorithm))
            .send()
            .await
            .map_err(|e| self.kms.err(&what)(e.into()))?;
        let bytes = out
            .signature
            .map(Blob::into_inner)
            .ok_or_else(|| Error::provider(&self.info.name, format!("{what}: no signature")))?;
        Ok(Signature {
            bytes,
            key_version: self.kms.primary_version(&key).await?,
            algorithm,
        })
    }

    /// `Verify` with `MessageType=DIGEST`, of a message's digest or the caller's;
    /// `Ok(false)` for any signature KMS does not accept. The digest's length is checked
    /// here, since KMS's complaint about it would read as a bad signature.
    pub(super) async fn verify_with(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        input: Signed<'_>,
        signature: &[u8],
        algorithm: SigningAlgorithm,
    ) -> Result<bool> {
        let key = self.signing_key(key_id, algorithm, "verify").await?;
        let digest = input.digest(algorithm)?;
        self.require_version(&key, key_version).await?;
        if signature.is_empty() {
            return Ok(false);
        }
        let out = self
            .kms
            .client
            .verify()
            .key_id(&key.id)
            .message(Blob::new(digest.as_ref()))
            .message_type(MessageType::Digest)
            .signature(Blob::new(signature.to_vec()))
            .signing_algorithm(client::signing_to_aws(algorithm))
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.signature_valid),
            Err(e) => bad_proof_is_false(AwsError::from(e), &self.info.name, "verify"),
        }
    }

    /// A described signing key that is enabled and supports `algorithm`.
    async fn signing_key(
        &self,
        key_id: &str,
        algorithm: SigningAlgorithm,
        op: &str,
    ) -> Result<Described> {
        let key = self.kms.describe(key_id).await?;
        key.require(KeyUsage::Sign, op)?;
        if !key.spec.signing_algorithms().contains(&algorithm) {
            return Err(Error::invalid(format!(
                "{op}: {} keys do not sign with {algorithm}",
                key.spec
            )));
        }
        Ok(key)
    }

    /// Fails with `NotFound` when `version` is not one of the key's versions.
    async fn require_version(&self, key: &Described, version: Option<&str>) -> Result<()> {
        let Some(version) = version else {
            return Ok(());
        };
        let versions = self.kms.versions(key).await?;
        if versions.iter().any(|v| v.id == version) {
            Ok(())
        } else {
            Err(Error::not_found(format!(
                "version {version} of key {}",
                key.id
            )))
        }
    }

    /// The version a call names must be the key's current material: KMS uses it for every
    /// new operation and cannot address an earlier rotation. `NotFound` for a version the
    /// key does not have, `Unsupported` for an earlier one.
    pub(super) async fn require_primary(
        &self,
        key: &Described,
        version: Option<&str>,
        op: &str,
    ) -> Result<()> {
        let Some(version) = version else {
            return Ok(());
        };
        let versions = self.kms.versions(key).await?;
        match versions.iter().find(|v| v.id == version) {
            None => Err(Error::not_found(format!(
                "version {version} of key {}",
                key.id
            ))),
            Some(v) if v.primary => Ok(()),
            Some(_) => Err(Error::unsupported(format!(
                "provider `{}` (aws): {op} with version {version} of key {}: AWS KMS uses the key's current material and cannot address an earlier rotation",
                self.info.name, key.id
            ))),
        }
    }

    /// `GenerateMac` with the key's HMAC algorithm.
    pub(super) async fn mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
    ) -> Result<MacTag> {
        let (key, algorithm) = self.mac_key(key_id, message, "generate_mac").await?;
        self.require_primary(&key, key_version, "generate_mac")
            .await?;
        let what = format!("generate_mac({key_id})");
        let out = self
            .kms
            .client
            .generate_mac()
            .key_id(&key.id)
            .message(Blob::new(message.to_vec()))
            .mac_algorithm(mac_to_aws(algorithm))
            .send()
            .await
            .map_err(|e| self.kms.err(&what)(e.into()))?;
        let bytes = out
            .mac
            .map(Blob::into_inner)
            .ok_or_else(|| Error::provider(&self.info.name, format!("{what}: no MAC")))?;
        Ok(MacTag {
            bytes,
            key_version: self.kms.primary_version(&key).await?,
            algorithm,
        })
    }

    /// `VerifyMac`; `Ok(false)` for any tag KMS does not accept.
    pub(super) async fn check_mac(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<bool> {
        let (key, algorithm) = self.mac_key(key_id, message, "verify_mac").await?;
        self.require_primary(&key, key_version, "verify_mac")
            .await?;
        if mac.is_empty() {
            return Ok(false);
        }
        let out = self
            .kms
            .client
            .verify_mac()
            .key_id(&key.id)
            .message(Blob::new(message.to_vec()))
            .mac(Blob::new(mac.to_vec()))
            .mac_algorithm(mac_to_aws(algorithm))
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.mac_valid),
            Err(e) => bad_proof_is_false(AwsError::from(e), &self.info.name, "verify_mac"),
        }
    }

    /// A described, enabled MAC key and its algorithm, for a message KMS accepts.
    async fn mac_key(
        &self,
        key_id: &str,
        message: &[u8],
        op: &str,
    ) -> Result<(Described, MacAlgorithm)> {
        let key = self.kms.describe(key_id).await?;
        key.require(KeyUsage::Mac, op)?;
        let algorithm = key
            .spec
            .mac_algorithm()
            .ok_or_else(|| Error::state(format!("{op}: {} is not an HMAC spec", key.spec)))?;
        if message.len() > MAX_MAC_MESSAGE_BYTES {
            return Err(Error::invalid(format!(
                "{op}: AWS KMS MACs messages of at most {MAX_MAC_MESSAGE_BYTES} bytes, not {}",
                message.len()
            )));
        }
        Ok((key, algorithm))
    }

    /// `GetPublicKey`: the DER SubjectPublicKeyInfo of an RSA or EC key.
    pub(super) async fn public_key(
        &self,
        key_id: &str,
        key_version: Option<&str>,
    ) -> Result<PublicKey> {
        let key = self.kms.describe(key_id).await?;
        if !key.spec.is_asymmetric() {
            return Err(Error::state(format!(
                "get_public_key: key {} is a {} key and has no public key",
                key.id, key.spec
            )));
        }
        self.require_version(&key, key_version).await?;
        let what = format!("get_public_key({key_id})");
        let out = self
            .kms
            .client
            .get_public_key()
            .key_id(&key.id)
            .send()
            .await
            .map_err(|e| self.kms.err(&what)(e.into()))?;
        let der = out
            .public_key
            .map(Blob::into_inner)
            .ok_or_else(|| Error::provider(&self.info.name, format!("{what}: no public key")))?;
        Ok(PublicKey {
            der,
            key_version: self.kms.primary_version(&key).await?,
            spec: key.spec,
        })
    }
}

/// The keygate and KMS encryption algorithms of an encryption key's spec.
fn algorithms(key: &Described) -> Result<(EncryptionAlgorithm, EncryptionAlgorithmSpec)> {
    if key.spec == KeySpec::Aes256 {
        Ok((
            EncryptionAlgorithm::SymmetricDefault,
            EncryptionAlgorithmSpec::SymmetricDefault,
        ))
    } else if key.spec.is_rsa() {
        Ok((
            EncryptionAlgorithm::RsaOaepSha256,
            EncryptionAlgorithmSpec::RsaesOaepSha256,
        ))
    } else {
        Err(Error::state(format!(
            "key {} is a {} key and does not encrypt",
            key.id, key.spec
        )))
    }
}

/// The largest plaintext a key of `spec` encrypts: the symmetric limit, or what RSA-OAEP with
/// SHA-256 fits in the modulus (its length less two hashes and two bytes).
fn max_plaintext(spec: KeySpec, symmetric: usize) -> usize {
    let modulus = match spec {
        KeySpec::Rsa2048 => 256,
        KeySpec::Rsa3072 => 384,
        KeySpec::Rsa4096 => 512,
        _ => return symmetric,
    };
    modulus - 2 * 32 - 2
}

/// The context as KMS takes it; `None` when empty, so no empty map is sent.
fn context_map(context: &EncryptionContext) -> Option<HashMap<String, String>> {
    (!context.is_empty()).then(|| context.0.clone().into_iter().collect())
}

fn mac_to_aws(algorithm: MacAlgorithm) -> MacAlgorithmSpec {
    match algorithm {
        MacAlgorithm::HmacSha384 => MacAlgorithmSpec::HmacSha384,
        MacAlgorithm::HmacSha512 => MacAlgorithmSpec::HmacSha512,
        _ => MacAlgorithmSpec::HmacSha256,
    }
}

/// A verification error that is about the signature or tag itself (KMS's invalid-signature
/// and invalid-MAC errors, or a malformed one: the key, its state and the algorithm were
/// checked before the call) is `Ok(false)`; anything else is an error.
fn bad_proof_is_false(e: AwsError, provider: &str, op: &str) -> Result<bool> {
    match e.class() {
        Class::BadSignature | Class::InvalidArgument => Ok(false),
        _ => Err(e.into_core(provider, op)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_plaintext_limits_follow_oaep_sha256() {
        assert_eq!(max_plaintext(KeySpec::Rsa2048, 4096), 190);
        assert_eq!(max_plaintext(KeySpec::Rsa4096, 4096), 446);
        assert_eq!(max_plaintext(KeySpec::Aes256, 4096), 4096);
    }

    #[test]
    fn empty_context_is_not_sent() {
        assert_eq!(context_map(&EncryptionContext::new()), None);
        let ctx = EncryptionContext::new().with("tenant", "acme");
        assert_eq!(
            context_map(&ctx).unwrap().get("tenant").map(String::as_str),
            Some("acme")
        );
    }
}
