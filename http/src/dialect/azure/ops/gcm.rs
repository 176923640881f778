//! `A256GCM` encrypt and decrypt in Key Vault's shape, over keygate's envelope.
//!
//! Key Vault answers an AES-GCM encryption with the ciphertext `value`, the `iv` it chose,
//! the authentication `tag` and the `aad` it was given, and takes all of them back to
//! decrypt. keygate seals with its envelope (a data key wrapped by the key, the payload in
//! AES-256-GCM chunks, each bound to the header) and cuts it to that shape:
//!
//! - `tag` is the envelope's last 16 bytes: the final chunk's GCM tag;
//! - `value` is the rest of the envelope (header and sealed chunks);
//! - `iv` is the first 12 bytes of the envelope's random 32-byte message id, from which the
//!   payload key is derived: random per message, never repeated, and checked on decryption;
//! - `aad` is bound as the context `{"azure:aad": base64(aad)}`, so `value || tag` also
//!   decrypts through the CLI and the other doors with that context.
//!
//! Decryption puts `value || tag` back together and opens it: a wrong tag, iv, aad or value
//! fails as Key Vault's does (400 BadParameter, "Decryption failed"). A request with neither
//! iv nor tag is taken as a whole envelope in `value`, what keygate answered before it
//! returned the two apart.

use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keygate_core::api::Gateway as _;
use keygate_core::{EncryptionContext, EnvelopeHeader};

use super::super::Ctx;
use super::super::error::AzureError;
use super::super::wire::{KeyOperationParams, KeyOperationResult, b64};
use super::by_name;
use super::crypto::pinned;
use super::ok;

/// The context key `aad` is bound under.
pub const AAD_CONTEXT_KEY: &str = "azure:aad";
/// AES-GCM's tag length.
const TAG_LEN: usize = 16;
/// The iv length Key Vault returns for AES-GCM (96 bits).
const IV_LEN: usize = 12;

/// The context `aad` binds (none for no or empty aad).
pub(super) fn context_of(aad: Option<&[u8]>) -> EncryptionContext {
    match aad {
        Some(aad) if !aad.is_empty() => {
            EncryptionContext::new().with(AAD_CONTEXT_KEY, STANDARD.encode(aad))
        }
        _ => EncryptionContext::new(),
    }
}

/// The iv an envelope's header answers to.
fn iv_of(header: &EnvelopeHeader) -> &[u8] {
    &header.message_id[..IV_LEN]
}

/// POST …/encrypt with `A256GCM`.
pub(super) async fn encrypt(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    p: KeyOperationParams,
) -> Result<Response, AzureError> {
    if p.iv.is_some() || p.tag.is_some() {
        return Err(AzureError::bad_parameter(
            "Key Vault chooses the iv of A256GCM: encryption takes no iv or tag.",
        ));
    }
    let aad = p.aad.as_ref().map(|a| a.0.as_slice());
    let envelope = ctx
        .session
        .encrypt(&by_name(name), &p.value.0, &context_of(aad))
        .await
        .map_err(ctx.err("encrypt", Some(name)))?;
    let internal = |what: &str| {
        tracing::error!(what, "azure dialect: an envelope just made does not cut");
        AzureError::internal()
    };
    let (header, header_len) = EnvelopeHeader::decode(&envelope).map_err(|_| internal("header"))?;
    let cut = envelope
        .len()
        .checked_sub(TAG_LEN)
        .filter(|c| *c >= header_len)
        .ok_or_else(|| internal("length"))?;
    pinned(version, &header.key_version)?;
    let (value, tag) = envelope.split_at(cut);
    Ok(ok(&KeyOperationResult {
        kid: ctx.kid(name, Some(&header.key_version)),
        value: b64(value),
        iv: Some(b64(iv_of(&header))),
        tag: Some(b64(tag)),
        aad: aad.map(b64),
    }))
}

/// POST …/decrypt with `A256GCM`.
pub(super) async fn decrypt(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    p: KeyOperationParams,
) -> Result<Response, AzureError> {
    let envelope = match (&p.iv, &p.tag) {
        (Some(iv), Some(tag)) => {
            if tag.0.len() != TAG_LEN {
                return Err(AzureError::decryption_failed());
            }
            let mut whole = p.value.0.clone();
            whole.extend_from_slice(&tag.0);
            let Ok((header, _)) = EnvelopeHeader::decode(&whole) else {
                return Err(AzureError::decryption_failed());
            };
            if iv.0 != iv_of(&header) {
                return Err(AzureError::decryption_failed());
            }
            whole
        }
        (None, None) => p.value.0.clone(),
        _ => {
            return Err(AzureError::bad_parameter(
                "A256GCM decryption takes both the iv and the tag that encryption returned.",
            ));
        }
    };
    let Ok((header, _)) = EnvelopeHeader::decode(&envelope) else {
        return Err(AzureError::decryption_failed());
    };
    if version.is_some_and(|v| v != header.key_version) {
        return Err(AzureError::decryption_failed());
    }
    // Azure's aad is exact (no aad decrypts only what was sealed without one), and the
    // envelope must be this key's: both checked, and a mismatch audited, by the service.
    let context = context_of(p.aad.as_ref().map(|a| a.0.as_slice()));
    let d = ctx
        .session
        .decrypt_under(&by_name(name), &envelope, &context)
        .await
        .map_err(ctx.err("decrypt", Some(name)))?;
    Ok(ok(&KeyOperationResult {
        kid: ctx.kid(name, d.key_version.as_deref()),
        value: b64(&d.plaintext),
        ..KeyOperationResult::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_becomes_the_shared_context() {
        assert!(context_of(None).is_empty());
        assert!(context_of(Some(b"")).is_empty());
        let c = context_of(Some(b"hi"));
        assert_eq!(c.0.get(AAD_CONTEXT_KEY).map(String::as_str), Some("aGk="));
    }
}
