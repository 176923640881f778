//! Raw RSA encryption through the service layer: the bare ciphertexts of
//! [`KeyProvider::encrypt_raw`](keygate_core::KeyProvider::encrypt_raw), which the cloud
//! dialects need where a cloud names the padding (Key Vault's `RSA-OAEP`, `RSA1_5`).
//! Authorized and audited as `crypto:encrypt` and `crypto:decrypt`, like every other use of
//! a key.

use keygate_core::access::Action;
use keygate_core::api::{Decrypted, Resolved};
use keygate_core::{Ciphertext, EncryptionAlgorithm, EncryptionContext, KeyLocator, Result};

use super::Session;

impl Session {
    /// Encrypts `plaintext` with the key's primary version under the RSA `algorithm`: the
    /// bare RSA ciphertext, binding no context.
    ///
    /// # Errors
    /// As [`KeyProvider::encrypt_raw`](keygate_core::KeyProvider::encrypt_raw), after the
    /// caller is authorized for `crypto:encrypt` on the key and the intent is audited.
    pub async fn encrypt_raw(
        &self,
        key: &KeyLocator,
        algorithm: EncryptionAlgorithm,
        plaintext: &[u8],
    ) -> Result<Resolved<Ciphertext>> {
        self.key_op(Action::CryptoEncrypt, key, |k, _| async move {
            let ct = k.provider.encrypt_raw(&k.id, algorithm, plaintext).await?;
            let v = ct.key_version.clone();
            Ok((k.answer(ct), Some(v)))
        })
        .await
    }

    /// Decrypts a bare RSA ciphertext made under `algorithm`, with `key_version` or (when
    /// `None`) whichever enabled version opens it.
    ///
    /// # Errors
    /// As [`KeyProvider::decrypt_raw`](keygate_core::KeyProvider::decrypt_raw), after the
    /// caller is authorized for `crypto:decrypt` on the key and the intent is audited.
    pub async fn decrypt_raw(
        &self,
        key: &KeyLocator,
        key_version: Option<&str>,
        algorithm: EncryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Decrypted> {
        self.key_op(Action::CryptoDecrypt, key, |k, m| async move {
            let plaintext = k
                .provider
                .decrypt_raw(&k.id, key_version, algorithm, ciphertext)
                .await?;
            let decrypted = Decrypted {
                plaintext,
                key_uri: m.uri,
                key_version: key_version.map(str::to_owned),
                context: EncryptionContext::new(),
            };
            Ok((decrypted, key_version.map(str::to_owned)))
        })
        .await
    }
}
