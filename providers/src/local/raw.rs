//! Raw RSA encryption of the local provider: the bare ciphertexts a client computes from the
//! public key alone, under RSA-OAEP with SHA-256 or SHA-1 (MGF1 of the same hash, empty
//! label) or PKCS#1 v1.5. No header and no context: the ciphertext names neither key nor
//! version, so a decryption without a version tries the primary and then the other enabled
//! versions, newest first.

use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm};
use keygate_core::{
    Ciphertext, EncryptionAlgorithm, Error, KeyUsage, Result, SecretBytes, raw_unsupported,
};
use zeroize::Zeroizing;

use super::LocalProvider;
use super::crypto::LoadedKey;
use super::error::LocalError;
use super::require_usable;

/// The raw algorithms the local provider takes.
pub(super) const RAW_ALGORITHMS: [EncryptionAlgorithm; 3] = [
    EncryptionAlgorithm::RsaOaepSha256,
    EncryptionAlgorithm::RsaOaepSha1,
    EncryptionAlgorithm::RsaPkcs1V15,
];

fn oaep(algorithm: EncryptionAlgorithm) -> Option<&'static OaepAlgorithm> {
    match algorithm {
        EncryptionAlgorithm::RsaOaepSha256 => Some(&OAEP_SHA256_MGF1SHA256),
        EncryptionAlgorithm::RsaOaepSha1 => Some(&OAEP_SHA1_MGF1SHA1),
        _ => None,
    }
}

impl LoadedKey {
    /// The bare RSA ciphertext of `plaintext` under `algorithm` (an RSA one of
    /// [`RAW_ALGORITHMS`]), or why not.
    fn raw_encrypt(
        &self,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> std::result::Result<Vec<u8>, RawRefusal> {
        let Self::RsaEncrypt {
            public,
            pkcs1_public,
            ..
        } = self
        else {
            return Err(RawRefusal::NotRsa);
        };
        let mut out = vec![0u8; public.ciphertext_size()];
        let len = if let Some(alg) = oaep(algorithm) {
            let max = public.max_plaintext_size(alg);
            if plaintext.len() > max {
                return Err(RawRefusal::TooLong(max));
            }
            public
                .encrypt(alg, plaintext, &mut out, None)
                .map_err(|_| RawRefusal::Failed)?
                .len()
        } else {
            let max = pkcs1_public.max_plaintext_size();
            if plaintext.len() > max {
                return Err(RawRefusal::TooLong(max));
            }
            pkcs1_public
                .encrypt(plaintext, &mut out)
                .map_err(|_| RawRefusal::Failed)?
                .len()
        };
        out.truncate(len);
        Ok(out)
    }

    /// The plaintext of a bare RSA ciphertext; `None` when it does not open.
    fn raw_decrypt(
        &self,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Option<SecretBytes> {
        let Self::RsaEncrypt {
            private,
            pkcs1_private,
            ..
        } = self
        else {
            return None;
        };
        if ciphertext.len() != private.key_size_bytes() {
            return None;
        }
        let mut out = Zeroizing::new(vec![0u8; private.min_output_size()]);
        let len = match oaep(algorithm) {
            Some(alg) => private.decrypt(alg, ciphertext, &mut out, None).ok()?.len(),
            None => pkcs1_private.decrypt(ciphertext, &mut out).ok()?.len(),
        };
        out.truncate(len);
        Some(out)
    }
}

/// Why a raw encryption did not happen.
enum RawRefusal {
    NotRsa,
    TooLong(usize),
    Failed,
}

impl LocalProvider {
    fn check_raw(&self, algorithm: EncryptionAlgorithm) -> Result<()> {
        if RAW_ALGORITHMS.contains(&algorithm) {
            Ok(())
        } else {
            Err(raw_unsupported(&self.info, algorithm))
        }
    }

    pub(super) async fn encrypt_raw_impl(
        &self,
        key_id: &str,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Ciphertext> {
        tracing::debug!(provider = %self.info.name, key = %key_id, alg = algorithm.as_str(), "raw encrypt");
        self.check_raw(algorithm)?;
        let key = self
            .usable_key(key_id, KeyUsage::Encrypt, "encrypt")
            .await?;
        let (version, loaded) = self.primary(&key).await?;
        let bytes = loaded
            .raw_encrypt(algorithm, plaintext)
            .map_err(|refusal| match refusal {
                RawRefusal::NotRsa => Error::invalid(format!(
                    "{} needs an RSA key; key `{key_id}` is {}",
                    algorithm.as_str(),
                    key.spec
                )),
                RawRefusal::TooLong(max) => Error::invalid(format!(
                    "plaintext of {} bytes is larger than the {max} bytes {} takes with a {} key",
                    plaintext.len(),
                    algorithm.as_str(),
                    key.spec
                )),
                RawRefusal::Failed => self.err(LocalError::Crypto("raw RSA encryption failed")),
            })?;
        Ok(Ciphertext {
            bytes,
            key_version: version.to_string(),
            algorithm,
        })
    }

    pub(super) async fn decrypt_raw_impl(
        &self,
        key_id: &str,
        key_version: Option<&str>,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<SecretBytes> {
        tracing::debug!(provider = %self.info.name, key = %key_id, alg = algorithm.as_str(), "raw decrypt");
        self.check_raw(algorithm)?;
        let key = self.key_record(key_id).await?;
        require_usable(&key, KeyUsage::Encrypt, "decrypt")?;
        if !key.spec.is_rsa() {
            return Err(Error::invalid(format!(
                "{} needs an RSA key; key `{key_id}` is {}",
                algorithm.as_str(),
                key.spec
            )));
        }
        let opened = match key_version {
            Some(v) => {
                let (_, loaded) = self.version_material(&key, Some(v)).await?;
                loaded.raw_decrypt(algorithm, ciphertext)
            }
            None => {
                self.first_version(&key, |m| m.raw_decrypt(algorithm, ciphertext))
                    .await?
            }
        };
        opened.ok_or(Error::IntegrityFailure)
    }
}
