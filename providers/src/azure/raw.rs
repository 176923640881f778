//! Raw RSA encryption in the vault: `RSA-OAEP-256`, `RSA-OAEP` (SHA-1) and `RSA1_5`, the
//! bare ciphertexts Key Vault's encrypt and decrypt take and return on RSA keys.

use azure_security_keyvault_keys::models::{EncryptionAlgorithm as AzAlg, KeyOperationParameters};
use keygate_core::{
    Ciphertext, EncryptionAlgorithm, Error, KeyUsage, Result, SecretBytes, raw_unsupported,
};

use super::AzureKeyVaultProvider;
use super::crypto::{Op, used_version};

/// The raw algorithms Key Vault takes on RSA keys.
pub(super) const RAW_ALGORITHMS: [EncryptionAlgorithm; 3] = [
    EncryptionAlgorithm::RsaOaepSha256,
    EncryptionAlgorithm::RsaOaepSha1,
    EncryptionAlgorithm::RsaPkcs1V15,
];

/// The vault's name of `algorithm` and its padding overhead in bytes.
fn vault_algorithm(algorithm: EncryptionAlgorithm) -> Option<(AzAlg, usize)> {
    match algorithm {
        EncryptionAlgorithm::RsaOaepSha256 => Some((AzAlg::RsaOaep256, 2 * 32 + 2)),
        EncryptionAlgorithm::RsaOaepSha1 => Some((AzAlg::RsaOaep, 2 * 20 + 2)),
        EncryptionAlgorithm::RsaPkcs1V15 => Some((AzAlg::Rsa1_5, 11)),
        _ => None,
    }
}

impl AzureKeyVaultProvider {
    fn raw_algorithm(&self, algorithm: EncryptionAlgorithm) -> Result<(AzAlg, usize)> {
        vault_algorithm(algorithm).ok_or_else(|| raw_unsupported(&self.info, algorithm))
    }

    /// Encrypts with the vault under the key's current version.
    pub(super) async fn encrypt_raw_with(
        &self,
        key_id: &str,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Ciphertext> {
        let (alg, overhead) = self.raw_algorithm(algorithm)?;
        let (key, version) = self.usable(key_id, KeyUsage::Encrypt, "encrypt").await?;
        if !key.spec.is_rsa() {
            return Err(Error::invalid(format!(
                "{} needs an RSA key; key `{key_id}` is {}",
                algorithm.as_str(),
                key.spec
            )));
        }
        let max = key.spec_bytes().saturating_sub(overhead);
        if plaintext.len() > max {
            return Err(Error::invalid(format!(
                "{} {} encrypts at most {max} bytes, not {}",
                key.spec,
                algorithm.as_str(),
                plaintext.len()
            )));
        }
        let params = KeyOperationParameters {
            algorithm: Some(alg),
            value: Some(plaintext.to_vec()),
            ..Default::default()
        };
        let what = format!("encrypt({key_id})");
        let out = self
            .operate(&key, &version, Op::Encrypt, params)
            .await
            .map_err(|e| self.version_error(&e, &key.name, &version, &what))?;
        let used = used_version(&out).unwrap_or(version);
        Ok(Ciphertext {
            bytes: out.result.unwrap_or_default(),
            key_version: used,
            algorithm,
        })
    }

    /// Decrypts with the vault: with `key_version`, or the current version and then the
    /// older enabled ones.
    pub(super) async fn decrypt_raw_with(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        let (alg, _) = self.raw_algorithm(algorithm)?;
        let (key, current) = self
            .key_at(key_id, KeyUsage::Encrypt, "decrypt", key_version)
            .await?;
        if !key.spec.is_rsa() {
            return Err(Error::invalid(format!(
                "{} needs an RSA key; key `{key_id}` is {}",
                algorithm.as_str(),
                key.spec
            )));
        }
        if key_version.is_some() {
            return self.rsa_decrypt_with(&key, &current, alg, ciphertext).await;
        }
        self.rsa_decrypt(&key, &current, alg, ciphertext).await
    }
}
