//! Cryptographic methods: one keygate call each.
//!
//! `:encrypt`/`:decrypt` use keygate envelopes (so ciphertext is portable across the CLI and
//! the other dialects) with `additionalAuthenticatedData` as the context
//! `{"gcp:aad": base64(aad)}`. Decryption is exact, as in Cloud KMS: the envelope must be
//! this key's and its context must equal the request's (empty equals only empty).

use keygate_core::SignInput;
use keygate_core::api::Gateway as _;
use keygate_core::{EncryptionContext, EnvelopeHeader};
use serde_json::{Value, json};

use super::super::error::{GcpError, GcpResult};
use super::super::model::Algorithm;
use super::super::path::{KeyName, VersionName};
use super::super::wire::{Body, b64, check_crc, crc};
use super::{Ctx, KeyTarget};

/// Cloud KMS's bound on plaintext, additional authenticated data and data to sign or MAC.
pub const MAX_INPUT: usize = 64 * 1024;

/// The keygate context of a Cloud KMS `additionalAuthenticatedData`.
pub fn aad_context(aad: &[u8]) -> EncryptionContext {
    if aad.is_empty() {
        EncryptionContext::new()
    } else {
        EncryptionContext::new().with("gcp:aad", b64(aad))
    }
}

fn bounded(field: &str, bytes: &[u8]) -> GcpResult<()> {
    if bytes.len() > MAX_INPUT {
        return Err(GcpError::invalid(format!(
            "The {field} must be at most {MAX_INPUT} bytes."
        )));
    }
    Ok(())
}

fn required(body: &Body, field: &str, proto: &str) -> GcpResult<zeroize::Zeroizing<Vec<u8>>> {
    body.bytes(field)?
        .filter(|b| !b.is_empty())
        .ok_or_else(|| GcpError::invalid(format!("The field '{proto}' is required.")))
}

/// Refuses a key the dialect knows to be of another purpose.
fn require_purpose(key: &KeyTarget, name: &KeyName, purpose: &str) -> GcpResult<()> {
    match key
        .record
        .as_ref()
        .and_then(|r| Algorithm::named(&r.algorithm))
    {
        Some(a) if a.purpose != purpose => Err(GcpError::precondition(format!(
            "CryptoKey {name} has purpose {}; this method needs {purpose}.",
            a.purpose
        ))),
        _ => Ok(()),
    }
}

/// keygate encrypts with the primary version; `:encrypt` naming another is refused.
fn require_version(name: &VersionName, used: &str) -> GcpResult<()> {
    if name.version == used {
        Ok(())
    } else {
        Err(GcpError::precondition(format!(
            "keygate encrypts with the primary version ({used}) of {}; version {} cannot be used for :encrypt.",
            name.key, name.version
        )))
    }
}

/// The dialect's error for a failed call on version `name`: NOT_FOUND for a missing version
/// (or key), FAILED_PRECONDITION naming the state for a version that is not enabled.
fn on_version(name: &VersionName) -> impl Fn(keygate_core::Error) -> GcpError + '_ {
    super::versions::version_error(name)
}

/// `:encrypt` (on the key, or on its primary version): one `encrypt`.
pub async fn encrypt(ctx: &Ctx<'_>, name: &KeyName, version: Option<&str>) -> GcpResult<Value> {
    let body = ctx.body(&[
        "name",
        "plaintext",
        "additionalAuthenticatedData",
        "plaintextCrc32c",
        "additionalAuthenticatedDataCrc32c",
    ])?;
    let plaintext = required(&body, "plaintext", "plaintext")?;
    bounded("plaintext", &plaintext)?;
    let aad = body
        .bytes("additionalAuthenticatedData")?
        .unwrap_or_default();
    bounded("additional authenticated data", &aad)?;
    let verified_plaintext = check_crc(
        "plaintext_crc32c",
        body.int64("plaintextCrc32c")?,
        &plaintext,
    )?;
    let verified_aad = check_crc(
        "additional_authenticated_data_crc32c",
        body.int64("additionalAuthenticatedDataCrc32c")?,
        &aad,
    )?;
    let key = ctx.key(name).await?;
    require_purpose(&key, name, "ENCRYPT_DECRYPT")?;
    let envelope = ctx
        .session
        .encrypt(&key.locator(), &plaintext, &aad_context(&aad))
        .await?;
    let (header, _) = EnvelopeHeader::decode(&envelope)?;
    if let Some(v) = version {
        require_version(&name.version(v), &header.key_version)?;
    }
    Ok(json!({
        "name": name.version(header.key_version).to_string(),
        "ciphertext": b64(&envelope),
        "ciphertextCrc32c": crc(&envelope).to_string(),
        "verifiedPlaintextCrc32c": verified_plaintext,
        "verifiedAdditionalAuthenticatedDataCrc32c": verified_aad,
        "protectionLevel": "SOFTWARE",
    }))
}

