//! encrypt, decrypt, wrapkey, unwrapkey, sign, verify: one Gateway call each.
//!
//! - `RSA-OAEP-256` (RSA keys; encrypt and wrapkey, decrypt and unwrapkey) is keygate's
//!   native RSA-OAEP-SHA-256 without a label: what a client computes locally from the JWK.
//! - `A256GCM` (encrypt, decrypt) is keygate's envelope: `value` is the whole envelope (it
//!   carries its own iv and tag, so none are returned or taken), and `aad` is bound as the
//!   context `{"azure:aad": base64(aad)}`, so the envelope also decrypts through the CLI and
//!   the other dialects with that context.
//! - sign and verify take the DIGEST (as Azure does): RS256, PS256, ES256, ES384; ECDSA
//!   signatures are JWS's raw `r||s` on the wire and DER inside keygate.
//!
//! keygate encrypts and signs with the primary version: a request naming another version is
//! refused after the fact (the row shows the call). For decryption the ciphertext decides,
//! and a named version must be the one that decrypts (the envelope's, for A256GCM).

use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keygate_core::SignInput;
use keygate_core::api::Gateway as _;
use keygate_core::crypto::EncryptionAlgorithm;
use keygate_core::{EncryptionContext, EnvelopeHeader, KeySpec, SigningAlgorithm};

use super::super::Ctx;
use super::super::error::AzureError;
use super::super::route::CryptoOp;
use super::super::wire::{
    KeyOperationParams, KeyOperationResult, SignParams, VerifyParams, VerifyResult, b64,
    ecdsa_der_to_raw, ecdsa_raw_to_der,
};
use super::by_name;
use super::{ok, parse};

/// The context key `aad` is bound under.
pub const AAD_CONTEXT_KEY: &str = "azure:aad";

const RSA_OAEP_256: &str = "RSA-OAEP-256";
const A256GCM: &str = "A256GCM";

/// Runs `op` on key `name` (version `version`, or the primary).
pub(super) async fn run(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    op: CryptoOp,
    body: &[u8],
) -> Result<Response, AzureError> {
    match op {
        CryptoOp::Encrypt | CryptoOp::WrapKey => {
            encrypt(ctx, name, version, op, parse(body)?).await
        }
        CryptoOp::Decrypt | CryptoOp::UnwrapKey => {
            decrypt(ctx, name, version, op, parse(body)?).await
        }
        CryptoOp::Sign => sign(ctx, name, version, parse(body)?).await,
        CryptoOp::Verify => verify(ctx, name, version, parse(body)?).await,
    }
}

pub(in crate::dialect::azure) fn check_algorithm(
    alg: &str,
    op: CryptoOp,
) -> Result<(), AzureError> {
    let gcm_allowed = matches!(op, CryptoOp::Encrypt | CryptoOp::Decrypt);
    match alg {
        RSA_OAEP_256 => Ok(()),
        A256GCM if gcm_allowed => Ok(()),
        _ => Err(AzureError::bad_parameter(format!(
            "Algorithm {} is not supported for {}: keygate supports {RSA_OAEP_256} (RSA keys){}.",
            alg.chars().take(32).collect::<String>(),
            op.name(),
            if gcm_allowed {
                " and A256GCM (oct keys)"
            } else {
                ""
            }
        ))),
    }
}

fn context_of(aad: Option<&[u8]>) -> EncryptionContext {
    match aad {
        Some(aad) if !aad.is_empty() => {
            EncryptionContext::new().with(AAD_CONTEXT_KEY, STANDARD.encode(aad))
        }
        _ => EncryptionContext::new(),
    }
}

fn pinned(version: Option<&str>, used: &str) -> Result<(), AzureError> {
    match version {
        Some(v) if v != used => Err(AzureError::bad_parameter(format!(
            "keygate encrypts and signs with the key's current version ({used}); version {v} \
             can only decrypt and verify."
        ))),
        _ => Ok(()),
    }
}

async fn encrypt(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    op: CryptoOp,
    p: KeyOperationParams,
) -> Result<Response, AzureError> {
    check_algorithm(&p.alg, op)?;
    let err = ctx.err(op.name(), Some(name));
    let (bytes, used) = if p.alg == RSA_OAEP_256 {
        if p.aad.is_some() {
            return Err(AzureError::bad_parameter("RSA-OAEP-256 takes no aad."));
        }
        let ct = ctx
            .session
            .encrypt_native(&by_name(name), &p.value.0, &EncryptionContext::new())
            .await
            .map_err(err)?;
        if ct.value.algorithm != EncryptionAlgorithm::RsaOaepSha256 {
            return Err(AzureError::bad_parameter(format!(
                "{RSA_OAEP_256} needs an RSA key: use A256GCM with oct keys."
            )));
        }
        (ct.value.bytes, ct.value.key_version)
    } else {
        if p.iv.is_some() || p.tag.is_some() {
            return Err(AzureError::bad_parameter(
                "keygate chooses the iv: A256GCM encryption takes no iv or tag.",
            ));
        }
        let context = context_of(p.aad.as_ref().map(|a| a.0.as_slice()));
        let envelope = ctx
            .session
            .encrypt(&by_name(name), &p.value.0, &context)
            .await
            .map_err(err)?;
        let (header, _) = EnvelopeHeader::decode(&envelope).map_err(|e| {
            tracing::error!(error = %e, "azure dialect: an envelope just made does not decode");
            AzureError::internal()
        })?;
        (envelope, header.key_version)
    };
    pinned(version, &used)?;
    Ok(ok(&KeyOperationResult {
        kid: ctx.kid(name, Some(&used)),
        value: b64(&bytes),
    }))
}

