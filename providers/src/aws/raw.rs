//! Raw RSA encryption: `Encrypt` and `Decrypt` on an RSA key with an `EncryptionAlgorithm`
//! KMS names (RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256). KMS's ciphertext for an RSA key is
//! already the bare RSA ciphertext, binding no context, so it is what
//! [`KeyProvider::encrypt_raw`](keygate_core::KeyProvider::encrypt_raw) returns.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::EncryptionAlgorithmSpec;
use keygate_core::{Ciphertext, EncryptionAlgorithm, Error, KeyUsage, Result, SecretBytes};
use zeroize::Zeroizing;

use super::AwsKmsProvider;
use super::error::Class;

/// The algorithms [`KeyProvider::encrypt_raw`](keygate_core::KeyProvider::encrypt_raw) takes
/// on an AWS provider.
pub(super) const RAW_ALGORITHMS: [EncryptionAlgorithm; 2] = [
    EncryptionAlgorithm::RsaOaepSha256,
    EncryptionAlgorithm::RsaOaepSha1,
];

/// KMS's name for a raw algorithm of `declared` (the provider's `raw_encryption`);
/// `Unsupported` for the ones KMS lacks (`RSAES_PKCS1_V1_5`) and the ones not declared (an
/// endpoint such as LocalStack may have no RSA-OAEP at all).
fn declared_aws(
    algorithm: EncryptionAlgorithm,
    declared: &[EncryptionAlgorithm],
    provider: &str,
) -> Result<EncryptionAlgorithmSpec> {
    let aws = to_aws(algorithm, provider)?;
    if declared.contains(&algorithm) {
        Ok(aws)
    } else {
        Err(Error::unsupported(format!(
            "provider `{provider}` does not declare {} encryption",
            algorithm.as_str()
        )))
    }
}

/// KMS's name for a raw algorithm; `Unsupported` for the ones KMS lacks (`RSAES_PKCS1_V1_5`).
fn to_aws(algorithm: EncryptionAlgorithm, provider: &str) -> Result<EncryptionAlgorithmSpec> {
    match algorithm {
        EncryptionAlgorithm::RsaOaepSha256 => Ok(EncryptionAlgorithmSpec::RsaesOaepSha256),
        EncryptionAlgorithm::RsaOaepSha1 => Ok(EncryptionAlgorithmSpec::RsaesOaepSha1),
        other => Err(Error::unsupported(format!(
            "provider `{provider}` (AWS KMS) has no {} encryption",
            other.as_str()
        ))),
    }
}

/// The most plaintext RSA-OAEP fits in a `modulus`-byte key with a hash of `hash_len` bytes.
fn max_plaintext(modulus: usize, hash_len: usize) -> usize {
    modulus.saturating_sub(2 * hash_len + 2)
}

/// The modulus length of an RSA spec's keys, in bytes; `None` for other specs.
fn modulus_len(spec: keygate_core::KeySpec) -> Option<usize> {
    use keygate_core::KeySpec;
    match spec {
        KeySpec::Rsa2048 => Some(256),
        KeySpec::Rsa3072 => Some(384),
        KeySpec::Rsa4096 => Some(512),
        _ => None,
    }
}

impl AwsKmsProvider {
    /// `Encrypt` of an RSA encryption key under `algorithm`.
    pub(super) async fn encrypt_raw_impl(
        &self,
        key_id: &str,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Ciphertext> {
        let aws_algorithm = declared_aws(algorithm, &self.caps.raw_encryption, &self.info.name)?;
        let key = self.kms.describe(key_id).await?;
        key.require(KeyUsage::Encrypt, "encrypt_raw")?;
        let Some(modulus) = modulus_len(key.spec) else {
            return Err(Error::invalid(format!(
                "{} needs an RSA encryption key; key {} is {}",
                algorithm.as_str(),
                key.id,
                key.spec
            )));
        };
        let hash_len = if algorithm == EncryptionAlgorithm::RsaOaepSha1 {
            20
        } else {
            32
        };
        let max = max_plaintext(modulus, hash_len);
        if plaintext.is_empty() || plaintext.len() > max {
            return Err(Error::invalid(format!(
                "{} with {} key {} encrypts 1 to {max} bytes, not {}",
                algorithm.as_str(),
                key.spec,
                key.id,
                plaintext.len()
            )));
        }
        let what = format!("encrypt_raw({key_id}, {})", algorithm.as_str());
        let call = self
            .kms
            .client
            .encrypt()
            .key_id(&key.id)
            .plaintext(Blob::new(plaintext.to_vec()))
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

    /// `Decrypt` of a bare RSA ciphertext under `algorithm`; any failure of the ciphertext
    /// itself is `IntegrityFailure`.
    pub(super) async fn decrypt_raw_impl(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        let aws_algorithm = declared_aws(algorithm, &self.caps.raw_encryption, &self.info.name)?;
        let key = self.kms.describe(key_id).await?;
        key.require(KeyUsage::Encrypt, "decrypt_raw")?;
        if !key.spec.is_rsa() {
            return Err(Error::invalid(format!(
                "{} needs an RSA encryption key; key {} is {}",
                algorithm.as_str(),
                key.id,
                key.spec
            )));
        }
        self.require_primary(&key, key_version, "decrypt_raw")
            .await?;
        if ciphertext.is_empty() {
            return Err(Error::IntegrityFailure);
        }
        let out = self
            .kms
            .client
            .decrypt()
            .key_id(&key.id)
            .ciphertext_blob(Blob::new(ciphertext.to_vec()))
            .encryption_algorithm(aws_algorithm)
            .send()
            .await
            .map_err(|e| {
                let e = super::error::AwsError::from(e);
                match e.class() {
                    Class::NotFound | Class::InvalidArgument => Error::IntegrityFailure,
                    _ => e.into_core(&self.info.name, "decrypt_raw"),
                }
            })?;
        out.plaintext
            .map(|p| Zeroizing::new(p.into_inner()))
            .ok_or_else(|| Error::provider(&self.info.name, "decrypt_raw: no plaintext"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oaep_limits_follow_the_hash() {
        assert_eq!(max_plaintext(256, 20), 214);
        assert_eq!(max_plaintext(256, 32), 190);
        assert_eq!(max_plaintext(512, 20), 470);
        assert!(to_aws(EncryptionAlgorithm::RsaPkcs1V15, "aws").is_err());
        assert_eq!(
            to_aws(EncryptionAlgorithm::RsaOaepSha1, "aws").unwrap(),
            EncryptionAlgorithmSpec::RsaesOaepSha1
        );
        // Only the declared algorithms reach KMS.
        let err = declared_aws(EncryptionAlgorithm::RsaOaepSha1, &[], "aws").unwrap_err();
        assert_eq!(err.kind(), keygate_core::ErrorKind::Unsupported);
        assert_eq!(
            declared_aws(EncryptionAlgorithm::RsaOaepSha1, &RAW_ALGORITHMS, "aws").unwrap(),
            EncryptionAlgorithmSpec::RsaesOaepSha1
        );
    }
}