/// `:decrypt`: one `decrypt_under` this key: the service checks that the envelope is this
/// key's and bound to exactly this AAD (a mismatch is audited and answered with the fixed
/// decryption failure).
pub async fn decrypt(ctx: &Ctx<'_>, name: &KeyName) -> GcpResult<Value> {
    let body = ctx.body(&[
        "name",
        "ciphertext",
        "additionalAuthenticatedData",
        "ciphertextCrc32c",
        "additionalAuthenticatedDataCrc32c",
    ])?;
    let ciphertext = required(&body, "ciphertext", "ciphertext")?;
    let aad = body
        .bytes("additionalAuthenticatedData")?
        .unwrap_or_default();
    bounded("additional authenticated data", &aad)?;
    check_crc(
        "ciphertext_crc32c",
        body.int64("ciphertextCrc32c")?,
        &ciphertext,
    )?;
    check_crc(
        "additional_authenticated_data_crc32c",
        body.int64("additionalAuthenticatedDataCrc32c")?,
        &aad,
    )?;
    let key = ctx.key(name).await?;
    let context = aad_context(&aad);
    // One audited call: another key's ciphertext is refused (and audited) by the service.
    let opened = ctx
        .session
        .decrypt_under(&key.locator(), &ciphertext, &context)
        .await
        .map_err(GcpError::from_decrypt)?;
    Ok(json!({
        "plaintext": b64(&opened.plaintext),
        "plaintextCrc32c": crc(&opened.plaintext).to_string(),
        "protectionLevel": "SOFTWARE",
    }))
}

/// `:asymmetricSign` with the named version (any enabled one: a signer pinned to version 1
/// keeps working after version 2 is made), of `digest` or `data`: one `sign`. A version that
/// is not enabled is FAILED_PRECONDITION naming its state, a missing one NOT_FOUND.
pub async fn asymmetric_sign(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let body = ctx.body(&["name", "digest", "digestCrc32c", "data", "dataCrc32c"])?;
    let digest = body.message("digest", &["sha256", "sha384", "sha512"])?;
    let data = body.bytes("data")?.filter(|d| !d.is_empty());
    let mut key = ctx.key(&name.key).await?;
    let algo = ctx.algorithm(&name.key, &mut key).await?;
    let (Some(signing), Some(kind)) = (algo.signing, algo.digest) else {
        return Err(GcpError::precondition(format!(
            "CryptoKey {} has purpose {}; asymmetricSign needs ASYMMETRIC_SIGN.",
            name.key, algo.purpose
        )));
    };
    let (signature, verified_digest, verified_data) = match (digest, data) {
        (Some(d), None) => {
            let given: Vec<&str> = ["sha256", "sha384", "sha512"]
                .into_iter()
                .filter(|k| d.has(k))
                .collect();
            if given != [kind] {
                return Err(GcpError::invalid(format!(
                    "The digest must be exactly one {kind} digest for algorithm {}.",
                    algo.name
                )));
            }
            let bytes = d.bytes(kind)?.unwrap_or_default();
            let want = signing.digest_len();
            if bytes.len() != want {
                return Err(GcpError::invalid(format!(
                    "The {kind} digest must be {want} bytes long."
                )));
            }
            let verified = check_crc("digest_crc32c", body.int64("digestCrc32c")?, &bytes)?;
            let sig = ctx
                .session
                .sign(
                    &key.locator(),
                    Some(&name.version),
                    SignInput::Digest(&bytes),
                    Some(signing),
                )
                .await
                .map_err(on_version(name))?
                .value;
            (sig, verified, false)
        }
        (None, Some(data)) => {
            bounded("data", &data)?;
            let verified = check_crc("data_crc32c", body.int64("dataCrc32c")?, &data)?;
            let sig = ctx
                .session
                .sign(
                    &key.locator(),
                    Some(&name.version),
                    SignInput::Message(&data),
                    Some(signing),
                )
                .await
                .map_err(on_version(name))?
                .value;
            (sig, false, verified)
        }
        _ => {
            return Err(GcpError::invalid(
                "Exactly one of 'digest' and 'data' must be set.",
            ));
        }
    };
    Ok(json!({
        "signature": b64(&signature.bytes),
        "signatureCrc32c": crc(&signature.bytes).to_string(),
        "verifiedDigestCrc32c": verified_digest,
        "verifiedDataCrc32c": verified_data,
        "name": name.to_string(),
        "protectionLevel": "SOFTWARE",
    }))
}

