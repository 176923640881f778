//! Envelope encryption in the service: data keys from the key's provider (or the bounded
//! cache), sealed and opened in keygate's self-describing envelope.
//!
//! The cache only saves provider round-trips: every call is still authorized and audited.
//! A streamed envelope ([`Gateway::begin_envelope`]) always gets a fresh data key: its size
//! is unknown when the key is handed out, so it could not be counted against the cache's
//! byte limit.
//!
//! [`Gateway::begin_envelope`]: keygate_core::api::Gateway::begin_envelope

use keygate_core::access::Action;
use keygate_core::api::{Decrypted, SealingKey};
use keygate_core::envelope::{self, EnvelopeHeader};
use keygate_core::{DataKeySpec, EncryptionContext, Error, KeyLocator, Result, SecretBytes};

use super::Session;
use super::run::Audit;
use crate::cache::CachedDataKey;
use crate::registry::ResolvedKey;

impl Session {
    /// `Gateway::encrypt`: a whole message into one envelope.
    pub(super) async fn seal_envelope(
        &self,
        key: &KeyLocator,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>> {
        let bytes = u64::try_from(plaintext.len()).unwrap_or(u64::MAX);
        self.key_op(Action::CryptoEncrypt, key, |k, _| async move {
            let sealing = self.sealing_key(&k, context, Some(bytes)).await?;
            let version = sealing.header.key_version.clone();
            let sealed = envelope::seal(&sealing.header, &sealing.data_key, plaintext)?;
            Ok((sealed, Some(version)))
        })
        .await
    }

    /// `Gateway::begin_envelope`: a data key and header for a stream the caller seals.
    pub(super) async fn begin_stream(
        &self,
        key: &KeyLocator,
        context: &EncryptionContext,
    ) -> Result<SealingKey> {
        self.key_op(Action::CryptoEncrypt, key, |k, _| async move {
            let sealing = self.sealing_key(&k, context, None).await?;
            let version = sealing.header.key_version.clone();
            Ok((sealing, Some(version)))
        })
        .await
    }

    /// `Gateway::decrypt`: a whole envelope.
    pub(super) async fn open_whole_envelope(
        &self,
        sealed: &[u8],
        context: &EncryptionContext,
    ) -> Result<Decrypted> {
        let mut audit = self.audit(Action::CryptoDecrypt);
        let result = async {
            let (header, header_len) = EnvelopeHeader::decode(sealed)?;
            self.open_sealed(&mut audit, header, &sealed[header_len..], context)
                .await
        }
        .await;
        audit.done(result).await
    }

    /// Opens a whole envelope only when it was sealed under `key` with exactly `context`
    /// (the dialects' decrypt: Cloud KMS, Key Vault and AWS with a `KeyId` name the key and
    /// take the context as exact). One audited call: `key` is resolved and `crypto:decrypt`
    /// authorized on it first; an envelope of another key is refused and audited as
    /// `denied`, a context that differs as a `failure`, both answered
    /// [`Error::IntegrityFailure`] so the caller learns nothing about the other key.
    ///
    /// # Errors
    /// [`Error::IntegrityFailure`] for a malformed envelope, another key's envelope, another
    /// context or a failed opening; a refusal on `key` as every key call has it.
    pub async fn decrypt_under(
        &self,
        key: &KeyLocator,
        sealed: &[u8],
        context: &EncryptionContext,
    ) -> Result<Decrypted> {
        let mut audit = self.audit(Action::CryptoDecrypt);
        let result = async {
            let (named, _) = self
                .authorize_key(&mut audit, Action::CryptoDecrypt, key)
                .await?;
            let (header, header_len) =
                EnvelopeHeader::decode(sealed).map_err(|_| Error::IntegrityFailure)?;
            if header.key_uri != named.uri() {
                let _ = audit.deny(format!(
                    "the ciphertext was sealed under {}, not under {}",
                    header.key_uri,
                    named.uri()
                ));
                return Err(Error::IntegrityFailure);
            }
            if header.context != *context {
                return Err(Error::IntegrityFailure);
            }
            self.open_sealed(&mut audit, header, &sealed[header_len..], context)
                .await
        }
        .await;
        audit.done(result).await
    }

    /// Unwraps the data key of `header` (audited on `audit`) and opens `payload` with it: the
    /// end of both whole-envelope decrypts.
    async fn open_sealed(
        &self,
        audit: &mut Audit<'_>,
        header: EnvelopeHeader,
        payload: &[u8],
        context: &EncryptionContext,
    ) -> Result<Decrypted> {
        let data_key = self.unwrap_data_key(audit, &header, context).await?;
        let plaintext = envelope::open_payload(&header, &data_key, payload)?;
        Ok(Decrypted {
            plaintext,
            key_uri: header.key_uri,
            key_version: Some(header.key_version),
            context: header.context,
        })
    }

    /// `Gateway::open_envelope`: the data key of a header the caller opens itself.
    pub(super) async fn open_stream(
        &self,
        header: &EnvelopeHeader,
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        let mut audit = self.audit(Action::CryptoDecrypt);
        let result = self.unwrap_data_key(&mut audit, header, context).await;
        audit.done(result).await
    }

    /// A data key for `key` to seal a message of `bytes` bytes (`None`: a stream of unknown
    /// length): from the cache when it allows, else fresh from the provider.
    async fn sealing_key(
        &self,
        k: &ResolvedKey,
        context: &EncryptionContext,
        bytes: Option<u64>,
    ) -> Result<SealingKey> {
        let uri = k.uri();
        let cache = &self.service.cache;
        let hit = bytes.and_then(|b| cache.get_for_encrypt(&uri, context, b));
        let cached = match hit {
            Some(hit) => hit,
            None => {
                let dk = k
                    .provider
                    .generate_data_key(&k.id, DataKeySpec::Aes256, context)
                    .await?;
                let fresh = CachedDataKey {
                    provider: k.provider.info().name.clone(),
                    key_version: dk.key_version,
                    wrapped_key: dk.ciphertext,
                    data_key: dk.plaintext,
                };
                if let Some(b) = bytes {
                    cache.put_for_encrypt(&uri, context, fresh.clone(), b);
                }
                fresh
            }
        };
        let header = EnvelopeHeader::new(
            cached.provider,
            uri,
            cached.key_version,
            context.clone(),
            cached.wrapped_key,
        );
        Ok(SealingKey {
            header,
            data_key: cached.data_key,
        })
    }

    /// Routes a header to its key's provider, authorizes `crypto:decrypt` there, and unwraps
    /// the data key (or takes it from the cache).
    async fn unwrap_data_key(
        &self,
        audit: &mut Audit<'_>,
        header: &EnvelopeHeader,
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        // Authorized first, so the audit row of a refused or failed decrypt names its key.
        let (k, _) = self
            .authorize_key(
                audit,
                Action::CryptoDecrypt,
                &KeyLocator::Uri(header.key_uri.clone()),
            )
            .await?;
        audit.key_version = Some(header.key_version.clone());
        if !context.0.is_empty() && context != &header.context {
            // Same answer as any other integrity failure: nothing specific.
            return Err(Error::IntegrityFailure);
        }
        // From here the key is used (from the cache or the provider): intent first.
        audit.begin().await?;
        let cache = &self.service.cache;
        if let Some(hit) =
            cache.get_for_decrypt(&header.key_uri, &header.wrapped_key, &header.context)
        {
            return Ok(hit);
        }
        let data_key = k
            .provider
            .decrypt(Some(&k.id), &header.wrapped_key, &header.context)
            .await?;
        cache.put_for_decrypt(
            &header.key_uri,
            &header.wrapped_key,
            &header.context,
            data_key.clone(),
        );
        Ok(data_key)
    }
}
