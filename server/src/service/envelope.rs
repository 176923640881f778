//! Envelope encryption in the service: data keys from the keys' providers (or the bounded
//! cache), sealed and opened in keygate's self-describing envelope.
//!
//! An envelope may carry its data key wrapped under several keys (see [`super::wrap`]).
//! Opening tries them one by one, in the `[envelope] decrypt_order` preference, each try
//! authorized and audited on its own key, until one unwraps.
//!
//! The cache only saves provider round-trips: every call is still authorized and audited.
//! A streamed envelope ([`Gateway::begin_envelope`]) always gets a fresh data key: its size
//! is unknown when the key is handed out, so it could not be counted against the cache's
//! byte limit.
//!
//! [`Gateway::begin_envelope`]: keygate_core::api::Gateway::begin_envelope

use keygate_core::access::Action;
use keygate_core::api::{Decrypted, SealingKey};
use keygate_core::envelope::{self, EnvelopeHeader, FORMAT_V1, Recipient};
use keygate_core::{DataKeySpec, EncryptionContext, Error, KeyLocator, Result, SecretBytes};

use super::Session;
use super::run::Audit;
use crate::cache::CachedDataKey;
use crate::registry::ResolvedKey;

impl Session {
    /// `Gateway::encrypt` and `Gateway::encrypt_for_keys`: a whole message into one
    /// envelope.
    pub(super) async fn seal_envelope(
        &self,
        keys: &[KeyLocator],
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>> {
        self.kind(Action::CryptoEncrypt)
            .scope(async {
                let bytes = u64::try_from(plaintext.len()).unwrap_or(u64::MAX);
                let sealing = self.sealing_for(keys, context, Some(bytes)).await?;
                envelope::seal(&sealing.header, &sealing.data_key, plaintext)
            })
            .await
    }

    /// `Gateway::begin_envelope` and `Gateway::begin_envelope_for_keys`: a data key and
    /// header for a stream the caller seals.
    pub(super) async fn begin_stream(
        &self,
        keys: &[KeyLocator],
        context: &EncryptionContext,
    ) -> Result<SealingKey> {
        self.kind(Action::CryptoGenerateDataKey)
            .scope(async { self.sealing_for(keys, context, None).await })
            .await
    }

    /// A data key and its header under `keys`: one key without minimum-key rules takes the
    /// cached path (one audited call); otherwise every key is wrapped and audited alone.
    async fn sealing_for(
        &self,
        keys: &[KeyLocator],
        context: &EncryptionContext,
        bytes: Option<u64>,
    ) -> Result<SealingKey> {
        if let [key] = keys
            && self.service.envelope.require.is_empty()
        {
            return self
                .key_op(Action::CryptoEncrypt, key, |k, _| async move {
                    let sealing = self.sealing_key(&k, context, bytes).await?;
                    let version = sealing.header.key_version.clone();
                    Ok((sealing, Some(version)))
                })
                .await;
        }
        let (data_key, recipients) = self.wrap_for(keys, context, &[], None).await?;
        let first = recipients
            .first()
            .cloned()
            .ok_or_else(|| Error::invalid("an envelope needs at least one key"))?;
        let mut header = EnvelopeHeader::new(
            first.provider,
            first.key_uri,
            first.key_version,
            context.clone(),
            first.wrapped_key,
        );
        header.set_recipients(recipients)?;
        header.commit_to(&data_key)?;
        Ok(SealingKey { header, data_key })
    }

    /// `Gateway::decrypt`: a whole envelope.
    pub(super) async fn open_whole_envelope(
        &self,
        sealed: &[u8],
        context: &EncryptionContext,
    ) -> Result<Decrypted> {
        self.kind(Action::CryptoDecrypt)
            .scope(async {
                let (header, header_len) = match EnvelopeHeader::decode(sealed) {
                    Ok(decoded) => decoded,
                    Err(e) => return self.audit(Action::CryptoDecrypt).done(Err(e)).await,
                };
                let payload = &sealed[header_len..];
                self.unwrap_then(&header, context, |data_key, r| {
                    open_with(&header, &data_key, r, payload)
                })
                .await
            })
            .await
    }

    /// Opens a whole envelope only when it was sealed under `key` (among its keys) with
    /// exactly `context` (the dialects' decrypt: Cloud KMS, Key Vault and AWS with a `KeyId`
    /// name the key and take the context as exact). One audited call: `key` is resolved and
    /// `crypto:decrypt` authorized on it first; an envelope without a copy under it is
    /// refused and audited as `denied`, a context that differs as a `failure`, both answered
    /// [`Error::IntegrityFailure`] so the caller learns nothing about the other keys.
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
        self.kind(Action::CryptoDecrypt)
            .scope(async {
                let mut audit = self.audit(Action::CryptoDecrypt);
                audit.facts = super::keypolicy::CallFacts::context(context);
                let result = async {
                    let (named, _) = self
                        .authorize_key(&mut audit, Action::CryptoDecrypt, key)
                        .await?;
                    let (header, header_len) =
                        EnvelopeHeader::decode(sealed).map_err(|_| Error::IntegrityFailure)?;
                    let Some(recipient) = header.recipient(&named.uri()) else {
                        let _ = audit.deny(format!(
                            "the ciphertext was sealed under {}, not under {}",
                            header.key_uri,
                            named.uri()
                        ));
                        return Err(Error::IntegrityFailure);
                    };
                    if header.context != *context {
                        return Err(Error::IntegrityFailure);
                    }
                    let data_key = self
                        .unwrap_one(&mut audit, &header, &recipient, context)
                        .await?;
                    open_with(&header, &data_key, &recipient, &sealed[header_len..])
                }
                .await;
                audit.done(result).await
            })
            .await
    }