/// `:asymmetricDecrypt` (RSA-OAEP-SHA-256) with the named version: one `decrypt_native`. A
/// version that is not enabled is FAILED_PRECONDITION naming its state, a missing one
/// NOT_FOUND; a ciphertext that does not open is the fixed decryption failure.
pub async fn asymmetric_decrypt(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let body = ctx.body(&["name", "ciphertext", "ciphertextCrc32c"])?;
    let ciphertext = required(&body, "ciphertext", "ciphertext")?;
    let verified = check_crc(
        "ciphertext_crc32c",
        body.int64("ciphertextCrc32c")?,
        &ciphertext,
    )?;
    let key = ctx.key(&name.key).await?;
    require_purpose(&key, &name.key, "ASYMMETRIC_DECRYPT")?;
    let opened = ctx
        .session
        .decrypt_native(
            &key.locator(),
            Some(&name.version),
            &ciphertext,
            &EncryptionContext::new(),
        )
        .await
        .map_err(|e| match e {
            keygate_core::Error::NotFound(_) => super::versions::missing(name),
            other => GcpError::from_decrypt(other),
        })?;
    Ok(json!({
        "plaintext": b64(&opened.plaintext),
        "plaintextCrc32c": crc(&opened.plaintext).to_string(),
        "verifiedCiphertextCrc32c": verified,
        "protectionLevel": "SOFTWARE",
    }))
}

/// `:macSign` with the named version (any enabled one): one `generate_mac`.
pub async fn mac_sign(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let body = ctx.body(&["name", "data", "dataCrc32c"])?;
    let data = body.bytes("data")?.unwrap_or_default();
    bounded("data", &data)?;
    let verified = check_crc("data_crc32c", body.int64("dataCrc32c")?, &data)?;
    let key = ctx.key(&name.key).await?;
    require_purpose(&key, &name.key, "MAC")?;
    let tag = ctx
        .session
        .generate_mac(&key.locator(), Some(&name.version), &data)
        .await
        .map_err(on_version(name))?
        .value;
    Ok(json!({
        "name": name.to_string(),
        "mac": b64(&tag.bytes),
        "macCrc32c": crc(&tag.bytes).to_string(),
        "verifiedDataCrc32c": verified,
        "protectionLevel": "SOFTWARE",
    }))
}

/// `:macVerify` with the named version: one `verify_mac`; a MAC that does not match is
/// `success: false`, and
/// `verifiedSuccessIntegrity` repeats `success`, as Cloud KMS's integrity field does.
pub async fn mac_verify(ctx: &Ctx<'_>, name: &VersionName) -> GcpResult<Value> {
    let body = ctx.body(&["name", "data", "dataCrc32c", "mac", "macCrc32c"])?;
    let data = body.bytes("data")?.unwrap_or_default();
    bounded("data", &data)?;
    let mac = required(&body, "mac", "mac")?;
    let verified_data = check_crc("data_crc32c", body.int64("dataCrc32c")?, &data)?;
    let verified_mac = check_crc("mac_crc32c", body.int64("macCrc32c")?, &mac)?;
    let key = ctx.key(&name.key).await?;
    require_purpose(&key, &name.key, "MAC")?;
    let success = ctx
        .session
        .verify_mac(&key.locator(), Some(&name.version), &data, &mac)
        .await
        .map_err(on_version(name))?
        .value;
    Ok(json!({
        "name": name.to_string(),
        "success": success,
        "verifiedDataCrc32c": verified_data,
        "verifiedMacCrc32c": verified_mac,
        // An integrity echo of `success` (Cloud KMS: a client discards an answer whose
        // flag contradicts `success`), never a constant.
        "verifiedSuccessIntegrity": success,
        "protectionLevel": "SOFTWARE",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_becomes_a_gcp_context_and_empty_stays_empty() {
        assert!(aad_context(b"").is_empty());
        let c = aad_context(b"tenant-1");
        assert_eq!(c.0.get("gcp:aad").map(String::as_str), Some("dGVuYW50LTE="));
    }
}