async fn decrypt(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    op: CryptoOp,
    p: KeyOperationParams,
) -> Result<Response, AzureError> {
    check_algorithm(&p.alg, op)?;
    let err = ctx.err(op.name(), Some(name));
    if p.alg == RSA_OAEP_256 {
        if p.aad.is_some() {
            return Err(AzureError::bad_parameter("RSA-OAEP-256 takes no aad."));
        }
        // Azure decrypts with the version the request names: one the key does not have is
        // not found.
        if let Some(v) = version {
            let versions = ctx
                .session
                .list_versions(&by_name(name))
                .await
                .map_err(ctx.err(op.name(), Some(name)))?
                .value;
            if !versions.iter().any(|x| x.id == v) {
                return Err(AzureError::key_not_found(name));
            }
        }
        let d = ctx
            .session
            .decrypt_native(&by_name(name), None, &p.value.0, &EncryptionContext::new())
            .await
            .map_err(err)?;
        let kid = ctx.kid(name, version.or(d.key_version.as_deref()));
        return Ok(ok(&KeyOperationResult {
            kid,
            value: b64(&d.plaintext),
        }));
    }
    let Ok((header, _)) = EnvelopeHeader::decode(&p.value.0) else {
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
        .decrypt_under(&by_name(name), &p.value.0, &context)
        .await
        .map_err(err)?;
    Ok(ok(&KeyOperationResult {
        kid: ctx.kid(name, d.key_version.as_deref()),
        value: b64(&d.plaintext),
    }))
}

/// The keygate algorithm, the key spec its signatures are shaped for, and the digest size.
pub(in crate::dialect::azure) fn signing(
    alg: &str,
) -> Result<(SigningAlgorithm, Option<KeySpec>, usize), AzureError> {
    Ok(match alg {
        "RS256" => (SigningAlgorithm::RsaPkcs1Sha256, None, 32),
        "PS256" => (SigningAlgorithm::RsaPssSha256, None, 32),
        "ES256" => (SigningAlgorithm::EcdsaSha256, Some(KeySpec::EcP256), 32),
        "ES384" => (SigningAlgorithm::EcdsaSha384, Some(KeySpec::EcP384), 48),
        other => {
            return Err(AzureError::bad_parameter(format!(
                "Algorithm {} is not supported: keygate signs with RS256, PS256, ES256 and ES384.",
                other.chars().take(32).collect::<String>()
            )));
        }
    })
}

pub(in crate::dialect::azure) fn check_digest(
    alg: &str,
    digest: &[u8],
    len: usize,
) -> Result<(), AzureError> {
    if digest.len() == len {
        Ok(())
    } else {
        Err(AzureError::bad_parameter(format!(
            "Invalid length of digest: {alg} takes a {len}-byte digest, not {}.",
            digest.len()
        )))
    }
}

async fn sign(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    p: SignParams,
) -> Result<Response, AzureError> {
    let (algorithm, ec, len) = signing(&p.alg)?;
    check_digest(&p.alg, &p.value.0, len)?;
    let sig = ctx
        .session
        .sign(
            &by_name(name),
            None,
            SignInput::Digest(&p.value.0),
            Some(algorithm),
        )
        .await
        .map_err(ctx.err("sign", Some(name)))?;
    pinned(version, &sig.value.key_version)?;
    let bytes = match ec {
        Some(spec) => ecdsa_der_to_raw(spec, &sig.value.bytes)?,
        None => sig.value.bytes,
    };
    Ok(ok(&KeyOperationResult {
        kid: ctx.kid(name, Some(&sig.value.key_version)),
        value: b64(&bytes),
    }))
}

async fn verify(
    ctx: &Ctx<'_>,
    name: &str,
    version: Option<&str>,
    p: VerifyParams,
) -> Result<Response, AzureError> {
    let (algorithm, ec, len) = signing(&p.alg)?;
    check_digest(&p.alg, &p.digest.0, len)?;
    // A raw signature that is no point of the curve is passed on as is: it does not verify.
    let signature = match ec {
        Some(spec) => ecdsa_raw_to_der(spec, &p.value.0).unwrap_or_else(|| p.value.0.clone()),
        None => p.value.0.clone(),
    };
    let valid = ctx
        .session
        .verify(
            &by_name(name),
            version,
            SignInput::Digest(&p.digest.0),
            &signature,
            Some(algorithm),
        )
        .await
        .map_err(ctx.err("verify", Some(name)))?
        .value;
    Ok(ok(&VerifyResult { value: valid }))
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

    #[test]
    fn algorithms_are_checked() {
        assert!(check_algorithm("RSA-OAEP-256", CryptoOp::WrapKey).is_ok());
        assert!(check_algorithm("A256GCM", CryptoOp::Encrypt).is_ok());
        assert!(check_algorithm("A256GCM", CryptoOp::WrapKey).is_err());
        assert!(check_algorithm("RSA-OAEP", CryptoOp::Encrypt).is_err());
        assert!(check_algorithm("RSA1_5", CryptoOp::Decrypt).is_err());
        assert!(signing("ES512").is_err());
        assert_eq!(signing("ES384").unwrap().2, 48);
        assert!(check_digest("RS256", &[0; 31], 32).is_err());
    }
}