    /// `Gateway::open_envelope`: the data key of a header the caller opens itself.
    pub(super) async fn open_stream(
        &self,
        header: &EnvelopeHeader,
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        self.kind(Action::CryptoDecrypt)
            .scope(async {
                self.unwrap_then(header, context, |data_key, _| Ok(data_key))
                    .await
            })
            .await
    }

    /// Tries the header's keys in the configured provider order, each try authorized and
    /// audited on its key, until one unwraps the data key; then runs `finish` on it inside
    /// that try's audit (so a payload that then fails to open is that row's failure).
    ///
    /// # Errors
    /// With one key, its error. With several: [`Error::PermissionDenied`] when the caller
    /// may use none of them, else the last failure other than a refusal.
    pub(super) async fn unwrap_then<T, F>(
        &self,
        header: &EnvelopeHeader,
        context: &EncryptionContext,
        finish: F,
    ) -> Result<T>
    where
        F: FnOnce(SecretBytes, &Recipient) -> Result<T> + Send,
        T: Send,
    {
        let mut order = header.recipients();
        let config = &self.service.envelope;
        order.sort_by_key(|r| config.rank(&r.provider));
        let single = order.len() == 1;
        let mut finish = Some(finish);
        let mut failure: Option<Error> = None;
        for recipient in &order {
            let mut audit = self.audit(Action::CryptoDecrypt);
            match self
                .unwrap_one(&mut audit, header, recipient, context)
                .await
            {
                Ok(data_key) => {
                    let finish = finish
                        .take()
                        .ok_or_else(|| Error::state("envelope opened twice"))?;
                    return audit.done(finish(data_key, recipient)).await;
                }
                Err(e) => {
                    let e = match audit.done::<()>(Err(e)).await {
                        Err(e) => e,
                        Ok(()) => Error::IntegrityFailure,
                    };
                    if single {
                        return Err(e);
                    }
                    if !matches!(e, Error::PermissionDenied(_)) || failure.is_none() {
                        failure = Some(e);
                    }
                }
            }
        }
        Err(match failure {
            Some(Error::PermissionDenied(_)) | None => {
                Error::PermissionDenied("the caller may use none of the envelope's keys".to_owned())
            }
            Some(e) => e,
        })
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
        let mut header = EnvelopeHeader::new(
            cached.provider,
            uri,
            cached.key_version,
            context.clone(),
            cached.wrapped_key,
        );
        header.commit_to(&cached.data_key)?;
        Ok(SealingKey {
            header,
            data_key: cached.data_key,
        })
    }

    /// Routes one wrapped copy to its key's provider, authorizes `crypto:decrypt` there, and
    /// unwraps the data key (or takes it from the cache). In format 2 the unwrapped key must
    /// match the header's commitment.
    async fn unwrap_one(
        &self,
        audit: &mut Audit<'_>,
        header: &EnvelopeHeader,
        recipient: &Recipient,
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        // Authorized first, so the audit row of a refused or failed decrypt names its key. The
        // key policy reads the context the data key was sealed under (a caller's differing
        // context fails just below).
        audit.facts = super::keypolicy::CallFacts::context(&header.context);
        let (k, _) = self
            .authorize_key(
                audit,
                Action::CryptoDecrypt,
                &KeyLocator::Uri(recipient.key_uri.clone()),
            )
            .await?;
        audit.key_version = Some(recipient.key_version.clone());
        if !context.0.is_empty() && context != &header.context {
            // Same answer as any other integrity failure: nothing specific.
            return Err(Error::IntegrityFailure);
        }
        // From here the key is used (from the cache or the provider): intent first.
        audit.begin().await?;
        let cache = &self.service.cache;
        let uri = &recipient.key_uri;
        if let Some(hit) = cache.get_for_decrypt(uri, &recipient.wrapped_key, &header.context) {
            return Ok(hit);
        }
        let data_key = k
            .provider
            .decrypt(Some(&k.id), None, &recipient.wrapped_key, &header.context)
            .await?;
        if header.format != FORMAT_V1 {
            header.verify_data_key(&data_key)?;
        }
        cache.put_for_decrypt(
            uri,
            &recipient.wrapped_key,
            &header.context,
            data_key.clone(),
        );
        Ok(data_key)
    }
}

/// Opens `payload` with an unwrapped data key: the end of both whole-envelope decrypts.
fn open_with(
    header: &EnvelopeHeader,
    data_key: &[u8],
    recipient: &Recipient,
    payload: &[u8],
) -> Result<Decrypted> {
    let plaintext = envelope::open_payload(header, data_key, payload)?;
    Ok(Decrypted {
        plaintext,
        key_uri: recipient.key_uri.clone(),
        key_version: Some(recipient.key_version.clone()),
        context: header.context.clone(),
    })
}
